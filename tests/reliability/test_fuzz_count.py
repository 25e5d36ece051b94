"""The fuzz suite's size, asserted so it cannot silently shrink: at least 500 generated bad inputs,
at least 80 in each family. Run with `-s` to see the figures per family."""

from __future__ import annotations

from typing import Any

from mirix_app.memory.transfer import export_lines

from .fuzz_data import (
    Case,
    bad_counts,
    blob_cases,
    config_cases,
    conversation_cases,
    decide_output_cases,
    frame_cases,
    http_reply_cases,
    image_cases,
    import_cases,
    model_output_cases,
    rewrite_output_cases,
)
from .test_fuzz_imports import populate

MIN_TOTAL = 500
MIN_PER_FAMILY = 80


def families(export: list[str]) -> dict[str, list[Case]]:
    """The same generators, with the same arguments' shapes, as the family tests use."""
    sealed = b"MXE1" + bytes(range(256)) * 8  # stand-ins: the counts do not depend on the bytes
    return {
        "images": image_cases() + blob_cases(sealed, sealed[::-1], sealed[4:]) + frame_cases(),
        "conversation files": conversation_cases(),
        "import files": import_cases(export),
        "config files": config_cases(),
        "model outputs": model_output_cases()
        + decide_output_cases(["sem_01AAAAAAAAAAAAAAAAAAAAAAAA"])
        + rewrite_output_cases(100)
        + http_reply_cases(),
    }


def test_at_least_500_bad_inputs_and_80_per_family(core: Any) -> None:
    populate(core)
    cases = families(list(export_lines(core)))
    counts = bad_counts(cases)
    total = sum(counts.values())
    also = sum(len(cs) for cs in cases.values()) - total
    print("\nfuzz inputs (bad by construction) per family:")
    for family, n in counts.items():
        print(f"  {family:20} {n:4}")
    print(f"  {'total':20} {total:4}  (+{also} random mutations that may still be valid)")
    assert total >= MIN_TOTAL
    assert all(n >= MIN_PER_FAMILY for n in counts.values()), counts
    for family, cs in cases.items():  # a name identifies a failure in its family's report
        names = [c.name for c in cs]
        assert len(names) == len(set(names)), f"{family}: case names are not unique"


def test_generators_are_deterministic(core: Any) -> None:
    populate(core)
    export = list(export_lines(core))
    a, b = families(export), families(export)
    assert {f: [(c.name, c.data) for c in cs] for f, cs in a.items()} == {
        f: [(c.name, c.data) for c in cs] for f, cs in b.items()
    }
