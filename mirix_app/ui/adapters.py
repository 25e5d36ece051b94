"""Thin adapters from the capture service and the agent to what the UI's Services expects.

`make_capture(svc)` / `make_agent(svc)` are called by `Services.open`; an ImportError or any other
failure there leaves that service out (the UI then says "capture not installed" / "model not
available"). No Qt here: the UI reaches these through worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mirix_app.config import Settings
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

    def _make(self) -> Any:
        settings = self._settings_cls.from_settings(self.svc.settings)
        return self._mod.CaptureService(self.svc.core, settings)

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
        except Exception:
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
    """The configured model, the chat agent and the inbox processing job."""

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
        self._build()

    def _build(self) -> None:
        ms = self._settings.ModelSettings.from_settings(self.svc.settings)
        self.model = self._settings.make_model(ms)
        self.chat_agent = self._chat_cls(self.svc.core, self.model)
        agent_cfg = self._settings.AgentSettings.from_settings(self.svc.settings)
        self.job = self._job_cls(self.svc.core, self.model, agent_cfg)

    def status(self) -> ModelStatus:
        if self.loading:
            return ModelStatus("loading", self.model.name)
        if self.error:
            return ModelStatus("error", self.error)
        try:
            st = self.model.status()
        except Exception as e:
            return ModelStatus("error", str(e))
        if st.error:
            return ModelStatus("error", st.error)
        return ModelStatus("ready" if st.loaded else "idle", st.name)

    def load(self, progress: Callable[[int, int], None] | None = None) -> None:
        with self._lock:
            self.loading, self.error = True, ""
            try:
                self.model.load()
            except Exception as e:
                self.error = str(e)
                raise
            finally:
                self.loading = False

    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]:
        reply = self.chat_agent.ask(question)
        for piece in reply:
            if cancel is not None and getattr(cancel, "cancelled", False):
                return
            yield ChatChunk(text=piece)
        yield ChatChunk(citations=[c.memory_id for c in reply.citations], done=True)

    def process(self) -> bool:
        """Start draining the inbox in the background unless already running."""
        if self.job.running or self.loading:
            return False
        self.job.start()
        return True

    def stop(self) -> None:
        self.job.cancel()
        self.job.wait(10)
        with contextlib.suppress(Exception):
            self.model.close()

    def apply_settings(self, settings: Settings) -> None:
        self.job.cancel()
        self.job.wait(10)
        self._build()


def make_capture(svc: Services) -> CaptureAdapter:
    return CaptureAdapter(svc)


def make_agent(svc: Services) -> AgentAdapter:
    return AgentAdapter(svc)
