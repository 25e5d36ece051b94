"""The capture service: a runtime Loop (mirix_app/runtime.py) running a cycle at a fixed interval
and on focus change, with pause/resume, idle/lock skipping, a status the UI can show, and a clean
stop. In the app the loop is one of the app Runtime's (stopped with it); on its own (`mirix
capture`) the service runs the loop itself.

Capture only appends to the queue; it never waits for the model. A failing cycle (no tesseract, a
bad grab, a full or read-only disk, a locked database) sets the status to ERROR with what to do;
capture then pauses and retries on its own with a growing delay (interval x 2^n, at most
`max_backoff_seconds`), and goes back to RECORDING by itself once a cycle works again. A capture
read but not written is held in memory and written first (see capturer.py). The service does not
die: no exception leaves a cycle. Listeners are called from the capture thread; the UI must hop to
its own thread.

The app's own windows (main window, dialogs, tray menu, quick search) are excluded like a password
manager's (`OwnWindowRules`, see windows.OwnWindows): capture never records itself.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirix_app.capture.capturer import Capturer, CaptureResult
from mirix_app.capture.errors import storage_fault
from mirix_app.capture.privacy import ExclusionRules
from mirix_app.capture.settings import CaptureSettings
from mirix_app.capture.windows import WindowAdapter, WindowInfo, adapter_for_platform, is_own
from mirix_app.errors import MirixError
from mirix_app.memory.clock import now_iso, to_iso
from mirix_app.runtime import Cancel, Loop

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths
    from mirix_app.runtime import Runtime

log = logging.getLogger(__name__)

JOB_ID = "mirix-capture"


class Status(enum.StrEnum):
    STOPPED = "stopped"
    RECORDING = "recording"
    PAUSED = "paused"
    IDLE = "idle"  # skipping: no input for a while, or the screen is locked
    ERROR = "error"  # the last cycle failed; capture retries by itself (see retry_at)


@dataclass(frozen=True)
class ServiceState:
    status: Status = Status.STOPPED
    message: str = ""
    hint: str | None = None
    paused_until: str | None = None  # ISO time; None with PAUSED means until resumed
    last_capture_at: str | None = None
    cycles: int = 0
    kept: int = 0
    errors: int = 0
    retry_at: str | None = None  # ISO time of the next try after a failed cycle
    held: int = 0  # captures read but not yet written (a fault); written when it clears


Listener = Callable[[ServiceState, list[CaptureResult]], None]


class PauseFile:
    """Pause state in the data dir, so `mirix capture --pause 1h` reaches a running app."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, until: float | None) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"until": until}), encoding="utf-8")
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
        except OSError as e:
            raise storage_fault(e, self.path.parent) from e

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as e:
            raise storage_fault(e, self.path.parent) from e

    def get(self, now: float | None = None) -> tuple[bool, float | None]:
        """(paused, until); an expired pause is removed."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return False, None
        except (OSError, ValueError):
            return True, None  # unreadable: stay paused, the safe side
        until = raw.get("until") if isinstance(raw, dict) else None
        if until is None:
            return True, None
        now = time.time() if now is None else now
        if float(until) <= now:
            self.clear()
            return False, None
        return True, float(until)


def pause_file(paths: Paths) -> PauseFile:
    return PauseFile(paths.data / "capture-pause.json")


@dataclasses.dataclass
class OwnWindowRules(ExclusionRules):
    """The exclusion rules plus this app's own windows (windows.is_own: our process id, window
    class or a registered handle), excluded exactly as a password manager is: blanked before
    change detection and OCR, never the context of a capture, a frame of nothing else dropped."""

    def excludes(self, w: WindowInfo) -> bool:
        return is_own(w) or super().excludes(w)


def exclude_own_windows(capturer: Capturer) -> None:
    """Make `capturer` treat our own windows as excluded (idempotent)."""
    rules = capturer.rules
    if isinstance(rules, OwnWindowRules):
        return
    values = {f.name: getattr(rules, f.name) for f in dataclasses.fields(rules)}
    capturer.rules = OwnWindowRules(**values)


class CaptureJob:
    """One capture cycle that can be cancelled from another thread (checked between OCR boxes)."""

    def __init__(self, capturer: Capturer) -> None:
        self.capturer = capturer
        self._cancel = threading.Event()

    def run(self) -> list[CaptureResult]:
        self._cancel.clear()
        return self.capturer.capture(self._cancel.is_set)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


class CaptureService:
    def __init__(
        self,
        core: MemoryCore,
        settings: CaptureSettings | None = None,
        *,
        capturer: Capturer | None = None,
        adapter: WindowAdapter | None = None,
        clock: Callable[[], float] = time.time,
        max_backoff_seconds: float = 60.0,
        exclude_own: bool = True,
        runtime: Runtime | None = None,
    ) -> None:
        """`exclude_own=False` captures our own windows too, as capture once did (only a
        benchmark comparing with that behaviour wants it). With `runtime`, the capture loop is
        one of its loops."""
        self.core = core
        self.settings = settings or CaptureSettings.from_settings(core.settings)
        if capturer is None:
            capturer = Capturer(core, self.settings, adapter=adapter or adapter_for_platform())
        if exclude_own:
            exclude_own_windows(capturer)
        self.capturer = capturer
        self.adapter = capturer.adapter
        self.job = CaptureJob(capturer)
        self.pause_file = pause_file(core.paths)
        self.clock = clock
        self._listeners: list[Listener] = []
        self._state = ServiceState()
        self._lock = threading.Lock()
        self.runtime = runtime
        self._loop: Loop | None = None
        self._stop_focus: Callable[[], None] | None = None
        self._last_focus_trigger = 0.0
        self.max_backoff = max_backoff_seconds
        self._failures = 0  # consecutive failed cycles
        self._retry_at = 0.0  # clock time before which a failing capture does not try again

    # -- state and listeners ----------------------------------------------------------------------
    @property
    def state(self) -> ServiceState:
        return self._state

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _set(self, results: list[CaptureResult] | None = None, **changes: Any) -> None:
        with self._lock:
            old = self._state
            self._state = replace(old, **changes)
            new = self._state
        if results or new != old:
            for cb in list(self._listeners):
                try:
                    cb(new, results or [])
                except Exception:
                    log.exception("capture listener failed")

    # -- control ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        if self._loop is not None:
            return
        # One cycle at a time; a cycle that overruns the interval skips the ticks it missed;
        # the first runs now. `stop` cancels a cycle under way at its next check point.
        loop = Loop(
            JOB_ID,
            self._cycle,
            interval=self.settings.interval_seconds,
            on_stop=self.job.cancel,
        )
        self._loop = loop
        if self.runtime is not None:
            self.runtime.add_loop(loop)
        else:
            loop.start()
        paused, until = self.pause_file.get(self.clock())
        self._set(
            status=Status.PAUSED if paused else Status.RECORDING,
            paused_until=to_iso(datetime.fromtimestamp(until, UTC)) if until else None,
            message="",
        )
        if self.settings.on_focus_change:
            self._stop_focus = self.adapter.watch_focus(self.trigger)
        log.info("capture started: every %.1f s", self.settings.interval_seconds)

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel a running cycle at its next check point and wait for it; idempotent."""
        loop, self._loop = self._loop, None
        if self._stop_focus is not None:
            self._stop_focus()
            self._stop_focus = None
        if loop is not None:
            if self.runtime is not None:
                self.runtime.remove_loop(loop.name, timeout)
            loop.stop(timeout)  # logs when a cycle did not stop in time
        if self.capturer.held:
            try:
                self.capturer.flush()
            except MirixError as e:
                log.warning(
                    "capture stopped with %d capture(s) unwritten: %s",
                    len(self.capturer.held),
                    e.message,
                )
        self.capturer.close()
        self._set(status=Status.STOPPED, message="")
        log.info("capture stopped")

    def trigger(self) -> None:
        """Capture now (e.g. the focus changed); a cycle already running absorbs it."""
        now = self.clock()
        loop = self._loop
        if now - self._last_focus_trigger < 0.5 or loop is None:
            return
        self._last_focus_trigger = now
        loop.wake()

    def pause(self, seconds: float | None = None) -> None:
        """Pause for `seconds` (e.g. 900, 3600), or until `resume()` when None."""
        until = self.clock() + seconds if seconds else None
        self.pause_file.set(until)
        self.job.cancel()
        self._set(
            status=Status.PAUSED,
            paused_until=to_iso(datetime.fromtimestamp(until, UTC)) if until else None,
            message="",
        )
        log.info("capture paused %s", f"for {seconds:.0f} s" if seconds else "until resumed")

    def resume(self) -> None:
        self.pause_file.clear()
        self._retry_at = 0.0  # the user asked: try now, not after the backoff
        self._set(
            status=Status.RECORDING if self.running else Status.STOPPED,
            paused_until=None,
            message="",
        )
        log.info("capture resumed")
        self.trigger()

    # -- one scheduled cycle ----------------------------------------------------------------------
    def _cycle(self, cancel: Cancel) -> None:
        if not cancel.cancelled:
            self.tick()

    def tick(self) -> list[CaptureResult]:
        """Run one cycle unless paused/idle/locked or backing off after a fault; never raises."""
        try:
            return self._tick()
        except Exception as e:  # the loop would only log it: show it, and back off
            log.exception("capture cycle failed")
            self._failed(f"capture failed: {type(e).__name__}: {e}", "see the log file")
            return []

    def _tick(self) -> list[CaptureResult]:
        s = self.settings
        paused, until = self.pause_file.get(self.clock())
        if paused:
            self._set(
                status=Status.PAUSED,
                paused_until=to_iso(datetime.fromtimestamp(until, UTC)) if until else None,
            )
            return []
        if s.skip_when_locked and self.adapter.locked():
            self._set(status=Status.IDLE, message="screen locked", paused_until=None)
            return []
        if s.idle_after_seconds > 0:
            idle = self.adapter.idle_seconds()
            if idle is not None and idle >= s.idle_after_seconds:
                self._set(status=Status.IDLE, message="no input", paused_until=None)
                return []
        if self._failures and self.clock() < self._retry_at:
            return []  # backing off: the error stays shown until a try works
        try:
            results = self.job.run()
        except MirixError as e:
            log.warning("capture cycle failed: %s", e.message)
            self._failed(e.message, e.hint)
            return []
        if self._failures:
            log.info("capture recovered after %d failed cycle(s)", self._failures)
        self._failures = 0
        kept = sum(1 for r in results if r.kept)
        self._set(
            results,
            status=Status.RECORDING if self._loop is not None else Status.STOPPED,
            message="",
            hint=None,
            paused_until=None,
            retry_at=None,
            held=len(self.capturer.held),
            cycles=self._state.cycles + 1,
            kept=self._state.kept + kept,
            last_capture_at=now_iso() if kept else self._state.last_capture_at,
        )
        return results

    def _failed(self, message: str, hint: str | None) -> None:
        """ERROR with what to do, and when capture tries again by itself."""
        self._failures += 1
        delay = min(self.max_backoff, self.settings.interval_seconds * 2 ** (self._failures - 1))
        self._retry_at = self.clock() + delay
        held = len(self.capturer.held)
        note = "capture is paused and resumes by itself once this is fixed"
        if held:
            note += f"; {held} capture(s) wait in memory to be saved"
        self._set(
            status=Status.ERROR,
            message=message,
            hint=f"{hint}; {note}" if hint else note,
            paused_until=None,
            retry_at=to_iso(datetime.fromtimestamp(self._retry_at, UTC)),
            held=held,
            cycles=self._state.cycles + 1,
            errors=self._state.errors + 1,
        )


def parse_duration(text: str) -> float | None:
    """'15m', '1h', '90s', '2h30m' -> seconds; 'forever'/'until-resumed' -> None."""
    import re

    from mirix_app.errors import InvalidInput

    t = text.strip().lower()
    if t in ("forever", "until-resumed", "resume", "0", ""):
        return None
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", t)
    if not parts or not any(parts.groups()):
        raise InvalidInput(f"not a duration: {text!r}", "use e.g. 15m, 1h, 90s or forever")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s
