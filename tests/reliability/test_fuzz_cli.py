"""Fuzz through the real command line: a sample of the bad import files, conversation files and
settings files, given to `mirix import`, `mirix ingest` and `mirix stats` (in process, and a few
through the installed `mirix` script in a subprocess).

Each answer: exit code 1, "error: ..." on one line (plus an optional "  hint: ..." line), no
traceback, and nothing changed in the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirix_app.cli import main
from mirix_app.config import SECTIONS
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.transfer import export_lines
from mirix_app.paths import Paths

from .fuzz_data import Case, config_cases, conversation_cases, import_cases
from .test_fuzz_imports import populate

MIRIX = Path(sys.executable).parent / "mirix"


def every(cases: list[Case], n: int) -> list[Case]:
    bad = [c for c in cases if c.expect == "error" and c.kind != "directory"]
    return bad[:: max(1, len(bad) // n)][:n]


def check_answer(name: str, code: int, err: str) -> list[str]:
    lines = err.strip().splitlines()
    problems = []
    if code != 1:
        problems.append(f"{name}: exit code {code}")
    if not lines or not lines[0].startswith("error: "):
        problems.append(f"{name}: no 'error:' line: {err[-300:]!r}")
    if len(lines) > 2 or (len(lines) == 2 and not lines[1].startswith("  hint: ")):
        problems.append(f"{name}: more than an error and a hint: {err[-300:]!r}")
    if "Traceback" in err:
        problems.append(f"{name}: a traceback")
    return problems


def snapshot(paths: Paths) -> str:
    with MemoryCore.open(paths) as core:
        return "\n".join(export_lines(core))


@pytest.fixture
def store(paths: Paths) -> tuple[Paths, list[str]]:
    with MemoryCore.open(paths) as core:
        populate(core)
        return paths, list(export_lines(core))


def test_cli_import_and_ingest_refuse_bad_files(
    store: tuple[Paths, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths, export = store
    before = snapshot(paths)
    runs: list[tuple[str, str, Case]] = [
        *(("import", "jsonl", c) for c in every(import_cases(export), 12)),
        *(("ingest", "json", c) for c in every(conversation_cases(), 12)),
    ]
    problems: list[str] = []
    for i, (command, ext, case) in enumerate(runs):
        f = tmp_path / f"{i}.{ext}"
        f.write_bytes(case.data)
        code = main([command, str(f)])
        problems += check_answer(f"{command} {case.name}", code, capsys.readouterr().err)
    assert not problems, "\n".join(problems)
    assert snapshot(paths) == before


def test_cli_names_a_bad_settings_file(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    problems: list[str] = []
    core_keys = tuple(f"{k}-{s}" for k in ("type", "range", "unknown") for s in SECTIONS)
    read_by_stats = ("broken-", "truncated-", "not-utf8-", *core_keys)
    others = ("capture", "model", "agent")  # sections `stats` does not read
    cases = [
        c
        for c in config_cases()
        if c.name.startswith(read_by_stats) and not str(c.data).startswith(others)
    ]
    for case in every(cases, 12):
        if case.kind == "bytes":
            paths.settings_file.write_bytes(case.data)
        else:
            paths.settings_file.write_text(case.data)
        code = main(["stats"])
        err = capsys.readouterr().err
        problems += check_answer(f"stats {case.name}", code, err)
        if str(paths.settings_file) not in err:
            problems.append(f"stats {case.name}: the file is not named: {err!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(not MIRIX.exists(), reason="the mirix script is not installed in this venv")
def test_installed_script_answers_bad_input_with_one_line(
    store: tuple[Paths, list[str]], tmp_path: Path, mirix_home: Path
) -> None:
    paths, export = store
    before = snapshot(paths)
    bad_import = next(c for c in import_cases(export) if c.name == "deep-nesting")
    bad_conv = next(c for c in conversation_cases() if c.name == "int-5000-digits")
    (tmp_path / "bad.jsonl").write_bytes(bad_import.data)
    (tmp_path / "bad.json").write_bytes(bad_conv.data)
    env = {**os.environ, "MIRIX_HOME": str(mirix_home)}
    problems: list[str] = []
    for args in (["import", str(tmp_path / "bad.jsonl")], ["ingest", str(tmp_path / "bad.json")]):
        r = subprocess.run(
            [str(MIRIX), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        problems += check_answer(" ".join(args[:1]), r.returncode, r.stderr)
    assert not problems, "\n".join(problems)
    assert snapshot(paths) == before
