"""Widgets shared by the views: the memory detail pane, the undo bar, page headers."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.types import SCHEMAS, HistoryEntry, Memory, MemoryType, Source
from mirix_app.ui import theme
from mirix_app.ui.actions import MemoryActions
from mirix_app.ui.models import MASK, field_text, show_time, title_case
from mirix_app.ui.workers import Runner


def page(title: str, subtitle: str = "") -> tuple[QWidget, QVBoxLayout]:
    w = QWidget()
    w.setObjectName("Page")
    lay = QVBoxLayout(w)
    lay.setContentsMargins(24, 18, 24, 12)
    lay.setSpacing(10)
    head = QLabel(title)
    head.setObjectName("PageTitle")
    lay.addWidget(head)
    if subtitle:
        sub = QLabel(subtitle)
        sub.setObjectName("Muted")
        sub.setWordWrap(True)
        lay.addWidget(sub)
    return w, lay


def muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("Muted")
    label.setWordWrap(True)
    return label


def section_title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("SectionTitle")
    return label


class UndoBar(QFrame):
    """'Moved to trash · Undo' for a few seconds after a delete."""

    undo = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UndoBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        self.label = QLabel()
        self.button = QPushButton("Undo")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.button)
        self.memory_id = ""
        self.button.clicked.connect(self._undo)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def offer(self, memory: Memory, seconds: int = 10) -> None:
        self.memory_id = memory.id
        self.label.setText(f"Moved to trash: {memory.title[:60]}")
        self.show()
        self._timer.start(seconds * 1000)

    def _undo(self) -> None:
        if self.memory_id:
            self.undo.emit(self.memory_id)
        self.hide()


class MemoryDetail(QWidget):
    """One memory: its fields, tags, sources (clickable) and history, with reveal/undo/trash."""

    open_source = Signal(object)  # Source

    def __init__(
        self, actions: MemoryActions, runner: Runner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ops = actions
        self.runner = runner
        self.memory: Memory | None = None
        self.secret: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        card = QFrame()
        card.setObjectName("Card")
        cl = QVBoxLayout(card)
        cl.setContentsMargins(14, 12, 14, 12)
        self.title = QLabel("Select a memory")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.meta = QLabel()
        self.meta.setTextFormat(Qt.TextFormat.RichText)
        self.meta.setObjectName("Muted")
        self.meta.setWordWrap(True)
        self.body = QTextBrowser()
        self.body.setOpenLinks(False)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setStyleSheet("border: none; padding: 0;")
        buttons = QHBoxLayout()
        self.reveal_btn = QPushButton("Reveal")
        self.undo_btn = QPushButton("Undo last change")
        self.trash_btn = QPushButton("Move to trash")
        self.trash_btn.setObjectName("Danger")
        self.restore_btn = QPushButton("Restore")
        for b in (self.reveal_btn, self.undo_btn, self.restore_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.trash_btn)
        cl.addWidget(self.title)
        cl.addWidget(self.meta)
        cl.addWidget(self.body, 1)
        cl.addLayout(buttons)
        lay.addWidget(card, 3)

        lower = QFrame()
        lower.setObjectName("Card")
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(14, 10, 14, 10)
        ll.addWidget(section_title("Sources"))
        self.sources = QListWidget()
        self.sources.setMaximumHeight(110)
        self.sources.setToolTip("Double-click to open the source")
        ll.addWidget(self.sources)
        ll.addWidget(section_title("History"))
        self.history = QListWidget()
        self.history.setMaximumHeight(130)
        for lst in (self.sources, self.history):
            lst.setWordWrap(True)
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        ll.addWidget(self.history)
        lay.addWidget(lower, 2)

        self.reveal_btn.clicked.connect(self._toggle_reveal)
        self.undo_btn.clicked.connect(lambda: self.memory and self.ops.undo(self.memory.id))
        self.trash_btn.clicked.connect(lambda: self.memory and self.ops.trash(self.memory.id))
        self.restore_btn.clicked.connect(lambda: self.memory and self.ops.restore(self.memory.id))
        self.sources.itemActivated.connect(self._source_activated)
        self.sources.itemDoubleClicked.connect(self._source_activated)
        actions.changed.connect(self._changed)
        actions.revealed.connect(self._revealed)
        self.show_memory(None)

    # -- showing -----------------------------------------------------------------------------
    def show_memory(self, memory: Memory | None) -> None:
        same = memory is not None and self.memory is not None and memory.id == self.memory.id
        self.memory = memory
        if not same:
            self.secret = None
        for b in (self.reveal_btn, self.undo_btn, self.trash_btn, self.restore_btn):
            b.setVisible(memory is not None)
        self.sources.clear()
        self.history.clear()
        if memory is None:
            self.title.setText("Select a memory")
            self.meta.setText("")
            self.body.setHtml(
                f"<p style='color:{theme.MUTED}'>Its fields, sources and history show here.</p>"
            )
            return
        self.title.setText(memory.title.replace("\n", " ")[:200])
        self.meta.setText(
            f"{theme.type_badge_html(memory.type.value)} &nbsp; {memory.id} · version "
            f"{memory.version} · changed {show_time(memory.updated_at)}"
            + (" · <b style='color:#b42318'>in trash</b>" if memory.deleted_at else "")
        )
        self.body.setHtml(self._fields_html(memory))
        vault = memory.type is MemoryType.VAULT
        self.reveal_btn.setVisible(vault)
        self.reveal_btn.setText("Hide" if self.secret is not None else "Reveal")
        self.trash_btn.setVisible(memory.deleted_at is None)
        self.restore_btn.setVisible(memory.deleted_at is not None)
        for s in memory.sources:
            item = QListWidgetItem(_source_text(s))
            item.setData(Qt.ItemDataRole.UserRole, s)
            self.sources.addItem(item)
        if not memory.sources:
            self.sources.addItem(QListWidgetItem("No sources (added by hand)"))
        mid = memory.id
        self.runner.submit(
            self.ops.services.history,
            mid,
            name="history",
            on_done=lambda h: self._show_history(mid, h),
        )

    def _fields_html(self, m: Memory) -> str:
        rows = []
        for name, spec in SCHEMAS[m.type].items():
            value = m.fields.get(name)
            if spec.kind == "secret":
                text = self.secret if self.secret is not None else MASK
                style = "font-family: DejaVu Sans Mono;"
            else:
                text = field_text(value, spec.kind)
                style = ""
            if spec.kind == "list" and value:
                cell = (
                    "<ol style='margin:0'>"
                    + "".join(f"<li>{html.escape(str(v))}</li>" for v in value)
                    + "</ol>"
                )
            else:
                cell = html.escape(text).replace("\n", "<br>") or "<i>—</i>"
            rows.append(
                f"<tr><td style='color:{theme.MUTED}; padding:3px 12px 3px 0; "
                f"vertical-align:top; white-space:nowrap'>{title_case(name)}</td>"
                f"<td style='padding:3px 0; {style}'>{cell}</td></tr>"
            )
        tags = ", ".join(m.tags) or "—"
        rows.append(
            f"<tr><td style='color:{theme.MUTED}; padding:3px 12px 3px 0'>Tags</td>"
            f"<td>{html.escape(tags)}</td></tr>"
        )
        rows.append(
            f"<tr><td style='color:{theme.MUTED}; padding:3px 12px 3px 0'>About</td>"
            f"<td>{show_time(m.time)}</td></tr>"
        )
        return "<table>" + "".join(rows) + "</table>"

    def _show_history(self, memory_id: str, entries: list[HistoryEntry]) -> None:
        if self.memory is None or self.memory.id != memory_id:
            return
        self.history.clear()
        for e in reversed(entries):
            undone = " (undone)" if e.undone_by else ""
            item = QListWidgetItem(f"{show_time(e.at)}  {e.op} by {e.actor}{undone}")
            if e.before is not None and e.after is not None:
                changed = [
                    k for k in e.after.fields if e.after.fields.get(k) != e.before.fields.get(k)
                ]
                if e.after.tags != e.before.tags:
                    changed.append("tags")
                if changed:
                    item.setToolTip("changed: " + ", ".join(changed))
            self.history.addItem(item)
        self.undo_btn.setEnabled(any(e.undone_by is None and e.op != "undo" for e in entries))

    # -- reacting ----------------------------------------------------------------------------
    def _changed(self, m: Memory) -> None:
        if self.memory is not None and m.id == self.memory.id:
            self.show_memory(m)

    def _toggle_reveal(self) -> None:
        if self.memory is None:
            return
        if self.secret is not None:
            self.secret = None
            self.show_memory(self.memory)
            self.ops.revealed.emit(self.memory.id, "")  # tables mask it again
        else:
            self.ops.reveal(self.memory.id)

    def _revealed(self, memory_id: str, value: str) -> None:
        if self.memory is not None and memory_id == self.memory.id and value:
            self.secret = value
            self.show_memory(self.memory)

    def _source_activated(self, item: QListWidgetItem) -> None:
        src = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(src, Source):
            self.open_source.emit(src)


def _source_text(s: Source) -> str:
    kind = {"capture": "Screenshot", "chat": "Chat message", "file": "File"}.get(
        s.kind, s.kind.capitalize()
    )
    bits = [kind]
    if s.app:
        bits.append(s.app)
    if s.window:
        bits.append(f"“{s.window[:60]}”")
    if s.uri:
        bits.append(s.uri)
    if s.at:
        bits.append(show_time(s.at))
    return " · ".join(bits)
