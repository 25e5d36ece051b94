"""Search: hybrid search over every type with filters, results as you type (debounced, in a worker)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.clock import to_iso
from mirix_app.memory.types import Memory, MemoryType, SearchHit
from mirix_app.ui import theme
from mirix_app.ui.actions import MemoryActions
from mirix_app.ui.models import HitListModel, MemoryRole
from mirix_app.ui.services import Services
from mirix_app.ui.widgets import MemoryDetail, page
from mirix_app.ui.workers import INTERACTIVE, Debouncer, LatestOnly, Runner

TIME_RANGES: list[tuple[str, timedelta | None]] = [
    ("Any time", None),
    ("Last 24 hours", timedelta(days=1)),
    ("Last 7 days", timedelta(days=7)),
    ("Last 30 days", timedelta(days=30)),
    ("Last year", timedelta(days=365)),
]


@dataclass
class Query:
    text: str
    types: list[MemoryType] | None = None
    since: str | None = None
    app: str | None = None
    limit: int = 30


class SearchController(QObject):
    """Debounces keystrokes, runs the newest query in a worker, drops stale answers."""

    results = Signal(object, object, float)  # hits, Query, elapsed ms (keystroke to results)
    failed = Signal(str)

    def __init__(
        self, services: Services, runner: Runner, delay_ms: int = 120, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.latest = LatestOnly(runner)
        self.debounce = Debouncer(delay_ms, self._run, self)
        self.query = Query("")
        self._typed_at = 0.0

    def set_query(self, q: Query, *, now: bool = False) -> None:
        self.query = q
        self._typed_at = time.perf_counter()
        if now:
            self.debounce.flush()
        else:
            self.debounce.poke()

    def _run(self) -> None:
        q = self.query
        started = self._typed_at

        def done(hits: list[SearchHit]) -> None:
            self.results.emit(hits, q, (time.perf_counter() - started) * 1000)

        self.latest.run(
            self.services.search,
            done,
            lambda e: self.failed.emit(str(e)),
            query=q.text,
            types=q.types,
            since=q.since,
            app=q.app,
            limit=q.limit,
            name="search",
            priority=INTERACTIVE,
        )


class SearchView(QWidget):
    open_source = Signal(object)
    open_memory = Signal(object)  # Memory: show it in the Memories view

    def __init__(
        self,
        services: Services,
        runner: Runner,
        actions: MemoryActions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        root, lay = page("Search", "Keywords and meaning together, across every kind of memory.")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(root)

        self.box = QLineEdit()
        self.box.setObjectName("SearchBox")
        self.box.setPlaceholderText("Search your memory…  (Ctrl+F)")
        self.box.setClearButtonEnabled(True)
        lay.addWidget(self.box)

        lay.addLayout(self._filters())
        self._results_table()
        self.detail = MemoryDetail(actions, runner)
        self.detail.open_source.connect(self.open_source)
        self.open_btn = QPushButton("Open in Memories")
        self.open_btn.setEnabled(False)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.detail, 1)
        rl.addWidget(self.open_btn, 0, Qt.AlignmentFlag.AlignRight)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([680, 420])
        lay.addWidget(split, 1)

        self.controller = SearchController(services, runner, parent=self)
        self.controller.results.connect(self._results)
        self.controller.failed.connect(lambda msg: self.status.setText(f"Search failed: {msg}"))
        self.box.textChanged.connect(lambda _: self._changed())
        self.box.returnPressed.connect(lambda: self._changed(now=True))
        self.type_combo.currentIndexChanged.connect(lambda _: self._changed(now=True))
        self.time_combo.currentIndexChanged.connect(lambda _: self._changed(now=True))
        self.app_box.textChanged.connect(lambda _: self._changed())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selected())
        self.table.doubleClicked.connect(lambda _: self._open())
        self.open_btn.clicked.connect(self._open)
        actions.changed.connect(self._memory_changed)

    def _filters(self) -> QHBoxLayout:
        """Type, time range and app; the status line at the right."""
        filters = QHBoxLayout()
        self.type_combo = QComboBox()
        self.type_combo.addItem("All types", None)
        for t in MemoryType:
            self.type_combo.addItem(theme.TYPE_LABELS[t.value], t.value)
        self.time_combo = QComboBox()
        for label, delta in TIME_RANGES:
            self.time_combo.addItem(label, delta)
        self.app_box = QLineEdit()
        self.app_box.setPlaceholderText("App (e.g. firefox)")
        self.app_box.setFixedWidth(200)
        self.status = QLabel()
        self.status.setObjectName("Muted")
        filters.addWidget(self.type_combo)
        filters.addWidget(self.time_combo)
        filters.addWidget(self.app_box)
        filters.addStretch(1)
        filters.addWidget(self.status)
        return filters

    def _results_table(self) -> None:
        """The hits (self.model) in a one-row-at-a-time table (self.table)."""
        self.model = HitListModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        h.resizeSection(0, 260)
        h.resizeSection(1, 110)
        h.resizeSection(2, 130)
        h.setStretchLastSection(True)

    def activate(self) -> None:
        self.box.setFocus()
        self.box.selectAll()
        if not self.model.hits:
            self._changed(now=True)

    def set_text(self, text: str) -> None:
        self.box.setText(text)

    def current_query(self) -> Query:
        data = self.type_combo.currentData()
        mtype = MemoryType(data) if data else None
        delta = self.time_combo.currentData()
        since = to_iso(datetime.now(UTC) - delta) if delta else None
        return Query(
            self.box.text(),
            types=[mtype] if mtype else None,
            since=since,
            app=self.app_box.text().strip() or None,
        )

    def _changed(self, now: bool = False) -> None:
        self.status.setText("Searching…")
        self.controller.set_query(self.current_query(), now=now)

    def _results(self, hits: list[SearchHit], q: Query, ms: float) -> None:
        self.model.set_hits(hits)
        what = f"for “{q.text}”" if q.text.strip() else "(most recent)"
        self.status.setText(f"{len(hits)} result{'s' * (len(hits) != 1)} {what} · {ms:.0f} ms")
        if hits:
            self.table.selectRow(0)
        else:
            self.detail.show_memory(None)

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        m = rows[0].data(MemoryRole) if rows else None
        self.detail.show_memory(m if isinstance(m, Memory) else None)
        self.open_btn.setEnabled(m is not None)

    def _open(self) -> None:
        if self.detail.memory is not None:
            self.open_memory.emit(self.detail.memory)

    def _memory_changed(self, m: Memory) -> None:
        for hit in self.model.hits:
            if hit.memory.id == m.id:
                hit.memory = m
        if m.deleted_at is not None:
            self.model.set_hits([h for h in self.model.hits if h.memory.id != m.id])
