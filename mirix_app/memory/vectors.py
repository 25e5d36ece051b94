"""Chroma: one vector collection per memory type, holding ids and vectors only (no memory text).

Embedded (PersistentClient in the data dir) by default; `vectors.mode = "http"` points the same code
at a Chroma server. Telemetry is off, and every collection carries our own offline embedding
function, so nothing can make Chroma fetch its default model.

`vectors.mode = "process"` runs the same embedded Chroma in a helper process that this one talks
to over a pipe. Chroma's Rust bindings hold the GIL for the whole of every call (an upsert into a
100k index: 20-360 ms), which freezes every other thread of the calling process; the desktop app
uses this mode so its Qt thread never waits for them. One process must own an embedded index:
another process's PersistentClient keeps serving its own stale copy of the HNSW graph.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from mirix_app.config import VectorSettings
from mirix_app.errors import MirixError, StorageError
from mirix_app.memory.embed import Embedder
from mirix_app.memory.types import MemoryType

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "mirix-"


def _offline_embedding_function(embedder: Embedder) -> Any:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class OfflineMiniLM(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embedder | None = None) -> None:
            self.inner = inner or Embedder()

        def __call__(self, input: Documents) -> Embeddings:
            return list(self.inner.embed(list(input)))

        @staticmethod
        def name() -> str:
            return "mirix-minilm-int8"

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> OfflineMiniLM:
            return OfflineMiniLM()

        def get_config(self) -> dict[str, Any]:
            return {}

        def default_space(self) -> Any:
            return "cosine"

    return OfflineMiniLM(embedder)


class VectorIndex:
    def __init__(self, settings: VectorSettings, path: Path, embedder: Embedder) -> None:
        self.settings = settings
        self.path = path
        self.embedder = embedder
        self._client: Any = None
        self._collections: dict[MemoryType, Any] = {}
        # Known-empty collections are skipped at query time (a Chroma query costs ~1 ms even
        # when empty); None = unknown, counted on next use.
        self._nonempty: dict[MemoryType, bool | None] = {}
        self._lock = threading.Lock()
        self._helper: _Helper | None = None

    @property
    def remote(self) -> _Helper | None:
        """The helper process that owns the index in "process" mode (started on first use)."""
        if self.settings.mode != "process":
            return None
        with self._lock:
            if self._helper is None or self._helper.dead:
                self._helper = _Helper(self.settings, self.path)
            return self._helper

    def _rcall(self, helper: _Helper, op: str, *args: Any) -> Any:
        """A call to the helper; one released as idle meanwhile is replaced by a new one."""
        try:
            return helper.call(op, *args)
        except _Released:
            fresh = self.remote
            assert fresh is not None
            return fresh.call(op, *args)

    def release_if_idle(self, idle_seconds: float) -> bool:
        """Stop the helper process when no call reached it for `idle_seconds` (its Chroma holds
        ~100 MB); the next call starts a new one (about a second: spawn, import, open). True
        when stopped."""
        with self._lock:
            helper = self._helper
            if helper is None or helper.dead or helper.idle_for() < idle_seconds:
                return False
            self._helper = None
            helper.released = True
        helper.close()
        log.info("vector index: helper process stopped after %.0f idle s", idle_seconds)
        return True

    def close(self) -> None:
        """Stop the helper process, if any, and release the embedded client's files (Chroma
        caches one system per path for the life of the process, holding its SQLite open)."""
        with self._lock:
            helper, self._helper = self._helper, None
            client, self._client = self._client, None
        if helper is not None:
            helper.close()
        if client is not None and hasattr(client, "close"):
            with contextlib.suppress(Exception):  # best effort: nothing is lost here
                client.close()  # refcounted: the last client of a path stops its system

    def warm_up(self) -> None:
        """Open every collection and load its index, so the first search does not pay for it."""
        if (r := self.remote) is not None:
            self._rcall(r, "warm_up")
            return
        probe = np.zeros(self.embedder.dimensions, dtype=np.float32)
        probe[0] = 1.0
        for mtype in MemoryType:
            self._nonempty[mtype] = None
            self.query(probe, [mtype], 1)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        if self.settings.mode == "process":
            raise StorageError(
                "the vector index lives in a helper process here", "use the VectorIndex methods"
            )
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        try:
            if self.settings.mode == "http":
                url = urlparse(self.settings.url)
                return chromadb.HttpClient(
                    host=url.hostname or "localhost",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            if self.settings.mode != "embedded":
                raise StorageError(
                    f"unknown vectors.mode {self.settings.mode!r}",
                    "use 'embedded', 'process' or 'http'",
                )
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except StorageError:
            raise
        except Exception as e:
            where = self.settings.url if self.settings.mode == "http" else str(self.path)
            raise StorageError(
                f"cannot open the vector index at {where}: {e}",
                "check the Chroma server or run `mirix reindex`",
            ) from e

    def collection(self, mtype: MemoryType) -> Any:
        col = self._collections.get(mtype)
        if col is None:
            col = self.client.get_or_create_collection(
                name=COLLECTION_PREFIX + mtype.value,
                embedding_function=_offline_embedding_function(self.embedder),
                metadata={"hnsw:space": "cosine"},
            )
            self._collections[mtype] = col
        return col

    def upsert(self, mtype: MemoryType, ids: Sequence[str], vectors: np.ndarray) -> None:
        if len(ids) and (r := self.remote) is not None:
            self._rcall(r, "upsert", mtype, list(ids), np.asarray(vectors, dtype=np.float32))
            return
        if len(ids):
            self.collection(mtype).upsert(ids=list(ids), embeddings=vectors)
            self._nonempty[mtype] = True

    def delete(self, mtype: MemoryType, ids: Sequence[str]) -> None:
        if len(ids) and (r := self.remote) is not None:
            self._rcall(r, "delete", mtype, list(ids))
            return
        if len(ids):
            self.collection(mtype).delete(ids=list(ids))
            self._nonempty[mtype] = None

    def query(
        self, vector: np.ndarray, types: Iterable[MemoryType], n: int
    ) -> list[tuple[str, float]]:
        """Nearest ids over the chosen types: (id, cosine similarity), best first."""
        if (r := self.remote) is not None:
            found: list[tuple[str, float]] = self._rcall(r, "query", vector, list(types), n)
            return found
        hits: list[tuple[str, float]] = []
        for mtype in types:
            if self._nonempty.get(mtype) is None:
                self._nonempty[mtype] = self.collection(mtype).count() > 0
            if not self._nonempty[mtype]:
                continue
            # n_results above the collection size just returns fewer.
            res = self.collection(mtype).query(
                query_embeddings=vector[None, :], n_results=n, include=["distances"]
            )
            hits.extend(
                (i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0], strict=True)
            )
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def count(self, mtype: MemoryType) -> int:
        if (r := self.remote) is not None:
            return int(self._rcall(r, "count", mtype))
        return int(self.collection(mtype).count())

    def ids(self, mtype: MemoryType) -> set[str]:
        if (r := self.remote) is not None:
            found: set[str] = self._rcall(r, "ids", mtype)
            return found
        return set(self.collection(mtype).get(include=[])["ids"])

    def reset(self) -> None:
        """Drop every mirix collection (reindex rebuilds them from SQLite)."""
        if (r := self.remote) is not None:
            self._rcall(r, "reset")
            return
        for mtype in MemoryType:
            try:
                self.client.delete_collection(COLLECTION_PREFIX + mtype.value)
            except Exception:
                log.debug("collection %s absent", mtype.value)
        self._collections.clear()
        self._nonempty.clear()


# -- "process" mode ---------------------------------------------------------------------------------
_OPS = frozenset({"upsert", "delete", "query", "count", "ids", "reset", "warm_up"})


class _Released(Exception):
    """The helper was stopped as idle between the caller taking it and calling it."""


class _Helper:
    """The parent's end: one request at a time over a pipe. Waiting for the answer is a blocking
    read, so the caller's other threads keep the GIL meanwhile. If the helper dies (killed, out of
    memory), the call fails with StorageError and the next call starts a new one."""

    def __init__(self, settings: VectorSettings, path: Path) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork of a process with Qt and threads
        self._conn, child = ctx.Pipe()
        embedded = replace(settings, mode="embedded")
        self._proc = ctx.Process(
            target=_serve, args=(child, embedded, str(path)), name="mirix-vectors", daemon=True
        )
        self._proc.start()
        child.close()
        self._lock = threading.Lock()
        self.dead = False
        self.released = False  # stopped as idle (release_if_idle), not broken
        self._last_call = time.monotonic()
        log.info("vector index: helper process %s for %s", self._proc.pid, path)

    def idle_for(self) -> float:
        """Seconds since the last call ended; 0 while one runs."""
        if self._lock.locked():
            return 0.0
        return time.monotonic() - self._last_call

    def call(self, op: str, *args: Any) -> Any:
        with self._lock:
            self._last_call = time.monotonic()
            if self.released:
                raise _Released()
            if self.dead:
                raise StorageError("the vector index helper has stopped", "restart mirix")
            try:
                self._conn.send((op, args))
                ok, value = self._conn.recv()
                self._last_call = time.monotonic()
            except (EOFError, OSError) as e:
                self.dead = True
                raise StorageError(
                    f"the vector index helper process ended ({type(e).__name__})",
                    "the next search starts it again; `mirix reindex` rebuilds the index",
                ) from e
        if ok:
            return value
        message, hint = value
        raise StorageError(message, hint)

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            if not self.dead:
                with contextlib.suppress(OSError):
                    self._conn.send(None)
            self.dead = True
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5)
            self._conn.close()


def _serve(conn: Any, settings: VectorSettings, path: str) -> None:
    """The helper process: an embedded VectorIndex answering the parent until the pipe closes
    (the parent quit or died). The embedder is never loaded here: vectors arrive computed."""
    index = VectorIndex(settings, Path(path), Embedder())
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        op, args = msg
        try:
            if op not in _OPS:
                raise StorageError(f"unknown vector index request {op!r}")
            conn.send((True, getattr(index, op)(*args)))
        except MirixError as e:
            conn.send((False, (e.message, e.hint)))
        except Exception as e:
            log.warning("vector helper: request failed (%s)", type(e).__name__)
            conn.send(
                (
                    False,
                    (
                        f"vector index error: {type(e).__name__}: {e}",
                        "run `mirix reindex` if it persists",
                    ),
                )
            )
