"""Memories: one table per type with that type's fields; sort, filter, edit in place, trash, undo."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.types import Memory, MemoryType
from mirix_app.ui import theme
from mirix_app.ui.actions import MemoryActions
from mirix_app.ui.models import MemoryFilterProxy, MemoryRole, MemoryTableModel
from mirix_app.ui.services import Services
from mirix_app.ui.widgets import MemoryDetail, UndoBar, page
from mirix_app.ui.workers import Runner

PAGE = 500


class TypeTable(QWidget):
    """The table of one memory type, loaded in pages by a worker."""

    selected = Signal(object)  # Memory | None

    def __init__(self, mtype: MemoryType, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mtype = mtype
        self.model = MemoryTableModel(mtype, self)
        self.proxy = MemoryFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(len(self.model.columns) - 1, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(30)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        widths = {"str": 170, "text": 320, "list": 300, "time": 140, "choice": 90, "secret": 110}
        for col, (_, kind) in enumerate(self.model.fields):
            header.resizeSection(col, widths.get(kind, 140))
            if col in self.model.hidden_columns:
                self.view.setColumnHidden(col, True)
        header.resizeSection(len(self.model.fields), 140)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.loaded = False
        self.trash = False
        self.exhausted = False
        self.view.selectionModel().selectionChanged.connect(self._selection)
        self.view.verticalScrollBar().valueChanged.connect(self._scrolled)
        self._more: object = None

    def current(self) -> Memory | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        m = rows[0].data(MemoryRole)
        return m if isinstance(m, Memory) else None

    def select_id(self, memory_id: str) -> bool:
        row = self.model.row_of(memory_id)
        if row < 0:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if not idx.isValid():  # filtered out: clear the filter
            self.proxy.set_text("")
            idx = self.proxy.mapFromSource(self.model.index(row, 0))
        self.view.selectRow(idx.row())
        self.view.scrollTo(idx)
        return True

    def _selection(self, *_: QItemSelection) -> None:
        self.selected.emit(self.current())

    def _scrolled(self, value: int) -> None:
        bar = self.view.verticalScrollBar()
        if value >= bar.maximum() - 2 and callable(self._more):
            self._more()


class MemoriesView(QWidget):
    """Six tables (one per type), a filter box, the trash toggle and the detail pane."""

    open_source = Signal(object)

    def __init__(
        self,
        services: Services,
        runner: Runner,
        actions: MemoryActions,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services, self.runner, self.ops = services, runner, actions
        root, lay = page(
            "Memories",
            "Everything the assistant remembers, by kind. Double-click a cell to edit it; "
            "Delete moves the selected memory to the trash (Ctrl+Z brings it back).",
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(root)

        bar = QHBoxLayout()
        self.tabs = QTabBar()
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self.types = list(MemoryType)
        for t in self.types:
            self.tabs.addTab(theme.TYPE_LABELS[t.value])
        lay.addWidget(self.tabs)
        self.trash_box = QCheckBox("Show trash")
        bar.addWidget(self.trash_box)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter this list…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(420)
        bar.insertWidget(0, self.filter, 1)
        bar.addStretch(1)
        lay.addLayout(bar)

        self.stack = QStackedWidget()
        self.tables: dict[MemoryType, TypeTable] = {}
        for t in self.types:
            table = TypeTable(t)
            table.model.edit_requested.connect(self.ops.update)
            table.selected.connect(self._selected)
            table._more = lambda t=t: self._load(t, more=True)
            self.tables[t] = table
            self.stack.addWidget(table)
        self.detail = MemoryDetail(actions, runner)
        self.detail.open_source.connect(self.open_source)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.stack)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 420])
        lay.addWidget(split, 1)
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        self.undo_bar = UndoBar()
        foot = QHBoxLayout()
        foot.addWidget(self.count_label)
        foot.addStretch(1)
        foot.addWidget(self.undo_bar)
        lay.addLayout(foot)

        self.tabs.currentChanged.connect(self._tab)
        self.filter.textChanged.connect(self._filter)
        self.trash_box.toggled.connect(lambda _: self.reload())
        self.undo_bar.undo.connect(self.ops.undo)
        actions.changed.connect(self._changed)
        actions.trashed.connect(self.undo_bar.offer)
        actions.revealed.connect(self._revealed)
        self._last_trashed: str | None = None
        actions.trashed.connect(lambda m: setattr(self, "_last_trashed", m.id))

        delete = QShortcut(QKeySequence.StandardKey.Delete, self)
        delete.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        delete.activated.connect(self.trash_selected)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo_last)

    # -- public ------------------------------------------------------------------------------
    @property
    def current_type(self) -> MemoryType:
        return self.types[self.tabs.currentIndex()]

    @property
    def table(self) -> TypeTable:
        return self.tables[self.current_type]

    def activate(self) -> None:
        if not self.table.loaded:
            self._load(self.current_type)

    def reload(self) -> None:
        for t in self.tables.values():
            t.loaded = False
        self._load(self.current_type)

    def set_type(self, mtype: MemoryType) -> None:
        self.tabs.setCurrentIndex(self.types.index(mtype))
        self.activate()

    def show_memory(self, memory: Memory) -> None:
        """Bring one memory up: its type's tab, its row selected, its detail shown."""
        if self.trash_box.isChecked() != (memory.deleted_at is not None):
            self.trash_box.blockSignals(True)
            self.trash_box.setChecked(memory.deleted_at is not None)
            self.trash_box.blockSignals(False)
            for t in self.tables.values():
                t.loaded = False
        self.tabs.setCurrentIndex(self.types.index(memory.type))
        table = self.tables[memory.type]
        if table.model.row_of(memory.id) < 0:
            table.model.replace(memory)
        if not table.loaded:
            self._load(memory.type, select=memory.id)
        table.select_id(memory.id)
        self.detail.show_memory(memory)

    def trash_selected(self) -> None:
        m = self.table.current()
        if m is not None and m.deleted_at is None:
            self.ops.trash(m.id)

    def undo_last(self) -> None:
        if self._last_trashed:
            self.ops.undo(self._last_trashed)
            self._last_trashed = None
            self.undo_bar.hide()
            return
        m = self.table.current()
        if m is not None:
            self.ops.undo(m.id)

    # -- loading -----------------------------------------------------------------------------
    def _load(self, mtype: MemoryType, *, more: bool = False, select: str | None = None) -> None:
        table = self.tables[mtype]
        if more and (table.exhausted or not table.loaded):
            return
        offset = table.model.rowCount() if more else 0
        deleted = self.trash_box.isChecked()
        table.loaded = True
        if not more:
            table.exhausted = False

        def done(rows: list[Memory]) -> None:
            if more:
                table.model.append_rows(rows)
            else:
                table.model.set_rows(rows)
            table.exhausted = len(rows) < PAGE
            self._update_count()
            if select:
                table.select_id(select)

        self.runner.submit(
            self.services.browse,
            mtype,
            limit=PAGE,
            offset=offset,
            deleted=deleted,
            name="browse",
            on_done=done,
        )

    def _update_count(self) -> None:
        t = self.table
        n, shown = t.model.rowCount(), t.proxy.rowCount()
        where = "in the trash" if self.trash_box.isChecked() else ""
        more = "+" if not t.exhausted else ""
        text = f"{n}{more} {theme.TYPE_LABELS[t.mtype.value].lower()} {where}".strip()
        if shown != n:
            text += f" · {shown} match the filter"
        self.count_label.setText(text)

    # -- reacting ----------------------------------------------------------------------------
    def _tab(self, i: int) -> None:
        self.stack.setCurrentIndex(i)
        self.table.proxy.set_text(self.filter.text())
        self.activate()
        self.detail.show_memory(self.table.current())
        self._update_count()

    def _filter(self, text: str) -> None:
        self.table.proxy.set_text(text)
        self._update_count()

    def _selected(self, m: Memory | None) -> None:
        self.detail.show_memory(m)

    def _changed(self, m: Memory) -> None:
        table = self.tables[m.type]
        showing_trash = self.trash_box.isChecked()
        in_view = (m.deleted_at is not None) == showing_trash
        if in_view:
            # replace() drops trashed rows; in the trash view, it must drop restored ones.
            if showing_trash:
                i = table.model.row_of(m.id)
                if i >= 0:
                    table.model.rows[i] = m
                    table.model.dataChanged.emit(
                        table.model.index(i, 0), table.model.index(i, table.model.columnCount() - 1)
                    )
                else:
                    table.model.rows.insert(0, m)
                    table.model.layoutChanged.emit()
            else:
                table.model.replace(m)
        else:
            i = table.model.row_of(m.id)
            if i >= 0:
                table.model.beginRemoveRows(QModelIndex(), i, i)
                del table.model.rows[i]
                table.model.endRemoveRows()
        self._update_count()

    def _revealed(self, memory_id: str, value: str) -> None:
        self.tables[MemoryType.VAULT].model.set_revealed(memory_id, value or None)
