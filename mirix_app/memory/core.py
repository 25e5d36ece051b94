"""MemoryCore: the one storage boundary. SQLite is the truth; Chroma follows through an outbox."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirix_app.config import Settings
from mirix_app.errors import InvalidInput
from mirix_app.memory.batch import Batch
from mirix_app.memory.crypto import SecretBox
from mirix_app.memory.embed import Embedder
from mirix_app.memory.inbox import Inbox, InboxItem
from mirix_app.memory.keys import derive, open_data_key
from mirix_app.memory.search import search
from mirix_app.memory.store import Store
from mirix_app.memory.types import Filters, HistoryEntry, Memory, MemoryType, SearchHit, Source
from mirix_app.memory.vectors import VectorIndex
from mirix_app.paths import Paths

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

_SHARED_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def shared_embedder() -> Embedder:
    """One embedder per process: the ONNX session is the expensive part."""
    global _SHARED_EMBEDDER
    with _EMBEDDER_LOCK:
        if _SHARED_EMBEDDER is None:
            _SHARED_EMBEDDER = Embedder()
        return _SHARED_EMBEDDER


@dataclass
class Stats:
    live: dict[str, int]
    trashed: dict[str, int]
    pending_vectors: int
    db_bytes: int
    vector_bytes: int


class MemoryCore:
    """Add, change, undo, forget and search memories of all six types."""

    def __init__(
        self,
        paths: Paths,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        repair: bool = True,
        passphrase: str | None = None,
        one_shot: bool = False,
    ) -> None:
        """`one_shot` (a command that answers once and exits): the embedder loads in a thread
        meanwhile, and vector queries read a snapshot of the index without importing chromadb
        (memory/vectors_light.py) until this process writes."""
        self.paths = paths.ensure()
        self.embedder = embedder or shared_embedder()
        if one_shot and not self.embedder.loaded:
            # ONNX session creation releases the GIL: it overlaps opening SQLite and BM25.
            threading.Thread(target=self._warm_embedder, name="mirix-embedder", daemon=True).start()
        self.settings = settings or Settings.load(paths)
        st = self.settings.storage
        master = open_data_key(paths, passphrase)
        self.secrets = SecretBox(master)
        self.store = Store(
            paths.memory_db,
            derive(master, "database"),
            busy_timeout_ms=st.busy_timeout_ms,
            secrets=self.secrets,
            max_text_bytes=st.max_text_bytes,
        )
        self.vectors: VectorIndex
        if one_shot:
            from mirix_app.memory.vectors_light import ReadFirstVectorIndex

            self.vectors = ReadFirstVectorIndex(
                self.settings.vectors, paths.vectors, self.embedder, paths.cache
            )
        else:
            self.vectors = VectorIndex(self.settings.vectors, paths.vectors, self.embedder)
        if repair:
            self.store.index_cjk_once()
        self.inbox = Inbox(self.store)
        self._sync_lock = threading.Lock()
        if repair and self.store.outbox_size():
            log.info("repairing the vector index: %d pending change(s)", self.store.outbox_size())
            self.sync_vectors()

    def _warm_embedder(self) -> None:
        try:
            self.embedder.load()
        except Exception as e:  # the first embed raises it again, where it can be reported
            log.info("embedder warm-up failed (%s)", type(e).__name__)

    @classmethod
    def open(cls, paths: Paths | None = None, **kw: Any) -> MemoryCore:
        return cls(paths or Paths.default(), **kw)

    @property
    def closed(self) -> bool:
        return self.store.closed

    def close(self) -> None:
        """Close the store, then the vector index. Idempotent. A thread still running afterwards
        (one that outlived the shutdown's timeout) gets `MemoryClosed` from its next database
        use, never a closed connection."""
        self.store.close()
        self.vectors.close()

    def __enter__(self) -> MemoryCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------------
    def add(self, memory: Memory, *, actor: str = "user") -> Memory:
        return self.add_many([memory], actor=actor)[0]

    def add_many(
        self, memories: list[Memory], *, actor: str = "user", sync: bool = True
    ) -> list[Memory]:
        out = self.store.add_many(memories, actor=actor)
        if sync:
            self.sync_vectors()
        return out

    def add_bulk(
        self, memories: list[Memory], *, actor: str = "import", vectors: np.ndarray | None = None
    ) -> list[Memory]:
        """Many new memories in one transaction with statements per table (imports). `vectors`
        (one row per memory, from this core's embedder model) are written to the index right
        after the commit; a crash before that leaves them queued in the outbox, so the next
        open repairs them."""
        with self.store.write() as con:
            queued = self.store.add_bulk_in(con, memories, actor=actor)
        if vectors is None:
            self.sync_vectors()
        else:
            self.apply_vectors(memories, vectors, queued)
        return memories

    def apply_vectors(
        self, memories: list[Memory], vectors: np.ndarray, queued: list[tuple[str, int]]
    ) -> None:
        """Write vectors computed for just-committed memories and clear their outbox entries
        (`queued`, from Store.add_bulk_in)."""
        with self._sync_lock:
            groups: dict[MemoryType, list[int]] = defaultdict(list)
            for n, m in enumerate(memories):
                if m.deleted_at is None:
                    groups[m.type].append(n)
            for mtype, rows in groups.items():
                self.vectors.upsert(mtype, [memories[n].id for n in rows], vectors[rows])
            self.store.outbox_done(queued)

    def new(
        self,
        mtype: MemoryType | str,
        fields: dict[str, Any],
        *,
        tags: list[str] | None = None,
        sources: list[Source] | None = None,
        tree_path: str = "",
        actor: str = "user",
    ) -> Memory:
        m = Memory.from_dict(
            {
                "type": str(mtype),
                "fields": fields,
                "tags": tags or [],
                "tree_path": tree_path,
                "origin": actor,
            }
        )
        m.sources = list(sources or [])
        return self.add(m, actor=actor)

    def update(self, memory_id: str, *, actor: str = "user", **changes: Any) -> Memory:
        m = self.store.update(memory_id, actor=actor, **changes)
        self.sync_vectors()
        return m

    @contextlib.contextmanager
    def batch(self, *, actor: str = "agent") -> Iterator[Batch]:
        """`with core.batch() as b: b.add(...); b.inbox_done([...])`: all or nothing."""
        with self.store.write() as con:
            yield Batch(self.store, self.inbox, con, actor)
        self.sync_vectors()

    def trash(self, memory_id: str, *, actor: str = "user") -> Memory:
        m = self.store.trash(memory_id, actor=actor)
        self.sync_vectors()
        return m

    def restore(self, memory_id: str, *, actor: str = "user") -> Memory:
        m = self.store.restore(memory_id, actor=actor)
        self.sync_vectors()
        return m

    def undo(self, memory_id: str, *, actor: str = "user") -> Memory:
        m = self.store.undo(memory_id, actor=actor)
        self.sync_vectors()
        return m

    def purge(self, memory_ids: list[str]) -> int:
        n = self.store.purge(memory_ids)
        self.sync_vectors()
        return n

    def delete_everything(self) -> None:
        """Every memory, its history, the inbox, the vectors, kept screenshots, backups, logs,
        caches and the data key's keyring entry: gone for good (memory/erase.py)."""
        from mirix_app.memory.erase import delete_everything

        delete_everything(self)

    def empty_trash(self) -> int:
        return self.purge(self.store.ids(deleted=True))

    # -- reads -----------------------------------------------------------------------------------
    def get(self, memory_id: str) -> Memory:
        return self.store.get(memory_id)

    def history(self, memory_id: str) -> list[HistoryEntry]:
        self.store.get(memory_id)
        return self.store.history(memory_id)

    def browse(self, filters: Filters | None = None, **kw: Any) -> list[Memory]:
        return self.store.browse(filters, **kw)

    def search(
        self,
        query: str,
        *,
        filters: Filters | None = None,
        limit: int = 10,
        mode: str = "hybrid",
        prefix: bool = False,
        sync: bool = True,
        pool: Executor | None = None,
    ) -> list[SearchHit]:
        """Hybrid search (memory/search.py). `sync=False` does not wait for pending vector
        writes; with `pool`, the vector half runs there beside BM25 (search as you type)."""
        return search(
            self,
            query,
            filters=filters,
            limit=limit,
            mode=mode,
            prefix=prefix,
            settings=self.settings.search,
            sync=sync,
            pool=pool,
        )

    def count(self, *, deleted: bool = False) -> dict[str, int]:
        """Live (or trashed) memories per type."""
        return self.store.count(deleted=deleted)

    def tagged(
        self, mtype: MemoryType, tag: str, *, limit: int = 20, by_time: bool = False
    ) -> list[Memory]:
        """Live memories of `mtype` carrying `tag`: newest written first, or newest by time."""
        ids = self.tagged_ids(mtype, tag, limit=limit, by_time=by_time)
        found = self.store.get_many(ids)
        return [found[i] for i in ids if i in found]

    def tagged_ids(
        self, mtype: MemoryType, tag: str, *, limit: int = 20, by_time: bool = False
    ) -> list[str]:
        return self.store.tagged_ids(mtype, tag, limit=limit, by_time=by_time)

    def memory_ids_from(self, kind: str, ref: str) -> list[str]:
        """Ids of the memories (trash included) citing a source, e.g. capture X."""
        return self.store.memories_from(kind, ref)

    def memories_from(self, kind: str, ref: str) -> list[Memory]:
        """The live memories citing a source."""
        ids = self.store.memories_from(kind, ref)
        found = self.store.get_many(ids)
        return [found[i] for i in ids if i in found and found[i].deleted_at is None]

    def source_refs(self, kind: str) -> list[str]:
        """Every distinct ref of that kind that some memory cites (e.g. all chat message ids)."""
        return self.store.source_refs(kind)

    def meta(self, key: str) -> str | None:
        return self.store.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.store.set_meta(key, value)

    # -- inbox (memory/inbox.py: the durable queue of inputs waiting for the agent) --------------
    def inbox_put(self, item: InboxItem) -> InboxItem:
        return self.inbox.put(item)

    def inbox_get(self, item_id: str) -> InboxItem | None:
        return self.inbox.get(item_id)

    def inbox_take(self, limit: int = 20) -> list[InboxItem]:
        """The oldest pending items that are due; they stay pending until a batch marks them."""
        return self.inbox.take(limit)

    def inbox_retry_later(self, item_id: str, error: str) -> None:
        self.inbox.retry_later(item_id, error)

    def inbox_backlog(self) -> int:
        return self.inbox.backlog()

    def inbox_recent(
        self,
        limit: int = 50,
        kind: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[InboxItem]:
        return self.inbox.recent(limit=limit, kind=kind, since=since, until=until)

    def inbox_latest(self, kind: str, monitor: int | None = None) -> InboxItem | None:
        return self.inbox.latest(kind, monitor)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts` from the memory's own embedder (answers rank sentences)."""
        return self.embedder.embed(texts)

    def warm_up(self) -> None:
        """Load the embedder, open the vector index (and its helper process) and apply pending
        vector changes, so the first search is fast."""
        self.embedder.load()
        self.vectors.warm_up()
        self.sync_vectors()

    def release_idle(self, embedder_s: float, vectors_s: float) -> list[str]:
        """Unload the embedder and stop the vector helper when unused that long (0: keep)."""
        freed = []
        if embedder_s > 0 and self.embedder.unload_if_idle(embedder_s):
            freed.append("embedder")
        if vectors_s > 0 and self.vectors.release_if_idle(vectors_s):
            freed.append("vector helper")
        return freed

    def release_thread(self) -> None:
        """Close the calling thread's database connection (before a short-lived thread ends)."""
        self.store.release_thread()

    def reveal_secret(self, memory_id: str) -> str:
        m = self.get(memory_id)
        if m.type is not MemoryType.VAULT:
            raise InvalidInput(f"{memory_id} is not a knowledge-vault entry")
        return self.secrets.open(str(m.fields["secret_value"]))

    def stats(self) -> Stats:
        def size(p: Path) -> int:
            if p.is_file():
                return p.stat().st_size
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0

        db = sum(size(Path(str(self.paths.memory_db) + s)) for s in ("", "-wal", "-shm"))
        return Stats(
            self.store.count(),
            self.store.count(deleted=True),
            self.store.outbox_size(),
            db,
            size(self.paths.vectors),
        )

    # -- vector index ----------------------------------------------------------------------------
    def sync_vectors(self, batch: int = 256, progress: Callable[[int], None] | None = None) -> int:
        """Apply queued changes to Chroma; safe to call any time, idempotent after a crash."""
        done = 0
        with self._sync_lock:
            while True:
                pending = self.store.outbox(batch)
                if not pending:
                    return done
                upserts: dict[MemoryType, list[str]] = defaultdict(list)
                deletes: dict[MemoryType, list[str]] = defaultdict(list)
                for mid, mtype, op, _ in pending:
                    (upserts if op == "upsert" else deletes)[MemoryType(mtype)].append(mid)
                for mtype, ids in deletes.items():
                    self.vectors.delete(mtype, ids)
                for mtype, ids in upserts.items():
                    found = self.store.get_many(ids)
                    live = [i for i in ids if i in found and found[i].deleted_at is None]
                    gone = [i for i in ids if i not in live]
                    if live:
                        vecs = self.embedder.embed([found[i].search_text() for i in live])
                        self.vectors.upsert(mtype, live, vecs)
                    self.vectors.delete(mtype, gone)
                self.store.outbox_done([(mid, seq) for mid, _, _, seq in pending])
                done += len(pending)
                if progress:
                    progress(done)

    def check_vectors(self) -> dict[str, int]:
        """Compare Chroma with SQLite per type; queue what is missing, drop what is stale."""
        fixed = {"missing": 0, "stale": 0}
        live = self.store.live_ids_by_type()
        for mtype in MemoryType:
            want = live[mtype.value]
            if self.vectors.count(mtype) == len(want) and not want:
                continue
            have = self.vectors.ids(mtype)
            stale = sorted(have - want)
            missing = want - have
            self.vectors.delete(mtype, stale)
            fixed["stale"] += len(stale)
            if missing:
                with self.store.write() as con:
                    self.store.queue_vectors(
                        con, [(i, mtype.value, "upsert") for i in sorted(missing)]
                    )
                fixed["missing"] += len(missing)
        self.sync_vectors()
        return fixed

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild every vector collection from SQLite."""
        self.vectors.reset()
        total = self.store.queue_all_vectors()
        self.sync_vectors(progress=lambda done: progress(done, total) if progress else None)
        return total
