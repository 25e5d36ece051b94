"""Qt item models over memories and search hits (QAbstractTableModel + a sort/filter proxy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from mirix_app.memory.types import SCHEMAS, Memory, MemoryType, SearchHit
from mirix_app.ui import theme
from mirix_app.ui.services import to_local

MASK = "•" * 8
SortRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
MemoryRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex

# Fields that make poor table columns (shown in the detail pane instead).
_HIDDEN = {"limit"}


def show_time(iso: str) -> str:
    if not iso:
        return ""
    try:
        return to_local(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def field_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "list":
        return "; ".join(str(v) for v in value)
    if kind == "time":
        return show_time(str(value))
    if kind == "secret":
        return MASK
    return str(value)


def parse_field(text: str, kind: str) -> Any:
    """What the user typed in a cell, as the schema wants it."""
    if kind == "list":
        parts = text.replace("\n", ";").split(";")
        return [p.strip() for p in parts if p.strip()]
    if kind == "int":
        return int(text)
    return text


def title_case(name: str) -> str:
    return name.replace("_", " ").capitalize()


class _ColumnsModel(QAbstractTableModel):
    """A table whose columns are the titles in `columns` (both tables here)."""

    columns: Sequence[str]

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None


class MemoryTableModel(_ColumnsModel):
    """Rows of one memory type; columns are that type's fields, then tags and last change."""

    edit_requested = Signal(str, dict)  # memory id, {"fields": {...}} or {"tags": [...]}

    def __init__(self, mtype: MemoryType, parent: Any = None) -> None:
        super().__init__(parent)
        self.mtype = mtype
        self.fields = [(n, s.kind) for n, s in SCHEMAS[mtype].items() if n not in _HIDDEN]
        self.columns = [*(title_case(n) for n, _ in self.fields), "Tags", "Updated"]
        # Long bodies stay in the detail pane; the table shows what identifies a row.
        self.hidden_columns = {
            i for i, (n, _) in enumerate(self.fields) if n in ("details", "content", "source")
        }
        self.rows: list[Memory] = []
        self.revealed: dict[str, str] = {}

    # -- data in/out ---------------------------------------------------------------------------
    def set_rows(self, rows: list[Memory]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def append_rows(self, rows: list[Memory]) -> None:
        have = {m.id for m in self.rows}
        new = [m for m in rows if m.id not in have]
        if not new:
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(new) - 1)
        self.rows.extend(new)
        self.endInsertRows()

    def row_of(self, memory_id: str) -> int:
        for i, m in enumerate(self.rows):
            if m.id == memory_id:
                return i
        return -1

    def replace(self, memory: Memory) -> None:
        """Show a memory's new state (after an edit/undo); a trashed one leaves the table."""
        i = self.row_of(memory.id)
        if memory.deleted_at is not None:
            if i >= 0:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.rows[i]
                self.endRemoveRows()
            return
        if i < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self.rows.insert(0, memory)
            self.endInsertRows()
            return
        self.rows[i] = memory
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))

    def set_revealed(self, memory_id: str, value: str | None) -> None:
        if value is None:
            self.revealed.pop(memory_id, None)
        else:
            self.revealed[memory_id] = value
        i = self.row_of(memory_id)
        if i >= 0:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))

    # -- Qt model API -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def _raw(self, m: Memory, col: int) -> tuple[Any, str]:
        if col < len(self.fields):
            name, kind = self.fields[col]
            return m.fields.get(name), kind
        if col == len(self.fields):
            return m.tags, "list"
        return m.updated_at, "time"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self.rows[index.row()]
        col = index.column()
        value, kind = self._raw(m, col)
        if role == Qt.ItemDataRole.DisplayRole:
            if kind == "secret" and m.id in self.revealed:
                return self.revealed[m.id]
            text = field_text(value, kind)
            return text if len(text) < 160 else text[:157].replace("\n", " ") + "…"
        if role == Qt.ItemDataRole.EditRole:
            return "\n".join(value) if kind == "list" else ("" if value is None else str(value))
        if role == Qt.ItemDataRole.ToolTipRole:
            if kind == "secret":
                return "Hidden. Select the row and press Reveal to show it."
            text = field_text(value, kind)
            return text if len(text) > 40 else None
        if role == Qt.ItemDataRole.ForegroundRole:
            if kind == "secret" and m.id not in self.revealed:
                return QColor(theme.MUTED)
            if col == len(self.columns) - 1:
                return QColor(theme.MUTED)
            return None
        if role == SortRole:
            if isinstance(value, list):
                return "; ".join(value).lower()
            if kind == "secret":
                return ""
            return value if isinstance(value, int) else str(value or "").lower()
        if role == IdRole:
            return m.id
        if role == MemoryRole:
            return m
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return base
        _, kind = self._raw(self.rows[index.row()], index.column())
        if index.column() < len(self.columns) - 1 and kind != "secret":
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        m = self.rows[index.row()]
        col = index.column()
        old, kind = self._raw(m, col)
        try:
            new = parse_field(str(value), kind)
        except ValueError:
            return False
        if new == old or (kind == "list" and list(old or []) == new):
            return False
        if col < len(self.fields):
            self.edit_requested.emit(m.id, {"fields": {self.fields[col][0]: new}})
        else:
            self.edit_requested.emit(m.id, {"tags": new})
        return True


class MemoryFilterProxy(QSortFilterProxyModel):
    """Sort by the raw values; filter rows whose visible text contains every typed word."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._words = [w.lower() for w in text.split() if w]
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        assert isinstance(model, MemoryTableModel)
        m = model.rows[source_row]
        hay = " ".join([m.search_text(), " ".join(m.tags), m.id, m.tree_path]).lower()
        return all(w in hay for w in self._words)

    def lessThan(self, left: Index, right: Index) -> bool:
        a, b = left.data(SortRole), right.data(SortRole)
        if isinstance(a, int) and isinstance(b, int):
            return a < b
        return str(a) < str(b)


class HitListModel(_ColumnsModel):
    """Search results: one row per hit (title, type, time, snippet)."""

    columns = ("Title", "Type", "When", "Snippet")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.hits: list[SearchHit] = []

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        m = hit.memory
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return m.title.replace("\n", " ")[:120]
            if col == 1:
                return theme.TYPE_LABELS[m.type.value]
            if col == 2:
                return show_time(m.time)
            body = m.body_text() or m.search_text()
            return body.replace("\n", " ")[:200]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QColor(theme.TYPE_COLORS[m.type.value])
        if role == Qt.ItemDataRole.ForegroundRole and col in (2, 3):
            return QColor(theme.MUTED)
        if role == IdRole:
            return m.id
        if role == MemoryRole:
            return m
        return None
