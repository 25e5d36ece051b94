"""Chat page on the real answer path: the extractive answer shows before any model output, a
verified rephrasing replaces it, an unverified one never shows as the answer, Stop works."""

from __future__ import annotations

import threading
from typing import Any

from mirix_app.agent.chat import ChatAgent
from mirix_app.ui.adapters import AgentAdapter
from mirix_app.ui.services import Services
from tests.fakes import ScriptedModel

TIMEOUT = 20_000


def _window(core: Any, qtbot: Any, model: Any) -> tuple[Any, Any]:
    from mirix_app.ui.main_window import MainWindow
    from mirix_app.ui.workers import Runner

    svc = Services(core)
    adapter = AgentAdapter(svc)
    adapter.model = model
    adapter.chat_agent = ChatAgent(core, model, mode="phrase")
    svc.agent = adapter
    runner = Runner()
    win = MainWindow(svc, runner)
    qtbot.addWidget(win)
    win.show_page("chat")
    return win, runner


def _flight(core: Any) -> Any:
    return core.new(
        "episodic",
        {
            "summary": "Read 'Your Porto trip is confirmed' in Thunderbird",
            "details": "Flight TP1947 Lisbon to Porto\nThursday 12 March, 07:45, gate A14",
            "occurred_at": "2026-12-02T06:14:00Z",
        },
    )


def test_the_extractive_answer_shows_before_the_model_speaks(core: Any, qtbot: Any) -> None:
    mem = _flight(core)
    gate = threading.Event()

    def slow_reply(req: Any) -> str:
        assert gate.wait(15), "the test never saw the extractive answer"
        return "Your flight is on Thursday 12 March 2026 at 07:45 from gate A14."

    win, runner = _window(core, qtbot, ScriptedModel([slow_reply]))
    try:
        win.chat.ask("When is my flight to Porto and from which gate?")
        turn = win.chat.turns[-1]
        # The model is still blocked: what shows is the answer from the evidence, cited.
        qtbot.waitUntil(lambda: "07:45" in turn.text, timeout=TIMEOUT)
        assert turn.streaming and mem.id in turn.text and "A14" in turn.text
        assert "[1]" in win.chat.transcript.toHtml() or "[1]" in win.chat.transcript_text()
        gate.set()
        with qtbot.waitSignal(win.chat.answered, timeout=TIMEOUT) as done:
            pass
        final = done.args[0]
        assert final.startswith("Your flight is on Thursday 12 March 2026 at 07:45")
        assert turn.text == final and not turn.draft
    finally:
        gate.set()
        win._status_timer.stop()
        runner.shutdown()


def test_an_invented_rephrasing_never_becomes_the_answer(core: Any, qtbot: Any) -> None:
    _flight(core)
    win, runner = _window(
        core, qtbot, ScriptedModel(["Your flight is on Friday at 09:10, gate B2."])
    )
    try:
        with qtbot.waitSignal(win.chat.answered, timeout=TIMEOUT) as done:
            win.chat.ask("When is my flight to Porto and from which gate?")
        assert "09:10" not in done.args[0] and "07:45" in done.args[0]
        turn = win.chat.turns[-1]
        assert "did not match the sources" in turn.note
        assert "09:10" not in win.chat.transcript_text()
    finally:
        win._status_timer.stop()
        runner.shutdown()


def test_stop_cancels_a_rephrasing_and_keeps_the_answer(core: Any, qtbot: Any) -> None:
    _flight(core)
    gate = threading.Event()

    def never(req: Any) -> str:
        gate.wait(15)
        return "Thursday 12 March 2026 at 07:45, gate A14."

    win, runner = _window(core, qtbot, ScriptedModel([never]))
    try:
        win.chat.ask("When is my flight to Porto?")
        turn = win.chat.turns[-1]
        qtbot.waitUntil(lambda: "07:45" in turn.text, timeout=TIMEOUT)
        win.chat.stop()
        assert not turn.streaming and "07:45" in turn.text and win.chat.send_btn.isEnabled()
    finally:
        gate.set()
        win._status_timer.stop()
        runner.shutdown()
