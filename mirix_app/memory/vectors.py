"""Chroma: one vector collection per memory type, holding ids and vectors only (no memory text).

Embedded (PersistentClient in the data dir) by default; `vectors.mode = "http"` points the same code
at a Chroma server. Telemetry is off, and every collection carries our own offline embedding
function, so nothing can make Chroma fetch its default model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from mirix_app.config import VectorSettings
from mirix_app.errors import StorageError
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

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
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
                    f"unknown vectors.mode {self.settings.mode!r}", "use 'embedded' or 'http'"
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
        if len(ids):
            self.collection(mtype).upsert(ids=list(ids), embeddings=vectors)
            self._nonempty[mtype] = True

    def delete(self, mtype: MemoryType, ids: Sequence[str]) -> None:
        if len(ids):
            self.collection(mtype).delete(ids=list(ids))
            self._nonempty[mtype] = None

    def query(
        self, vector: np.ndarray, types: Iterable[MemoryType], n: int
    ) -> list[tuple[str, float]]:
        """Nearest ids over the chosen types: (id, cosine similarity), best first."""
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
        return int(self.collection(mtype).count())

    def ids(self, mtype: MemoryType) -> set[str]:
        return set(self.collection(mtype).get(include=[])["ids"])

    def reset(self) -> None:
        """Drop every mirix collection (reindex rebuilds them from SQLite)."""
        for mtype in MemoryType:
            try:
                self.client.delete_collection(COLLECTION_PREFIX + mtype.value)
            except Exception:
                log.debug("collection %s absent", mtype.value)
        self._collections.clear()
        self._nonempty.clear()
