"""A helper process that shows real Qt windows on the X display, driven by JSON lines on stdin.

Run with QT_QPA_PLATFORM=xcb. Commands: open, lines, append, cursor, move, close, closeall, quit.
Every command is answered with one line `ok` once the window is painted and flushed to X.
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


class TextWindow(QWidget):
    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.lines = list(lines)
        self.cursor = False
        self.font_ = QFont("DejaVu Sans Mono")
        self.font_.setPixelSize(FONT_PX)
        self.font_.setStyleStrategy(QFont.StyleStrategy.NoAntialias)

    def paintEvent(self, event: object) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        p.setPen(QColor("black"))
        p.setFont(self.font_)
        fm = p.fontMetrics()
        y = 20
        for line in self.lines:
            p.drawText(20, y + fm.ascent(), line)
            y += LINE_PX
        if self.cursor:
            last = self.lines[-1] if self.lines else ""
            x = 20 + fm.horizontalAdvance(last) + 2
            p.fillRect(x, y - LINE_PX + 2, 2, FONT_PX + 2, QColor("black"))
        p.end()


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
            w = TextWindow(cmd.get("title", "test"), cmd.get("lines", []))
            w.setGeometry(cmd["x"], cmd["y"], cmd["w"], cmd["h"])
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
