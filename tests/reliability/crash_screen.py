"""A Qt window whose text keeps changing, for the crash suite (run with QT_QPA_PLATFORM=xcb).

Every tick one line is rewritten with a never-repeating counter, so each capture cycle has new
text; now and then the screen holds still for a while (a restart then sees the screen it may
already have queued), and the title changes (a new episode, a new document). It prints `ok` once
the window is shown. Stops when stdin closes.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QApplication, QWidget

FONT_PX = 18
LINE_PX = 28
TICK_MS = 250
STILL_TICKS = 4  # out of every CYCLE ticks the screen does not change
CYCLE = 16
ROLLING = 6
WORDS = ["river", "harbour", "meadow", "orchard", "canal", "quarry", "ridge", "valley"]
HEAD = ["1. Open the lab notebook", "2. Record the water reading", ""]


class Screen(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.title_no = 1
        self.lines = [*HEAD, *(f"Entry {i}: waiting for the first walk" for i in range(ROLLING))]
        self.font_ = QFont("DejaVu Sans Mono")
        self.font_.setPixelSize(FONT_PX)
        self.font_.setStyleStrategy(QFont.StyleStrategy.NoAntialias)
        self.setWindowTitle(self.title())

    def title(self) -> str:
        return f"field-notes-{self.title_no}.txt - Editor"

    def tick(self) -> None:
        self.n += 1
        if self.n % CYCLE < STILL_TICKS:
            return
        if self.n % 40 == 0:
            self.title_no += 1
            self.setWindowTitle(self.title())
        word = WORDS[self.n % len(WORDS)]
        self.lines[len(HEAD) + self.n % ROLLING] = (
            f"Entry {self.n}: walked {self.n * 7 % 97} km along the {word} at {self.n % 24:02d}:15"
        )
        self.update()

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
        p.end()


class Bridge(QObject):
    quit = Signal()


def main() -> None:
    app = QApplication(sys.argv)
    app.setApplicationName("crash-screen")
    w = Screen()
    w.setGeometry(20, 20, 760, 280)
    w.show()
    timer = QTimer()
    timer.timeout.connect(w.tick)
    timer.start(TICK_MS)
    bridge = Bridge()
    bridge.quit.connect(app.quit)

    def watch_stdin() -> None:
        sys.stdin.read()
        bridge.quit.emit()

    threading.Thread(target=watch_stdin, daemon=True).start()
    QTimer.singleShot(300, lambda: (sys.stdout.write("ok\n"), sys.stdout.flush()))
    app.exec()


if __name__ == "__main__":
    main()
