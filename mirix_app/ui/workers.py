"""Background work for the UI: every service call that can take time runs here, never on the Qt thread.

`Runner.submit(fn, ...)` runs `fn` on a thread pool and calls back on the Qt thread with the result
or the error. Two pools: a small "fast" one for reads and searches (so a keystroke never waits
behind an export), and a "slow" one for long jobs (model load, chat, import/export, capture
control). In a pool a task with a higher `priority` (searches: `INTERACTIVE`) starts before
queued ones. Every task gets a `Cancel` token; `Runner.shutdown()` cancels all and waits for them.

The pools' threads are Python threads, not QThreadPool's: a thread Qt starts enters Python afresh
for every task (a new thread state each time), so `threading.local` data does not survive from
one task to the next - and the memory store keeps one SQLite connection per thread in it. On
QThreadPool every search and status read opened a new SQLCipher connection, and the store kept
each one open: 200 tasks, 200 connections, 400 more file descriptors.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a task that noticed its cancel token."""


class Cancel:
    """A cancel token a task may check (`token.check()` raises Cancelled once cancelled)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


Progress = Callable[[int, int], None]
INTERACTIVE = 10  # priority of work a person is waiting for (a search while typing)


@dataclass
class Task:
    id: int
    name: str
    cancel: Cancel = field(default_factory=Cancel)
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_item: Callable[[Any], None] | None = None


class _Job:
    def __init__(self, runner: Runner, task: Task, fn: Callable[..., Any], kwargs: dict[str, Any]):
        self.runner, self.task, self.fn, self.kwargs = runner, task, fn, kwargs

    def run(self) -> None:
        task = self.task
        if task.cancel.cancelled:
            self.runner._sig_end.emit(task.id, False, Cancelled())
            return
        try:
            result = self.fn(**self.kwargs)
        except BaseException as e:
            if not isinstance(e, Cancelled):
                log.warning("task %s failed: %s", task.name, "".join(traceback.format_exception(e)))
            self.runner._sig_end.emit(task.id, False, e)
        else:
            self.runner._sig_end.emit(task.id, True, result)


class _Pool:
    """Up to `size` long-lived Python threads taking jobs by priority, then first come first
    served. Threads start on demand and live until `close()` (so each keeps its SQLite
    connection)."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, max(1, size)
        self._queue: list[tuple[int, int, _Job]] = []  # heap of (-priority, order, job)
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._running = 0
        self._closed = False

    def start(self, job: _Job, priority: int = 0) -> None:
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._queue, (-priority, next(self._order), job))
            if self._idle < len(self._queue) and len(self._threads) < self.size:
                t = threading.Thread(
                    target=self._work, name=f"mirix-{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(t)
                t.start()
            self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while not self._queue and not self._closed:
                    self._cond.wait()
                self._idle -= 1
                if not self._queue:
                    return  # closed
                job = heapq.heappop(self._queue)[2]
                self._running += 1
            try:
                job.run()
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def clear(self) -> None:
        """Drop the jobs that have not started."""
        with self._cond:
            self._queue.clear()

    def wait(self, timeout_s: float) -> bool:
        """Wait until nothing runs or waits; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._running or self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout_s: float) -> bool:
        """Let the threads end (after the jobs already queued); True if they all did in time."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout_s
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    @property
    def threads(self) -> int:
        return len(self._threads)


class Runner(QObject):
    """Owns the worker threads; results come back on the Qt thread through queued signals."""

    # Emitted from worker threads; delivered queued to this object, which lives on the Qt thread.
    _sig_end = Signal(int, bool, object)
    _sig_progress = Signal(int, int, int)
    _sig_item = Signal(int, object)

    # Public: for status displays and tests.
    started = Signal(int, str)
    finished = Signal(int, str)
    failed = Signal(int, str, str)

    def __init__(self, parent: QObject | None = None, *, fast_threads: int = 2) -> None:
        super().__init__(parent)
        self.fast = _Pool("fast", fast_threads)
        self.slow = _Pool("slow", 2)
        self._tasks: dict[int, Task] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._sig_end.connect(self._on_end)
        self._sig_progress.connect(self._on_progress)
        self._sig_item.connect(self._on_item)

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
        call = (lambda **kw: fn(*args, **kw)) if args else fn
        self._tasks[task.id] = task
        self.started.emit(task.id, task.name)
        (self.slow if slow else self.fast).start(_Job(self, task, call, kwargs), priority)
        return task

    @property
    def busy(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> None:
        for t in list(self._tasks.values()):
            t.cancel.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, drop queued jobs, wait for running ones; True if all ended."""
        self._closing = True
        self.cancel_all()
        self.fast.clear()
        self.slow.clear()
        ok = self.fast.wait(timeout_ms / 1000) and self.slow.wait(timeout_ms / 1000)
        ok = self.fast.close(1.0) and self.slow.close(1.0) and ok
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
