"""Timeline: the day's captures with thumbnails, app and window; select one for its screenshot,
its text and the memories made from it; jump to any date and time. A Today card on top shows the
day's digest (agent/digest.py) and writes it on demand."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from PySide6.QtCore import QDateTime, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Memory
from mirix_app.ui import theme
from mirix_app.ui.services import Services, local_day_bounds, to_local
from mirix_app.ui.widgets import muted, page, section_title
from mirix_app.ui.workers import Cancel, LatestOnly, Runner, Task

THUMB = QSize(192, 108)
DIGEST_LINES = 14
_CITES = re.compile(r"\s*\[(?:cor|epi|sem|pro|res|vlt)_[0-9A-Za-z]+\]")
ItemRole = Qt.ItemDataRole.UserRole + 10


def _decode(data: bytes | None, size: QSize | None) -> QImage | None:
    """Decode (and shrink) an image in a worker; QImage, unlike QPixmap, is safe off the Qt thread."""
    if not data:
        return None
    img = QImage.fromData(data)
    if img.isNull():
        return None
    if size is not None:
        img = img.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return img


def placeholder(app: str, size: QSize = THUMB) -> QPixmap:
    pm = QPixmap(size)
    pm.fill(QColor("#eef0f5"))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor(theme.MUTED))
    f = QFont()
    f.setPointSize(22)
    f.setBold(True)
    p.setFont(f)
    p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, (app or "?")[:1].upper())
    p.end()
    return pm


class TimelineView(QWidget):
    open_memory = Signal(object)  # Memory
    day_loaded = Signal(int)  # number of captures shown
    digest_shown = Signal(object)  # the day's digest Memory, or None

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        root, lay = page("Timeline", "What was on your screens, moment by moment.")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(root)

        lay.addLayout(self._day_bar())
        lay.addWidget(self._digest_card())
        self.digest: Memory | None = None
        right = self._detail_pane()

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([480, 620])
        lay.addWidget(split, 1)

        self.day = datetime.now().astimezone()
        self.target: datetime | None = None
        self.select_id: str | None = None
        self.items: list[InboxItem] = []
        self._rows: dict[str, QListWidgetItem] = {}
        self._thumb_task: Task | None = None
        self._full: QImage | None = None
        self._loader = LatestOnly(runner)
        self._detail = LatestOnly(runner)
        self._loaded_once = False

        self.prev_btn.clicked.connect(lambda: self.show_day(self.day - timedelta(days=1)))
        self.next_btn.clicked.connect(lambda: self.show_day(self.day + timedelta(days=1)))
        self.today_btn.clicked.connect(lambda: self.show_day(datetime.now().astimezone()))
        self.go_btn.clicked.connect(self._jump)
        self.list.currentItemChanged.connect(lambda cur, _: self._selected(cur))
        self.made.itemDoubleClicked.connect(self._open_made)
        self.made.itemActivated.connect(self._open_made)
        self.digest_btn.clicked.connect(self.write_digest)
        self.digest_open.clicked.connect(
            lambda: self.digest is not None and self.open_memory.emit(self.digest)
        )

    # -- the parts ---------------------------------------------------------------------------
    def _day_bar(self) -> QHBoxLayout:
        """Previous / today / next day, and a jump to any moment."""
        bar = QHBoxLayout()
        self.prev_btn = QPushButton("‹ Previous day")
        self.next_btn = QPushButton("Next day ›")
        self.today_btn = QPushButton("Today")
        self.jump = QDateTimeEdit(QDateTime.currentDateTime())
        self.jump.setCalendarPopup(True)
        self.jump.setDisplayFormat("ddd d MMM yyyy  HH:mm")
        self.go_btn = QPushButton("Jump")
        self.go_btn.setObjectName("Primary")
        self.day_label = QLabel()
        self.day_label.setObjectName("Muted")
        for w in (self.prev_btn, self.today_btn, self.next_btn):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.jump)
        bar.addWidget(self.go_btn)
        bar.addStretch(1)
        bar.addWidget(self.day_label)
        return bar

    def _digest_card(self) -> QFrame:
        """The Today card: the shown day's digest, written on demand."""
        self.digest_card = QFrame()
        self.digest_card.setObjectName("Card")
        dl = QVBoxLayout(self.digest_card)
        dl.setContentsMargins(14, 10, 14, 10)
        head = QHBoxLayout()
        self.digest_title = QLabel("Today")
        self.digest_title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.digest_btn = QPushButton("Write digest")
        self.digest_btn.setToolTip("Sum up the day: activity by app, people, what is next")
        self.digest_open = QPushButton("Open")
        self.digest_open.setEnabled(False)
        head.addWidget(self.digest_title)
        head.addStretch(1)
        head.addWidget(self.digest_open)
        head.addWidget(self.digest_btn)
        self.digest_text = QLabel("No digest for this day yet.")
        self.digest_text.setObjectName("Muted")
        self.digest_text.setWordWrap(True)
        self.digest_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dl.addLayout(head)
        dl.addWidget(self.digest_text)
        return self.digest_card

    def _detail_pane(self) -> QFrame:
        """The captures' list (self.list) and the selected capture: shot, text, memories."""
        self.list = QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setSpacing(4)
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.list.setMinimumWidth(420)

        right = QFrame()
        right.setObjectName("Card")
        rl = QVBoxLayout(right)
        rl.setContentsMargins(14, 12, 14, 12)
        self.title = QLabel("Select a capture")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 12.5pt; font-weight: 600;")
        self.meta = muted("")
        self.shot = QLabel()
        self.shot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.shot.setMinimumHeight(220)
        self.shot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.shot.setStyleSheet("background: #eef0f5; border-radius: 8px;")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setPlaceholderText("The text read from this screen shows here.")
        self.made = QListWidget()
        self.made.setMaximumHeight(120)
        self.made.setToolTip("Double-click to open the memory")
        rl.addWidget(self.title)
        rl.addWidget(self.meta)
        rl.addWidget(self.shot, 3)
        rl.addWidget(section_title("Text on screen"))
        rl.addWidget(self.text, 2)
        rl.addWidget(section_title("Memories made from it"))
        rl.addWidget(self.made)
        return right

    # -- public ------------------------------------------------------------------------------
    def activate(self) -> None:
        if not self._loaded_once:
            self.show_day(self.day)

    def refresh(self) -> None:
        self.show_day(self.day)

    def show_day(
        self, day: datetime, at: datetime | None = None, select: str | None = None
    ) -> None:
        self._loaded_once = True
        self.day = day.astimezone()
        self.target = at
        self.select_id = select
        self.day_label.setText(self.day.strftime("%A %-d %B %Y") + " · loading…")
        since, until = local_day_bounds(self.day)
        self._loader.run(
            self.services.captures, self._loaded, since=since, until=until, name="timeline"
        )
        self._load_digest()

    def show_capture(self, capture_id: str) -> None:
        def found(item: InboxItem | None) -> None:
            if item is not None:
                when = to_local(item.at)
                self.show_day(when, select=item.id)

        self.runner.submit(self.services.inbox_item, capture_id, name="capture", on_done=found)

    def current(self) -> InboxItem | None:
        cur = self.list.currentItem()
        item = cur.data(ItemRole) if cur else None
        return item if isinstance(item, InboxItem) else None

    # -- the Today card ----------------------------------------------------------------------
    def _card_title(self) -> str:
        if self.day.date() == datetime.now().astimezone().date():
            return "Today"
        return "Digest of " + self.day.strftime("%a %-d %b %Y")

    def _load_digest(self) -> None:
        from mirix_app.agent import digest

        day: date = self.day.date()
        self.digest_title.setText(self._card_title())
        self.runner.submit(
            digest.find_digest,
            self.services.core,
            day,
            name="digest",
            on_done=lambda m: self._show_digest(day, m),
        )

    def write_digest(self) -> None:
        from mirix_app.agent import digest

        day: date = self.day.date()
        self.digest_btn.setEnabled(False)
        self.digest_text.setText("Writing the digest…")

        def done(m: Memory | None) -> None:
            self.digest_btn.setEnabled(True)
            self._show_digest(day, m, written=True)

        def failed(e: BaseException) -> None:
            self.digest_btn.setEnabled(True)
            self.digest_text.setText(f"The digest could not be written: {e}")

        self.runner.submit(
            digest.write_digest,
            self.services.core,
            day,
            name="write digest",
            on_done=done,
            on_error=failed,
        )

    def _show_digest(self, day: date, m: Memory | None, written: bool = False) -> None:
        if day != self.day.date():
            return  # another day is shown meanwhile
        self.digest = m
        self.digest_open.setEnabled(m is not None)
        if m is None:
            self.digest_btn.setText("Write digest")
            self.digest_text.setText(
                "Nothing recorded on this day." if written else "No digest for this day yet."
            )
        else:
            self.digest_btn.setText("Update digest")
            lines = [_CITES.sub("", ln) for ln in str(m.fields.get("details", "")).splitlines()]
            more = len(lines) - DIGEST_LINES
            body = "\n".join(lines[:DIGEST_LINES]) + (
                f"\n… {more} more line(s)" if more > 0 else ""
            )
            self.digest_text.setText(f"{m.fields.get('summary', '')}\n\n{body}".strip())
        self.digest_shown.emit(m)

    # -- loading -----------------------------------------------------------------------------
    def _loaded(self, items: list[InboxItem]) -> None:
        self.items = items
        self._rows = {}
        self.list.clear()
        n = len(items)
        self.day_label.setText(
            self.day.strftime("%A %-d %B %Y") + f" · {n} capture{'s' * (n != 1)}"
        )
        if not items:
            empty = QListWidgetItem("No captures on this day.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(empty)
            self._clear_detail()
            self.day_loaded.emit(0)
            return
        if self._thumb_task is not None:
            self._thumb_task.cancel.cancel()
        rows: dict[str, QListWidgetItem] = {}
        self._rows = rows
        for it in items:
            when = to_local(it.at).strftime("%H:%M:%S")
            app = it.app or "unknown app"
            window = (it.window or "").strip() or "(no title)"
            row = QListWidgetItem(f"{when}  ·  {app}\n{window[:70]}")
            row.setData(ItemRole, it)
            row.setIcon(placeholder(app))
            row.setToolTip(window)
            row.setSizeHint(QSize(400, THUMB.height() + 10))
            self.list.addItem(row)
            rows[it.id] = row
        self._select_after_load(items, rows)
        self.day_loaded.emit(n)
        with_images = [(it.id, it.image) for it in items if it.image]
        if with_images:
            self._thumb_task = self.runner.submit(
                self._thumbs, with_images, name="thumbnails", on_item=lambda t: self._thumb(rows, t)
            )

    def _select_after_load(self, items: list[InboxItem], rows: dict[str, QListWidgetItem]) -> None:
        pick = None
        if self.select_id and self.select_id in rows:
            pick = rows[self.select_id]
        elif self.target is not None:
            best = min(items, key=lambda i: abs((to_local(i.at) - self.target).total_seconds()))  # type: ignore[operator]
            pick = rows[best.id]
        else:
            pick = rows[items[-1].id]
        self.list.setCurrentItem(pick)
        self.list.scrollToItem(pick, QListWidget.ScrollHint.PositionAtCenter)

    def _thumbs(
        self, wanted: list[tuple[str, str]], emit: Callable[[object], None], cancel: Cancel
    ) -> None:
        for item_id, rel in wanted:
            if cancel.cancelled:
                return
            img = _decode(self.services.image_bytes(rel), THUMB)
            if img is not None:
                emit((item_id, img))

    def _thumb(self, rows: dict[str, QListWidgetItem], result: tuple[str, QImage]) -> None:
        if rows is not self._rows:  # the list was reloaded meanwhile
            return
        item_id, img = result
        row = rows.get(item_id)
        if row is not None:
            row.setIcon(QPixmap.fromImage(img))

    # -- detail ------------------------------------------------------------------------------
    def _clear_detail(self) -> None:
        self.title.setText("Select a capture")
        self.meta.setText("")
        self.shot.clear()
        self.text.setPlainText("")
        self.made.clear()

    def _selected(self, cur: QListWidgetItem | None) -> None:
        item = cur.data(ItemRole) if cur else None
        if not isinstance(item, InboxItem):
            return
        self.title.setText(f"{item.app or 'Unknown app'} — {item.window or '(no title)'}")
        bits = [to_local(item.at).strftime("%a %-d %b %Y, %H:%M:%S")]
        if item.monitor is not None:
            bits.append(f"monitor {item.monitor}")
        if item.url:
            bits.append(item.url)
        bits.append("processed" if item.status == "done" else item.status)
        self.meta.setText(" · ".join(bits))
        self.text.setPlainText(item.text or "")
        self.shot.setText("No screenshot kept for this capture." if not item.image else "Loading…")
        self.made.clear()
        self.made.addItem("Looking…")

        def detail() -> tuple[QImage | None, list[Memory]]:
            img = _decode(self.services.image_bytes(item.image), None) if item.image else None
            return img, self.services.memories_from("capture", item.id)

        self._detail.run(detail, lambda r: self._show_detail(item.id, r), name="capture detail")

    def _show_detail(self, item_id: str, result: tuple[QImage | None, list[Memory]]) -> None:
        cur = self.current()
        if cur is None or cur.id != item_id:
            return
        img, memories = result
        self._full = img
        self._fit_shot()
        if img is None and cur.image:
            self.shot.setText("The screenshot file is gone (retention or budget).")
        self.made.clear()
        for m in memories:
            row = QListWidgetItem(f"{theme.TYPE_LABELS[m.type.value]}: {m.title[:90]}")
            row.setForeground(QColor(theme.TYPE_COLORS[m.type.value]))
            row.setData(Qt.ItemDataRole.UserRole, m)
            self.made.addItem(row)
        if not memories:
            pending = cur.status != "done"
            self.made.addItem("Not processed yet." if pending else "No memories were made from it.")

    def _fit_shot(self) -> None:
        if self._full is None:
            return
        size = self.shot.size() - QSize(8, 8)
        pm = QPixmap.fromImage(self._full).scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.shot.setPixmap(pm)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_shot()

    def _open_made(self, row: QListWidgetItem) -> None:
        m = row.data(Qt.ItemDataRole.UserRole)
        if isinstance(m, Memory):
            self.open_memory.emit(m)

    def _jump(self) -> None:
        when = self.jump.dateTime().toPython()
        assert isinstance(when, datetime)
        when = when.astimezone()
        self.show_day(when, at=when)
