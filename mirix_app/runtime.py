"""The one owner of background work (no Qt here): thread pools, loops, cancel, clean stop, events.

Every background job of the app runs under a `Runtime`:
- one-off tasks (searches, status reads, chat answers, model load, import/export) on two
  `JobPool`s: a small "fast" one for reads and searches, a "slow" one for long jobs; in a pool a
  task with a higher priority (`INTERACTIVE`) starts before queued ones;
- `Loop`s: long-lived threads that run one piece of work at an interval and whenever woken
  (the capture cycle, the agent draining the inbox when rows arrive, housekeeping that unloads
  idle models);
- owned resources (the vector helper process, the models) closed, in reverse order, by `stop()`.

What happens is published as `Event`s to subscribers (the UI bridges them to a Qt signal in
ui/workers.py), so nobody has to poll. Like Vorta's JobsManager, the runtime knows nothing of
what the jobs do.

Thread priorities live here too (`BackgroundPriority`, `lower_thread_priority`): on Linux the
CPU-heavy native work (tesseract, llama.cpp's compute threads) runs below the Qt thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import heapq
import itertools
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mirix_app.config import Settings
from mirix_app.errors import InvalidInput, MemoryClosed

log = logging.getLogger(__name__)

INTERACTIVE = 10  # priority of work a person is waiting for (a search while typing)
BACKGROUND_NICE = 10
OCR_PROGRAMS = frozenset({"tesseract"})


# -- settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuntimeSettings:
    """[runtime] in settings.toml. `model_idle_minutes`: a loaded language model is unloaded after
    this long unused (0 = never); `eager_model`: load it at start and keep it (what the app did
    before; MIRIX_EAGER_MODEL=1 does the same); `embedder_idle_minutes`: the same for the
    embedding model (0 = never); `vectors_idle_minutes`: the vector index's helper process is
    stopped after this long unused (0 = never), and started again by the next search."""

    model_idle_minutes: float = 5.0
    eager_model: bool = False
    embedder_idle_minutes: float = 10.0
    vectors_idle_minutes: float = 10.0

    @classmethod
    def read(cls, settings: Settings | None) -> RuntimeSettings:
        """`from_settings`, but a bad [runtime] table logs what is wrong and uses the defaults
        (memory housekeeping must not take the agent down)."""
        try:
            return cls.from_settings(settings)
        except InvalidInput as e:
            log.warning("[runtime] ignored: %s", e.message)
            return cls.from_settings(None)

    @classmethod
    def from_settings(cls, settings: Settings | None) -> RuntimeSettings:
        raw = (settings.extra.get("runtime", {}) if settings is not None else {}) or {}
        if not isinstance(raw, dict):
            raise InvalidInput("[runtime] must be a table")
        known = {"model_idle_minutes", "eager_model", "embedder_idle_minutes"}
        known |= {"vectors_idle_minutes"}
        unknown = set(raw) - known
        if unknown:
            raise InvalidInput(f"unknown key(s) in [runtime]: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key in ("model_idle_minutes", "embedder_idle_minutes", "vectors_idle_minutes"):
            if key in raw:
                v = raw[key]
                if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                    raise InvalidInput(f"[runtime] {key} must be a number of minutes >= 0")
                values[key] = float(v)
        if "eager_model" in raw:
            if not isinstance(raw["eager_model"], bool):
                raise InvalidInput("[runtime] eager_model must be true or false")
            values["eager_model"] = raw["eager_model"]
        out = cls(**values)
        if os.environ.get("MIRIX_EAGER_MODEL", "").strip() in ("1", "true", "yes"):
            out = dataclasses.replace(out, eager_model=True)
        return out


# -- cancel and events -----------------------------------------------------------------------------
class Cancelled(Exception):
    """Raised inside a task that noticed its cancel token."""


class Cancel:
    """A cancel token a task may check (`token.check()` raises Cancelled once cancelled)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:  # so a token can stand where a threading.Event is expected
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


@dataclass(frozen=True)
class Event:
    """`kind`: job.started | job.finished | job.failed | loop.started | loop.stopped | capture |
    agent.started | agent.finished | inbox | model.loaded | model.unloaded | runtime.stopped;
    `name`: the job, loop or resource; `data`: details (an error's text, counts)."""

    kind: str
    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    """Subscribers are called on the publishing thread: a UI hops to its own thread itself."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subs.remove(fn)

        return unsubscribe

    def publish(self, kind: str, name: str = "", **data: Any) -> None:
        event = Event(kind, name, data)
        with self._lock:
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(event)
            except Exception:  # one broken subscriber must not stop the others or the job
                log.exception("event subscriber failed on %s", kind)


# -- pools -----------------------------------------------------------------------------------------
class Job:
    """One task in a pool: `fn()` runs on a pool thread, then `on_end(ok, value)` there too."""

    def __init__(
        self,
        name: str,
        fn: Callable[[], Any],
        on_end: Callable[[bool, Any], None] | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        self.name, self.fn, self.on_end = name, fn, on_end
        self.cancel = cancel or Cancel()

    def run(self) -> tuple[bool, Any]:
        if self.cancel.cancelled:
            return False, Cancelled()
        try:
            return True, self.fn()
        except MemoryClosed as e:  # the app is quitting: this task outlived the shutdown wait
            log.debug("task %s stopped: the memory core is closed", self.name)
            return False, e
        except BaseException as e:
            if not isinstance(e, Cancelled):
                log.warning("task %s failed", self.name, exc_info=e)
            return False, e


class JobPool:
    """Up to `size` long-lived Python threads taking jobs by priority, then first come first
    served. Threads start on demand and live until `close()`, so each keeps its SQLite connection
    (the store keeps one per thread in a threading.local)."""

    def __init__(self, name: str, size: int, events: EventBus | None = None) -> None:
        self.name, self.size = name, max(1, size)
        self.events = events
        self._queue: list[tuple[int, int, Job]] = []  # heap of (-priority, order, job)
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._running = 0
        self._closed = False
        self.nice: int | None = None  # a pool of background work lowers its threads (Linux)

    def start(self, job: Job, priority: int = 0) -> bool:
        """Queue `job`; False when the pool is closed (the job is then cancelled, not run)."""
        with self._cond:
            if self._closed:
                job.cancel.cancel()
                return False
            heapq.heappush(self._queue, (-priority, next(self._order), job))
            if self._idle < len(self._queue) and len(self._threads) < self.size:
                t = threading.Thread(
                    target=self._work, name=f"mirix-{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(t)
                t.start()
            self._cond.notify()
        return True

    def _work(self) -> None:
        if self.nice is not None:
            lower_thread_priority(self.nice)
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
                if self.events is not None:
                    self.events.publish("job.started", job.name, pool=self.name)
                ok, value = job.run()
                if self.events is not None:
                    failed = not ok and not isinstance(value, Cancelled)
                    kind = "job.failed" if failed else "job.finished"
                    self.events.publish(kind, job.name, pool=self.name, ok=ok)
                if job.on_end is not None:
                    job.on_end(ok, value)
            except Exception:  # a delivery callback failed: the pool thread lives on
                log.exception("job %s: its end could not be delivered", job.name)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def clear(self) -> list[Job]:
        """Drop the jobs that have not started (cancelled); returns them."""
        with self._cond:
            dropped = [j for _p, _o, j in self._queue]
            self._queue.clear()
        for j in dropped:
            j.cancel.cancel()
        return dropped

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
    def closed(self) -> bool:
        return self._closed

    @property
    def threads(self) -> int:
        return len(self._threads)


# -- loops -----------------------------------------------------------------------------------------
class Loop:
    """A long-lived thread running `work(cancel)` now, then every `interval` seconds (None: only
    when woken) and whenever `wake()` is called; wakes while it works fold into one more run (no
    pile-up, like a coalescing scheduler). `stop()` cancels the token `work` gets and joins.

    `nice` lowers the thread's priority (Linux), for work that runs mostly in native code."""

    def __init__(
        self,
        name: str,
        work: Callable[[Cancel], Any],
        *,
        interval: float | None = None,
        first_run: bool = True,
        nice: int | None = None,
        events: EventBus | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.name, self.work, self.interval = name, work, interval
        self.first_run, self.nice, self.events = first_run, nice, events
        self.on_stop = on_stop  # called on stop(), before the join (e.g. a cycle's own cancel)
        self.cancel = Cancel()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.busy = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self.cancel.clear()
        if self.first_run:
            self._wake.set()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        if self.nice is not None:
            lower_thread_priority(self.nice)
        if self.events is not None:
            self.events.publish("loop.started", self.name)
        # Fixed rate, as a scheduler's interval job: runs start `interval` apart; one that
        # overran skips the ticks it missed (no burst to catch up).
        next_at = time.monotonic() + (self.interval or 0.0)
        while not self.cancel.cancelled:
            timeout = None if self.interval is None else max(0.0, next_at - time.monotonic())
            woken = self._wake.wait(timeout)
            self._wake.clear()
            if self.cancel.cancelled:
                break
            if self.interval is not None:
                now = time.monotonic()
                if not woken or next_at <= now:
                    while next_at <= now:
                        next_at += self.interval
            self.busy = True
            try:
                self.work(self.cancel)
            except Cancelled:
                pass
            except MemoryClosed:  # the core closed under a late cycle: the app is stopping
                log.debug("%s: the memory core is closed, stopping", self.name)
                break
            except Exception:  # the loop must outlive a failing cycle
                log.exception("%s: a cycle failed", self.name)
            finally:
                self.busy = False
                self.runs += 1
        if self.events is not None:
            self.events.publish("loop.stopped", self.name)

    def request_stop(self) -> None:
        """Cancel and wake without waiting (the runtime asks every loop first, then joins)."""
        self.cancel.cancel()
        self._wake.set()
        if self.on_stop is not None:
            with contextlib.suppress(Exception):
                self.on_stop()

    def stop(self, timeout: float = 30.0) -> bool:
        """Cancel, wake and join; True when the thread ended in time. Idempotent."""
        thread, self._thread = self._thread, None
        self.request_stop()
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s did not stop within %.0f s", self.name, timeout)
            return False
        return True


# -- the runtime -----------------------------------------------------------------------------------
class Runtime:
    """Pools, loops and owned resources of one app; `stop()` ends them all, once."""

    def __init__(self, *, fast_threads: int = 2, slow_threads: int = 2) -> None:
        self.events = EventBus()
        self.fast = JobPool("fast", fast_threads, self.events)
        self.slow = JobPool("slow", slow_threads, self.events)
        self.loops: dict[str, Loop] = {}
        self._closers: list[tuple[str, Callable[[], Any]]] = []
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()
        self.stopped = False
        # Set by the first of stop_tasks() / stop(): the app is quitting. Long work that has no
        # task token of its own (a model's capability check, a generation) polls it.
        self.closing = Cancel()

    # one-off tasks
    def submit(
        self,
        fn: Callable[[], Any],
        *,
        name: str = "",
        slow: bool = False,
        priority: int = 0,
        cancel: Cancel | None = None,
        on_end: Callable[[bool, Any], None] | None = None,
    ) -> Job:
        """Run `fn()` on a pool; `on_end(ok, value)` is called on the pool thread afterwards.
        After `stop()` the job is cancelled and never runs."""
        job = Job(name or getattr(fn, "__name__", "task"), fn, None, cancel)

        def end(ok: bool, value: Any) -> None:
            with self._lock:
                self._jobs.discard(job)
            if on_end is not None:
                on_end(ok, value)

        job.on_end = end
        with self._lock:
            if self.stopped:
                job.cancel.cancel()
                return job
            self._jobs.add(job)
        if not (self.slow if slow else self.fast).start(job, priority):
            with self._lock:
                self._jobs.discard(job)
        return job

    def cancel_all(self) -> None:
        with self._lock:
            jobs = list(self._jobs)
        for j in jobs:
            j.cancel.cancel()

    def stop_tasks(self, timeout_s: float = 5.0) -> bool:
        """Cancel every task, drop the queued ones, wait for the running ones and end the pools'
        threads (new tasks are cancelled from now on); loops and resources stay. True when all
        ended in time."""
        self.closing.cancel()
        self.cancel_all()
        self.fast.clear()
        self.slow.clear()
        ok = self.fast.wait(timeout_s) and self.slow.wait(timeout_s)
        return self.fast.close(1.0) and self.slow.close(1.0) and ok

    # loops
    def add_loop(self, loop: Loop, *, start: bool = True) -> Loop:
        """Own `loop` (stopped by `stop()`); a loop of the same name is stopped first."""
        old = self.loops.get(loop.name)
        if old is not None and old is not loop:
            old.stop()
        loop.events = loop.events or self.events
        self.loops[loop.name] = loop
        if start and not self.stopped:
            loop.start()
        return loop

    def remove_loop(self, name: str, timeout: float = 30.0) -> bool:
        loop = self.loops.pop(name, None)
        return loop.stop(timeout) if loop is not None else True

    def wake(self, name: str) -> None:
        loop = self.loops.get(name)
        if loop is not None:
            loop.wake()

    # owned resources
    def own(self, name: str, close: Callable[[], Any]) -> None:
        """Close `close()` at stop, after the loops and pools, in reverse order of owning."""
        self._closers.append((name, close))

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Cancel every task and loop, drop queued tasks, wait for running ones, end the threads,
        then close the owned resources. True when everything ended in time. Safe to call twice."""
        with self._lock:
            if self.stopped:
                return True
            self.stopped = True
        # Order matters: first ask everything to stop at once, then wait (bounded) for loops and
        # tasks, and only then close what they use (a late thread gets MemoryClosed, see core).
        self.closing.cancel()
        self.cancel_all()
        loops = list(self.loops.values())
        for loop in loops:
            loop.request_stop()  # all at once: each then stops within its own check
        # At least 10 s for the loops (a capture cycle's OCR ends at its own checks): they were
        # all cancelled together, so they usually end within a second or two, not in turn.
        deadline = time.monotonic() + max(timeout_s, 10.0)
        ok = all([loop.stop(max(0.0, deadline - time.monotonic())) for loop in loops])
        self.loops.clear()
        ok = self.stop_tasks(max(0.5, min(timeout_s, deadline - time.monotonic()))) and ok
        for name, close in reversed(self._closers):
            try:
                close()
            except Exception as e:  # the next resource still gets closed
                log.warning("closing %s failed: %s", name, e)
                ok = False
        self._closers.clear()
        self.events.publish("runtime.stopped", ok=ok)
        return ok


# -- memory ----------------------------------------------------------------------------------------
def malloc_trim() -> bool:
    """glibc: give freed heap pages back to the OS (after a model unload, RSS otherwise stays
    where it was: glibc keeps freed arenas for reuse). True when it ran."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


# -- priorities ------------------------------------------------------------------------------------
def lower_thread_priority(nice: int = BACKGROUND_NICE) -> bool:
    """Linux: lower the calling thread's CPU priority (threads it starts later inherit it); never
    the main (Qt) thread. True when lowered."""
    if not BackgroundPriority.supported() or threading.current_thread() is threading.main_thread():
        return False
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) >= nice:
            return False
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        return False
    return True


class BackgroundPriority:
    """Linux: keeps the CPU-heavy work that never holds the GIL - tesseract processes, and the
    native compute threads the model starts (llama.cpp's OpenMP team) - at a lower priority than
    the Qt thread, so on a busy two-core laptop the window and searches get the CPU first.

    The capture thread keeps the normal priority on purpose: a low-priority thread that holds the
    GIL while the OS makes it wait stalls the Qt thread behind it (priority inversion; measured
    beside three busy processes: 90 ms stalls in the capture phase with the capture thread at
    nice 10, 43 ms with only tesseract lowered). The agent's loop lowers itself.

    A thread of this process is lowered when it appeared after `start()`, is not a Python thread
    and still has the process's name (Qt names its threads); a child process when its program is
    OCR's. Checked every `period` seconds; elsewhere than Linux nothing happens."""

    def __init__(
        self,
        nice: int = BACKGROUND_NICE,
        period: float = 0.25,
        programs: frozenset[str] = OCR_PROGRAMS,
    ) -> None:
        self.nice, self.period, self.programs = nice, period, programs
        self.lowered: set[int] = set()  # thread and process ids
        self._known: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def supported() -> bool:
        return sys.platform.startswith("linux") and os.path.isdir("/proc/self/task")

    def start(self) -> None:
        if self._thread is not None or not self.supported():
            return
        self._known = set(_tasks())
        self._thread = threading.Thread(target=self._run, name="mirix-priority", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.scan()
            except Exception as e:  # never let this take anything down
                log.debug("priority scan failed: %s", e)

    def scan(self) -> None:
        if len(self.lowered) > 4096:  # a tesseract run per capture: forget the old ones
            self.lowered.clear()
        me = _comm("/proc/self/comm")
        python = {t.native_id for t in threading.enumerate()}
        for tid in _tasks():
            for child in _children(tid):
                if child not in self.lowered and _comm(f"/proc/{child}/comm") in self.programs:
                    self._lower(child)
            if tid in self._known or tid in python:
                continue
            self._known.add(tid)
            if _comm(f"/proc/self/task/{tid}/comm") == me:
                self._lower(tid)

    def _lower(self, pid: int) -> None:
        try:
            if os.getpriority(os.PRIO_PROCESS, pid) < self.nice:
                os.setpriority(os.PRIO_PROCESS, pid, self.nice)
            self.lowered.add(pid)
        except OSError:  # gone already
            pass


def _tasks() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []


def _children(tid: int) -> list[int]:
    try:
        with open(f"/proc/self/task/{tid}/children") as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


def _comm(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""
