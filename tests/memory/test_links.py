"""Session, profile and entity memories: they cite only real turns, a re-run refreshes them, and
search expands from a hit through them (a tiny hand-made conversation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mirix_app.memory.importers.links import LINK_TAG, link_memories
from mirix_app.memory.ingest import Message, assign_sessions, ingest
from mirix_app.memory.search import search
from mirix_app.memory.types import MemoryType

CHAT = [
    # session 1 (1 May)
    (
        "Ana",
        "Hi Ben! I started a new job at Lumen Travel as a booking agent.",
        "2024-05-01T09:00:00Z",
    ),
    ("Ben", "Congrats! How is it going?", "2024-05-01T09:01:00Z"),
    (
        "Ana",
        "Great. My manager Marta Silva is kind, and I get to plan trips to Porto.",
        "2024-05-01T09:02:00Z",
    ),
    ("Ben", "I love Porto. My sister lives there with her two cats.", "2024-05-01T09:03:00Z"),
    # session 2 (20 May): Porto again, in another session
    ("Ben", "I finally booked my flight to Porto for June.", "2024-05-20T18:00:00Z"),
    ("Ana", "Nice! Marta Silva said the hotels near the river are best.", "2024-05-20T18:01:00Z"),
    ("Ben", "I will ask my sister about the river walk.", "2024-05-20T18:02:00Z"),
    ("Ana", "I am learning to paint watercolours in the evenings.", "2024-05-20T18:03:00Z"),
]


def write_chat(tmp_path: Path) -> Path:
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps(
            [
                {"id": f"m{i}", "speaker": s, "text": t, "time": at}
                for i, (s, t, at) in enumerate(CHAT, 1)
            ]
        )
    )
    return path


def messages() -> list[Message]:
    out = [Message("", f"m{i}", s, t, at) for i, (s, t, at) in enumerate(CHAT, 1)]
    assign_sessions(out)
    return out


def test_sessions_come_from_time_gaps() -> None:
    assert [m.session for m in messages()] == ["session_1"] * 4 + ["session_2"] * 4


def test_link_memories_cite_only_real_turns() -> None:
    msgs = messages()
    real = {m.id for m in msgs}
    made = link_memories(msgs, {"": "/x/chat.json"})
    kinds = [next(t for t in m.tags if t != LINK_TAG) for _, m in made]
    assert kinds.count("session") == 2 and kinds.count("profile") == 2
    assert "entity" in kinds  # Porto and Marta Silva recur across sessions
    keys = [k for k, _ in made]
    assert len(set(keys)) == len(keys)
    for _, m in made:
        assert m.sources, m
        for s in m.sources:
            assert s.kind == "conversation" and s.ref in real and s.uri == "/x/chat.json"
    profiles = {m.fields["name"]: m for _, m in made if "profile" in m.tags}
    ana = profiles["Ana"]
    assert {s.ref for s in ana.sources} <= {"m1", "m3", "m6", "m8"}
    assert "watercolours" in ana.fields["details"] and "new job" in ana.fields["details"]
    entities = {m.fields["name"]: m for _, m in made if "entity" in m.tags}
    assert "Porto" in entities and {s.ref for s in entities["Porto"].sources} >= {"m3", "m5"}
    session1 = next(m for _, m in made if "session" in m.tags)
    assert "1 May 2024" in session1.fields["summary"]
    assert "Ana" in session1.fields["summary"] and "Ben" in session1.fields["summary"]


def test_ingest_makes_links_once_and_refreshes_them(core: Any, tmp_path: Path) -> None:
    path = write_chat(tmp_path)
    assert ingest(core, path) == (8, 0)
    linked = [m for m in core.browse(limit=100) if LINK_TAG in m.tags]
    assert linked and all(m.origin == "import" for m in linked)
    assert ingest(core, path) == (0, 8)
    again = [m for m in core.browse(limit=100) if LINK_TAG in m.tags]
    assert sorted(m.id for m in again) == sorted(m.id for m in linked)  # no duplicates
    # A longer export of the same chat: the same link memories, refreshed.
    data = json.loads(path.read_text())
    data.append(
        {
            "id": "m9",
            "speaker": "Ana",
            "text": "Porto in June will be lovely.",
            "time": "2024-05-20T18:05:00Z",
        }
    )
    path.write_text(json.dumps(data))
    assert ingest(core, path) == (1, 8)
    porto = next(m for m in core.browse(limit=100) if m.fields.get("name") == "Porto")
    assert "m9" in [s.ref for s in porto.sources] and porto.version == 2
    assert len([m for m in core.browse(limit=100) if LINK_TAG in m.tags]) == len(linked)


def test_search_expands_from_a_hit_to_turns_in_other_sessions(core: Any, tmp_path: Path) -> None:
    ingest(core, write_chat(tmp_path))
    on_query = "Where will Ben go with his sister?"
    on = core.search(on_query, limit=8)
    off_ids = [h.memory.id for h in search(core, on_query, limit=8, expand=False)]
    on_refs = [s.ref for h in on for s in h.memory.sources if LINK_TAG not in h.memory.tags]
    # Ben's own turns lead: the question names him, and his profile links his turns.
    first_turn = next(h for h in on if LINK_TAG not in h.memory.tags)
    assert first_turn.memory.fields["actor"] == "Ben" and "link" in first_turn.parts
    assert {"m4", "m5", "m7"} <= set(on_refs)
    assert [h.memory.id for h in on] != off_ids
    # A link memory itself ranks below the turns it points at.
    for h in on:
        if LINK_TAG in h.memory.tags:
            assert h.parts.get("link", 0) < 0


def test_no_links_when_asked(core: Any, tmp_path: Path) -> None:
    ingest(core, write_chat(tmp_path), links=False)
    assert core.store.count()[MemoryType.SEMANTIC.value] == 0
    assert core.store.count()[MemoryType.EPISODIC.value] == 8


def test_turns_reached_through_links_pass_the_filters(core: Any, tmp_path: Path) -> None:
    from mirix_app.memory.types import Filters

    ingest(core, write_chat(tmp_path))
    hits = core.search("Porto Marta Silva", filters=Filters(since="2024-05-10T00:00:00Z"))
    assert hits and all(h.memory.time >= "2024-05-10" for h in hits)
