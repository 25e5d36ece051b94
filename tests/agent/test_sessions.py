"""Activity sessions: consecutive captures of one app and window as one growing episodic memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mirix_app.agent.extract import sessions
from mirix_app.agent.job import ProcessingJob
from mirix_app.agent.pipeline import Foreground, Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.clock import to_iso
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Filters, MemoryType
from tests.fakes import Request, ScriptedModel

from .conftest import echo_notes, items_in

T0 = datetime(2026, 3, 10, 9, 40, tzinfo=UTC)
CODE = ("Code", "reconcile.py - billing-service - Visual Studio Code")
MAIL = ("Thunderbird", "Your Porto trip is confirmed - Mozilla Thunderbird")
SLACK = ("Slack", "#design-team - Acme - Slack")


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(minutes: float) -> str:
    return to_iso(T0 + timedelta(minutes=minutes))


def cap(where: tuple[str, str], text: str, minutes: float, monitor: int = 0) -> InboxItem:
    app, window = where
    return InboxItem(
        kind="capture", text=text, app=app, window=window, at=at(minutes), monitor=monitor
    )


def episodes(core: Any) -> list[Any]:
    return sorted(
        core.browse(Filters(types=[MemoryType.EPISODIC]), limit=200),
        key=lambda m: m.fields["occurred_at"],
    )


def session_memories(core: Any) -> list[Any]:
    return [m for m in episodes(core) if sessions.SESSION_TAG in m.tags]


def feed(p: Pipeline, core: Any, items: list[InboxItem], batch: int = 50) -> None:
    for it in items:
        core.inbox.put(it)
    while True:
        todo = core.inbox.take(batch)
        if not todo:
            return
        p.process(todo)


# -- pure functions ------------------------------------------------------------------------------
def test_titles_are_built_from_app_window_and_time() -> None:
    code = sessions.subject_of(*CODE)
    assert sessions.summary(code, at(0), at(45), typing=True) == (
        "Edited reconcile.py in VS Code (billing-service), 09:40–10:25"
    )
    mail = sessions.subject_of(*MAIL)
    assert sessions.headline(mail) == "Read 'Your Porto trip is confirmed' in Thunderbird"
    assert sessions.summary(mail, at(0), at(0.5)) == (
        "Read 'Your Porto trip is confirmed' in Thunderbird, 09:40"
    )
    # What changes while one works in a window is not part of its identity.
    assert sessions.session_key(
        "Code", "● reconcile.py - billing-service - Visual Studio Code"
    ) == (sessions.session_key(*CODE))
    assert sessions.session_key("Thunderbird", "Inbox (3) - Mozilla Thunderbird") == (
        sessions.session_key("Thunderbird", "Inbox (4) - Mozilla Thunderbird")
    )
    assert sessions.session_key(*CODE) != sessions.session_key(
        "Code", "ledger.py - billing-service"
    )
    assert sessions.session_key(None, None) == ""


def test_lines_are_deduplicated_and_typing_is_kept_once_at_its_longest() -> None:
    seen = ["To: Marta Silva", "Dear Mar"]
    new = ["To: Marta Silva", "Dear Marta, thanks for", "To:  Marta  Silva.", "Second line"]
    assert sessions.typed(seen, new)
    assert sessions.merge_lines(seen, new) == [
        "To: Marta Silva",
        "Dear Marta, thanks for",
        "Second line",
    ]
    assert not sessions.typed(["Inbox", "Meeting notes"], ["Inbox", "Invoice from ACME"])
    big = [f"line {i} of a very long screen with plenty of words" for i in range(5000)]
    assert len("\n".join(sessions.merge_lines([], big, 2000))) <= 2000


# -- in the pipeline -------------------------------------------------------------------------------
def test_consecutive_captures_grow_one_session_with_every_capture_as_a_source(core: Any) -> None:
    model = ScriptedModel(default=echo_notes())
    p = Pipeline(core, model, AgentSettings(decide_similarity=0.3))
    items = [
        cap(CODE, "def reconcile(ledger):\n    total = 0", 0),
        cap(CODE, "def reconcile(ledger):\n    total = 0\n    for entry in led", 2),
        cap(
            ("Code", "● reconcile.py - billing-service - Visual Studio Code"),
            "def reconcile(ledger):\n    total = 0\n    for entry in ledger.entries:",
            5,
        ),
    ]
    feed(p, core, items[:2])
    feed(p, core, items[2:])
    (s,) = session_memories(core)
    assert s.fields["summary"] == "Edited reconcile.py in VS Code (billing-service), 09:40–09:45"
    assert s.fields["occurred_at"] == at(0)
    assert s.fields["details"].splitlines() == [
        "def reconcile(ledger):",
        "total = 0",
        "for entry in ledger.entries:",
    ]
    assert [x.ref for x in s.sources] == [it.id for it in items]
    assert sessions.span([(x.kind, x.at) for x in s.sources], s.fields["occurred_at"]) == (
        at(0),
        at(5),
    )
    assert sessions.TYPED_TAG in s.tags and "unsorted" not in s.tags
    # One history entry for the session's growth, not one per capture.
    assert [h.op for h in core.history(s.id)] == ["create", "update"]
    # Only the new lines of each batch were shown to the model, one note per session.
    asked = [t for r in model.requests if r.task == "extract" for t in items_in(r)]
    assert len(asked) == 2 and "for entry in ledger.entries:" in asked[1]
    assert "def reconcile" not in asked[1]


def test_a_short_switch_keeps_the_session_a_switch_and_a_gap_ends_it_revisits_are_linked(
    core: Any,
) -> None:
    p = Pipeline(core, None, AgentSettings(episode_merge_minutes=10))
    feed(
        p,
        core,
        [
            cap(CODE, "def reconcile(ledger):", 0),
            cap(SLACK, "Jonas Weber: design review moved to Thursday 3 pm", 3),
            cap(CODE, "def reconcile(ledger):\n    return total", 6),  # back within 10 min
            cap(MAIL, "Flight TP1947 Lisbon to Porto", 8),
            cap(CODE, "def reconcile(ledger):\n    return total\n# done", 40),  # later: a revisit
        ],
    )
    code = [m for m in session_memories(core) if "reconcile.py" in m.fields["summary"]]
    assert len(code) == 2 and len(session_memories(core)) == 4
    first, again = code
    assert len(first.sources) == 2 and first.fields["summary"].endswith("09:40–09:46")
    assert f"{sessions.REVISIT_TAG}{first.id}" in again.tags
    assert sessions.key_tag(sessions.session_key(*CODE)) in first.tags
    assert set(first.tags) & set(again.tags) >= {sessions.key_tag(sessions.session_key(*CODE))}
    # Without a switch, a screen left unchanged for a while is still the same session.
    feed(p, core, [cap(CODE, "# done\n# reviewed", 60)])
    assert len([m for m in session_memories(core) if "reconcile.py" in m.fields["summary"]]) == 2


def test_sessions_survive_a_restart(core: Any, paths: Any) -> None:
    from mirix_app.memory.core import MemoryCore

    feed(Pipeline(core, None), core, [cap(MAIL, "Your Porto trip is confirmed\nTP1947", 0)])
    core.close()
    again = MemoryCore.open(paths)
    try:
        feed(Pipeline(again, None), again, [cap(MAIL, "Gate A14\nBooking QX7-22841", 3)])
        (s,) = session_memories(again)
        assert len(s.sources) == 2 and "Booking QX7-22841" in s.fields["details"]
        assert (
            s.fields["summary"] == "Read 'Your Porto trip is confirmed' in Thunderbird, 09:40–09:43"
        )
        # ... and a restart then a revisit after a switch and a gap links to it.
        feed(Pipeline(again, None), again, [cap(SLACK, "hello", 5), cap(MAIL, "TP1947", 30)])
        mail = [m for m in session_memories(again) if "Porto" in m.fields["summary"]]
        assert len(mail) == 2 and f"{sessions.REVISIT_TAG}{s.id}" in mail[1].tags
    finally:
        again.close()


def test_an_hour_of_switching_between_two_apps_is_a_few_sessions(core: Any) -> None:
    items = []
    for n in range(60):  # a capture a minute, alternating every 3 minutes
        where = CODE if (n // 3) % 2 == 0 else SLACK
        items.append(cap(where, f"line {n} of work in progress", n))
    feed(Pipeline(core, None), core, items, batch=20)
    made = session_memories(core)
    assert len(made) == 2, [m.fields["summary"] for m in made]
    assert sum(len(m.sources) for m in made) == 60


def test_a_huge_or_garbled_screen_gives_a_bounded_session_and_loses_nothing(core: Any) -> None:
    huge = "\n".join(f"row {i}: value {i * 7} of the quarterly ledger export" for i in range(2500))
    garbled = "~~ ||| @@ #\n§§ ¶¶ ..\nTh1s 1s g@rbl3d 0CR t3xt\n" * 50
    items = [cap(("LibreOffice", "ledger.ods - LibreOffice Calc"), huge, 0)]
    items.append(cap(("xterm", "marta@laptop: ~"), garbled, 1))
    feed(Pipeline(core, None), core, items)
    made = session_memories(core)
    assert len(made) == 2
    assert all(len(m.fields["details"]) <= sessions.SESSION_CHARS for m in made)
    assert "row 0: value 0" in made[0].fields["details"]
    assert core.inbox.backlog() == 0
    assert all(core.inbox.get(it.id).status == "done" for it in items)
    assert len(core.inbox.get(items[0].id).text) == len(huge)  # the record keeps all of it


# -- the model's text ------------------------------------------------------------------------------
SCAFFOLD_NOTE = {"summary": "1. Screen - Thunderbird | TP1947", "topics": ["unsorted"], "facts": []}


def scaffold_notes(req: Request) -> Any:
    n = req.schema["properties"]["notes"]["minItems"] if req.schema else 1
    return {"notes": [SCAFFOLD_NOTE] * n}


def test_prompt_scaffolding_never_becomes_a_title_or_a_tag(core: Any) -> None:
    model = ScriptedModel(default=scaffold_notes)
    feed(
        Pipeline(core, model),
        core,
        [
            cap(("firefox", "Runbook - Confluence — Mozilla Firefox"), "1. Screen - Firefox", 0),
            cap(MAIL, "Thunderbird TP1947 unsorted", 1),
        ],
    )
    assert model.requests  # the model was asked, its output thrown away
    for m in core.browse(limit=100):
        text = " ".join([m.title, *m.tags])
        assert "Screen -" not in m.title and "Unsorted" not in m.title, m.title
        assert "topic:unsorted" not in text


def test_a_model_that_failed_the_capability_check_is_not_asked(core: Any) -> None:
    model = ScriptedModel(default=echo_notes())
    p = Pipeline(core, model, mode="off")
    feed(p, core, [cap(MAIL, "Flight TP1947", 0), InboxItem(kind="chat", text="I like tea")])
    assert model.requests == []
    assert len(session_memories(core)) == 1 and len(episodes(core)) == 2


# -- yielding to chat ------------------------------------------------------------------------------
def test_the_model_yields_to_a_chat(core: Any) -> None:
    fg = Foreground()
    model = ScriptedModel(default=echo_notes())
    p = Pipeline(core, model, foreground=fg)
    with fg.chat():
        for i in range(3):
            core.inbox.put(cap(MAIL, f"line {i}", i))
        core.inbox.put(InboxItem(kind="chat", text="my dentist is Dr. Okafor"))
        res = p.process(core.inbox.take(10))
    assert model.requests == [] and res.yielded and res.sorted == 4 and res.unsorted == 0
    assert core.inbox.backlog() == 0

    # A note under way when a chat starts stops within a token; its items are sorted anyway.
    def chat_starts(req: Request) -> Any:
        fg._active += 1  # the chat begins while the model writes this note
        return echo_notes()(req)

    model.default = chat_starts
    item = core.inbox.put(cap(SLACK, "Jonas: design review moved", 10))
    res = p.process(core.inbox.take(10))
    fg._active -= 1
    assert res.yielded and res.sorted == 1 and res.unsorted == 0
    assert core.inbox.get(item.id).status == "done" and core.inbox.get(item.id).attempts == 0


def test_the_backlog_stays_bounded_while_capture_outpaces_a_slow_model(
    core: Any, paths: Any
) -> None:
    """Captures arrive faster than the model writes notes, with chats now and then: the job
    keeps up (notes are skipped when behind or while a chat waits) and the backlog stays
    bounded."""
    from mirix_app.memory.core import MemoryCore

    def slow(req: Request) -> Any:
        time.sleep(0.3)
        return echo_notes()(req)

    fg = Foreground()
    settings = AgentSettings(batch_size=10, notes_backlog_limit=15)
    job = ProcessingJob(core, ScriptedModel(default=slow), settings)
    job.pipeline.foreground = fg
    producer = MemoryCore.open(paths)
    backlog: list[int] = []
    done = threading.Event()

    def produce() -> None:
        apps = [CODE, MAIL, SLACK]
        for n in range(120):
            producer.inbox.put(cap(apps[(n // 10) % 3], f"screen {n}: line {n} new text", n / 20))
            if n % 40 == 20:
                with fg.chat():
                    time.sleep(0.2)
            time.sleep(0.01)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    while not (done.is_set() and core.inbox.backlog() == 0):
        job.run()
        backlog.append(core.inbox.backlog())
        time.sleep(0.02)
    t.join()
    producer.close()
    assert max(backlog) <= 60, backlog
    assert len(session_memories(core)) <= 12
    assert sum(len(m.sources) for m in session_memories(core)) == 120
