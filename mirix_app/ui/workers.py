"""The UI's side of background work: every service call that can take time runs on the runtime's
pools (mirix_app/runtime.py), never on the Qt thread, and its result comes back on the Qt thread.

`Runner.submit(fn, ...)` runs `fn` on a pool and calls back on the Qt thread with the result or the
error. Two pools: a small "fast" one for reads and searches (so a keystroke never waits behind an
export), and a "slow" one for long jobs (model load, chat, import/export, capture control). In a
pool a task with a higher `priority` (searches: `INTERACTIVE`) starts before queued ones. Every
task gets a `Cancel` token; `Runner.shutdown()` cancels all and waits for them. The runtime's
events (capture state, the agent's drains, model load/unload) arrive on the Qt thread as the
`runtime_event` signal, so the window updates when something happened instead of polling.

The pools' threads are Python threads, not QThreadPool's: a thread Qt starts enters Python afresh
for every task (a new thread state each time), so `threading.local` data does not survive from
one task to the next - and the memory store keeps one SQLite connection per thread in it. On
QThreadPool every search and status read opened a new SQLCipher connection, and the store kept
each one open: 200 tasks, 200 connections, 400 more file descriptors.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from mirix_app.runtime import INTERACTIVE, Cancel, Cancelled, Event, JobPool, Runtime

__all__ = ["INTERACTIVE", "Cancel", "Cancelled", "Debouncer", "LatestOnly", "Runner", "Task"]

Progress = Callable[[int, int], None]


@dataclass
class Task:
    id: int
    name: str
    cancel: Cancel = field(default_factory=Cancel)
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_item: Callable[[Any], None] | None = None


class Runner(QObject):
    """Submits to a Runtime's pools; results come back on the Qt thread through queued signals.
    Without a `runtime` it makes (and on shutdown stops) its own."""

    # Emitted from worker threads; delivered queued to this object, which lives on the Qt thread.
    _sig_end = Signal(int, bool, object)
    _sig_progress = Signal(int, int, int)
    _sig_item = Signal(int, object)

    # Public: for status displays and tests.
    started = Signal(int, str)
    finished = Signal(int, str)
    failed = Signal(int, str, str)
    runtime_event = Signal(object)  # a runtime Event, on the Qt thread

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        fast_threads: int = 2,
        runtime: Runtime | None = None,
    ) -> None:
        super().__init__(parent)
        self._own_runtime = runtime is None
        self.runtime = runtime or Runtime(fast_threads=fast_threads)
        self._tasks: dict[int, Task] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._sig_end.connect(self._on_end)
        self._sig_progress.connect(self._on_progress)
        self._sig_item.connect(self._on_item)
        # Published on any thread; a signal emitted off the Qt thread is delivered queued.
        self._unsubscribe = self.runtime.events.subscribe(self._publish)

    def _publish(self, ev: Event) -> None:
        if not self._closing:
            self.runtime_event.emit(ev)

    @property
    def fast(self) -> JobPool:
        return self.runtime.fast

    @property
    def slow(self) -> JobPool:
        return self.runtime.slow

    # -- submit ------------------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        slow: bool = False,
        priority: int = 0,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_item: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Task:
        """Run `fn(*args, **kwargs)` in a worker. If `fn` takes `cancel`, `progress` or `emit`
        keyword arguments, it gets the task's token, a progress(done, total) callback and an
        emit(item) callback for streamed results (each delivered to `on_item` on the Qt thread)."""
        task = Task(
            next(self._ids),
            name or getattr(fn, "__name__", "task"),
            on_done=on_done,
            on_error=on_error,
            on_progress=on_progress,
            on_item=on_item,
        )
        if self._closing:
            task.cancel.cancel()
            return task
        params = _param_names(fn)
        tid = task.id
        if "cancel" in params:
            kwargs["cancel"] = task.cancel
        if "progress" in params:
            kwargs["progress"] = lambda done, total: self._sig_progress.emit(tid, done, total)
        if "emit" in params:
            kwargs["emit"] = lambda item: self._sig_item.emit(tid, item)

        def call() -> Any:
            return fn(*args, **kwargs)

        self._tasks[task.id] = task
        self.started.emit(task.id, task.name)
        self.runtime.submit(
            call,
            name=task.name,
            slow=slow,
            priority=priority,
            cancel=task.cancel,
            on_end=lambda ok, value: self._sig_end.emit(tid, ok, value),
        )
        if task.cancel.cancelled and self.runtime.stopped:  # never queued: the runtime stopped
            self._tasks.pop(task.id, None)
        return task

    @property
    def busy(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> None:
        for t in list(self._tasks.values()):
            t.cancel.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, drop queued jobs, wait for running ones; True if all ended. The
        runtime's loops and resources are stopped too when this runner made the runtime."""
        self._closing = True
        self.cancel_all()
        ok = self.runtime.stop_tasks(timeout_ms / 1000)
        if self._own_runtime:
            ok = self.runtime.stop(timeout_ms / 1000) and ok
        self._unsubscribe()
        self._tasks.clear()
        return ok

    # -- delivery (Qt thread) ---------------------------------------------------------------------
    @Slot(int, bool, object)
    def _on_end(self, tid: int, ok: bool, value: object) -> None:
        task = self._tasks.pop(tid, None)
        if task is None or self._closing:
            return
        if ok:
            self.finished.emit(tid, task.name)
            if task.on_done and not task.cancel.cancelled:
                task.on_done(value)
            return
        if isinstance(value, Cancelled) or task.cancel.cancelled:
            self.finished.emit(tid, task.name)
            return
        assert isinstance(value, BaseException)
        self.failed.emit(tid, task.name, str(value))
        if task.on_error:
            task.on_error(value)

    @Slot(int, int, int)
    def _on_progress(self, tid: int, done: int, total: int) -> None:
        task = self._tasks.get(tid)
        if task and task.on_progress and not task.cancel.cancelled:
            task.on_progress(done, total)

    @Slot(int, object)
    def _on_item(self, tid: int, item: object) -> None:
        task = self._tasks.get(tid)
        if task and task.on_item and not task.cancel.cancelled:
            task.on_item(item)


def _param_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


class Debouncer(QObject):
    """Calls `fn` once input has been quiet for `ms` milliseconds (search as you type)."""

    def __init__(self, ms: int, fn: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ms)
        self._timer.timeout.connect(self._fn)

    def poke(self) -> None:
        self._timer.start()

    def flush(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
        self._fn()


class LatestOnly:
    """Runs one kind of query so that only the answer to the newest request is delivered, with
    at most one in flight: a request made while one runs waits (replacing any older waiting one),
    so fast typing never piles up searches that compete for the cores."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._task: Task | None = None
        self._running = False
        self._pending: (
            tuple[
                int,
                Callable[..., Any],
                Callable[[Any], None],
                Callable[[BaseException], None] | None,
                dict[str, Any],
            ]
            | None
        ) = None
        self._generation = 0

    def run(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
        **kwargs: Any,
    ) -> Task | None:
        self._generation += 1
        request = (self._generation, fn, on_done, on_error, kwargs)
        if self._running:
            self._pending = request  # started when the running one ends; its result is dropped
            return None
        return self._start(request)

    def _start(
        self,
        request: tuple[
            int,
            Callable[..., Any],
            Callable[[Any], None],
            Callable[[BaseException], None] | None,
            dict[str, Any],
        ],
    ) -> Task:
        gen, fn, on_done, on_error, kwargs = request

        def done(value: Any) -> None:
            self._ended()
            if gen == self._generation:
                on_done(value)

        def error(e: BaseException) -> None:
            self._ended()
            if gen == self._generation and on_error:
                on_error(e)

        self._running = True
        self._task = self.runner.submit(fn, on_done=done, on_error=error, **kwargs)
        if self._task.cancel.cancelled:  # the runner is closing
            self._running = False
        return self._task

    def _ended(self) -> None:
        self._running = False
        if self._pending is not None:
            request, self._pending = self._pending, None
            self._start(request)
