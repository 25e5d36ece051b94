"""Settings, model downloads: the catalogue of downloadable models with RAM and speed
estimates, and download progress. A download runs in its own thread; this box only polls its
counters (every POLL_MS while one runs)."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mirix_app.ui.services import Services
from mirix_app.ui.widgets import muted
from mirix_app.ui.workers import Runner

log = logging.getLogger(__name__)


def _mb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


class DownloadsBox(QGroupBox):
    """The catalogue and its downloads; `use_requested(role, fields, what)` asks to switch."""

    use_requested = Signal(str, object, str)

    POLL_MS = 250

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__("Download a model", parent)
        self.services, self.runner = services, runner
        self.rows: list[Any] = []  # catalogue Estimates, in table order
        cl = QVBoxLayout(self)
        cl.addWidget(
            muted(
                "From each model's Hugging Face repository, only when you click Download; "
                "checked against its sha256 before use. RAM and speed are estimates."
            )
        )
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Model", "Download", "RAM (est.)", "Speed", "State"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(200)
        cl.addWidget(self.table)
        self.speed_basis = muted("")
        cl.addWidget(self.speed_basis)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        cl.addWidget(self.progress)
        self.download_status = muted("")
        cl.addWidget(self.download_status)
        cl.addLayout(self._buttons())

        self.timer = QTimer(self)
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self.poll_downloads)
        self.table.itemSelectionChanged.connect(self.enable)
        self.enable()

    def _buttons(self) -> QHBoxLayout:
        dl_row = QHBoxLayout()
        self.download_btn = QPushButton("Download")
        self.download_btn.setObjectName("Primary")
        self.pause_btn = QPushButton("Pause")
        self.cancel_btn = QPushButton("Cancel")
        self.measure_btn = QPushButton("Measure speed")
        self.dl_chat = QPushButton("Use for chat")
        self.dl_agent = QPushButton("Use for agent")
        self.dl_both = QPushButton("Use for both")
        for b in (self.download_btn, self.pause_btn, self.cancel_btn):
            dl_row.addWidget(b)
        dl_row.addStretch(1)
        for b in (self.dl_chat, self.dl_agent, self.dl_both):
            dl_row.addWidget(b)
        dl_row.addWidget(self.measure_btn)
        self.download_btn.clicked.connect(self.start_download)
        self.pause_btn.clicked.connect(self.pause_download)
        self.cancel_btn.clicked.connect(self.cancel_download)
        self.measure_btn.clicked.connect(self.measure)
        self.dl_chat.clicked.connect(lambda: self.use_downloaded("chat"))
        self.dl_agent.clicked.connect(lambda: self.use_downloaded("agent"))
        self.dl_both.clicked.connect(lambda: self.use_downloaded("both"))
        return dl_row

    def refresh_catalogue(self) -> None:
        self.runner.submit(self.services.catalogue, name="catalogue", on_done=self._show_catalogue)

    def _show_catalogue(self, rows: list[Any]) -> None:
        selected = self.selected_entry()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            e = r.entry
            cells = [
                e.name,
                _mb(e.size_bytes),
                f"≈{r.ram_bytes / 1e9:.1f} GB"
                + (" (too much here)" if r.fits_ram is False else ""),
                f"≈{r.tokens_per_second:.1f} tok/s (est.)" if r.tokens_per_second else "—",
                "",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, e.id)
                    item.setToolTip(f"{e.repo}/{e.filename} ({e.license})\nsha256 {e.sha256}")
                if col == 2:
                    item.setToolTip(r.ram_text())
                if col == 3:
                    item.setToolTip(r.speed_text())
                self.table.setItem(i, col, item)
            if selected is not None and e.id == selected:
                self.table.selectRow(i)
        ref = rows[0].reference if rows else None
        self.speed_basis.setText(
            f"Speeds are estimates: {ref.describe()}, scaled by file size."
            if ref
            else "Speed estimates need one measurement of the shipped model: Measure speed."
        )
        self.poll_downloads()
        self.enable()

    def selected_entry(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def select_entry(self, entry_id: str) -> None:
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == entry_id:
                self.table.selectRow(i)
                return

    def start_download(self) -> None:
        entry_id = self.selected_entry()
        if entry_id is None:
            return
        try:
            self.services.download(entry_id)  # its own thread: returns at once
        except Exception as e:
            log.warning("download did not start (%s)", type(e).__name__)
            self.download_status.setText(f"Not started: {e}")
            return
        self.timer.start()
        self.poll_downloads()

    def pause_download(self) -> None:
        dl = self.services.downloads().get(self.selected_entry() or "")
        if dl is not None:
            dl.pause()

    def cancel_download(self) -> None:
        dl = self.services.downloads().get(self.selected_entry() or "")
        if dl is not None:
            dl.cancel()

    def poll_downloads(self) -> None:
        downloads = self.services.downloads()
        active = False
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is None:
                continue
            entry_id = item.data(Qt.ItemDataRole.UserRole)
            dl = downloads.get(entry_id)
            state_item = self.table.item(i, 4)
            if dl is None:
                text = "downloaded" if self._installed(entry_id) else ""
            else:
                active = active or dl.state in ("running", "verifying")
                text = _download_text(dl)
            if state_item is not None and state_item.text() != text:
                state_item.setText(text)
        dl = downloads.get(self.selected_entry() or "")
        if dl is not None:
            self.progress.show()
            self.progress.setValue(int(dl.fraction * 1000))
            self.download_status.setText(_download_text(dl, long=True))
        else:
            self.progress.hide()
        if not active and self.timer.isActive():
            self.timer.stop()
            self.refresh_catalogue()  # a finished download: show it as downloaded
        self.enable()

    def _installed(self, entry_id: str) -> bool:
        return _complete(self.services, entry_id)

    def use_downloaded(self, role: str) -> None:
        entry_id = self.selected_entry()
        if entry_id is None:
            return
        path = self.services.installed_model(entry_id)
        if path is None:
            self.download_status.setText("Download it first.")
            return
        self.use_requested.emit(role, {"backend": "llama", "path": str(path)}, path.name)

    def measure(self) -> None:
        self.speed_basis.setText("Measuring the shipped model's speed (a few seconds)…")
        self.runner.submit(
            self.services.measure_speed,
            name="measure speed",
            slow=True,
            on_done=lambda _: self.refresh_catalogue(),
            on_error=lambda e: self.speed_basis.setText(f"Not measured: {e}"),
        )

    def enable(self) -> None:
        entry_id = self.selected_entry()
        dl = self.services.downloads().get(entry_id or "")
        running = dl is not None and dl.state in ("running", "verifying")
        have = entry_id is not None and _complete(self.services, entry_id)
        self.download_btn.setEnabled(entry_id is not None and not running and not have)
        self.download_btn.setText(
            "Resume" if dl is not None and dl.state in ("paused", "failed") else "Download"
        )
        self.pause_btn.setEnabled(running)
        self.cancel_btn.setEnabled(dl is not None and dl.state in ("running", "paused", "failed"))
        for b in (self.dl_chat, self.dl_agent, self.dl_both):
            b.setEnabled(have and self.services.chat_available)


def _complete(services: Services, entry_id: str) -> bool:
    try:
        return services.installed_model(entry_id) is not None
    except Exception as e:
        log.debug("installed model lookup failed (%s)", type(e).__name__)
        return False


def _download_text(dl: Any, long: bool = False) -> str:
    done, total = dl.done, dl.total
    pct = f"{dl.fraction * 100:.0f}%"
    if dl.state == "running":
        return f"downloading {pct}" + (f" ({_mb(done)} of {_mb(total)})" if long else "")
    if dl.state == "verifying":
        return "checking the sha256…"
    if dl.state == "paused":
        return f"paused at {pct}" + (" (Resume continues it)" if long else "")
    if dl.state == "cancelled":
        return "cancelled"
    if dl.state == "done":
        return "downloaded and verified" if long else "downloaded"
    if dl.state == "failed":
        err = dl.error
        if err is None:
            return "failed"
        return f"failed: {err}" if long else f"failed: {getattr(err, 'message', err)}"
    return ""
