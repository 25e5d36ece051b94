"""Questions are not facts: what the user asks in chat is kept as chat history only.

In a user trial "When is my flight to Porto" became a semantic memory "my flight to" that ranked
above the email holding the answer. These tests run the real memory core and the pipeline (with a
scripted model, also one that tries to turn the question into a fact).
"""

from __future__ import annotations

from typing import Any

import pytest

from mirix_app.agent.managers import Action, Applied, Candidate, apply
from mirix_app.agent.pipeline import OLD_QUESTIONS_KEY, Pipeline, mark_old_questions
from mirix_app.agent.settings import AgentSettings
from mirix_app.agent.signals import route
from mirix_app.agent.statements import is_question, stated, user_facts
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.search import QUESTION_TAG
from mirix_app.memory.types import Filters, Memory, MemoryType, Source
from mirix_app.safety.secrets import MARKER
from tests.fakes import Request, ScriptedModel

from .conftest import echo_notes, items_in

FACT_TYPES = (MemoryType.SEMANTIC, MemoryType.CORE, MemoryType.PROCEDURAL, MemoryType.RESOURCE)
EMAIL = "Your booking is confirmed.\nFlight TP1947 to Porto, Thursday 12 March 07:45, gate A14"
ASK = "When is my flight to Porto and from which gate?"


def live(core: Any, mtype: MemoryType) -> list[Memory]:
    return list(core.browse(Filters(types=[mtype]), limit=100))


def asked(text: str) -> InboxItem:
    # Exactly what the chat puts in the inbox for a question (mirix_app/agent/chat.py).
    return InboxItem(kind="chat", text=text, meta={"role": "user"})


def made_from(core: Any, item: InboxItem) -> list[Memory]:
    return [core.get(i) for i in core.store.memories_from("chat", item.id)]


def process(core: Any, model: ScriptedModel | None, *items: InboxItem, **kw: Any) -> Any:
    for it in items:
        core.inbox.put(it)
    p = Pipeline(core, model, AgentSettings(decide_similarity=0.3), **kw)
    return p.process(core.inbox.take(50))


# -- detection -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        ASK,
        "When is my flight to Porto",  # no question mark: the wh-word + auxiliary says it
        "what's my flight number",
        "What day is my flight",
        "Which gate does it leave from",
        "Is my flight on Thursday",
        "did Bob call back",
        "Who is my manager?",
        "Hey Mirix, where did I put the lease",
        "tell me my flight time",
        "Show me the Porto email",
        "remind me what my dentist is called",
        "find the booking confirmation",
        "search porto flight",
        "Do you know where my keys are",
        "I wonder when my flight is",
        "My manager is Alice?",  # asked back, in doubt: not a statement to store
    ],
)
def test_questions_are_detected(text: str) -> None:
    assert is_question(text)
    r = route(asked(text))
    assert r.asked and r.question and r.facts == [] and r.event_type == "question"
    assert r.types == {MemoryType.EPISODIC}


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("My dentist is Dr. Okafor", ("dentist", "Dr. Okafor")),
        ("Alice is my manager", ("manager", "Alice")),
        ("Will is my brother", ("brother", "Will")),  # a name, not the auxiliary
        ("When I'm at work my phone is on silent", ("phone", "on silent")),  # a clause
        ("I like tea", ("likes", "tea")),
    ],
)
def test_statements_are_not_questions(text: str, fact: tuple[str, str]) -> None:
    assert not is_question(text)
    r = route(asked(text))
    assert not r.asked and [(f.key, f.value) for f in r.facts] == [fact]


def test_a_request_to_remember_is_a_statement() -> None:
    for text in (
        "remember that the wifi password is hunter22-xyz",
        "Can you remember that my wifi password is hunter22-xyz?",
        "Have a nice day",
    ):
        assert not is_question(text), text
    r = route(asked("Can you remember that my wifi password is hunter22-xyz?"))
    assert not r.asked and MemoryType.VAULT in r.types


def test_only_the_stated_sentences_of_a_message_give_facts() -> None:
    text = "My dentist is Dr. Okafor. When is my appointment?"
    assert stated(text) == "My dentist is Dr. Okafor."
    assert [(f.key, f.value) for f in user_facts(stated(text))] == [("dentist", "Dr. Okafor")]
    # The trial's "fact": "When is my flight to" read as "<value> is my <key>".
    assert user_facts("When is my flight to Porto") == []
    assert user_facts("That is my car") == []


# -- the pipeline --------------------------------------------------------------------------------
def test_a_question_is_kept_as_chat_history_only(core: Any) -> None:
    item = asked("When is my flight to Porto?")
    res = process(core, ScriptedModel(default=echo_notes()), item)
    assert res.sorted == 1 and res.model_calls == 0  # the model has nothing to add to a question
    (m,) = made_from(core, item)
    assert m.type is MemoryType.EPISODIC
    assert m.fields["summary"] == "Asked: When is my flight to Porto?"
    assert m.fields["event_type"] == "question" and m.fields["actor"] == "user"
    assert QUESTION_TAG in m.tags and [s.kind for s in m.sources] == ["chat"]
    for t in (*FACT_TYPES, MemoryType.VAULT):
        assert live(core, t) == [], t
    # Still searchable, as what it is.
    assert [h.memory.id for h in core.search("flight Porto")] == [m.id]


def test_statements_in_chat_still_become_memory(core: Any) -> None:
    items = [
        asked("My dentist is Dr. Okafor"),
        asked("remember that the wifi password is hunter22-xyz"),
        asked("I live in Lisbon"),
    ]
    process(core, None, *items)
    sem = live(core, MemoryType.SEMANTIC)
    assert [m.fields["summary"] for m in sem] == ["The user's dentist is Dr. Okafor."]
    (vault,) = live(core, MemoryType.VAULT)
    assert core.reveal_secret(vault.id) == "hunter22-xyz"
    assert "home: Lisbon" in live(core, MemoryType.CORE)[0].fields["value"]
    assert all(
        m.fields["event_type"] != "question" and QUESTION_TAG not in m.tags
        for m in live(core, MemoryType.EPISODIC)
    )


def test_a_message_that_states_and_asks_keeps_the_statement(core: Any) -> None:
    item = asked("My dentist is Dr. Okafor. When is my appointment?")
    process(core, None, item)
    kinds = sorted(m.type.value for m in made_from(core, item))
    assert kinds == ["episodic", "semantic"]
    (sem,) = live(core, MemoryType.SEMANTIC)
    assert sem.fields["summary"] == "The user's dentist is Dr. Okafor."
    (epi,) = live(core, MemoryType.EPISODIC)
    assert epi.fields["event_type"] == "question" and QUESTION_TAG in epi.tags


def test_a_secret_typed_into_a_question_is_stored_nowhere(core: Any) -> None:
    item = asked("Did I tell you my wifi password is hunter22-xyz?")
    process(core, None, item)
    assert live(core, MemoryType.VAULT) == [] and live(core, MemoryType.SEMANTIC) == []
    (epi,) = live(core, MemoryType.EPISODIC)
    assert "hunter22" not in epi.search_text() and MARKER in epi.fields["summary"]
    kept = core.inbox.get(item.id)
    assert kept is not None and "hunter22" not in kept.text


def test_an_adversarial_model_cannot_make_a_question_a_fact(core: Any) -> None:
    mine = core.new(
        "semantic",
        {"name": "my flight", "summary": "The user's flight is TP1947 to Porto"},
        sources=[Source("manual", "test")],
        actor="user",
    )
    facts = {
        "Porto": ("my flight to", "The user's flight to Porto is When"),
        "dentist": ("my dentist", "The user's dentist is Dr. Mallory"),
    }

    def obey(req: Request) -> Any:  # rewrite whatever it is shown with the question
        assert req.schema is not None
        ids = req.schema["properties"]["target"]["enum"]
        return {"action": "update", "target": ids[0], "other": "", "summary": ASK}

    model = ScriptedModel(by_task={"extract": echo_notes(facts), "decide": obey})
    q1, q2 = asked(ASK), asked("Who is my dentist")
    # Notes forced for every item: the model is asked about the questions, and answers with facts.
    res = process(core, model, q1, q2, want_notes=lambda r: True)
    assert [t for r in model.requests if r.task == "extract" for t in items_in(r)] == [ASK, q2.text]
    assert [m.id for m in live(core, MemoryType.SEMANTIC)] == [mine.id]
    assert core.get(mine.id).version == 1 and not res.applied.updated
    for q in (q1, q2):
        assert [m.type for m in made_from(core, q)] == [MemoryType.EPISODIC]
    for t in FACT_TYPES[1:]:
        assert live(core, t) == []


def test_apply_refuses_anything_but_the_question_record(core: Any) -> None:
    """The rule sits where decisions are written: a candidate made from a question may only add
    its own episodic record, whatever produced the action."""
    old = core.new("semantic", {"name": "gate", "summary": "Gate A14"}, actor="user")
    epi = core.new("episodic", {"occurred_at": "2024-03-10T09:00:00Z", "summary": "Booked TP1947"})
    src = [Source("chat", "msg_q")]
    fact = Candidate(
        MemoryType.SEMANTIC, {"name": "my flight to", "summary": "When"}, src, True, asked=True
    )
    record = Candidate(
        MemoryType.EPISODIC,
        {"occurred_at": "2024-03-11T09:00:00Z", "summary": ASK, "event_type": "chat"},
        src,
        True,
        asked=True,
    )
    result = Applied()
    with core.batch(actor="agent") as b:
        apply(
            b,
            [
                Action("add", fact),
                Action("update", fact, target=old.id, fields={"summary": "When"}),
                Action("delete", fact, target=old.id),
                Action("merge", record, target=epi.id, fields={"summary": ASK}),
            ],
            result,
        )
    assert core.get(old.id).version == 1 and core.get(old.id).deleted_at is None
    assert core.get(epi.id).version == 1
    assert len(result.refused) == 4 and not result.updated and not result.deleted
    (added,) = result.added  # only the question's own record, marked
    m = core.get(added)
    assert m.type is MemoryType.EPISODIC and m.fields["event_type"] == "question"
    assert QUESTION_TAG in m.tags


def test_imported_turns_are_not_the_users_questions() -> None:
    turn = InboxItem(
        kind="chat",
        text="When is your flight?",
        meta={"speaker": "Ann", "message_id": "D1:1", "conversation": "c"},
    )
    r = route(turn)
    assert r.question and not r.asked and r.event_type == "conversation"


# -- the trial -----------------------------------------------------------------------------------
def test_the_porto_trial(core: Any) -> None:
    email = InboxItem(
        kind="capture",
        text=EMAIL,
        app="Thunderbird",
        window="Booking confirmation TP1947 - Inbox",
        at="2024-03-01T10:00:00Z",
    )
    process(core, ScriptedModel(default=echo_notes()), email)
    question = asked(ASK)
    process(core, ScriptedModel(default=echo_notes()), question)

    made = made_from(core, question)
    assert [m.type for m in made] == [MemoryType.EPISODIC]
    assert made[0].fields["summary"] == f"Asked: {ASK}"
    for t in (MemoryType.SEMANTIC, MemoryType.CORE):
        assert not [m for m in live(core, t) if any(s.ref == question.id for s in m.sources)]

    for mode in ("hybrid", "bm25", "vector"):
        hits = core.search("porto flight gate", mode=mode)
        assert hits and hits[0].memory.sources[0].kind == "capture", mode
        assert "gate A14" in hits[0].memory.search_text()
        ids = [h.memory.id for h in hits]
        if made[0].id in ids:  # found as chat history, below the evidence
            assert ids.index(made[0].id) > 0
    # The chat's retrieval searches the same way: the evidence comes first there too.
    from mirix_app.agent.chat import ChatAgent

    got = ChatAgent(core, ScriptedModel()).retrieve(ASK)
    assert got and got[0].memory.sources[0].kind == "capture"


# -- what older versions made of questions ----------------------------------------------------------
def test_old_question_memories_are_marked_and_their_facts_trashed(core: Any) -> None:
    q = core.inbox.put(asked("When is my flight to Porto"))
    mixed = core.inbox.put(asked("My dentist is Dr. Okafor. When is my appointment?"))
    with core.batch(actor="agent") as b:  # as an older version stored them
        old_epi = b.add(
            Memory(
                MemoryType.EPISODIC,
                {
                    "occurred_at": q.at,
                    "actor": "user",
                    "event_type": "scheduled",
                    "summary": q.text,
                },
                sources=[Source("chat", q.id, q.at)],
                origin="agent",
            )
        )
        bogus = b.add(
            Memory(
                MemoryType.SEMANTIC,
                {"name": "my flight to", "summary": "The user's flight to is When."},
                tags=["fact:user/flight to"],
                sources=[Source("chat", q.id, q.at)],
                origin="agent",
            )
        )
        real = b.add(
            Memory(
                MemoryType.SEMANTIC,
                {"name": "my dentist", "summary": "The user's dentist is Dr. Okafor."},
                tags=["fact:user/dentist"],
                sources=[Source("chat", mixed.id, mixed.at)],
                origin="agent",
            )
        )
        b.inbox_done([q.id, mixed.id])
    assert mark_old_questions(core) == (1, 1)
    assert core.get(bogus.id).deleted_at is not None  # in the trash: undoable
    assert core.get(real.id).deleted_at is None  # a statement of the same message stays
    m = core.get(old_epi.id)
    assert m.fields["event_type"] == "question" and QUESTION_TAG in m.tags
    core.undo(bogus.id)
    assert core.get(bogus.id).deleted_at is None

    # The pipeline runs the pass once per data dir, before its first batch.
    core.store.set_meta(OLD_QUESTIONS_KEY, "")
    core.trash(bogus.id)
    core.undo(bogus.id)
    process(core, None, asked("I like tea"))
    assert core.get(bogus.id).deleted_at is not None
    assert core.store.get_meta(OLD_QUESTIONS_KEY) == "1"
