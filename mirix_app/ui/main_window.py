"""The main window: a sidebar of pages (Chat, Memories, Timeline, Search, Settings) and a status area."""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.types import Memory, Source
from mirix_app.runtime import Event
from mirix_app.ui import theme
from mirix_app.ui.actions import MemoryActions
from mirix_app.ui.chat import ChatView
from mirix_app.ui.memories import MemoriesView
from mirix_app.ui.search import SearchView
from mirix_app.ui.services import CaptureStatus, ModelStatus, Services
from mirix_app.ui.settings_view import SettingsView
from mirix_app.ui.timeline import TimelineView
from mirix_app.ui.workers import Runner, Task

PAGES = ("chat", "memories", "timeline", "search", "settings")
COUNT_EVERY_S = 20.0
STATUS_SAFETY_MS = 30_000
# Events after which the status bar may show something else (not job.*: a status read is a job).
STATUS_EVENTS = frozenset(
    {"capture", "agent.started", "agent.finished", "model.loaded", "model.unloaded"}
)
CAPTURE_TEXT = {
    "recording": "Recording",
    "paused": "Paused",
    "error": "Capture error",
    "off": "Not capturing",
    "unavailable": "Capture not installed",
    "no-consent": "Capture off (no consent yet)",
    "idle": "Idle",
}
MODEL_TEXT = {
    "ready": "Model loaded",
    "loading": "Model loading",
    "error": "Model error",
    "unavailable": "Model not available",
    "idle": "Model not loaded",
}


@dataclass
class Snapshot:
    capture: CaptureStatus
    model: ModelStatus
    memories: int
    discover: bool = False  # the first-run look for local model servers is due


class StatusArea(QWidget):
    """Recording / paused / error, the inbox backlog, the model state (with progress)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.setSpacing(6)
        self.capture_dot = QLabel()
        self.capture = QLabel()
        self.backlog = QLabel()
        self.model_dot = QLabel()
        self.model = QLabel()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(110)
        self.progress.setFixedHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.count = QLabel()
        # Shown when the first-run look found model servers: one click opens Settings > Model.
        self.servers_btn = QPushButton()
        self.servers_btn.setFlat(True)
        self.servers_btn.hide()
        for w in (self.capture_dot, self.capture, self.backlog, self.model_dot, self.model):
            lay.addWidget(w)
        lay.addWidget(self.progress)
        lay.addWidget(self.servers_btn)
        lay.addStretch(1)
        lay.addWidget(self.count)

    def show_snapshot(self, s: Snapshot) -> None:
        c, m = s.capture, s.model
        self.capture_dot.setPixmap(theme.dot(theme.STATE_COLORS.get(c.state, theme.MUTED)))
        text = CAPTURE_TEXT.get(c.state, c.state)
        if c.state == "paused" and c.paused_until:
            text += f" until {c.paused_until}"
        if c.state in ("error", "idle") and c.detail:
            text += f": {c.detail[:80]}"
        self.capture.setText(text)
        self.capture.setToolTip(c.detail)
        self.backlog.setText(
            f"·  {c.backlog} waiting to be remembered" if c.backlog else "·  inbox empty"
        )
        self.model_dot.setPixmap(theme.dot(theme.STATE_COLORS.get(m.state, theme.MUTED)))
        mt = MODEL_TEXT.get(m.state, m.state)
        chat, agent = m.roles.get("chat"), m.roles.get("agent")
        if m.state == "error" and m.detail:
            mt += f": {m.detail[:60]}"
        elif chat and agent and chat != agent:
            mt += f" · chat: {chat[:40]} · agent: {agent[:40]}"
        elif chat:
            mt += f": {chat[:60]} (chat and agent)"
        elif m.detail and m.state == "ready":
            mt += f": {m.detail[:60]}"
        self.model.setText(mt)
        tip = m.detail
        if chat or agent:
            tip = f"chat: {chat or '?'}\nagent: {agent or '?'}" + (
                f"\n{m.detail}" if m.detail else ""
            )
        self.model.setToolTip(tip)
        if m.state == "loading":
            self.progress.show()
            if m.progress is None:
                self.progress.setRange(0, 0)
            else:
                self.progress.setRange(0, 100)
                self.progress.setValue(int(m.progress * 100))
        else:
            self.progress.hide()
        self.count.setText(f"{s.memories:,} memories")


class MainWindow(QMainWindow):
    close_to_tray = Signal()  # the window was closed but the app keeps running
    status_changed = Signal(object)  # Snapshot

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.setWindowTitle("mirix")
        self.setWindowIcon(theme.app_icon())
        self.resize(1240, 800)
        self.keep_running = False  # set when a tray icon exists: closing hides the window
        self.ops = MemoryActions(services, runner, self)

        self.chat = ChatView(services, runner)
        self.memories = MemoriesView(services, runner, self.ops)
        self.timeline = TimelineView(services, runner)
        self.search = SearchView(services, runner, self.ops)
        self.settings = SettingsView(services, runner)
        self.views = {
            "chat": self.chat,
            "memories": self.memories,
            "timeline": self.timeline,
            "search": self.search,
            "settings": self.settings,
        }

        sidebar = self._sidebar()
        self.stack = QStackedWidget()
        for name in PAGES:
            self.stack.addWidget(self.views[name])
        central = QWidget()
        cl = QHBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(sidebar)
        cl.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status_area = StatusArea()
        self.status_area.servers_btn.clicked.connect(self._choose_server)
        self._discovering = False
        self.statusBar().addPermanentWidget(self.status_area, 1)
        self.statusBar().setSizeGripEnabled(False)

        self.nav.currentRowChanged.connect(self._page)
        self.memories.open_source.connect(self.open_source)
        self.search.open_source.connect(self.open_source)
        self.search.open_memory.connect(self.show_memory)
        self.chat.open_memory.connect(self.show_memory)
        self.timeline.open_memory.connect(self.show_memory)
        self.settings.message.connect(lambda t: self.statusBar().showMessage(t, 6000))
        self.settings.data_deleted.connect(self._data_reset)
        self.settings.data_imported.connect(self._data_reset)
        self.ops.error.connect(self._error)

        for i, name in enumerate(PAGES, 1):
            QShortcut(QKeySequence(f"Ctrl+{i}"), self, lambda n=name: self.show_page(n))
        QShortcut(QKeySequence.StandardKey.Find, self, lambda: self.show_page("search"))

        self.last_status: Snapshot | None = None
        self._status_task: Task | None = None
        self._count_at: float | None = None
        self._status_again = False
        # The status follows the runtime's events (capture state, the agent's drains, model
        # load/unload); this slow timer only catches what nobody announces (a pause set from a
        # shell while capture is off, a pause running out).
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_SAFETY_MS)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start()
        runner.runtime_event.connect(self._on_event)
        self.nav.setCurrentRow(PAGES.index("memories"))
        self.refresh_status()

    def _sidebar(self) -> QWidget:
        """The brand, the page list (self.nav) and the quick-search hint."""
        sidebar = QWidget()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(200)
        sl = QVBoxLayout(sidebar)
        sl.setContentsMargins(0, 0, 0, 12)
        brand = QLabel("mirix")
        brand.setObjectName("Brand")
        self.nav = QListWidget()
        self.nav.setObjectName("Nav")
        self.nav.setIconSize(QSize(20, 20))
        labels = {
            "chat": "Chat",
            "memories": "Memories",
            "timeline": "Timeline",
            "search": "Search",
            "settings": "Settings",
        }
        for i, name in enumerate(PAGES, 1):
            item = QListWidgetItem(theme.nav_icon(name), labels[name])
            item.setToolTip(f"{labels[name]} (Ctrl+{i})")
            self.nav.addItem(item)
        sl.addWidget(brand)
        sl.addWidget(self.nav, 1)
        hint = QLabel("Ctrl+K quick search")
        hint.setStyleSheet("color: #7d869b; padding: 0 16px; font-size: 8.5pt;")
        sl.addWidget(hint)
        return sidebar

    # -- navigation --------------------------------------------------------------------------
    def show_page(self, name: str) -> None:
        self.nav.setCurrentRow(PAGES.index(name))

    @property
    def page_name(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def _page(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        view = self.views[PAGES[row]]
        activate = getattr(view, "activate", None)
        if activate:
            activate()

    def show_memory(self, memory: Memory) -> None:
        self.show_page("memories")
        self.memories.show_memory(memory)
        self.bring_forward()

    def open_source(self, source: Source) -> None:
        if source.kind == "capture":
            self.show_page("timeline")
            self.timeline.show_capture(source.ref)
        elif source.kind == "file" and (source.uri or source.ref):
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            target = source.uri or source.ref
            url = QUrl(target) if "://" in target else QUrl.fromLocalFile(target)
            QDesktopServices.openUrl(url)
        else:
            self.runner.submit(
                self.services.inbox_item,
                source.ref,
                name="source",
                on_done=lambda item: self._show_message(source, item),
            )

    def _show_message(self, source: Source, item: object) -> None:
        text = getattr(item, "text", None) or f"{source.kind} {source.ref} is not stored any more."
        box = QMessageBox(self)
        box.setWindowTitle("Source")
        box.setText(text[:4000])
        box.open()

    def bring_forward(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- status ------------------------------------------------------------------------------
    def _on_event(self, ev: Event) -> None:
        """A runtime event (Qt thread): re-read the status when it may have changed."""
        if ev.kind in STATUS_EVENTS:
            self.refresh_status()  # folded into one read when several come at once

    def refresh_status(self) -> None:
        """One status read in flight at a time (a slow one is not stacked up behind); the memory
        count (a full count: ~0.1-0.3 s of a core at 100k memories) at most every COUNT_EVERY_S."""
        if self._status_task is not None:
            self._status_again = True  # e.g. just paused: read again once this one is in
            return
        self._status_again = False
        now = time.monotonic()
        count = self._count_at is None or now - self._count_at >= COUNT_EVERY_S
        known = self.last_status.memories if self.last_status is not None else 0

        def snap() -> Snapshot:
            return Snapshot(
                self.services.capture_status(),
                self.services.model_status(),
                sum(self.services.counts().values()) if count else known,
                not self._discovering and self.services.first_run_discovery_due(),
            )

        def done(s: Snapshot) -> None:
            self._status_task = None
            if count:
                self._count_at = now
            self.apply_status(s)
            if self._status_again:
                self.refresh_status()

        def failed(_: BaseException) -> None:
            self._status_task = None
            if self._status_again:
                self.refresh_status()

        self._status_task = self.runner.submit(snap, name="status", on_done=done, on_error=failed)
        if self._status_task.cancel.cancelled:  # the runner is closing
            self._status_task = None

    def recount(self) -> None:
        """Count the memories again at the next status refresh (after an import or a delete)."""
        self._count_at = None

    def apply_status(self, s: Snapshot) -> None:
        self.last_status = s
        self.status_area.show_snapshot(s)
        self.status_changed.emit(s)
        if s.discover and not self._discovering:
            self.first_run_discovery()

    def first_run_discovery(self) -> None:
        """Once, after the welcome: look for model servers on 127.0.0.1 (in a worker) and offer
        what answered in the status bar."""
        self._discovering = True

        def done(servers: list[object]) -> None:
            self._discovering = False
            self.settings.model_panel.show_servers(servers, scanned=True)
            n = sum(len(getattr(s, "models", [])) for s in servers)
            if n:
                names = ", ".join(str(getattr(s, "label", "")) for s in servers)
                self.status_area.servers_btn.setText(f"Found {n} model(s) in {names}: choose…")
                self.status_area.servers_btn.show()

        def failed(_: BaseException) -> None:
            self._discovering = False

        self.runner.submit(
            lambda: self.services.discover_servers(first_run=True),
            name="discover servers",
            on_done=done,
            on_error=failed,
        )

    def _choose_server(self) -> None:
        self.status_area.servers_btn.hide()
        self.show_page("settings")
        self.settings.model_panel.server_tree.setFocus()

    def _error(self, text: str) -> None:
        self.statusBar().showMessage(f"Not done: {text}", 8000)

    def _data_reset(self) -> None:
        self.recount()
        self.memories.reload()
        self.timeline.refresh()
        self.refresh_status()

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.keep_running:
            event.ignore()
            self.hide()
            self.close_to_tray.emit()
            return
        self._status_timer.stop()
        event.accept()
