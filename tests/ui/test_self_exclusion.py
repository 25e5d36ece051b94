"""Capture never records the app itself: its main window, dialogs, tray menu and quick-search popup
are excluded as a password manager is, by process id, window class and handle (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mirix_app.capture.windows import OWN_WINDOWS, OwnWindows, WindowInfo, is_own
from tests.tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("self_exclusion_driver.py")
# Words only our own windows show (sidebar, status bar, popup, tray menu, the dialog).
OURS = [
    "Timeline",
    "Memories",
    "remembered",
    "inbox empty",
    "Search your memory",
    "Quick search",
    "Pause capture",
    "Open mirix",
    "mirix is remembering",
    "porto flight",
]
FOREIGN = ["Quarterly", "ledger", "reconciliation", "marker"]


def test_own_windows_are_matched_by_pid_class_and_handle() -> None:
    own = OwnWindows()
    assert own.owns(WindowInfo(app="xterm", pid=os.getpid()))  # this process
    assert own.owns(WindowInfo(app="mirix", pid=1, classes=("gui.py", "mirix")))  # our class
    assert own.owns(WindowInfo(app="Mirix-App", pid=1))  # a frozen build's process name
    assert not own.owns(WindowInfo(app="mirix-test", pid=1, classes=("qt_windows.py",)))
    assert not own.owns(WindowInfo(app="firefox", title="mirix — GitHub", pid=1))
    own.register(pid=4242, window_class="Mirix Beta", handles=[77])
    assert own.owns(WindowInfo(app="x", pid=4242))
    assert own.owns(WindowInfo(app="x", pid=1, classes=("mirix beta",)))
    assert own.owns(WindowInfo(app="x", pid=1, handle=77))
    own.forget_handles([77])
    assert not own.owns(WindowInfo(app="x", pid=1, handle=77))
    assert is_own(WindowInfo(app="x", pid=os.getpid()))
    assert is_own(WindowInfo(app="x", pid=1, own=True))
    assert not is_own(WindowInfo(app="firefox", pid=1))
    assert OWN_WINDOWS.owns(WindowInfo(app="mirix", pid=1))


def test_the_service_excludes_own_windows_like_a_password_manager(core: Any) -> None:
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.service import CaptureService, OwnWindowRules
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import NullAdapter

    settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False, exclude_apps=["^vim$"])
    svc = CaptureService(core, settings, capturer=Capturer(core, settings, adapter=NullAdapter()))
    rules = svc.capturer.rules
    assert isinstance(rules, OwnWindowRules)
    assert rules.excludes(WindowInfo(app="mirix", pid=1))
    assert rules.excludes(WindowInfo(app="KeePassXC", pid=1))  # the defaults still apply
    assert rules.excludes(WindowInfo(app="vim", pid=1))  # and the user's own rules
    assert not rules.excludes(WindowInfo(app="firefox", pid=1))
    old = CaptureService(core, settings, exclude_own=False, adapter=NullAdapter())
    assert not old.capturer.rules.excludes(WindowInfo(app="mirix", pid=1))


@pytest.mark.slow
@pytest.mark.xvfb
@pytest.mark.timeout(240)
def test_the_real_app_never_captures_its_own_windows(
    tmp_path: Path, core: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real GUI on Xvfb with capture on: main window, quick search, tray menu and a dialog
    open beside another app's window. Its own capture (same process: pid and class) and a
    capture from another process (class) read the other window and nothing of ours."""
    require_tools("Xvfb", "tesseract")
    sys.path.insert(0, str(ROOT))
    from tests.capture.conftest import QtWindows, start_xvfb

    xvfb, display = start_xvfb()
    monkeypatch.setenv("DISPLAY", display)
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "MIRIX_HOME": str(tmp_path / "gui-home"),
        "OMP_THREAD_LIMIT": "1",
        "PYTHONPATH": str(ROOT),
    }
    gui: subprocess.Popen[str] | None = None
    try:
        with QtWindows(display) as other:
            other.open(
                "ledger",
                "Quarterly ledger - LibreOffice Calc",
                ["Quarterly ledger reconciliation", "marker row one", "marker row two"],
                x=20,
                y=60,
                w=900,
                h=500,
                app="libreoffice-calc",
            )
            gui = subprocess.Popen(
                [sys.executable, str(DRIVER), "--cycles", "3"],
                env=env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert gui.stdout is not None and gui.stdin is not None
            ready = gui.stdout.readline()
            assert ready.startswith("READY"), ready + (gui.stderr.read() if gui.stderr else "")
            # Another process capturing the same screen (as `mirix capture` would): our windows
            # are recognised by their class, the other app is read.
            outside = outside_capture(core, display)
            gui.stdin.write("quit\n")
            gui.stdin.flush()
            out, _err = gui.communicate(timeout=60)
        data = json.loads(out.strip().splitlines()[-1])
    finally:
        if gui is not None and gui.poll() is None:
            gui.kill()
            gui.wait()
        xvfb.terminate()
        xvfb.wait(10)
    assert data["cycles"] >= 3 and len(data["handles"]) == 4, data
    inside = data["captures"]
    for name, caps in (("the app's own capture", inside), ("another process", outside)):
        assert caps, f"{name} kept nothing"
        text = "\n".join(f"{c['app']}\n{c['window']}\n{c['text']}" for c in caps)
        assert any(w in text for w in FOREIGN), f"{name} did not read the other window: {text}"
        seen = [w for w in OURS if w.lower() in text.lower()]
        assert not seen, f"{name} captured our own windows ({seen}): {text[:2000]}"
        assert not any((c["app"] or "").lower() == "mirix" for c in caps), caps
        assert not any("quick search" in (c["window"] or "").lower() for c in caps), caps


def outside_capture(core: Any, display: str) -> list[dict[str, Any]]:
    from mirix_app.capture.service import CaptureService
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter

    settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False)
    svc = CaptureService(core, settings, adapter=X11Adapter(display))
    try:
        kept = []
        for _ in range(2):
            kept += [r.item for r in svc.tick() if r.kept and r.item is not None]
            time.sleep(0.2)
    finally:
        svc.capturer.close()
    return [{"app": i.app, "window": i.window, "text": i.text} for i in kept]
