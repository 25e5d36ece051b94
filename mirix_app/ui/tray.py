"""The tray icon: its look shows recording / paused / error; menu: Quick search, Pause, Open, Quit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from mirix_app.ui import theme

TOOLTIPS = {
    "recording": "mirix: remembering",
    "paused": "mirix: paused",
    "error": "mirix: capture has a problem",
    "off": "mirix: not capturing",
    "unavailable": "mirix: capture not installed",
    "no-consent": "mirix: waiting for your go-ahead",
    "idle": "mirix: idle (locked or away)",
}


class Tray(QObject):
    quick_search = Signal()
    open_window = Signal()
    quit_app = Signal()
    pause = Signal(object)  # minutes, or None = until resumed
    resume = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.search_action = QAction("Quick search…", self.menu)
        self.search_action.setShortcut("Ctrl+Shift+Space")
        self.pause_menu = QMenu("Pause capture", self.menu)
        self.pause_15 = QAction("For 15 minutes", self.pause_menu)
        self.pause_60 = QAction("For 1 hour", self.pause_menu)
        self.pause_forever = QAction("Until I resume", self.pause_menu)
        for a in (self.pause_15, self.pause_60, self.pause_forever):
            self.pause_menu.addAction(a)
        self.resume_action = QAction("Resume capture", self.menu)
        self.open_action = QAction("Open mirix", self.menu)
        self.quit_action = QAction("Quit", self.menu)
        self.state_action = QAction("", self.menu)
        self.state_action.setEnabled(False)
        self.menu.addAction(self.state_action)
        self.menu.addSeparator()
        self.menu.addAction(self.search_action)
        self.menu.addMenu(self.pause_menu)
        self.menu.addAction(self.resume_action)
        self.menu.addSeparator()
        self.menu.addAction(self.open_action)
        self.menu.addAction(self.quit_action)

        self.search_action.triggered.connect(self.quick_search)
        self.pause_15.triggered.connect(lambda: self.pause.emit(15))
        self.pause_60.triggered.connect(lambda: self.pause.emit(60))
        self.pause_forever.triggered.connect(lambda: self.pause.emit(None))
        self.resume_action.triggered.connect(self.resume)
        self.open_action.triggered.connect(self.open_window)
        self.quit_action.triggered.connect(self.quit_app)

        self.icon = QSystemTrayIcon(self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.state = ""
        self.set_state("off")

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> bool:
        """Show the icon if a tray exists here; False when there is none (the window stays)."""
        if not self.available():
            return False
        self.icon.show()
        return True

    def hide(self) -> None:
        self.icon.hide()

    def set_state(self, state: str, detail: str = "") -> None:
        if state != self.state:
            self.state = state
            self.icon.setIcon(theme.tray_icon(state))
        tip = TOOLTIPS.get(state, "mirix")
        self.icon.setToolTip(f"{tip}\n{detail}" if detail else tip)
        self.state_action.setText(
            tip.replace("mirix: ", "").capitalize() + (f" ({detail})" if detail else "")
        )
        capturing = state in ("recording", "error", "idle")
        self.pause_menu.setEnabled(capturing)
        self.resume_action.setEnabled(state == "paused")

    def notify(self, title: str, text: str) -> None:
        if self.icon.isVisible():
            self.icon.showMessage(title, text, theme.app_icon(), 4000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window.emit()
