"""Quick search: a small frameless popup; results update as you type; Enter opens the item."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.types import Memory, SearchHit
from mirix_app.ui import theme
from mirix_app.ui.models import show_time
from mirix_app.ui.search import Query, SearchController
from mirix_app.ui.services import Services
from mirix_app.ui.workers import Runner


class QuickSearch(QWidget):
    chosen = Signal(object)  # Memory

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint)
        self.setWindowTitle("mirix quick search")
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.resize(620, 420)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        frame = QFrame()
        frame.setObjectName("Popup")
        outer.addWidget(frame)
        lay = QVBoxLayout(frame)
        lay.setContentsMargins(12, 12, 12, 10)
        self.box = QLineEdit()
        self.box.setObjectName("SearchBox")
        self.box.setPlaceholderText("Search your memory…")
        self.list = QListWidget()
        self.list.setStyleSheet("QListWidget { border: none; } QListWidget::item { padding: 6px; }")
        self.hint = QLabel("↑↓ to choose · Enter to open · Esc to close")
        self.hint.setObjectName("Muted")
        lay.addWidget(self.box)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.hint)
        # No debounce: the first key searches at once and LatestOnly keeps one search in flight
        # (keys typed meanwhile coalesce into the next one), so nothing waits on a timer.
        self.controller = SearchController(services, runner, delay_ms=0, parent=self)
        self.controller.results.connect(self._results)
        self.box.textChanged.connect(lambda t: self.controller.set_query(Query(t, limit=12)))
        self.box.installEventFilter(self)
        self.list.itemActivated.connect(lambda _: self.open_current())
        self.last_ms = 0.0

    def popup(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            g = screen.availableGeometry()
            self.move(g.center().x() - self.width() // 2, g.top() + g.height() // 5)
        self.show()
        self.raise_()
        self.activateWindow()
        self.box.setFocus()
        self.box.selectAll()
        self.controller.set_query(Query(self.box.text(), limit=12), now=True)

    def _results(self, hits: list[SearchHit], q: Query, ms: float) -> None:
        self.last_ms = ms
        self.list.clear()
        for hit in hits:
            m = hit.memory
            title = m.title.replace("\n", " ")[:90]
            item = QListWidgetItem(
                f"{title}\n{theme.TYPE_LABELS[m.type.value]} · {show_time(m.time)}"
            )
            item.setForeground(QColor(theme.TEXT))
            item.setData(Qt.ItemDataRole.UserRole, m)
            self.list.addItem(item)
        if hits:
            self.list.setCurrentRow(0)
        self.hint.setText(
            f"{len(hits)} result{'s' * (len(hits) != 1)} · {ms:.0f} ms · Enter to open · Esc to close"
        )

    def open_current(self) -> None:
        item = self.list.currentItem()
        m = item.data(Qt.ItemDataRole.UserRole) if item else None
        if isinstance(m, Memory):
            self.hide()
            self.chosen.emit(m)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.box and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_current()
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.list.count():
                    self.list.setCurrentRow(row)
                return True
        return super().eventFilter(obj, event)
