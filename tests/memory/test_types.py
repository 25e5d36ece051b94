"""The six schemas: what each accepts and what it refuses, with messages a user can act on."""

from __future__ import annotations

import pytest

from mirix_app.errors import InvalidInput
from mirix_app.memory.types import SCHEMAS, Memory, MemoryType, Source

VALID = {
    "core": {"label": "human", "value": "Name: Sam. Works on mirix."},
    "episodic": {"occurred_at": "2024-05-01T10:00:00Z", "summary": "Met Alice", "actor": "user"},
    "semantic": {"name": "Alice", "summary": "Alice is my manager"},
    "procedural": {"summary": "Deploy", "steps": ["git pull", "make deploy"]},
    "resource": {"title": "Q3 plan", "content": "The plan..."},
    "vault": {"entry_type": "api_key", "secret_value": "sk-1", "caption": "OpenAI key"},
}


@pytest.mark.parametrize("mtype", list(MemoryType))
def test_each_type_validates_and_fills_defaults(mtype: MemoryType) -> None:
    m = Memory.from_dict({"type": mtype.value, "fields": VALID[mtype.value]})
    assert set(m.fields) == set(SCHEMAS[mtype])


@pytest.mark.parametrize("mtype", list(MemoryType))
def test_unknown_field_is_refused_with_the_list_of_fields(mtype: MemoryType) -> None:
    with pytest.raises(InvalidInput) as e:
        Memory.from_dict({"type": mtype.value, "fields": {**VALID[mtype.value], "bogus": 1}})
    assert "bogus" in e.value.message and e.value.hint


def test_missing_required_field() -> None:
    with pytest.raises(InvalidInput, match=r"semantic\.summary is required"):
        Memory.from_dict({"type": "semantic", "fields": {"name": "x"}})


def test_unknown_type_lists_the_six() -> None:
    with pytest.raises(InvalidInput) as e:
        Memory.from_dict({"type": "opinion", "fields": {}})
    assert "episodic" in (e.value.hint or "")


def test_knowledge_vault_aliases() -> None:
    assert MemoryType.parse("knowledge-vault") is MemoryType.VAULT
    assert MemoryType.parse("Knowledge Vault") is MemoryType.VAULT


def test_core_block_over_its_limit_is_refused_not_truncated() -> None:
    with pytest.raises(InvalidInput, match="over its limit"):
        Memory.from_dict(
            {"type": "core", "fields": {"label": "human", "value": "x" * 51, "limit": 50}}
        )


def test_sensitivity_must_be_low_medium_high() -> None:
    with pytest.raises(InvalidInput, match="sensitivity"):
        Memory.from_dict({"type": "vault", "fields": {**VALID["vault"], "sensitivity": "top"}})


def test_ten_megabytes_of_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="byte limit"):
        Memory.from_dict(
            {"type": "resource", "fields": {"title": "big", "content": "a" * 10_000_000}}
        )


@pytest.mark.parametrize("bad", ["\udc80broken", "nul\x00byte"])
def test_invalid_strings_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        Memory.from_dict({"type": "semantic", "fields": {"name": bad, "summary": "s"}})


def test_bad_time_and_bad_source() -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        Memory.from_dict(
            {"type": "episodic", "fields": {"summary": "s", "occurred_at": "yesterday"}}
        )
    with pytest.raises(InvalidInput, match="source kind"):
        Source.from_dict({"kind": "telepathy", "ref": "x"})
    with pytest.raises(InvalidInput, match="ref"):
        Source.from_dict({"kind": "chat", "ref": ""})


def test_vault_secret_never_in_search_text() -> None:
    m = Memory.from_dict({"type": "vault", "fields": VALID["vault"]})
    assert "sk-1" not in m.search_text()
    assert "OpenAI key" in m.search_text()


def test_time_is_what_the_memory_is_about() -> None:
    e = Memory.from_dict({"type": "episodic", "fields": VALID["episodic"]})
    assert e.time == "2024-05-01T10:00:00.000Z"
    s = Memory.from_dict(
        {
            "type": "semantic",
            "fields": VALID["semantic"],
            "sources": [{"kind": "chat", "ref": "m1", "at": "2023-01-02"}],
        }
    )
    assert s.time == "2023-01-02T00:00:00.000Z"
