"""A helper process that shows real Qt windows on the X display, driven by JSON lines on stdin.

Run with QT_QPA_PLATFORM=xcb. Commands: open, lines, append, cursor, move, close, closeall, quit.
Every command is answered with one line `ok` once the window is painted and flushed to X.

`open` takes optional styling keys (defaults keep the original look): `app` (the window's WM_CLASS
class, e.g. "firefox"; `app_instance` its instance name, default the lower-case class; without
`app` the window keeps Qt's WM_CLASS from the process's application name), `font` ("mono", "sans"
or a family name), `font_px`, `line_px`, `bg` and `fg` (colour names or #rrggbb).
"""

from __future__ import annotations

import json
import sys
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QApplication, QWidget

FONT_PX = 18
LINE_PX = 28


FONTS = {"mono": "DejaVu Sans Mono", "sans": "DejaVu Sans"}


class TextWindow(QWidget):
    def __init__(
        self,
        title: str,
        lines: list[str],
        *,
        font: str = "mono",
        font_px: int = FONT_PX,
        line_px: int = LINE_PX,
        bg: str = "white",
        fg: str = "black",
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.lines = list(lines)
        self.cursor = False
        self.font_px, self.line_px = font_px, line_px
        self.bg, self.fg = QColor(bg), QColor(fg)
        self.font_ = QFont(FONTS.get(font, font))
        self.font_.setPixelSize(font_px)
        self.font_.setStyleStrategy(QFont.StyleStrategy.NoAntialias)

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.bg)
        p.setPen(self.fg)
        p.setFont(self.font_)
        fm = p.fontMetrics()
        y = 20
        for line in self.lines:
            p.drawText(20, y + fm.ascent(), line)
            y += self.line_px
        if self.cursor:
            last = self.lines[-1] if self.lines else ""
            x = 20 + fm.horizontalAdvance(last) + 2
            p.fillRect(x, y - self.line_px + 2, 2, self.font_px + 2, self.fg)
        p.end()


def set_wm_class(widget: QWidget, instance: str, cls: str) -> None:
    """Give one window its own WM_CLASS (Qt sets one per process, from the application name)."""
    from Xlib import display as xdisplay

    d = xdisplay.Display()
    try:
        win = d.create_resource_object("window", int(widget.winId()))
        win.set_wm_class(instance, cls)
        d.sync()
    finally:
        d.close()


class Bridge(QObject):
    command = Signal(str)


def main() -> None:
    app = QApplication(sys.argv)
    app.setApplicationName(sys.argv[1] if len(sys.argv) > 1 else "mirix-test")
    app.setQuitOnLastWindowClosed(False)
    windows: dict[str, TextWindow] = {}
    bridge = Bridge()

    def reply() -> None:
        sys.stdout.write("ok\n")
        sys.stdout.flush()

    def handle(line: str) -> None:
        cmd = json.loads(line)
        op = cmd["cmd"]
        w = windows.get(cmd.get("id", ""))
        if op == "open":
            style = {k: cmd[k] for k in ("font", "font_px", "line_px", "bg", "fg") if k in cmd}
            w = TextWindow(cmd.get("title", "test"), cmd.get("lines", []), **style)
            w.setGeometry(cmd["x"], cmd["y"], cmd["w"], cmd["h"])
            if cmd.get("app"):
                w.winId()  # the native window exists (unmapped): its WM_CLASS is set before map
                set_wm_class(w, cmd.get("app_instance") or cmd["app"].lower(), cmd["app"])
            w.show()
            windows[cmd["id"]] = w
        elif op == "lines" and w:
            w.lines = list(cmd["lines"])
        elif op == "append" and w:
            w.lines.append(cmd["line"])
        elif op == "cursor" and w:
            w.cursor = bool(cmd["on"])
        elif op == "title" and w:
            w.setWindowTitle(cmd["title"])
        elif op == "close" and w:
            w.close()
            del windows[cmd["id"]]
        elif op == "closeall":
            for x in windows.values():
                x.close()
            windows.clear()
        elif op == "quit":
            app.quit()
            return
        for x in windows.values():
            x.repaint()
        app.processEvents()
        # Give the X server a moment to composite what was flushed.
        QTimer.singleShot(120, reply)

    bridge.command.connect(handle, Qt.ConnectionType.QueuedConnection)

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                bridge.command.emit(line)
        bridge.command.emit('{"cmd": "quit"}')

    threading.Thread(target=read, daemon=True).start()
    app.exec()


if __name__ == "__main__":
    main()
