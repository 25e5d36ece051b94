"""Search ranks the record of a question the user asked below the evidence it asks about."""

from __future__ import annotations

import itertools

import pytest

from mirix_app.memory.core import MemoryCore
from mirix_app.memory.search import QUESTION_EVENT, QUESTION_FACTOR, QUESTION_TAG
from mirix_app.memory.types import Filters, MemoryType, Source

ASK = "When is my flight to Porto and from which gate?"


def _evidence(core: MemoryCore) -> str:
    return core.new(
        "episodic",
        {
            "occurred_at": "2024-03-01T10:00:00Z",
            "event_type": "scheduled",
            "summary": "Booking confirmation email",
            "details": "Flight TP1947 to Porto, Thursday 12 March 07:45, gate A14",
        },
        sources=[Source("capture", "cap_1", app="Thunderbird", window="Inbox")],
        actor="agent",
    ).id


def _question(core: MemoryCore, *, marked: bool = True, kind: str = "chat") -> str:
    fields = {
        "occurred_at": "2024-03-10T10:00:00Z",  # newer: recency favours it too
        "actor": "user",
        "event_type": QUESTION_EVENT if marked else "chat",
        "summary": f"Asked: {ASK}" if marked else ASK,
    }
    return core.new(
        "episodic",
        fields,
        tags=[QUESTION_TAG] if marked else [],
        sources=[Source(kind, "msg_1")],
        actor="agent",
    ).id


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "vector"])
def test_a_question_ranks_below_the_evidence(core: MemoryCore, mode: str) -> None:
    ev, q = _evidence(core), _question(core)
    hits = core.search("porto flight gate", mode=mode)
    ids = [h.memory.id for h in hits]
    assert ids[0] == ev and q in ids  # still found, as chat history
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    by_id = {h.memory.id: h for h in hits}
    assert by_id[q].parts.get("question") == QUESTION_FACTOR and "question" not in by_id[ev].parts


def test_a_question_ranks_below_even_weak_matches(core: MemoryCore) -> None:
    _evidence(core)
    weak = core.new("semantic", {"name": "Porto", "summary": "Porto is a city in Portugal"}).id
    q = _question(core)
    ids = [h.memory.id for h in core.search("porto flight gate")]
    assert ids.index(weak) < ids.index(q) == len(ids) - 1


def test_a_question_alone_is_still_found(core: MemoryCore) -> None:
    q = _question(core)
    core.new("semantic", {"name": "tea", "summary": "The user likes green tea"})
    hits = core.search("porto gate", mode="bm25")
    assert [h.memory.id for h in hits] == [q]
    only_events = Filters(types=[MemoryType.EPISODIC])
    assert core.search("porto gate", filters=only_events)[0].memory.id == q


def test_an_older_versions_question_record_is_demoted_too(core: MemoryCore) -> None:
    """Made before questions were marked: the user's chat record whose summary ends in "?"."""
    ev, old = _evidence(core), _question(core, marked=False)
    ids = [h.memory.id for h in core.search("porto flight gate")]
    assert ids[0] == ev and old in ids


def test_only_the_users_chat_questions_are_demoted(core: MemoryCore) -> None:
    # The same words seen on a screen are content, not a question the user asked.
    ev, seen = _evidence(core), _question(core, marked=False, kind="capture")
    hits = {h.memory.id: h for h in core.search("porto flight gate")}
    assert "question" not in hits[seen].parts and "question" not in hits[ev].parts
