"""Settings, your data: export memories, import them, delete everything. Each runs in a worker;
what it says goes to the settings page as `status` (the page's line) or `note` (and the bar)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QPushButton,
    QWidget,
)

from mirix_app.ui.services import Services
from mirix_app.ui.workers import Runner


class DataBox(QGroupBox):
    status = Signal(str)  # the settings page's status line only
    note = Signal(str)  # the status line and the status bar
    data_deleted = Signal()
    data_imported = Signal()

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__("Your data", parent)
        self.services, self.runner = services, runner
        dl = QHBoxLayout(self)
        self.export_btn = QPushButton("Export memories…")
        self.import_btn = QPushButton("Import…")
        self.delete_btn = QPushButton("Delete everything…")
        self.delete_btn.setObjectName("Danger")
        dl.addWidget(self.export_btn)
        dl.addWidget(self.import_btn)
        dl.addStretch(1)
        dl.addWidget(self.delete_btn)

    def export_to(self, path: Path | None) -> None:
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self,
                "Export memories",
                str(Path.home() / "mirix-memories.jsonl"),
                "JSON Lines (*.jsonl)",
            )
            if not name:
                return
            path = Path(name)
        self.status.emit("Exporting…")
        self.runner.submit(
            self.services.export_to,
            path,
            name="export",
            slow=True,
            on_progress=lambda d, t: self.status.emit(f"Exporting… {d} of {t}"),
            on_done=lambda n: self.note.emit(
                f"Exported {n} memories to {path} (vault values stay encrypted)."
            ),
            on_error=lambda e: self.note.emit(f"Export failed: {e}"),
        )

    def import_from(self, path: Path | None) -> None:
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "Import memories", str(Path.home()), "JSON Lines (*.jsonl)"
            )
            if not name:
                return
            path = Path(name)
        self.status.emit("Importing…")

        def done(report: Any) -> None:
            self.note.emit(
                f"Imported: {report.added} new, {report.replaced} replaced, {report.unchanged} unchanged."
            )
            self.data_imported.emit()

        self.runner.submit(
            self.services.import_from,
            path,
            name="import",
            slow=True,
            on_done=done,
            on_error=lambda e: self.note.emit(f"Import failed, nothing changed: {e}"),
        )

    def confirm_delete(self) -> bool:
        text, ok = QInputDialog.getText(
            self,
            "Delete everything",
            "This deletes every memory, its history, every capture and screenshot, for good.\n"
            "Export first if you may want them back.\n\nType DELETE to confirm:",
        )
        return bool(ok and text.strip() == "DELETE")

    def delete_everything(self, confirmed: bool) -> None:
        if not confirmed:
            self.note.emit("Nothing was deleted.")
            return
        self.runner.submit(
            self.services.delete_everything,
            name="delete everything",
            slow=True,
            on_done=lambda _: self._deleted(),
            on_error=lambda e: self.note.emit(f"Delete failed: {e}"),
        )

    def _deleted(self) -> None:
        self.note.emit("Everything was deleted.")
        self.data_deleted.emit()
