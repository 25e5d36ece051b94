"""`ProcessingJob`: the pipeline draining the inbox on a background thread, cancellable within
one model token (the runtime and the CLI drive it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mirix_app.agent.models import Model
from mirix_app.agent.pipeline import Pipeline, Progress
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.core import MemoryCore

log = logging.getLogger(__name__)


class ProcessingJob:
    """Drain the inbox on a background thread; `cancel()` stops within one model token.

    The UI calls start(progress=...), cancel(), wait(); `running`, `processed` and `error` tell the
    state. Capture never waits on it: only the final short write of each batch takes the lock.
    """

    def __init__(
        self, core: MemoryCore, model: Model | None, settings: AgentSettings | None = None
    ) -> None:
        self.pipeline = Pipeline(core, model, settings)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(
        self, progress: Callable[[Progress], None] | None = None, limit: int | None = None
    ) -> int:
        """Run in the calling thread (the CLI); returns the number of items processed."""
        self.processed = self.pipeline.drain(
            limit=limit, progress=progress, should_stop=self._cancel.is_set
        )
        return self.processed

    def start(
        self, progress: Callable[[Progress], None] | None = None, limit: int | None = None
    ) -> None:
        if self.running:
            return
        self._cancel.clear()

        def target() -> None:
            # A worker thread opens its own SQLite connection (the store keeps one per thread).
            try:
                self.run(progress, limit)
            except BaseException as e:  # reported through .error; never kills the app
                self.error = e
                log.warning("processing job failed: %s", type(e).__name__)
            else:
                self.error = None

        self._thread = threading.Thread(target=target, name="mirix-agent", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
