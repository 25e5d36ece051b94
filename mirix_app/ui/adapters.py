"""Thin adapters from the capture service and the agent to what the UI's Services expects.

`make_capture(svc)` / `make_agent(svc)` are called by `Services.open`; an ImportError or any other
failure there leaves that service out (the UI then says "capture not installed" / "model not
available"). No Qt here: the UI reaches these through worker threads.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mirix_app.config import Settings
from mirix_app.ui.services import CaptureStatus, ChatChunk, ModelStatus, to_local

if TYPE_CHECKING:
    from mirix_app.ui.services import Services

log = logging.getLogger(__name__)


BACKGROUND_NICE = 10
OCR_PROGRAMS = frozenset({"tesseract"})


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
    nice 10, 43 ms with only tesseract lowered). The agent's thread lowers itself (_job_class).

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


def _short_time(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        when = to_local(iso)
    except ValueError:
        return iso
    if when.date() == datetime.now().astimezone().date():
        return when.strftime("%H:%M")
    return when.strftime("%a %H:%M")


class CaptureAdapter:
    """Owns a `mirix_app.capture.service.CaptureService`, created on first start."""

    def __init__(self, svc: Services) -> None:
        from mirix_app.capture import service as capture_service
        from mirix_app.capture.settings import CaptureSettings

        self.svc = svc
        self._mod = capture_service
        self._settings_cls = CaptureSettings
        self.service: Any = None
        self.pause_file = capture_service.pause_file(svc.paths)
        self._lock = threading.Lock()
        self.start_error: str = ""

    def _make(self) -> Any:
        settings = self._settings_cls.from_settings(self.svc.settings)
        service = self._mod.CaptureService(self.svc.core, settings)
        from mirix_app.agent.digest import EndOfDay  # issue 12: the daily digest at day's end

        service.add_listener(EndOfDay(self.svc.core))
        return service

    def start(self) -> None:
        with self._lock:
            if self.service is None:
                try:
                    self.service = self._make()
                except Exception as e:
                    self.start_error = str(e)
                    raise
            self.start_error = ""
            self.service.start()

    def stop(self) -> None:
        with self._lock:
            if self.service is not None:
                self.service.stop()
                # A stopped service has closed its display connection: the next start makes a
                # new one.
                self.service = None

    def pause(self, minutes: int | None) -> None:
        seconds = minutes * 60 if minutes else None
        if self.service is not None:
            self.service.pause(seconds)
        else:
            import time

            self.pause_file.set(time.time() + seconds if seconds else None)

    def resume(self) -> None:
        if self.service is not None:
            self.service.resume()
        else:
            self.pause_file.clear()

    def status(self) -> CaptureStatus:
        if self.start_error:
            return CaptureStatus("error", self.start_error)
        if self.service is None:
            paused, _until = self.pause_file.get()
            return CaptureStatus("paused" if paused else "off")
        st = self.service.state
        status = str(st.status)
        detail = st.message + (f" ({st.hint})" if st.hint else "")
        if status == "recording":
            return CaptureStatus("recording", detail)
        if status == "paused":
            return CaptureStatus("paused", detail, paused_until=_short_time(st.paused_until))
        if status == "idle":
            return CaptureStatus("idle", detail or "idle")
        if status == "error":
            return CaptureStatus("error", detail or "capture failed")
        return CaptureStatus("off", detail)

    def monitors(self) -> list[str]:
        try:
            import mss

            with mss.MSS() if hasattr(mss, "MSS") else mss.mss() as s:
                mons = s.monitors[1:]
            return [f"{m['width']}×{m['height']}" for m in mons]
        except Exception as e:
            log.debug("monitor list unavailable (%s)", type(e).__name__)
            return []

    def apply_settings(self, settings: Settings) -> None:
        """Restart a running capture with the new settings."""
        with self._lock:
            running = self.service is not None and self.service.running
            if self.service is not None:
                self.service.stop()
                self.service = None
        if running:
            self.start()


class AgentAdapter:
    """The configured models (chat answers, the agent sorts the inbox; one instance when both
    roles use one model), the chat agent and the inbox processing job."""

    def __init__(self, svc: Services) -> None:
        from mirix_app.agent import settings as agent_settings
        from mirix_app.agent.chat import ChatAgent
        from mirix_app.agent.pipeline import ProcessingJob

        self.svc = svc
        self._settings = agent_settings
        self._chat_cls = ChatAgent
        self._job_cls = ProcessingJob
        self._lock = threading.Lock()
        self.loading = False
        self.error = ""
        self._stopping = threading.Event()  # ends a capability check on quit
        self._build()

    def _build(self) -> None:
        models = self._settings.make_role_models(self.svc.settings)
        self.chat_model, self.agent_model = models["chat"], models["agent"]
        self.model = self.chat_model  # what chat uses (kept under its old name)
        self.chat_agent = self._chat_cls(self.svc.core, self.chat_model)
        agent_cfg = self._settings.AgentSettings.from_settings(self.svc.settings)
        self.job = _job_class(self._job_cls)(self.svc.core, self.agent_model, agent_cfg)

    def _distinct(self) -> list[tuple[str, Any]]:
        """[(roles, model)] with one entry per model instance."""
        if self.chat_model is self.agent_model:
            return [("chat and agent", self.chat_model)]
        return [("chat", self.chat_model), ("agent", self.agent_model)]

    def roles(self) -> dict[str, str]:
        """{"chat": "name (mode)", "agent": "name"}: which model does what (status bar)."""
        from mirix_app.agent import capability

        out: dict[str, str] = {}
        for role, model in (("chat", self.chat_model), ("agent", self.agent_model)):
            try:
                name = model.status().name
                checked = capability.cached_mode(model, self.svc.paths)
            except Exception as e:
                log.debug("model role status unavailable (%s)", type(e).__name__)
                name, checked = getattr(model, "name", "?"), None
            out[role] = f"{name} ({checked.mode})" if checked is not None else name
        return out

    def status(self) -> ModelStatus:
        roles = self.roles() if not self.loading else {}
        if self.loading:
            return ModelStatus("loading", self.model.name)
        if self.error:
            return ModelStatus("error", self.error, roles=roles)
        loaded = True
        for _roles, model in self._distinct():
            try:
                st = model.status()
            except Exception as e:
                log.warning("model status failed (%s)", type(e).__name__)
                return ModelStatus("error", str(e), roles=roles)
            if st.error:
                return ModelStatus("error", st.error, roles=roles)
            loaded = loaded and st.loaded
        name = self.chat_model.name
        if self.chat_model is not self.agent_model:
            name = f"{self.chat_model.name} + {self.agent_model.name}"
        return ModelStatus("ready" if loaded else "idle", name, roles=roles)

    def load(self, progress: Callable[[int, int], None] | None = None) -> None:
        with self._lock:
            self.loading, self.error = True, ""
            try:
                for _roles, model in self._distinct():
                    model.load()
            except Exception as e:
                self.error = str(e)
                raise
            finally:
                self.loading = False
        # Once per model file or endpoint (cached), for each role's model: may it phrase chat
        # answers? (The agent's result is shown too: `mirix model`, the status bar.)
        from mirix_app.agent import capability

        for _roles, model in self._distinct():
            if self._stopping.is_set():
                break
            try:
                capability.ensure_mode(model, self.svc.paths, should_stop=self._stopping.is_set)
            except Exception as e:  # chat stays extractive; the check runs again next start
                log.warning("capability check failed: %s", type(e).__name__)

    def chat_mode(self) -> str:
        return str(self.chat_agent.mode)

    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]:
        """The extractive answer first (a `replace` chunk), then the model's draft pieces, then
        its verified rephrasing as another `replace`, or a `rejected` chunk."""

        def stop() -> bool:
            return cancel is not None and bool(getattr(cancel, "cancelled", False))

        from mirix_app.agent.pipeline import FOREGROUND

        with FOREGROUND.chat():  # the inbox's model work yields while the user waits (issue 12)
            reply = self.chat_agent.ask(question, should_stop=stop)
            for ev in reply.events():
                if stop():
                    return
                if ev.kind in ("answer", "final"):
                    cites = [c.memory_id for c in reply.citations] if ev.kind == "answer" else []
                    yield ChatChunk(text=ev.text, kind="replace", citations=cites)
                else:
                    yield ChatChunk(text=ev.text, kind=ev.kind)
        yield ChatChunk(citations=[c.memory_id for c in reply.citations], done=True)

    def ask(self, question: str, mode: str | None = None, remember: bool = True) -> dict[str, Any]:
        """One whole reply as data, for `mirix ask` talking to the running app. `mode` None is
        the chat's own; "off" answers without the model."""
        agent = self.chat_agent
        if mode is not None:
            agent = self._chat_cls(
                self.svc.core, None if mode == "off" else self.chat_model, mode=mode
            )
        from mirix_app.agent.pipeline import FOREGROUND

        with FOREGROUND.chat():  # the inbox's model work yields while the user waits (issue 12)
            reply = agent.ask(question, remember=remember, should_stop=self._stopping.is_set)
            return reply.to_dict()

    def process(self) -> bool:
        """Start draining the inbox in the background unless already running."""
        if self.job.running or self.loading:
            return False
        self.job.start()
        return True

    def stop(self) -> None:
        self._stopping.set()
        self.job.cancel()
        self.job.wait(10)
        for _roles, model in self._distinct():
            with contextlib.suppress(Exception):
                model.close()

    def apply_settings(self, settings: Settings) -> None:
        self.job.cancel()
        self.job.wait(10)
        self._build()


@functools.cache
def _job_class(cls: Any) -> Any:
    """ProcessingJob whose thread runs at background priority (the model's OpenMP threads, which
    it starts, inherit it) and closes its SQLite connection when a drain ends.

    The job's thread spends nearly all its time in llama.cpp without the GIL, so lowering it
    costs the Qt thread little; the capture thread, which runs far more Python (with the GIL)
    per cycle, stays at normal priority and only its tesseract processes are lowered
    (BackgroundPriority). Measured beside three busy processes (load 7-8 on 2 cores), quick
    search p95 while busy: 101-177 ms with the job lowered, 217-268 ms without."""

    class BackgroundJob(cls):
        def run(self, *args: Any, **kwargs: Any) -> Any:
            lower_thread_priority()
            try:
                return super().run(*args, **kwargs)
            finally:
                if threading.current_thread() is not threading.main_thread():
                    # A new thread runs every drain; each would otherwise leave a connection open.
                    self.pipeline.core.release_thread()

    return BackgroundJob


def make_priority(svc: Services) -> BackgroundPriority:
    watcher = BackgroundPriority()
    watcher.start()
    return watcher


def make_capture(svc: Services) -> CaptureAdapter:
    return CaptureAdapter(svc)


def make_agent(svc: Services) -> AgentAdapter:
    return AgentAdapter(svc)
