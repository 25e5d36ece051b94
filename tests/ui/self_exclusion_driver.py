"""The real app on an X display, capturing while its own windows are open (test_self_exclusion.py).

Run with DISPLAY set, QT_QPA_PLATFORM=xcb and MIRIX_HOME pointing at a fresh data dir. It starts the
real MirixApp (real Services: real CaptureService through the X11 adapter, every second, consent
given), shows the main window on the right half of the screen, opens the quick-search popup, the
tray menu and a dialog over it, lets capture run `--cycles` cycles, prints `READY`, waits for a
line on stdin, quits through the app's own quit and prints one JSON line: every captured item
(app, window, text) and the window handles.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=3)
    args = ap.parse_args()

    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from mirix_app.config import Settings
    from mirix_app.memory.clock import now_iso
    from mirix_app.paths import Paths
    from mirix_app.ui import theme
    from mirix_app.ui.app import MirixApp
    from mirix_app.ui.services import Services

    paths = Paths.default().ensure()
    st = Settings.load(paths)
    st.extra["capture"] = {
        "interval_seconds": 1.0,
        "idle_after_seconds": 0.0,  # Xvfb has no input: never "idle"
        "on_focus_change": False,
    }
    st.extra["ui"] = {"consent_at": now_iso()}
    st.extra["model"] = {"path": str(paths.data / "no-model-here.gguf")}  # no model: no CPU
    st.save(paths)

    qapp = QApplication([sys.argv[0]])
    qapp.setApplicationName("mirix")  # as ui.app.run does: the class of every window
    qapp.setQuitOnLastWindowClosed(False)
    theme.apply(qapp)
    services = Services.open(paths)
    if services.capture is None:
        print("NO-CAPTURE", flush=True)
        return 2
    app = MirixApp(services, use_tray=False)
    app.window.setGeometry(980, 60, 900, 900)
    app.start(ask_consent=False)
    state: dict[str, object] = {}

    def open_everything() -> None:
        app.quick_search()
        app.popup.box.setText("porto flight")
        box = QMessageBox(
            QMessageBox.Icon.Information, "mirix", "Capture is on: mirix is remembering"
        )
        box.setModal(False)
        box.move(1300, 300)
        box.show()
        state["box"] = box
        app.tray.menu.popup(QPoint(1500, 700))  # last: a menu closes when another window opens
        state["handles"] = {
            "window": int(app.window.winId()),
            "popup": int(app.popup.winId()),
            "menu": int(app.tray.menu.winId()),
            "dialog": int(box.winId()),
        }

    QTimer.singleShot(500, open_everything)

    def cycles() -> int:
        svc = getattr(services.capture, "service", None)
        return int(svc.state.cycles) if svc is not None else 0

    start = time.monotonic()
    deadline = start + 120
    while (cycles() < args.cycles or time.monotonic() - start < 2) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.02)
    print("READY", cycles(), flush=True)
    go = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), go.set()), daemon=True).start()
    while not go.is_set() and time.monotonic() < deadline + 120:
        qapp.processEvents()
        time.sleep(0.02)
    n = cycles()
    services.stop_capture()
    items = services.core.inbox.recent(500, kind="capture")
    out = {
        "cycles": n,
        "pid": os.getpid(),
        "handles": state.get("handles", {}),
        "captures": [{"app": i.app, "window": i.window, "text": i.text} for i in items],
    }
    app.quit()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
