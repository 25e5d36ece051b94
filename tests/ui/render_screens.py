"""Render every screen with realistic sample data and save PNGs (for the README).

    python tests/ui/render_screens.py [--out resources/screenshots]

Runs offscreen (or on the X display in $DISPLAY, e.g. under xvfb-run); uses a throwaway data dir.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MIRIX_PASSPHRASE", "render-screens")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="mirix-render-"))
    os.environ["MIRIX_HOME"] = str(home)

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv)
    from sample_data import FakeAgent, FakeCapture, populate

    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths
    from mirix_app.ui import theme
    from mirix_app.ui.consent import ConsentDialog
    from mirix_app.ui.main_window import MainWindow
    from mirix_app.ui.search_popup import QuickSearch
    from mirix_app.ui.services import Services
    from mirix_app.ui.workers import Runner

    theme.apply(app)
    core = MemoryCore.open(Paths.default())
    ids = populate(core)
    agent = FakeAgent(
        "Anna recommended Taberna da Rua in Lisbon, known for its grilled octopus. She mentioned "
        "it during your Q3 roadmap call this morning, right after you talked about the webhook.",
        cites=[ids["taberna"], ids["call"]],
    )
    agent.loaded = True
    capture = FakeCapture()
    capture.state = "recording"
    services = Services(core, capture=capture, agent=agent)
    services.give_consent()
    services.warm_up()
    runner = Runner()
    win = MainWindow(services, runner)
    win.resize(1280, 800)
    win.show()

    def settle(ms: int = 400, until: object = None) -> None:
        end = time.monotonic() + 8
        while True:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()
            QCoreApplication.processEvents()
            if until is None or until() or time.monotonic() > end:  # type: ignore[operator]
                return

    def save(widget: QWidget, name: str) -> None:
        settle(150)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print("wrote", path)

    settle(800, until=lambda: win.memories.table.model.rowCount() > 0)
    # Memories: semantic tab with Anna selected
    from mirix_app.memory.types import MemoryType

    win.show_page("memories")
    win.memories.set_type(MemoryType.SEMANTIC)
    settle(300, until=lambda: win.memories.tables[MemoryType.SEMANTIC].model.rowCount() > 0)
    win.memories.show_memory(core.get(ids["anna"]))
    settle(500, until=lambda: win.memories.detail.history.count() > 0)
    save(win, "memories")

    win.memories.set_type(MemoryType.VAULT)
    settle(300, until=lambda: win.memories.tables[MemoryType.VAULT].model.rowCount() > 0)
    win.memories.show_memory(core.get(ids["vault"]))
    settle(300)
    save(win, "vault")

    win.memories.set_type(MemoryType.PROCEDURAL)
    settle(300, until=lambda: win.memories.tables[MemoryType.PROCEDURAL].model.rowCount() > 0)
    win.memories.show_memory(core.get(ids["deploy"]))
    settle(300)
    save(win, "procedural")

    win.show_page("search")
    win.search.set_text("lisbon")
    settle(300, until=lambda: len(win.search.model.hits) > 0)
    save(win, "search")

    win.show_page("timeline")
    win.timeline.show_capture(ids["cap2"])
    settle(
        500,
        until=lambda: (
            win.timeline.made.count() > 0 and win.timeline.made.item(0).text() != "Looking…"
        ),
    )
    settle(500)
    save(win, "timeline")

    win.show_page("chat")
    win.chat.ask("What was the restaurant Anna recommended?")
    settle(300, until=lambda: win.chat.task is None and any(t.citations for t in win.chat.turns))
    save(win, "chat")

    win.show_page("settings")
    win.settings.activate()
    win.settings.excl_apps.setPlainText("^signal$\nkeepassxc")
    win.settings.excl_titles.setPlainText("(?i)salary\n(?i)bank")
    save(win, "settings")

    popup = QuickSearch(services, runner)
    popup.popup()
    popup.box.setText("deploy")
    settle(300, until=lambda: popup.list.count() > 0)
    save(popup, "quick-search")
    popup.hide()

    dlg = ConsentDialog(services, win)
    dlg.show()
    save(dlg, "first-run")
    dlg.close()

    # Tray icon states, side by side
    from PySide6.QtGui import QColor, QPainter, QPixmap

    states = ["recording", "paused", "error", "off"]
    sheet = QPixmap(4 * 96, 96)
    sheet.fill(QColor("#2b2f3a"))
    p = QPainter(sheet)
    for i, st in enumerate(states):
        p.drawPixmap(i * 96 + 16, 16, theme.tray_pixmap(st, 64))
    p.end()
    sheet.save(str(out / "tray-states.png"))
    print("wrote", out / "tray-states.png")
    theme.app_icon().pixmap(256, 256).save(str(ROOT / "resources" / "icons" / "mirix.png"))

    win._status_timer.stop()
    runner.shutdown()
    win.close()
    core.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
