"""Fuzz, conversation files (`mirix ingest`, generic and LoCoMo): broken JSON, wrong shapes and
types, huge strings, invalid UTF-8, deep nesting, missing keys.

Every bad file is refused with an InvalidInput that names the file, and the store is exactly as it
was (an export before and after is byte-identical): a bad file adds nothing, not even its good
messages.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from mirix_app.errors import MirixError
from mirix_app.memory.ingest import ingest
from mirix_app.memory.transfer import export_lines

from .fuzz_data import GENERIC, LOCOMO, Outcomes, conversation_cases


def snapshot(core: Any) -> str:
    return "\n".join(export_lines(core))


def test_bad_conversation_files_are_refused_and_change_nothing(core: Any, tmp_path: Path) -> None:
    before = snapshot(core)
    out = Outcomes()
    for n, case in enumerate(conversation_cases()):
        path = tmp_path / f"conv-{n}.json"
        if case.kind == "directory":
            path.mkdir()
        else:
            path.write_bytes(case.data)
        got = out.check(case, partial(ingest, core, path), must_name=path.name)
        after = snapshot(core)
        if isinstance(got, BaseException):
            if after != before:
                out.problem(case, "a refused file changed the store")
        else:
            before = after
    out.assert_clean()
    assert out.rejected >= 100


def test_a_good_file_after_the_fuzz_still_ingests(core: Any, tmp_path: Path) -> None:
    """The harness's files are bad, not the importer: the originals go in (BOM and all)."""
    g = tmp_path / "generic.json"
    g.write_bytes(b"\xef\xbb\xbf" + json.dumps(GENERIC).encode())  # a Windows editor's BOM
    assert ingest(core, g) == (3, 0)
    loc = tmp_path / "locomo.json"
    loc.write_text(json.dumps(LOCOMO))
    assert ingest(core, loc) == (2, 0)
    assert ingest(core, loc) == (0, 2)


def test_a_huge_message_names_the_file_and_the_message(core: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"id": "m1", "text": "ok"}, {"id": "m2", "text": "x " * 600_000}]))
    try:
        ingest(core, path)
    except MirixError as e:
        assert "big.json" in e.message and "m2" in e.message and "byte" in e.message
    else:
        raise AssertionError("a 1.2 MB message was stored")
    assert snapshot(core) == ""
