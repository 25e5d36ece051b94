"""`mirix ask` while the app runs: the question goes over the app's private socket and the warm
app answers (in a worker, the Qt thread stays free); with no app, or an app that cannot answer,
the CLI answers by itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mirix_app.instance import ask_running
from mirix_app.memory.types import Memory, MemoryType
from mirix_app.ui.adapters import make_agent
from mirix_app.ui.app import MirixApp
from mirix_app.ui.services import Services
from mirix_app.ui.single import SingleInstance, server_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running(core: Any, paths: Any, qtbot: Any) -> Any:
    from sample_data import FakeCapture

    core.add(
        Memory(
            MemoryType.EPISODIC,
            {
                "summary": "Read 'Your Porto trip is confirmed' in Thunderbird",
                "details": "Flight TP1947 Lisbon to Porto\nThursday 12 March, 07:45\nGate: A14",
                "occurred_at": "2026-03-01T09:00:00Z",
            },
        )
    )
    svc = Services(core, capture=FakeCapture())
    svc.agent = make_agent(svc)
    app = MirixApp(svc, use_tray=False)
    qtbot.addWidget(app.window)
    single = SingleInstance(server_name(paths))
    assert single.listen()
    single.responder = app.answer_request
    yield app
    single.close()
    app.runner.shutdown()
    app.window._status_timer.stop()


def _in_thread(qtbot: Any, fn: Any) -> Any:
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.setdefault("v", fn()))
    t.start()
    qtbot.waitUntil(lambda: not t.is_alive(), timeout=30_000)  # the Qt loop runs meanwhile
    return box.get("v")


def test_the_running_app_answers_over_its_socket(running: Any, paths: Any, qtbot: Any) -> None:
    request = {"question": "Which gate is my Porto flight?", "mode": "off", "remember": False}
    reply = _in_thread(qtbot, lambda: ask_running(paths, request))
    assert reply is not None and reply["via"] == "app"
    assert reply["found"] and "A14" in reply["short"]
    assert reply["citations"] and reply["citations"][0]["label"].startswith("[epi_")


def test_no_app_or_a_bad_request_means_answer_yourself(
    running: Any, paths: Any, qtbot: Any
) -> None:
    other = type(paths).under(paths.data / "elsewhere").ensure()
    assert ask_running(other, {"question": "x"}) is None  # nobody listens there
    bad = {"question": 42, "mode": "off"}
    assert _in_thread(qtbot, lambda: ask_running(paths, bad)) is None


def test_an_app_that_does_not_take_questions_is_skipped(paths: Any, qtbot: Any) -> None:
    single = SingleInstance(server_name(paths))
    assert single.listen()
    try:
        got = _in_thread(qtbot, lambda: ask_running(paths, {"question": "hi", "mode": "off"}))
        assert got is None
    finally:
        single.close()


@pytest.mark.slow
def test_mirix_ask_uses_the_running_app(running: Any, mirix_home: Path, qtbot: Any) -> None:
    env = {**os.environ, "MIRIX_HOME": str(mirix_home)}
    cmd = [sys.executable, "-m", "mirix_app.cli", "ask", "--json", "--mode", "off", "--no-remember"]
    proc = subprocess.Popen(
        [*cmd, "Which gate is my Porto flight?"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=60_000)
    out = json.loads(proc.stdout.read() if proc.stdout else "{}")
    assert proc.returncode == 0 and out["via"] == "app" and "A14" in out["short"]
    local = subprocess.run(
        [*cmd, "--local", "Which gate is my Porto flight?"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    answered_here = json.loads(local.stdout)
    assert "via" not in answered_here and "A14" in answered_here["short"]
