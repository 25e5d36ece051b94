"""Thin adapters from the capture service and the agent to what the UI's Services expects.

`make_capture(svc)` / `make_agent(svc)` are called by `Services.open`; an ImportError or any other
failure there leaves that service out (the UI then says "capture not installed" / "model not
available"). No Qt here: the UI reaches these through worker threads.

Their background work runs under the app's Runtime (`svc.runtime`, mirix_app/runtime.py): the
capture loop, the agent's loop (woken when capture or chat put rows in the inbox, not by a UI
timer), and housekeeping that unloads idle models (`make_priority`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mirix_app.config import Settings
from mirix_app.runtime import (
    BACKGROUND_NICE,
    BackgroundPriority,
    Cancel,
    Loop,
    RuntimeSettings,
    malloc_trim,
)
from mirix_app.ui.services import CaptureStatus, ChatChunk, ModelStatus, to_local

if TYPE_CHECKING:
    from mirix_app.ui.services import Services

log = logging.getLogger(__name__)


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
        svc.runtime.own("capture", self.stop)

    def _make(self) -> Any:
        settings = self._settings_cls.from_settings(self.svc.settings)
        # The capture loop is one of the runtime's loops (stopped with it on quit).
        service = self._mod.CaptureService(self.svc.core, settings, runtime=self.svc.runtime)
        from mirix_app.agent.digest import EndOfDay  # issue 12: the daily digest at day's end

        service.add_listener(EndOfDay(self.svc.core))
        service.add_listener(self._announce)
        return service

    def _announce(self, state: Any, results: list[Any]) -> None:
        """From the capture thread: tell subscribers (the status bar), and wake the agent when
        this cycle put captures in the inbox."""
        self.svc.runtime.events.publish("capture", "capture", status=str(state.status))
        if any(getattr(r, "kept", False) for r in results):
            wake = getattr(self.svc.agent, "wake", None)
            if wake is not None:
                wake()

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
    roles use one model), the chat agent and the agent's loop draining the inbox.

    The loop (a runtime Loop, thread "mirix-agent" at background priority) runs when woken -
    at start, when capture kept something, when a chat message was stored - and every
    RETRY_SECONDS for items waiting for a retry (and rows other processes added). Models load on first use and are unloaded after
    [runtime] model_idle_minutes unused (`lifecycle`); with eager_model they load at start and
    stay."""

    RETRY_SECONDS = 60.0
    LOOP = "mirix-agent"
    # Drain on its own when rows arrive (the app: make_agent); an adapter built by hand (tests,
    # benchmarks) drains only when asked (`process`).
    auto = False

    def __init__(self, svc: Services) -> None:
        from mirix_app.agent import settings as agent_settings
        from mirix_app.agent.chat import ChatAgent
        from mirix_app.agent.job import ProcessingJob
        from mirix_app.agent.model_lifecycle import ModelLifecycle

        self.svc = svc
        self._settings = agent_settings
        self._chat_cls = ChatAgent
        self._job_cls = ProcessingJob
        self._lock = threading.Lock()
        self.loading = False
        self.error = ""
        self._stopping = threading.Event()  # ends a capability check on quit
        self._interrupt = threading.Event()  # ends a drain for new settings
        self._drain_lock = threading.Lock()  # held while the loop drains
        self.processed = 0
        self.runtime_settings = RuntimeSettings.read(svc.settings)
        idle = (
            0.0 if self.runtime_settings.eager_model else self.runtime_settings.model_idle_minutes
        )
        self.lifecycle = ModelLifecycle(
            lambda: [m for _r, m in self._distinct()],
            idle * 60,
            on_unload=lambda names: svc.runtime.events.publish("model.unloaded", ", ".join(names)),
        )
        self.loop = Loop(
            self.LOOP,
            self._drain,
            interval=self.RETRY_SECONDS,
            nice=BACKGROUND_NICE,  # its model's OpenMP threads inherit it (see BackgroundPriority)
            events=svc.runtime.events,
        )
        self._build()
        svc.runtime.own("agent", self.stop)

    def _build(self) -> None:
        models = self._settings.make_role_models(self.svc.settings)
        self.chat_model, self.agent_model = models["chat"], models["agent"]
        self.model = self.chat_model  # what chat uses (kept under its old name)
        self.chat_agent = self._chat_cls(self.svc.core, self.chat_model)
        agent_cfg = self._settings.AgentSettings.from_settings(self.svc.settings)
        self.job = self._job_cls(self.svc.core, self.agent_model, agent_cfg)

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
        with self._lock, self.lifecycle.using():
            self.loading, self.error = True, ""
            try:
                for _roles, model in self._distinct():
                    model.load()
            except Exception as e:
                self.error = str(e)
                raise
            finally:
                self.loading = False
        self.svc.runtime.events.publish("model.loaded", self.model.name)
        self._check_capability()

    def prepare(self) -> None:
        """At start with lazy loading: load nothing, unless a model's capability check (may it
        phrase chat answers?) has no cached result yet - that needs the model once, and the idle
        unload frees it afterwards."""
        from mirix_app.agent import capability

        for _roles, model in self._distinct():
            try:
                if capability.cached_mode(model, self.svc.paths) is None:
                    self.load()
                    return
            except Exception as e:  # no file, no endpoint: status() says so
                log.info("model not prepared: %s", type(e).__name__)
                return

    def _check_capability(self) -> None:
        # Once per model file or endpoint (cached), for each role's model: may it phrase chat
        # answers? (The agent's result is shown too: `mirix model`, the status bar.)
        from mirix_app.agent import capability

        for _roles, model in self._distinct():
            if self.stopping():
                break
            try:
                with self.lifecycle.using():
                    # Checked between tokens: quit does not wait for a whole generation.
                    capability.ensure_mode(model, self.svc.paths, should_stop=self.stopping)
            except Exception as e:  # chat stays extractive; the check runs again next start
                if self.stopping():  # cancelled by quit, or the core closed under it
                    log.debug("capability check stopped: %s", type(e).__name__)
                    break
                log.warning("capability check failed: %s", type(e).__name__)

    def stopping(self) -> bool:
        """True once the app quits: this adapter's stop(), or the runtime's first stop step
        (the runner's stop_tasks comes before the loops and resources are stopped)."""
        closing = getattr(getattr(self.svc, "runtime", None), "closing", None)
        return self._stopping.is_set() or bool(closing is not None and closing.cancelled)

    def chat_mode(self) -> str:
        return str(self.chat_agent.mode)

    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]:
        """The extractive answer first (a `replace` chunk), then the model's draft pieces, then
        its verified rephrasing as another `replace`, or a `rejected` chunk."""

        def stop() -> bool:
            return cancel is not None and bool(getattr(cancel, "cancelled", False))

        from mirix_app.agent.pipeline import FOREGROUND

        # The inbox's model work yields while the user waits (issue 12); the model is loaded on
        # first use and not unloaded while the answer streams.
        with FOREGROUND.chat(), self.lifecycle.using():
            try:
                reply = self.chat_agent.ask(question, should_stop=stop)
                for ev in reply.events():
                    if stop():
                        return
                    if ev.kind in ("answer", "final"):
                        cites = (
                            [c.memory_id for c in reply.citations] if ev.kind == "answer" else []
                        )
                        yield ChatChunk(text=ev.text, kind="replace", citations=cites)
                    else:
                        yield ChatChunk(text=ev.text, kind=ev.kind)
            finally:
                self.wake()  # the question went into the inbox
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

        with FOREGROUND.chat(), self.lifecycle.using():  # the inbox's work yields (issue 12)
            try:
                reply = agent.ask(question, remember=remember, should_stop=self.stopping)
            finally:
                self.wake()
            return reply.to_dict()

    def wake(self) -> None:
        """New rows in the inbox: drain them, when this adapter drains on its own."""
        if self.auto:
            self.process()

    def process(self) -> bool:
        """Wake the agent's loop to drain the inbox (started on first use); False while a model
        loads or after stop."""
        if self.loading or self.stopping():
            return False
        if not self.loop.running:
            self.svc.runtime.add_loop(self.loop)
        else:
            self.loop.wake()
        return self.loop.running

    def _drain(self, cancel: Cancel) -> None:
        """One wake of the loop: drain what is due, unless a model is loading or failed."""
        if cancel.cancelled or self.loading or self.svc.core.inbox_backlog() == 0:
            return
        if self.svc.model_status().state not in ("ready", "idle"):
            return

        def stop() -> bool:
            return cancel.cancelled or self._interrupt.is_set() or self.stopping()

        with self._drain_lock, self.lifecycle.using():
            self.svc.runtime.events.publish("agent.started", self.LOOP)
            n = 0
            try:
                n = self.job.pipeline.drain(should_stop=stop)
                self.processed += n
            finally:
                self.svc.runtime.events.publish("agent.finished", self.LOOP, processed=n)

    def stop(self) -> None:
        self._stopping.set()
        self.loop.stop()
        for _roles, model in self._distinct():
            with contextlib.suppress(Exception):
                model.close()
        malloc_trim()

    def apply_settings(self, settings: Settings) -> None:
        self._interrupt.set()  # a drain under way stops within a token
        with self._drain_lock:
            self._interrupt.clear()
            for _roles, model in self._distinct():  # the old models' memory goes
                with contextlib.suppress(Exception):
                    model.unload()
            self._build()


class Housekeeping:
    """A runtime loop that unloads what has not been used for its idle time: the language
    models (AgentAdapter.lifecycle), the embedder and the vector helper process, then gives the
    freed heap back to the OS."""

    NAME = "mirix-housekeeping"

    def __init__(self, svc: Services, period: float | None = None) -> None:
        self.svc = svc
        self.settings = RuntimeSettings.read(svc.settings)
        if period is None:  # a quarter of the shortest idle time, between 1 and 30 s
            s = self.settings
            minutes = (s.model_idle_minutes, s.embedder_idle_minutes, s.vectors_idle_minutes)
            idle = [m * 60 for m in minutes if m > 0]
            period = min(30.0, max(1.0, min(idle, default=120.0) / 4))
        self.loop = Loop(self.NAME, self.run, interval=period, first_run=False)

    def run(self, cancel: Cancel | None = None) -> None:
        freed = False
        agent = self.svc.agent
        lifecycle = getattr(agent, "lifecycle", None)
        if lifecycle is not None:
            freed = bool(lifecycle.unload_if_idle()) or freed
        # Eager mode keeps everything loaded, as the app did before idle unloading.
        s = self.settings
        for name in self.svc.core.release_idle(
            0.0 if s.eager_model else s.embedder_idle_minutes * 60,
            0.0 if s.eager_model else s.vectors_idle_minutes * 60,
        ):
            self.svc.runtime.events.publish("model.unloaded", name)
            freed = True
        if freed:
            malloc_trim()


def make_priority(svc: Services) -> BackgroundPriority:
    """The runtime's app-wide background duties: thread priorities and idle unloading."""
    watcher = BackgroundPriority()
    watcher.start()
    svc.runtime.own("priority", watcher.stop)
    svc.runtime.add_loop(Housekeeping(svc).loop)
    return watcher


def make_capture(svc: Services) -> CaptureAdapter:
    return CaptureAdapter(svc)


def make_agent(svc: Services) -> AgentAdapter:
    agent = AgentAdapter(svc)
    agent.auto = True
    return agent
