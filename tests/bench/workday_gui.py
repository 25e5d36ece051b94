"""The real mirix GUI for bench_workday.py, driven by lines on stdin; answers `ok` once painted.

Commands: show | hide | page:NAME | popup:TEXT | menu | quit. Runs the real MirixApp over its own
data dir (MIRIX_HOME) with no model and capture off: the bench captures the screen itself.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
    from PySide6.QtWidgets import QApplication

    from mirix_app.config import Settings
    from mirix_app.paths import Paths
    from mirix_app.ui import theme
    from mirix_app.ui.app import MirixApp
    from mirix_app.ui.services import Services

    paths = Paths.default().ensure()
    st = Settings.load(paths)
    st.extra["model"] = {"path": str(paths.data / "no-model.gguf")}
    st.save(paths)
    qapp = QApplication([sys.argv[0]])
    qapp.setApplicationName("mirix")
    qapp.setQuitOnLastWindowClosed(False)
    theme.apply(qapp)
    app = MirixApp(Services.open(paths), use_tray=False)
    app.window.setGeometry(20, 20, 1860, 1000)

    class Bridge(QObject):
        command = Signal(str)

    bridge = Bridge()

    def handle(line: str) -> None:
        cmd, _, arg = line.strip().partition(":")
        if cmd == "show":
            app.window.show()
            app.window.raise_()
            app.window.activateWindow()
        elif cmd == "hide":
            app.tray.menu.hide()
            app.popup.hide()
            app.window.hide()
        elif cmd == "page":
            app.window.show_page(arg)
        elif cmd == "popup":
            app.quick_search()
            app.popup.box.setText(arg)
        elif cmd == "menu":
            app.tray.menu.popup(QPoint(1400, 500))
        elif cmd == "quit":
            app.quit()
            return
        qapp.processEvents()
        QTimer.singleShot(400, lambda: print("ok", flush=True))

    bridge.command.connect(handle, Qt.ConnectionType.QueuedConnection)

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                bridge.command.emit(line)
        bridge.command.emit("quit")

    threading.Thread(target=read, daemon=True).start()
    QTimer.singleShot(0, lambda: print("ready", flush=True))
    code = int(qapp.exec())
    time.sleep(0.1)
    return code


if __name__ == "__main__":
    sys.exit(main())
