"""Fuzz, import files (`mirix import`, JSON Lines): mutations of a valid export of all six types —
truncation, bit flips, structural damage, deleted fields, swapped types, duplicate ids, unknown
types, bad vault values, deep nesting, huge lines.

Every bad file is refused with an InvalidInput (naming the file and line where a line is at
fault) and loses nothing: an export before and after the failed import is byte-identical.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from mirix_app.errors import MirixError
from mirix_app.memory.transfer import export_lines, import_memories, parse_lines
from mirix_app.memory.types import MemoryType, Source

from .fuzz_data import Case, Outcomes, import_cases

NAME = "fuzz.jsonl"


def populate(core: Any) -> None:
    """One memory of each type (two episodes), sources, tags, a vault value, one in the trash."""
    src = [Source("chat", "msg-1", "2024-05-01T10:00:00Z"), Source("file", "f-1", uri="/tmp/a.md")]
    core.new(MemoryType.CORE, {"label": "human", "value": "name: Ana\nlikes: tea"})
    for s in ("Met Ben at the harbour", "Read the lighthouse report"):
        core.new(
            MemoryType.EPISODIC,
            {"occurred_at": "2024-05-01T10:00:00Z", "summary": s},
            tags=["harbour"],
            sources=src,
        )
    core.new(MemoryType.SEMANTIC, {"name": "Ben", "summary": "Ben sails"}, tags=["people"])
    core.new(MemoryType.PROCEDURAL, {"summary": "Make tea", "steps": ["boil", "steep"]})
    core.new(MemoryType.RESOURCE, {"title": "Report", "content": "lighthouse maintenance"})
    core.new(
        MemoryType.VAULT,
        {"entry_type": "password", "secret_value": "hunter2", "caption": "wifi password"},
    )
    gone = core.new(MemoryType.SEMANTIC, {"name": "Old", "summary": "an old fact"})
    core.trash(gone.id)


def snapshot(core: Any) -> str:
    return "\n".join(export_lines(core))


def run_import(core: Any, data: bytes) -> Any:
    memories = parse_lines(io.BytesIO(data), NAME)
    return import_memories(core, memories)


def test_bad_import_files_are_refused_and_lose_nothing(core: Any) -> None:
    populate(core)
    export = list(export_lines(core))
    assert len(export) == 8
    before = snapshot(core)
    run_import(core, ("\n".join(export) + "\n").encode())  # the harness's base file is valid
    assert snapshot(core) == before
    out = Outcomes()
    for case in import_cases(export):
        got = out.check(case, partial(run_import, core, case.data))
        after = snapshot(core)
        if isinstance(got, BaseException):
            if after != before:
                out.problem(case, "a refused import changed the store")
        else:
            before = after
    out.assert_clean()
    assert out.rejected >= 100


def test_line_errors_name_the_file_and_the_line(core: Any) -> None:
    populate(core)
    export = list(export_lines(core))
    out = Outcomes()
    for case in import_cases(export):
        if case.expect != "error":
            continue
        try:
            parse_lines(io.BytesIO(case.data), NAME)
        except MirixError as e:
            if not e.message.startswith(f"{NAME}:"):
                out.problem(case, f"does not start with the file and line: {e.message[:120]}")
    out.assert_clean()


def test_vault_values_that_cannot_be_opened_name_the_memory(core: Any) -> None:
    populate(core)
    export = list(export_lines(core))
    vault = [c for c in import_cases(export) if c.name.startswith("swap-vault-")]
    assert len(vault) == 5
    before = snapshot(core)
    for case in vault:
        try:
            run_import(core, case.data)
        except MirixError as e:
            assert "vlt_" in e.message and "vault" in e.message, e.message
        else:
            raise AssertionError(f"{case.name}: a damaged vault value was imported")
        assert snapshot(core) == before


def test_failure_on_the_last_line_keeps_none_of_the_earlier_ones(core: Any) -> None:
    populate(core)
    export = list(export_lines(core))
    core.store.wipe()
    assert snapshot(core) == ""
    bad = Case("x", ("\n".join(export) + '\n{"type": "semantic", "fields": {}}\n').encode())
    out = Outcomes()
    out.check(bad, lambda: run_import(core, bad.data))
    out.assert_clean()
    assert snapshot(core) == ""
