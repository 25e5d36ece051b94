"""Render every screen from a real data folder and save PNGs (for the README).

    python tests/ui/render_screens.py --from DATA_DIR [--out resources/screenshots]
        [--ask "When does my flight to Lisbon leave?"]

DATA_DIR is a data folder made by a real run: real windows captured by the capture service (real
tesseract, redaction) and sorted by the pipeline with the shipped model, e.g. the one
`tests/bench/bench_screen_qa.py --store DIR` keeps in DIR/home. It is copied first, so it is not
changed. The window runs on the real services: the real agent with the shipped SmolLM2 (its
capability check runs once if the folder has no cached result) answers the chat question; nothing
is scripted. Runs offscreen, or on the X display in $DISPLAY.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="source", type=Path, required=True, help="a real data folder")
    ap.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    ap.add_argument("--ask", default="When does my flight to Lisbon leave?")
    ap.add_argument("--search", default="invoice")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="mirix-render-")) / "home"
    shutil.copytree(args.source, home)
    os.environ["MIRIX_HOME"] = str(home)

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv)
    from mirix_app.memory.types import MemoryType
    from mirix_app.paths import Paths
    from mirix_app.ui import theme
    from mirix_app.ui.consent import ConsentDialog
    from mirix_app.ui.main_window import MainWindow
    from mirix_app.ui.search_popup import QuickSearch
    from mirix_app.ui.services import Services
    from mirix_app.ui.workers import Runner

    theme.apply(app)
    services = Services.open(Paths.default())
    core = services.core
    print("loading the model (and its capability check when not cached)...", flush=True)
    services.load_model()
    services.warm_up()
    runner = Runner()
    win = MainWindow(services, runner)
    win.resize(1280, 800)
    win.show()

    def settle(ms: int = 400, until: object = None, limit: float = 8) -> None:
        end = time.monotonic() + limit
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

    def pick(mtype: MemoryType, prefer: tuple[str, ...]) -> object:
        mems = services.browse(mtype, limit=200)
        for word in prefer:
            for m in mems:
                if word.lower() in m.title.lower():
                    return m
        return mems[0] if mems else None

    settle(800)
    win.show_page("memories")
    for mtype, name, prefer in (
        (MemoryType.SEMANTIC, "memories", ("Brightline", "Jonas", "Sam")),
        (MemoryType.PROCEDURAL, "procedural", ("VPN", "rotate")),
        (MemoryType.RESOURCE, "resources", ("runbook", "recipe", "pancakes")),
    ):
        win.memories.set_type(mtype)
        settle(300, until=lambda t=mtype: win.memories.tables[t].model.rowCount() > 0)
        m = pick(mtype, prefer)
        if m is not None:
            win.memories.show_memory(m)  # type: ignore[arg-type]
            settle(500, until=lambda: win.memories.detail.history.count() > 0)
            save(win, name)

    win.show_page("search")
    win.search.set_text(args.search)
    settle(300, until=lambda: len(win.search.model.hits) > 0)
    save(win, "search")

    caps = core.inbox.recent(limit=500, kind="capture")
    flight = next(
        (c for c in caps if "flight" in (c.text or "").lower()), caps[0] if caps else None
    )
    win.show_page("timeline")
    if flight is not None:
        win.timeline.show_capture(flight.id)
        settle(
            500,
            until=lambda: (
                win.timeline.made.count() > 0 and win.timeline.made.item(0).text() != "Looking…"
            ),
        )
    settle(500)
    save(win, "timeline")

    win.show_page("chat")
    win.chat.ask(args.ask)
    settle(300, until=lambda: win.chat.task is None, limit=180)
    print("chat answer:", win.chat.turns[-1].text[:300].replace("\n", " | "))
    save(win, "chat")

    win.show_page("settings")
    win.settings.activate()
    save(win, "settings")

    popup = QuickSearch(services, runner)
    popup.popup()
    popup.box.setText("gate")
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
    services.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
