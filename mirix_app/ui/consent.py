"""First run: what is captured, where it is kept, how to pause and exclude; consent before capture."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mirix_app.ui import theme
from mirix_app.ui.services import Services


class ConsentDialog(QDialog):
    """Accept = the user agrees to start capturing; reject = not now (the app still works)."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to mirix")
        self.setModal(True)
        self.setMinimumWidth(600)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(28, 24, 28, 20)
        lay.setSpacing(12)
        head = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(theme.app_icon().pixmap(56, 56))
        title = QLabel("Your memory, kept on this computer")
        title.setStyleSheet("font-size: 16pt; font-weight: 700;")
        head.addWidget(logo)
        head.addWidget(title, 1)
        lay.addLayout(head)
        data = services.paths.data
        body = QLabel(
            f"""
<p>mirix remembers what you see so you can ask about it later. Before it starts, here is
exactly what it does.</p>
<p><b>What is captured.</b> Every few seconds, when your screen has changed: the text on each
monitor (read on this computer), the app and window title, and the page address when it is
known. Screenshots are kept only if you turn that on, and then encrypted.</p>
<p><b>Where it is kept.</b> Only here: <code>{data}</code>. Nothing is sent anywhere unless you
choose an online model endpoint in Settings. Secrets you save are encrypted with a key in your
system keyring.</p>
<p><b>How to pause and exclude.</b> Use the tray icon (Pause 15 min, 1 hour, or until resumed).
Password managers and private browser windows are skipped; add any app or window title in
Settings › Privacy. You can delete any memory, or everything, at any time.</p>
"""
        )
        body.setWordWrap(True)
        body.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(body)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.later = QPushButton("Not now")
        self.agree = QPushButton("Start remembering")
        self.agree.setObjectName("Primary")
        self.agree.setDefault(True)
        buttons.addWidget(self.later)
        buttons.addWidget(self.agree)
        lay.addLayout(buttons)
        self.later.clicked.connect(self.reject)
        self.agree.clicked.connect(self.accept)
