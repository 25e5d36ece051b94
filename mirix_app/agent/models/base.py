"""`Model`, the one base class: a backend implements `_stream`; streaming with stop strings,
completion and validated structured output come for free."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from mirix_app.agent.models.structured import parse_structured
from mirix_app.agent.models.types import (
    Cancelled,
    ChatMessage,
    ModelStatus,
    StopCheck,
    Usage,
)
from mirix_app.errors import InvalidInput

if TYPE_CHECKING:
    from mirix_app.agent.settings import ModelSettings


class Model(ABC):
    """Base class: implement `_stream`; structured output and validation come for free."""

    backend: ClassVar[str] = ""
    # True when `_stream(schema=...)` constrains decoding to the schema.
    constrains_output: ClassVar[bool] = False

    def __init__(self) -> None:
        self.usage = Usage()

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def _stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        schema: dict[str, Any] | None,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> Iterator[str]:
        """Yield text pieces as the model produces them. `stop` ends generation before any of
        its strings (the base class enforces it again on the text); `repeat_penalty` (> 1
        penalises tokens already produced, llama.cpp style) is passed on where the backend has
        one. A backend written before these options existed still works: they are only passed
        to a `_stream` that accepts them."""

    def status(self) -> ModelStatus:
        return ModelStatus(self.backend, self.name, loaded=True)

    def identity(self) -> dict[str, Any]:
        """What makes this the same model (capability results are cached under it). Never
        loads the model; backends refine it (a file's size and mtime, an endpoint's URL)."""
        return {"backend": self.backend, "name": self.name}

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load weights / check the endpoint now (otherwise done on first use)."""

    # How `make_model` builds a backend from the [model] settings: the registry, not an if/else,
    # knows which class takes which fields (a plugin backend overrides these two).
    @classmethod
    def settings_key(cls, ms: ModelSettings) -> tuple[Any, ...]:
        """What makes two settings the same instance (the shared pool's key). Raises
        InvalidInput when `ms` lacks what this backend needs."""
        raise InvalidInput(f"model backend {cls.backend!r} cannot be configured from settings")

    @classmethod
    def from_settings(cls, ms: ModelSettings) -> Model:
        """A new, not yet loaded instance for `ms`."""
        raise InvalidInput(f"model backend {cls.backend!r} cannot be configured from settings")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free the model."""

    def unload(self) -> bool:
        """Free the memory the loaded model holds; the next use loads it again. True when
        something was freed (a remote model holds nothing worth freeing)."""
        return False

    # -- public API --------------------------------------------------------------------------
    def stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.2,
        should_stop: StopCheck | None = None,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> Iterator[str]:
        """Stream an answer token by token. `should_stop()` returning True ends it (Cancelled).

        `stop`: generation ends before the first of these strings, which is never yielded.
        `repeat_penalty`: e.g. 1.3 against a small model's loops (None = the backend's default).
        """
        yield from self._run(
            messages, max_tokens, temperature, None, should_stop, stop, repeat_penalty
        )

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.2,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        return "".join(
            self.stream(
                messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
                repeat_penalty=repeat_penalty,
            )
        )

    def structured(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        should_stop: StopCheck | None = None,
    ) -> Any:
        """JSON that fits `schema`, or StructuredOutputError (the raw text is on the error)."""
        raw = "".join(self._run(messages, max_tokens, temperature, schema, should_stop))
        return parse_structured(raw, schema)

    def _run(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        temperature: float,
        schema: dict[str, Any] | None,
        should_stop: StopCheck | None,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> Iterator[str]:
        start = time.perf_counter()
        n = 0
        stops = [s for s in (stop or []) if s]
        extra: dict[str, Any] = {}
        if _accepts_options(type(self)):
            if stops:
                extra["stop"] = stops
            if repeat_penalty is not None:
                extra["repeat_penalty"] = repeat_penalty
        gen = self._stream(
            messages, max_tokens=max_tokens, temperature=temperature, schema=schema, **extra
        )
        # The stop strings are enforced here too: not every backend honours them (a scripted
        # model, an older plugin, a server that caps their number) and a stop string split over
        # two pieces must not be half-yielded.
        cut = _StopCut(stops) if stops else None
        try:
            for piece in gen:
                if should_stop is not None and should_stop():
                    raise Cancelled("generation cancelled")
                n += 1
                if cut is None:
                    yield piece
                    continue
                out = cut.feed(piece)
                if out:
                    yield out
                if cut.stopped:
                    break
            if cut is not None and not cut.stopped:
                tail = cut.flush()
                if tail:
                    yield tail
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()  # a stop or a cancel ends decoding now, not at max_tokens
            self.usage.calls += 1
            self.usage.seconds += time.perf_counter() - start
            # One streamed piece is one token for llama.cpp and nearly so over SSE.
            self.usage.completion_tokens += n


_OPTIONS_OK: dict[type, bool] = {}


def _accepts_options(cls: type) -> bool:
    """Whether `cls._stream` takes `stop` and `repeat_penalty` (backends written before these
    options existed do not, and must keep working)."""
    ok = _OPTIONS_OK.get(cls)
    if ok is None:
        import inspect

        try:
            params = inspect.signature(cls._stream).parameters  # type: ignore[attr-defined]
        except (TypeError, ValueError, AttributeError):
            params = {}  # type: ignore[assignment]
        ok = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()) or (
            "stop" in params and "repeat_penalty" in params
        )
        _OPTIONS_OK[cls] = ok
    return ok


class _StopCut:
    """Cuts a stream before the first stop string, holding back a tail that could be the start
    of one (so "<da" of a stop "<data>" is not yielded before "ta>" arrives)."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.longest = max(len(s) for s in stops)
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        self.pending += piece
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self.pending = self.pending[: min(hits)], ""
            return out
        keep = 0
        for k in range(min(len(self.pending), self.longest - 1), 0, -1):
            tail = self.pending[-k:]
            if any(s.startswith(tail) for s in self.stops):
                keep = k
                break
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(self.pending) - keep :]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


# -- JSON schema: parse + validate (the subset our schemas use) --------------------------------
