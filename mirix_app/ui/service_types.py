"""What the UI's services hand the window (statuses, chat chunks) and what they ask of capture
and the agent (Protocols); local-day helpers for the timeline. No Qt here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mirix_app.memory.clock import to_iso

log = logging.getLogger(__name__)


@dataclass
class CaptureStatus:
    state: str  # recording | paused | error | off | unavailable | no-consent
    detail: str = ""
    paused_until: str | None = None
    backlog: int = 0


@dataclass
class ModelStatus:
    state: str  # ready | loading | error | unavailable | idle
    detail: str = ""
    progress: float | None = None
    roles: dict[str, str] = field(default_factory=dict)  # {"chat": "name (mode)", "agent": ...}


@dataclass
class ChatChunk:
    """One step of an answer. kind: `replace` (the answer's whole text: the extractive answer
    first, a verified rephrasing later), `draft` (a piece of the model's rephrasing, not yet
    checked), `rejected` (the rephrasing failed its check; `text` says why), `append` (more
    text for the answer). `citations` name memory ids; `done` ends the reply."""

    text: str = ""
    citations: list[str] = field(default_factory=list)
    done: bool = False
    kind: str = "append"


class CaptureService(Protocol):
    """What the UI asks of capture (ui/adapters.CaptureAdapter). `monitors` and
    `apply_settings` are optional: looked up with getattr."""

    def status(self) -> CaptureStatus: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def pause(self, minutes: int | None) -> None: ...
    def resume(self) -> None: ...


class AgentService(Protocol):
    """What the UI asks of the agent (ui/adapters.AgentAdapter). `process` and
    `apply_settings` are optional: looked up with getattr."""

    def status(self) -> ModelStatus: ...
    def load(self, progress: Callable[[int, int], None] | None = None) -> None: ...
    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]: ...
    def ask(
        self, question: str, mode: str | None = None, remember: bool = True
    ) -> dict[str, Any]: ...
    def chat_mode(self) -> str: ...
    def stop(self) -> None: ...


def local_day_bounds(day: datetime) -> tuple[str, str]:
    """The UTC ISO bounds [start, end) of the local calendar day containing `day`."""
    start = day.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return to_iso(start), to_iso(start + timedelta(days=1))


def to_local(iso: str) -> datetime:
    s = iso[:-1] + "+00:00" if iso.endswith("Z") else iso
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone()
