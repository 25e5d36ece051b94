"""Fuzz, config files (settings.toml): broken TOML, wrong types, out-of-range values, unknown keys,
sections of the wrong shape, bytes that are not UTF-8.

The behaviour the code intends, made consistent: every bad value is an InvalidInput naming the
file and the key (read by Settings.load, or by the module that owns the section: capture, model,
agent); sections this version does not know are kept with a logged warning (a newer version may
have written them), never an error.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mirix_app.agent.settings import AgentSettings, ModelSettings
from mirix_app.capture.settings import CaptureSettings
from mirix_app.config import Settings
from mirix_app.paths import Paths

from .fuzz_data import VALID_TOML, Case, Outcomes, config_cases


def read_all(paths: Paths) -> tuple[Any, ...]:
    """What the app reads at start: the core settings, then each module its own section."""
    s = Settings.load(paths)
    return (
        s,
        CaptureSettings.from_settings(s),
        ModelSettings.from_settings(s),
        AgentSettings.from_settings(s),
    )


def write(paths: Paths, case: Case) -> None:
    f = paths.settings_file
    if f.is_dir():
        f.rmdir()
    elif case.kind == "directory":
        f.unlink(missing_ok=True)
    if case.kind == "directory":
        f.mkdir()
    elif case.kind == "bytes":
        f.write_bytes(case.data)
    else:
        f.write_text(case.data, encoding="utf-8")


def test_valid_settings_file_reads(paths: Paths) -> None:
    paths.settings_file.write_text(VALID_TOML)
    s, cap, _model, agent = read_all(paths)
    assert s.search.rrf_k == 60 and cap.exclude_apps == ["keepass"] and agent.batch_size == 20
    assert s.source == str(paths.settings_file)
    s.save(paths)  # `source` is not a setting: it is not written
    assert "source" not in paths.settings_file.read_text()


def test_bad_settings_files_are_clear_errors_naming_file_and_key(paths: Paths) -> None:
    out = Outcomes()
    for case in config_cases():
        write(paths, case)
        got = out.check(case, lambda: read_all(paths), must_name=str(paths.settings_file))
        key = (
            case.name.split("-", 1)[1].rsplit("-", 1)[0]
            if case.name[:5] in ("type-", "range")
            else ""
        )
        if case.name.startswith("unknown-"):
            key = case.name.removeprefix("unknown-")
        if key and isinstance(got, Exception) and key.split(".")[1] not in str(got):
            out.problem(case, f"the error does not name the key {key}: {got}")
    out.assert_clean()
    assert out.rejected >= 100


def test_unknown_sections_are_kept_with_a_warning(
    paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    paths.settings_file.write_text("[serach]\nrrf_k = 5\n\n[plugins.foo]\nx = 1\n")
    with caplog.at_level(logging.WARNING, logger="mirix_app.config"):
        s, *_ = read_all(paths)
    assert s.search.rrf_k == 60  # the typo'd section changes nothing...
    assert s.extra["serach"] == {"rrf_k": 5}  # ...and is kept for the file's next save
    assert "unknown section [serach]" in caplog.text and str(paths.settings_file) in caplog.text
    s.save(paths)
    assert "serach" in paths.settings_file.read_text()


@pytest.mark.parametrize(
    "text",
    [
        "[search]\nrrf_k = 1\n",
        "[capture]\nidle_after_seconds = 0.0\n",
        "[storage]\nbusy_timeout_ms = 0\n",
        "[model]\nbackend = 'openai'\nendpoint = 'http://x/v1'\n",
    ],
)
def test_edge_values_that_are_fine_stay_fine(paths: Paths, text: str) -> None:
    paths.settings_file.write_text(text)
    read_all(paths)
