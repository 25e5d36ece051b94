"""The app as a whole: single instance, tray menu and icon states, consent gating capture, chat,
closing to the tray, and a clean quit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from mirix_app.ui import theme
from mirix_app.ui.app import MirixApp
from mirix_app.ui.services import Services
from mirix_app.ui.single import SingleInstance, send_to_running, server_name
from mirix_app.ui.tray import Tray
from tests.tools import require_tools

TIMEOUT = 10_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_capture() -> Any:
    from sample_data import FakeCapture

    return FakeCapture()


@pytest.fixture
def app(core: Any, fake_capture: Any, qtbot: Any) -> Any:
    svc = Services(core, capture=fake_capture)
    a = MirixApp(svc, use_tray=False)
    qtbot.addWidget(a.window)
    yield a
    a.runner.shutdown()
    a.window._status_timer.stop()


def test_second_instance_signals_the_first(paths: Any, qtbot: Any) -> None:
    name = server_name(paths)
    first = SingleInstance(name)
    assert first.listen()
    try:
        with qtbot.waitSignal(first.message, timeout=TIMEOUT) as b:
            assert send_to_running(name, "quick-search")
        assert b.args == ["quick-search"]
        # A real second launch of the app (same data dir) hands over and exits at once.
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from mirix_app.ui.app import run; sys.exit(run(['mirix-app']))",
            ],
            env=env,
            cwd=ROOT,
        )
        with qtbot.waitSignal(first.message, timeout=30_000) as b2:
            while proc.poll() is None:
                qtbot.wait(50)
        assert b2.args == ["show"]
        assert proc.wait(30) == 0
        # a different data dir is a different instance
        other = Services.__name__  # noqa: F841
        assert server_name(paths) != server_name(type(paths).under(paths.data / "x"))
    finally:
        first.close()


def test_stale_socket_is_taken_over(paths: Any, qtbot: Any) -> None:
    name = server_name(paths) + "-stale"
    a = SingleInstance(name)
    assert a.listen()
    b = SingleInstance(name)
    assert not b.listen()  # someone answers: not ours
    a.close()
    assert b.listen()
    b.close()


def test_tray_menu_actions(qtbot: Any) -> None:
    tray = Tray()
    got: list[Any] = []
    tray.pause.connect(lambda m: got.append(("pause", m)))
    tray.resume.connect(lambda: got.append("resume"))
    tray.quick_search.connect(lambda: got.append("search"))
    tray.open_window.connect(lambda: got.append("open"))
    tray.quit_app.connect(lambda: got.append("quit"))
    tray.set_state("recording")
    assert tray.pause_menu.isEnabled() and not tray.resume_action.isEnabled()
    tray.pause_15.trigger()
    tray.pause_60.trigger()
    tray.pause_forever.trigger()
    tray.set_state("paused")
    assert tray.resume_action.isEnabled() and not tray.pause_menu.isEnabled()
    tray.resume_action.trigger()
    tray.search_action.trigger()
    tray.open_action.trigger()
    tray.quit_action.trigger()
    assert got == [
        ("pause", 15),
        ("pause", 60),
        ("pause", None),
        "resume",
        "search",
        "open",
        "quit",
    ]
    texts = [a.text() for a in tray.menu.actions() if a.text()]
    assert texts[1:] == ["Quick search…", "Pause capture", "Resume capture", "Open mirix", "Quit"]


def test_tray_icon_look_follows_the_state(qtbot: Any) -> None:
    imgs = {s: theme.tray_pixmap(s, 32).toImage() for s in ("recording", "paused", "error", "off")}
    assert len({bytes(i.constBits()) for i in imgs.values()}) == 4  # four distinct looks
    tray = Tray()
    tray.set_state("error", "tesseract not found")
    assert "problem" in tray.icon.toolTip() and "tesseract" in tray.icon.toolTip()


TRAY_SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
app = QApplication(sys.argv)
from mirix_app.ui.tray import Tray
t0 = __import__("time").monotonic()
while not QSystemTrayIcon.isSystemTrayAvailable() and __import__("time").monotonic() - t0 < 10:
    app.processEvents()
tray = Tray()
got = []
tray.pause.connect(lambda m: got.append(m))
tray.quit_app.connect(lambda: got.append("quit"))
ok = tray.show()
for state in ("recording", "paused", "error"):
    tray.set_state(state)
    app.processEvents()
tray.pause_15.trigger()
tray.quit_action.trigger()
print("available", QSystemTrayIcon.isSystemTrayAvailable(), "shown", ok, tray.icon.isVisible(), got)
"""


@pytest.mark.xvfb
def test_tray_on_a_real_tray_host(tmp_path: Path) -> None:
    """On Xvfb with Debian's trayer as the tray host, the icon really shows and the menu works."""

    require_tools("Xvfb", "trayer")
    display = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    trayer = None
    try:
        time.sleep(0.8)
        trayer = subprocess.Popen(["trayer", "--edge", "top"], env=env, stderr=subprocess.DEVNULL)
        time.sleep(0.8)
        out = subprocess.run(
            [sys.executable, "-c", TRAY_SCRIPT],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "available True shown True True [15, 'quit']" in out.stdout, out.stdout + out.stderr
    finally:
        for p in (trayer, xvfb):
            if p is not None:
                p.terminate()
                p.wait(10)


def test_pause_and_resume_reach_capture_and_status(app: Any, qtbot: Any, fake_capture: Any) -> None:
    app.services.give_consent()
    app.start_capture()
    qtbot.waitUntil(lambda: ("start", None) in fake_capture.calls, timeout=TIMEOUT)
    app.tray.pause_60.trigger()
    qtbot.waitUntil(lambda: ("pause", 60) in fake_capture.calls, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: app.tray.state == "paused", timeout=TIMEOUT)
    assert "Paused" in app.window.status_area.capture.text()
    app.tray.resume_action.trigger()
    qtbot.waitUntil(lambda: app.tray.state == "recording", timeout=TIMEOUT)
    assert "Recording" in app.window.status_area.capture.text()


def test_first_run_consent_gates_capture(app: Any, qtbot: Any, fake_capture: Any) -> None:
    assert not app.services.consent_given()
    assert app.services.start_capture() is False  # refused without consent
    app.start()
    assert app.consent is not None and app.consent.isVisible()
    qtbot.wait(300)
    assert ("start", None) not in fake_capture.calls
    assert app.services.capture_status().state == "no-consent"
    app.consent.agree.click()
    qtbot.waitUntil(lambda: ("start", None) in fake_capture.calls, timeout=TIMEOUT)
    assert app.services.consent_given()
    assert app.services.section("ui")["consent_at"]


def test_declining_consent_keeps_capture_off(app: Any, qtbot: Any, fake_capture: Any) -> None:
    app.start()
    assert app.consent is not None
    app.consent.later.click()
    qtbot.wait(300)
    assert fake_capture.calls == []
    assert not app.services.consent_given()


def test_closing_the_window_keeps_the_app_in_the_tray(app: Any, qtbot: Any) -> None:
    app.window.show()
    app.window.keep_running = True
    with qtbot.waitSignal(app.window.close_to_tray, timeout=TIMEOUT):
        app.window.close()
    assert not app.window.isVisible()
    app.handle_message("show")  # what a second launch sends
    assert app.window.isVisible()
    app.handle_message("quick-search")
    assert app.popup.isVisible()
    app.popup.hide()


def test_quit_stops_capture_and_workers(
    app: Any, qtbot: Any, fake_capture: Any, monkeypatch: Any
) -> None:
    import threading

    started = threading.Event()

    def long_job(cancel: Any) -> None:
        started.set()
        while not cancel.cancelled:
            time.sleep(0.01)

    app.runner.submit(long_job, slow=True)
    assert started.wait(5)
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: None))
    t0 = time.perf_counter()
    app.quit()
    assert time.perf_counter() - t0 < 3
    assert ("stop", None) in fake_capture.calls
    assert app.runner.busy == 0


def test_chat_without_a_model_says_so(window: Any, qtbot: Any) -> None:
    window.show_page("chat")
    assert window.chat.banner.isVisible()
    assert "Model not available" in window.chat.banner_text.text()
    window.chat.ask("what did I do today?")
    assert "Model not available" in window.chat.transcript_text()
    assert window.chat.send_btn.isEnabled()


def test_chat_streams_and_citations_open_the_memory(sample: dict, core: Any, qtbot: Any) -> None:
    from sample_data import FakeAgent

    from mirix_app.ui.main_window import MainWindow
    from mirix_app.ui.workers import Runner

    agent = FakeAgent("Anna recommended Taberna da Rua in Lisbon.", cites=[sample["taberna"]])
    svc = Services(core, agent=agent)
    runner = Runner()
    win = MainWindow(svc, runner)
    qtbot.addWidget(win)
    win.show_page("chat")
    assert not win.chat.banner.isVisible()
    pieces: list[str] = []
    real = win.chat._chunk
    win.chat._chunk = lambda turn, chunk: (pieces.append(chunk.text), real(turn, chunk))  # type: ignore[method-assign]
    with qtbot.waitSignal(win.chat.answered, timeout=TIMEOUT) as b:
        win.chat.ask("Which restaurant did Anna recommend?")
    assert b.args == ["Anna recommended Taberna da Rua in Lisbon."]
    assert len([p for p in pieces if p]) > 3  # streamed in pieces
    turn = win.chat.turns[-1]
    qtbot.waitUntil(lambda: bool(turn.citations), timeout=TIMEOUT)
    assert turn.citations[0] == (sample["taberna"], "Taberna da Rua")
    assert "Taberna da Rua" in win.chat.transcript_text()
    from PySide6.QtCore import QUrl

    with qtbot.waitSignal(win.chat.open_memory, timeout=TIMEOUT):
        win.chat.transcript.anchorClicked.emit(QUrl(f"mirix:memory/{sample['taberna']}"))
    assert win.page_name == "memories"
    assert win.memories.detail.memory.id == sample["taberna"]
    assert "Screenshot" in win.memories.detail.sources.item(0).text()  # and its source
    win._status_timer.stop()
    runner.shutdown()
