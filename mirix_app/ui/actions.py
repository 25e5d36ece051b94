"""Memory actions shared by every view (edit, trash, undo, restore, reveal), run in workers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from mirix_app.memory.types import Memory
from mirix_app.ui.services import Services
from mirix_app.ui.workers import Runner


class MemoryActions(QObject):
    changed = Signal(object)  # Memory: its new state (trashed ones have deleted_at set)
    trashed = Signal(object)  # Memory just moved to the trash (the view offers Undo)
    revealed = Signal(str, str)  # id, secret value
    error = Signal(str)

    def __init__(self, services: Services, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner

    def _fail(self, e: BaseException) -> None:
        self.error.emit(str(e))

    def update(self, memory_id: str, changes: dict[str, Any]) -> None:
        self.runner.submit(
            self.services.update,
            memory_id,
            name="update",
            on_done=self.changed.emit,
            on_error=self._fail,
            **changes,
        )

    def trash(self, memory_id: str) -> None:
        def done(m: Memory) -> None:
            self.changed.emit(m)
            self.trashed.emit(m)

        self.runner.submit(
            self.services.trash, memory_id, name="trash", on_done=done, on_error=self._fail
        )

    def restore(self, memory_id: str) -> None:
        self.runner.submit(
            self.services.restore,
            memory_id,
            name="restore",
            on_done=self.changed.emit,
            on_error=self._fail,
        )

    def undo(self, memory_id: str) -> None:
        self.runner.submit(
            self.services.undo,
            memory_id,
            name="undo",
            on_done=self.changed.emit,
            on_error=self._fail,
        )

    def reveal(self, memory_id: str) -> None:
        self.runner.submit(
            self.services.reveal,
            memory_id,
            name="reveal",
            on_done=lambda value: self.revealed.emit(memory_id, value),
            on_error=self._fail,
        )
