"""Read-only vector queries for one-shot commands (`mirix ask`), without `import chromadb`.

`import chromadb` costs most of a second; Chroma's Rust bindings alone load in a few tens of ms.
A one-shot query opens the bindings on a private snapshot of the index:

- chroma.sqlite3 is copied with SQLite's backup API from a read-only connection: opening the
  bindings inserts into a lock table, and the first query of a collection replays and purges its
  log, so pointed at the live file they would write to an index another process may own.
- a segment whose HNSW files were persisted is reached through symlinks to its files; one never
  persisted is rebuilt in memory from the log (in the snapshot, so its files land there).
- the bindings persist an HNSW segment only once `sync_threshold` log entries await it; such a
  snapshot is refused (the caller falls back to the normal index), so the live files are only read.

Any failure (a Chroma version whose bindings or schema differ, a snapshot it refuses) makes the
caller fall back to VectorIndex; only the exception type is logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mirix_app.config import VectorSettings
from mirix_app.memory.embed import Embedder
from mirix_app.memory.types import MemoryType
from mirix_app.memory.vectors import COLLECTION_PREFIX, VectorIndex

log = logging.getLogger(__name__)

SQLITE_FILE = "chroma.sqlite3"
PICKLE_FILE = "index_metadata.pickle"
SCRATCH_PREFIX = "vectors-read-"
TENANT, DATABASE = "default_tenant", "default_database"


class LightUnavailable(Exception):
    """The snapshot cannot be read safely or at all; use the normal index."""


class LightReader:
    """One snapshot of an embedded index and the bindings opened on it."""

    def __init__(self, path: Path, scratch_parent: Path) -> None:
        db = path / SQLITE_FILE
        if not db.is_file():
            raise LightUnavailable("no index yet")
        import chromadb_rust_bindings as rb

        scratch_parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _clean_stale(scratch_parent)
        self.scratch = Path(
            tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=scratch_parent)
        )
        try:
            segments = self._snapshot(db, self.scratch / SQLITE_FILE)
            for seg in segments:
                live = path / seg
                if (live / PICKLE_FILE).is_file():
                    (self.scratch / seg).mkdir(mode=0o700)
                    for f in live.iterdir():
                        (self.scratch / seg / f.name).symlink_to(f)
            config = rb.SqliteDBConfig(
                hash_type=rb.MigrationHash.MD5,
                migration_mode=rb.MigrationMode.Validate,
                url=str(self.scratch / SQLITE_FILE),
            )
            self.bindings: Any = rb.Bindings(
                allow_reset=False,
                sqlite_db_config=config,
                persist_path=str(self.scratch),
                hnsw_cache_size=64,
            )
            # list_collections, not get_collection: one call, and no error for the absent ones.
            found = self.bindings.list_collections(None, 0, TENANT, DATABASE)
            self.ids = {
                str(c.name): str(c.id) for c in found if str(c.name).startswith(COLLECTION_PREFIX)
            }
            if not self.ids:
                raise LightUnavailable("no mirix collection in the index")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _snapshot(db: Path, dest: Path) -> list[str]:
        """Copy the index database; the ids of its vector segments. Raises LightUnavailable when
        the bindings would persist a segment's HNSW files (too many log entries await it)."""
        src = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            out = sqlite3.connect(dest)
            try:
                src.backup(out)
                rows = out.execute(
                    "SELECT c.id, c.schema_str, s.id, coalesce(m.seq_id, 0) FROM collections c "
                    "JOIN segments s ON s.collection = c.id AND s.scope = 'VECTOR' "
                    "LEFT JOIN max_seq_id m ON m.segment_id = s.id"
                ).fetchall()
                segments = []
                for cid, schema, seg, seq in rows:
                    (pending,) = out.execute(
                        "SELECT count(*) FROM embeddings_queue WHERE topic LIKE ? AND seq_id > ?",
                        (f"%/{cid}", seq),
                    ).fetchone()
                    if pending >= _sync_threshold(schema):
                        raise LightUnavailable("the index has unpersisted changes to apply")
                    segments.append(str(seg))
                return segments
            finally:
                out.close()
        finally:
            src.close()

    def query(
        self, vector: np.ndarray, types: Iterable[MemoryType], n: int
    ) -> list[tuple[str, float]]:
        emb = [np.asarray(vector, dtype=np.float32).tolist()]
        hits: list[tuple[str, float]] = []
        for mtype in types:
            cid = self.ids.get(COLLECTION_PREFIX + mtype.value)
            if cid is None:  # never written: empty, as VectorIndex finds it
                continue
            res = self.bindings.query(
                cid, None, emb, n, None, None, ["distances"], TENANT, DATABASE
            )
            if not res.ids:
                continue
            hits.extend(
                (str(i), 1.0 - float(d)) for i, d in zip(res.ids[0], res.distances[0], strict=True)
            )
        hits.sort(key=lambda h: -h[1])
        return hits[:n]

    def close(self) -> None:
        self.bindings = None
        shutil.rmtree(getattr(self, "scratch", ""), ignore_errors=True)


def _sync_threshold(schema: str | None) -> int:
    cfg = json.loads(schema or "{}")["keys"]["#embedding"]["float_list"]["vector_index"]["config"]
    return int(cfg["hnsw"]["sync_threshold"])


def _clean_stale(parent: Path) -> None:
    """Remove snapshots left by processes that died before closing theirs."""
    for d in parent.glob(SCRATCH_PREFIX + "*"):
        try:
            pid = int(d.name[len(SCRATCH_PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, OSError):
            continue


class ReadFirstVectorIndex(VectorIndex):
    """A VectorIndex whose queries read a snapshot through LightReader until this process writes
    or the snapshot fails; then, and for every other operation, the normal index."""

    def __init__(
        self, settings: VectorSettings, path: Path, embedder: Embedder, scratch_parent: Path
    ) -> None:
        super().__init__(settings, path, embedder)
        self.scratch_parent = scratch_parent
        self._reader: LightReader | None = None
        self._light = settings.mode == "embedded"

    @property
    def light(self) -> bool:
        """Queries still go to the snapshot."""
        return self._light

    def _stop_light(self) -> None:
        self._light = False
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def query(
        self, vector: np.ndarray, types: Iterable[MemoryType], n: int
    ) -> list[tuple[str, float]]:
        if self._light:
            types = list(types)
            try:
                if self._reader is None:
                    self._reader = LightReader(self.path, self.scratch_parent)
                return self._reader.query(vector, types, n)
            except Exception as e:
                log.info("vector index: light read unavailable (%s)", type(e).__name__)
                self._stop_light()
        return super().query(vector, types, n)

    def upsert(self, mtype: MemoryType, ids: Any, vectors: np.ndarray) -> None:
        if len(ids):
            self._stop_light()  # the snapshot would miss this write
        super().upsert(mtype, ids, vectors)

    def delete(self, mtype: MemoryType, ids: Any) -> None:
        if len(ids):
            self._stop_light()
        super().delete(mtype, ids)

    def reset(self) -> None:
        self._stop_light()
        super().reset()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stop_light()
        super().close()
