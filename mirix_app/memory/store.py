"""SQLite, the record of truth: rows, sources, FTS5, history (undo, trash) and the vector outbox."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mirix_app.errors import InvalidInput, NotFound, StorageError
from mirix_app.memory import db, schema
from mirix_app.memory.clock import new_id, now_iso
from mirix_app.memory.crypto import SecretBox
from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.packing import pack, unpack
from mirix_app.memory.types import (
    STOP_WORDS,
    Filters,
    HistoryEntry,
    Memory,
    MemoryType,
    Source,
    validate_fields,
    validate_sources,
)
from mirix_app.paths import make_private_dir, make_private_file

log = logging.getLogger(__name__)

# FTS5 column weights: head (names, summaries, titles) counts more than body and tags.
BM25_WEIGHTS = (1.0, 0.75, 0.5)
# Above PRUNE_MIN_DOCS memories, terms found in more than PRUNE_DF_RATIO of them only rescore
# candidates found by the other terms (PRUNE_FACTOR x limit of them); see Store.bm25.
PRUNE_MIN_DOCS = 20_000
PRUNE_DF_RATIO = 0.05
PRUNE_FACTOR = 5
_TOKEN = re.compile(r"\w+", re.UNICODE)
def filter_sql(filters: Filters | None, alias: str = "m") -> tuple[str, list[Any]]:
    """The WHERE clauses (each after " AND ") and arguments that apply `filters` to `alias`."""
    f = filters or Filters()
    clauses: list[str] = []
    args: list[Any] = []
    if f.types and set(f.types) != set(MemoryType):  # all six: no clause at all
        clauses.append(f"{alias}.type IN ({','.join('?' * len(f.types))})")
        args.extend(t.value for t in f.types)
    if f.since:
        clauses.append(f"{alias}.ts >= ?")
        args.append(f.since)
    if f.until:
        clauses.append(f"{alias}.ts < ?")
        args.append(f.until)
    if f.app:
        clauses.append(
            f"EXISTS (SELECT 1 FROM sources s WHERE s.memory_id = {alias}.id "
            "AND s.app = ? COLLATE NOCASE)"
        )
        args.append(f.app)
    return (" AND " + " AND ".join(clauses)) if clauses else "", args


def fts_terms(text: str, *, prefix: bool = False) -> list[str]:
    """A user's words as quoted FTS5 terms (no FTS syntax reaches MATCH)."""
    words = [w.lower() for w in _TOKEN.findall(text)]
    terms = [w for w in words if w not in STOP_WORDS] or words
    quoted = [f'"{t}"' for t in dict.fromkeys(terms)]
    if quoted and prefix and text and not text[-1].isspace():
        last = f'"{words[-1]}"'
        quoted = [q for q in quoted if q != last] + [f"{last}*"]
    return quoted


def fts_query(text: str, *, prefix: bool = False) -> str | None:
    terms = fts_terms(text, prefix=prefix)
    return " OR ".join(terms) if terms else None


HISTORY_BURST_SECONDS = 30 * 60


class Store:
    """One SQLite file; one connection per thread; every write in one IMMEDIATE transaction."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        busy_timeout_ms: int = 5000,
        secrets: SecretBox | None = None,
        max_text_bytes: int = 1_000_000,
    ) -> None:
        self.path = path
        self._key = key
        self.busy_timeout_ms = busy_timeout_ms
        self.secrets = secrets
        self.max_text_bytes = max_text_bytes
        self._local = threading.local()
        self._doc_count: tuple[int, float] = (0, -1e9)
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        make_private_dir(path.parent)
        self._migrate()

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = db.connect(self.path, self._key, timeout=self.busy_timeout_ms / 1000)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            # Purged memories are overwritten on disk, not just unlinked.
            con.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as e:
            raise _storage_error(e, self.path) from e
        for suffix in ("", "-wal", "-shm"):
            make_private_file(Path(str(self.path) + suffix))
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def release_thread(self) -> None:
        """Close the calling thread's connection (call it before a short-lived thread ends)."""
        con = getattr(self._local, "con", None)
        if con is None:
            return
        self._local.con = None
        with self._lock:
            if con in self._all:
                self._all.remove(con)
        with contextlib.suppress(sqlite3.Error):
            con.close()

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                with contextlib.suppress(sqlite3.Error):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; a locked, read-only or full database raises StorageError, unchanged."""
        con = self.con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise _storage_error(e, self.path) from e
        try:
            yield con
            con.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise _storage_error(e, self.path) from e
            raise

    def _migrate(self) -> None:
        con = self.con
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise _storage_error(e, self.path) from e
        if version > schema.LATEST:
            raise StorageError(
                f"{self.path} was written by a newer mirix-app (schema {version} > {schema.LATEST})",
                "upgrade mirix-app to open it",
            )
        if version == schema.LATEST:
            return
        if version > 0:
            self.backup(self.path.parent / "backups" / f"memory-v{version}-{now_iso()[:19]}.db")
        for v in range(version, schema.LATEST):
            try:
                con.executescript(
                    f"BEGIN IMMEDIATE;\n{schema.MIGRATIONS[v]}\nPRAGMA user_version={v + 1};\nCOMMIT;"
                )
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise _storage_error(e, self.path) from e
            log.info("memory.db migrated to schema %d", v + 1)

    def backup(self, dest: Path) -> Path:
        make_private_dir(dest.parent)
        target = db.connect(dest, self._key)
        try:
            self.con.backup(target)
        finally:
            target.close()
        make_private_file(dest)
        return dest

    # -- rows ----------------------------------------------------------------------------------
    def _row_to_memory(self, row: sqlite3.Row | tuple[Any, ...]) -> Memory:
        (mid, mtype, fields, tags, tree_path, created, updated, deleted, version, origin) = row
        return Memory(
            id=mid,
            type=MemoryType(mtype),
            fields=json.loads(fields),
            tags=json.loads(tags),
            tree_path=tree_path,
            created_at=created,
            updated_at=updated,
            deleted_at=deleted,
            version=version,
            origin=origin,
        )

    _COLS = "id, type, fields, tags, tree_path, created_at, updated_at, deleted_at, version, origin"

    def _sources_for(self, ids: Sequence[str]) -> dict[str, list[Source]]:
        out: dict[str, list[Source]] = {i: [] for i in ids}
        for chunk in _chunks(list(ids), 500):
            rows = self.con.execute(
                "SELECT memory_id, kind, ref, at, uri, app, window FROM sources "
                f"WHERE memory_id IN ({','.join('?' * len(chunk))}) ORDER BY memory_id, pos",
                chunk,
            )
            for mid, kind, ref, at, uri, app, window in rows:
                out[mid].append(Source(kind, ref, at, uri, app, window))
        return out

    def get(self, memory_id: str) -> Memory:
        found = self.get_many([memory_id])
        if memory_id not in found:
            raise NotFound(
                f"no memory with id {memory_id}", "`mirix search` or `mirix trash` lists ids"
            )
        return found[memory_id]

    def get_many(self, ids: Sequence[str]) -> dict[str, Memory]:
        out: dict[str, Memory] = {}
        for chunk in _chunks(list(ids), 500):
            rows = self.con.execute(
                f"SELECT {self._COLS} FROM memories WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for row in rows:
                m = self._row_to_memory(row)
                out[m.id] = m
        srcs = self._sources_for(list(out))
        for mid, m in out.items():
            m.sources = srcs[mid]
        return out

    def _store_fields(self, m: Memory) -> dict[str, Any]:
        fields = dict(m.fields)
        if m.type is MemoryType.VAULT:
            value = fields.get("secret_value", "")
            if not SecretBox.is_sealed(value):
                if self.secrets is None:
                    raise StorageError("no key to encrypt knowledge-vault values")
                fields["secret_value"] = self.secrets.seal(value)
        return fields

    def _write_row(self, con: sqlite3.Connection, m: Memory, *, new: bool) -> None:
        fields_json = json.dumps(self._store_fields(m), ensure_ascii=False, sort_keys=True)
        m.fields = json.loads(fields_json)
        args = (
            m.type.value,
            fields_json,
            json.dumps(m.tags, ensure_ascii=False),
            m.tree_path,
            m.time,
            m.created_at,
            m.updated_at,
            m.deleted_at,
            m.version,
            m.origin,
        )
        if new:
            con.execute(
                "INSERT INTO memories(type, fields, tags, tree_path, ts, created_at, updated_at, "
                "deleted_at, version, origin, id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*args, m.id),
            )
        else:
            con.execute(
                "UPDATE memories SET type=?, fields=?, tags=?, tree_path=?, ts=?, created_at=?, "
                "updated_at=?, deleted_at=?, version=?, origin=? WHERE id=?",
                (*args, m.id),
            )
            con.execute("DELETE FROM sources WHERE memory_id=?", (m.id,))
        con.executemany(
            "INSERT INTO sources(memory_id, pos, kind, ref, at, uri, app, window) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (m.id, i, s.kind, s.ref, s.at, s.uri, s.app, s.window)
                for i, s in enumerate(m.sources)
            ],
        )
        seq = con.execute("SELECT seq FROM memories WHERE id=?", (m.id,)).fetchone()[0]
        con.execute("DELETE FROM memory_fts WHERE rowid=?", (seq,))
        if m.deleted_at is None:
            con.execute(
                "INSERT INTO memory_fts(rowid, head, body, tags) VALUES (?,?,?,?)",
                (seq, m.head_text(), m.body_text(), " ".join(m.tags)),
            )
        self.queue_vectors(
            con, [(m.id, m.type.value, "upsert" if m.deleted_at is None else "delete")]
        )

    @staticmethod
    def queue_vectors(con: sqlite3.Connection, entries: Sequence[tuple[str, str, str]]) -> None:
        """Queue (id, type, op) changes for Chroma inside an open write; the newest op wins."""
        con.executemany(
            "INSERT INTO vector_outbox(memory_id, type, op, seq) VALUES (?,?,?,"
            " coalesce((SELECT max(seq) FROM vector_outbox), 0) + 1)"
            " ON CONFLICT(memory_id) DO UPDATE SET op=excluded.op, type=excluded.type,"
            " seq=excluded.seq",
            entries,
        )

    def _record(
        self,
        con: sqlite3.Connection,
        memory_id: str,
        op: str,
        actor: str,
        before: Memory | None,
        after: Memory | None,
    ) -> int:
        if op == "update" and actor == "agent" and after is not None:
            # The agent grows an episode with every capture of a window: one history entry per
            # burst (its first `before`, its latest `after`) instead of one per capture, which
            # was a third of the database. Undo then reverts the burst as a whole.
            last = con.execute(
                "SELECT id, op, actor, at, undone_by FROM history WHERE memory_id=? "
                "ORDER BY id DESC LIMIT 1",
                (memory_id,),
            ).fetchone()
            if (
                last is not None
                and (last[1], last[2], last[4]) == ("update", "agent", None)
                and _seconds_since(last[3]) < HISTORY_BURST_SECONDS
            ):
                con.execute(
                    "UPDATE history SET after=?, at=? WHERE id=?",
                    (pack(after.to_json()), now_iso(), last[0]),
                )
                return int(last[0])
        cur = con.execute(
            "INSERT INTO history(memory_id, op, at, actor, before, after) VALUES (?,?,?,?,?,?)",
            (
                memory_id,
                op,
                now_iso(),
                actor,
                pack(before.to_json()) if before else None,
                pack(after.to_json()) if after else None,
            ),
        )
        return int(cur.lastrowid or 0)

    def add_many(self, memories: Iterable[Memory], *, actor: str = "user") -> list[Memory]:
        with self.write() as con:
            return [self.add_in(con, m, actor=actor) for m in memories]

    def add_in(self, con: sqlite3.Connection, m: Memory, *, actor: str = "user") -> Memory:
        """Add inside an open write (see `write`), e.g. with the inbox items it was made from."""
        self._check(m)
        stamp = now_iso()
        m.id = m.id or new_id(m.type.prefix)
        m.created_at = m.created_at or stamp
        m.updated_at = m.updated_at or m.created_at
        if con.execute("SELECT 1 FROM memories WHERE id=?", (m.id,)).fetchone():
            raise InvalidInput(f"a memory with id {m.id} exists already")
        self._write_row(con, m, new=True)
        self._record(con, m.id, "create", actor, None, m)
        return m

    def add_bulk_in(
        self, con: sqlite3.Connection, memories: Sequence[Memory], *, actor: str = "import"
    ) -> list[tuple[str, int]]:
        """Add many new memories inside an open write, a statement per table (imports): the
        same rows, sources, FTS entries, history and vector outbox as `add_in`, at a fraction of
        its cost. Returns the (id, outbox seq) queued for each, for `outbox_done`."""
        stamp = now_iso()
        rows, srcs, hist = [], [], []
        for m in memories:
            self._check(m)
            m.id = m.id or new_id(m.type.prefix)
            m.created_at = m.created_at or stamp
            m.updated_at = m.updated_at or m.created_at
            fields_json = json.dumps(self._store_fields(m), ensure_ascii=False, sort_keys=True)
            m.fields = json.loads(fields_json)
            rows.append(
                (
                    m.id,
                    m.type.value,
                    fields_json,
                    json.dumps(m.tags, ensure_ascii=False),
                    m.tree_path,
                    m.time,
                    m.created_at,
                    m.updated_at,
                    m.deleted_at,
                    m.version,
                    m.origin,
                )
            )
            srcs += [
                (m.id, i, s.kind, s.ref, s.at, s.uri, s.app, s.window)
                for i, s in enumerate(m.sources)
            ]
            hist.append((m.id, "create", stamp, actor, None, pack(m.to_json())))
        ids = [r[0] for r in rows]
        if len(set(ids)) != len(ids):
            raise InvalidInput("the same memory id appears twice in one batch")
        for chunk in _chunks(ids, 500):
            clash = con.execute(
                f"SELECT id FROM memories WHERE id IN ({','.join('?' * len(chunk))}) LIMIT 1",
                chunk,
            ).fetchone()
            if clash:
                raise InvalidInput(f"a memory with id {clash[0]} exists already")
        con.executemany(
            "INSERT INTO memories(id, type, fields, tags, tree_path, ts, created_at, updated_at, "
            "deleted_at, version, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        con.executemany(
            "INSERT INTO sources(memory_id, pos, kind, ref, at, uri, app, window) "
            "VALUES (?,?,?,?,?,?,?,?)",
            srcs,
        )
        seqs: dict[str, int] = {}
        for chunk in _chunks(ids, 500):
            seqs.update(
                con.execute(
                    f"SELECT id, seq FROM memories WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        con.executemany(
            "INSERT INTO memory_fts(rowid, head, body, tags) VALUES (?,?,?,?)",
            [
                (seqs[m.id], m.head_text(), m.body_text(), " ".join(m.tags))
                for m in memories
                if m.deleted_at is None
            ],
        )
        con.executemany(
            "INSERT INTO history(memory_id, op, at, actor, before, after) VALUES (?,?,?,?,?,?)",
            hist,
        )
        base = con.execute("SELECT coalesce(max(seq), 0) FROM vector_outbox").fetchone()[0]
        queued = [(m.id, base + n) for n, m in enumerate(memories, 1)]
        con.executemany(
            "INSERT INTO vector_outbox(memory_id, type, op, seq) VALUES (?,?,?,?) "
            "ON CONFLICT(memory_id) DO UPDATE SET op=excluded.op, type=excluded.type, "
            "seq=excluded.seq",
            [
                (m.id, m.type.value, "upsert" if m.deleted_at is None else "delete", seq)
                for m, (_, seq) in zip(memories, queued, strict=True)
            ],
        )
        return queued

    def _check(self, m: Memory) -> None:
        m.fields = validate_fields(m.type, m.fields, max_bytes=self.max_text_bytes)
        m.sources = validate_sources([s.to_dict() for s in m.sources])

    def update(
        self, memory_id: str, *, actor: str = "user", op: str = "update", **changes: Any
    ) -> Memory:
        """Change a memory in place: same id, version + 1, the old state kept in history."""
        with self.write() as con:
            return self.update_in(con, memory_id, actor=actor, op=op, **changes)

    def update_in(
        self,
        con: sqlite3.Connection,
        memory_id: str,
        *,
        fields: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        tree_path: str | None = None,
        sources: list[Source] | None = None,
        add_sources: Sequence[Source] = (),
        actor: str = "user",
        op: str = "update",
    ) -> Memory:
        before = self.get_in(con, memory_id)
        after = Memory.from_dict(before.to_dict())
        if fields:
            merged = {**before.fields, **fields}
            after.fields = validate_fields(before.type, merged, max_bytes=self.max_text_bytes)
        if tags is not None:
            after.tags = sorted({t.strip() for t in tags if t.strip()})
        if tree_path is not None:
            after.tree_path = tree_path
        if sources is not None:
            after.sources = validate_sources([s.to_dict() for s in sources])
        for src in add_sources:
            if src not in after.sources:
                after.sources.append(src)
        if after.to_dict() == before.to_dict():
            return before
        after.version = before.version + 1
        after.updated_at = now_iso()
        self._write_row(con, after, new=False)
        self._record(con, memory_id, op, actor, before, after)
        return after

    def replace_in(self, con: sqlite3.Connection, m: Memory, *, actor: str) -> Memory:
        """Overwrite a memory with a full record (import): kept as given, old state in history."""
        self._check(m)
        before = self.get_in(con, m.id)
        self._write_row(con, m, new=False)
        self._record(con, m.id, "import", actor, before, m)
        return m

    def get_in(self, con: sqlite3.Connection, memory_id: str) -> Memory:
        row = con.execute(f"SELECT {self._COLS} FROM memories WHERE id=?", (memory_id,)).fetchone()
        if row is None:
            raise NotFound(f"no memory with id {memory_id}")
        m = self._row_to_memory(row)
        m.sources = [
            Source(*r)
            for r in con.execute(
                "SELECT kind, ref, at, uri, app, window FROM sources WHERE memory_id=? ORDER BY pos",
                (memory_id,),
            )
        ]
        return m

    def _set_deleted(self, memory_id: str, deleted: bool, actor: str) -> Memory:
        with self.write() as con:
            return self.set_deleted_in(con, memory_id, deleted, actor=actor)

    def set_deleted_in(
        self, con: sqlite3.Connection, memory_id: str, deleted: bool, *, actor: str = "user"
    ) -> Memory:
        """Move to the trash (deleted=True) or back, inside an open write."""
        before = self.get_in(con, memory_id)
        if (before.deleted_at is not None) == deleted:
            return before
        after = Memory.from_dict(before.to_dict())
        after.deleted_at = now_iso() if deleted else None
        after.version = before.version + 1
        after.updated_at = now_iso()
        self._write_row(con, after, new=False)
        self._record(con, memory_id, "delete" if deleted else "restore", actor, before, after)
        return after

    def trash(self, memory_id: str, *, actor: str = "user") -> Memory:
        return self._set_deleted(memory_id, True, actor)

    def restore(self, memory_id: str, *, actor: str = "user") -> Memory:
        return self._set_deleted(memory_id, False, actor)

    def undo(self, memory_id: str, *, actor: str = "user") -> Memory:
        """Revert the latest change not yet undone (repeat to walk further back)."""
        with self.write() as con:
            row = con.execute(
                "SELECT id, op, before FROM history WHERE memory_id=? AND undone_by IS NULL "
                "AND op != 'undo' ORDER BY id DESC LIMIT 1",
                (memory_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"nothing to undo for {memory_id}")
            hid, _op, before_json = row
            current = self.get_in(con, memory_id)
            if before_json is None:  # undoing a create: the memory goes to the trash
                target = Memory.from_dict(current.to_dict())
                target.deleted_at = now_iso()
            else:
                target = Memory.from_dict(json.loads(unpack(before_json) or ""))
            target.version = current.version + 1
            target.updated_at = now_iso()
            self._write_row(con, target, new=False)
            new_hid = self._record(con, memory_id, "undo", actor, current, target)
            con.execute("UPDATE history SET undone_by=? WHERE id=?", (new_hid, hid))
            return target

    def purge(self, memory_ids: Sequence[str]) -> int:
        """Remove for good: the row, its sources, its index entries and its history."""
        n = 0
        with self.write() as con:
            for mid in memory_ids:
                row = con.execute("SELECT seq, type FROM memories WHERE id=?", (mid,)).fetchone()
                if row is None:
                    continue
                seq, mtype = row
                con.execute("DELETE FROM memory_fts WHERE rowid=?", (seq,))
                con.execute("DELETE FROM memories WHERE id=?", (mid,))
                con.execute("DELETE FROM history WHERE memory_id=?", (mid,))
                self.queue_vectors(con, [(mid, mtype, "delete")])
                n += 1
        return n

    def history(self, memory_id: str) -> list[HistoryEntry]:
        rows = self.con.execute(
            "SELECT id, memory_id, op, at, actor, before, after, undone_by FROM history "
            "WHERE memory_id=? ORDER BY id",
            (memory_id,),
        ).fetchall()
        return [
            HistoryEntry(
                hid,
                mid,
                op,
                at,
                actor,
                Memory.from_dict(json.loads(unpack(b) or "")) if b else None,
                Memory.from_dict(json.loads(unpack(a) or "")) if a else None,
                undone,
            )
            for hid, mid, op, at, actor, b, a, undone in rows
        ]

    # -- queries -------------------------------------------------------------------------------
    def browse(
        self,
        filters: Filters | None = None,
        *,
        deleted: bool = False,
        limit: int = 50,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[Memory]:
        where, args = filter_sql(filters)
        state = "m.deleted_at IS NOT NULL" if deleted else "m.deleted_at IS NULL"
        order = "DESC" if newest_first else "ASC"
        sort = "m.deleted_at" if deleted else "m.ts"
        ids = [
            r[0]
            for r in self.con.execute(
                f"SELECT m.id FROM memories m WHERE {state}{where} ORDER BY {sort} {order}, m.seq {order}"
                " LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
        ]
        found = self.get_many(ids)
        return [found[i] for i in ids]

    def ids(self, filters: Filters | None = None, *, deleted: bool = False) -> list[str]:
        where, args = filter_sql(filters)
        state = "m.deleted_at IS NOT NULL" if deleted else "m.deleted_at IS NULL"
        return [
            r[0]
            for r in self.con.execute(
                f"SELECT m.id FROM memories m WHERE {state}{where} ORDER BY m.ts, m.seq", args
            )
        ]

    def iter_all(self, batch: int = 500) -> Iterator[Memory]:
        """Every memory (trash included) in a stable order: by type, then id."""
        last = ("", "")
        while True:
            rows = self.con.execute(
                "SELECT type, id FROM memories WHERE (type, id) > (?, ?) ORDER BY type, id LIMIT ?",
                (*last, batch),
            ).fetchall()
            if not rows:
                return
            found = self.get_many([r[1] for r in rows])
            for _, mid in rows:
                yield found[mid]
            last = rows[-1]

    def bm25(
        self, query: str, filters: Filters | None = None, *, limit: int = 50, prefix: bool = False
    ) -> list[tuple[str, float]]:
        """Keyword ranking: (id, score) with higher = better."""
        terms = fts_terms(query, prefix=prefix)
        if not terms:
            return []
        where, args = filter_sql(filters)
        try:
            pruned = self._selective_terms(terms)
            if pruned is not None:
                return self._bm25_pruned(pruned, where, args, limit)
            return self._bm25_exact(" OR ".join(terms), where, args, limit)
        except sqlite3.Error as e:
            raise _storage_error(e, self.path) from e

    def _bm25_exact(
        self, match: str, where: str, args: list[Any], limit: int
    ) -> list[tuple[str, float]]:
        w = ",".join(str(x) for x in BM25_WEIGHTS)
        if not where:
            # Trashed rows are not in the index, so an unfiltered search ranks in FTS5 alone and
            # looks up only the winners (a join would visit every match).
            top = self.con.execute(
                f"SELECT rowid, bm25(memory_fts, {w}) AS s FROM memory_fts "
                "WHERE memory_fts MATCH ? ORDER BY s LIMIT ?",
                (match, limit),
            ).fetchall()
            ids = self._ids_for_seqs([r[0] for r in top])
            return [(ids[seq], -score) for seq, score in top if seq in ids]
        # Filtered: rank in FTS5 alone, then keep the best that pass the filters. Joining first
        # would test the filter on every match (5x slower at 20k long memories). Only when too
        # few of the top rows pass (a narrow filter) is the join worth its cost.
        wide = max(limit * 10, 400)
        top = self.con.execute(
            f"SELECT rowid, bm25(memory_fts, {w}) AS s FROM memory_fts "
            "WHERE memory_fts MATCH ? ORDER BY s LIMIT ?",
            (match, wide),
        ).fetchall()
        passing: dict[int, str] = {}
        for chunk in _chunks([r[0] for r in top], 500):
            passing.update(
                self.con.execute(
                    f"SELECT m.seq, m.id FROM memories m WHERE m.seq IN "
                    f"({','.join('?' * len(chunk))}) AND m.deleted_at IS NULL{where}",
                    (*chunk, *args),
                ).fetchall()
            )
        kept = [(passing[seq], -score) for seq, score in top if seq in passing][:limit]
        if len(kept) >= limit or len(top) < wide:
            return kept
        rows = self.con.execute(
            f"SELECT m.id, bm25(memory_fts, {w}) AS s FROM memory_fts "
            "JOIN memories m ON m.seq = memory_fts.rowid "
            f"WHERE memory_fts MATCH ? AND m.deleted_at IS NULL{where} ORDER BY s LIMIT ?",
            (match, *args, limit),
        ).fetchall()
        return [(mid, -score) for mid, score in rows]

    def _ids_for_seqs(self, seqs: list[int]) -> dict[int, str]:
        if not seqs:
            return {}
        return dict(
            self.con.execute(
                f"SELECT seq, id FROM memories WHERE seq IN ({','.join('?' * len(seqs))})", seqs
            ).fetchall()
        )

    def _bm25_pruned(
        self,
        pruned: tuple[list[str], list[tuple[str, int]]],
        where: str,
        args: list[Any],
        limit: int,
    ) -> list[tuple[str, float]]:
        """Large store, some very common query terms: rank candidates found by the selective
        terms (exact FTS5 BM25, short doclists), then add the common terms' BM25 part computed
        on the candidates' text. Rows matching only common words are not candidates; they would
        rank at the bottom anyway."""
        selective, common = pruned
        base = self._bm25_exact(" OR ".join(selective), where, args, limit * PRUNE_FACTOR)
        if not base:
            return []
        rows = self.con.execute(
            "SELECT m.id, f.head, f.body, f.tags FROM memory_fts f JOIN memories m ON m.seq = f.rowid "
            f"WHERE m.id IN ({','.join('?' * len(base))})",
            [mid for mid, _ in base],
        ).fetchall()
        texts = {mid: (h or "", b or "", t or "") for mid, h, b, t in rows}
        total = self._doc_count[0]
        lengths = {mid: sum(len(_TOKEN.findall(c)) for c in cols) for mid, cols in texts.items()}
        avg = max(1.0, sum(lengths.values()) / max(1, len(lengths)))
        k1, b = 1.2, 0.75
        patterns = [
            (
                re.compile(r"\b" + re.escape(t.strip('"*')), re.IGNORECASE),
                math.log((total - df + 0.5) / (df + 0.5)) if total > 2 * df else 1e-6,
            )
            for t, df in common
        ]
        scored = []
        for mid, score in base:
            cols = texts.get(mid)
            if cols is None:
                continue
            norm = k1 * (1 - b + b * lengths[mid] / avg)
            for pattern, idf in patterns:
                tf = sum(
                    w * len(pattern.findall(c)) for w, c in zip(BM25_WEIGHTS, cols, strict=True)
                )
                if tf:
                    score += idf * tf * (k1 + 1) / (tf + norm)
            scored.append((mid, score))
        scored.sort(key=lambda x: -x[1])
        return scored[:limit]

    def _selective_terms(self, terms: list[str]) -> tuple[list[str], list[tuple[str, int]]] | None:
        """In a large store: (selective terms, [(common term, doc frequency)]), or None when
        pruning would not help (small store, no common term, or nothing but common terms)."""
        now = time.monotonic()
        if now - self._doc_count[1] > 60:
            n = self.con.execute("SELECT count(*) FROM memories").fetchone()[0]
            self._doc_count = (int(n), now)
        total = self._doc_count[0]
        if total < PRUNE_MIN_DOCS or len(terms) < 2:
            return None
        limit = total * PRUNE_DF_RATIO
        selective, common = [], []
        for t in terms:
            df = self.con.execute(
                "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH ?", (t,)
            ).fetchone()[0]
            if df <= limit:
                selective.append(t)
            else:
                common.append((t, int(df)))
        return (selective, common) if selective and common else None

    def times(self, ids: Sequence[str], filters: Filters | None = None) -> dict[str, str]:
        """ts of those ids that are live and pass the filters."""
        where, args = filter_sql(filters)
        out: dict[str, str] = {}
        for chunk in _chunks(list(ids), 500):
            out.update(
                self.con.execute(
                    f"SELECT m.id, m.ts FROM memories m WHERE m.id IN ({','.join('?' * len(chunk))}) "
                    f"AND m.deleted_at IS NULL{where}",
                    (*chunk, *args),
                ).fetchall()
            )
        return out

    def count(self, *, deleted: bool = False) -> dict[str, int]:
        state = "deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL"
        rows = self.con.execute(f"SELECT type, count(*) FROM memories WHERE {state} GROUP BY type")
        counts = {t.value: 0 for t in MemoryType}
        counts.update(dict(rows.fetchall()))
        return counts

    def memories_from(self, kind: str, ref: str) -> list[str]:
        """Ids of memories citing a source (e.g. every memory made from capture X)."""
        return [
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT memory_id FROM sources WHERE kind=? AND ref=?", (kind, ref)
            )
        ]

    # -- vector outbox ---------------------------------------------------------------------------
    def outbox(self, limit: int = 256) -> list[tuple[str, str, str, int]]:
        return [
            tuple(r)
            for r in self.con.execute(
                "SELECT memory_id, type, op, seq FROM vector_outbox ORDER BY seq LIMIT ?", (limit,)
            )
        ]

    def outbox_size(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM vector_outbox").fetchone()[0])

    def outbox_done(self, entries: Sequence[tuple[str, int]]) -> None:
        """Clear entries by (id, seq): a newer change queued meanwhile stays queued."""
        with self.write() as con:
            con.executemany("DELETE FROM vector_outbox WHERE memory_id=? AND seq=?", entries)

    def queue_all_vectors(self) -> int:
        """Queue every live memory for (re)embedding (reindex)."""
        with self.write() as con:
            con.execute("DELETE FROM vector_outbox")
            cur = con.execute(
                "INSERT INTO vector_outbox(memory_id, type, op, seq) "
                "SELECT id, type, 'upsert', seq FROM memories WHERE deleted_at IS NULL"
            )
            return cur.rowcount

    def live_ids_by_type(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {t.value: set() for t in MemoryType}
        for mid, mtype in self.con.execute(
            "SELECT id, type FROM memories WHERE deleted_at IS NULL"
        ):
            out[mtype].add(mid)
        return out

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as con:
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))

    def wipe(self, *, inbox: bool = False) -> None:
        """Delete every memory and its history (and the inbox too, for 'delete everything')."""
        tables = ["memory_fts", "sources", "history", "memories", "vector_outbox"]
        with self.write() as con:
            for table in [*tables, "inbox"] if inbox else tables:
                con.execute(f"DELETE FROM {table}")


def _seconds_since(iso: str) -> float:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - then).total_seconds()


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _storage_error(e: sqlite3.Error, path: Path) -> StorageError:
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return StorageError(
            f"the memory database is locked by another process ({path})",
            "close the other mirix process or try again in a moment",
        )
    if "readonly" in text or "read-only" in text:
        return StorageError(
            f"the memory database is read-only ({path})", "check the permissions of the data folder"
        )
    if "full" in text:
        return StorageError(
            "the disk holding the memory database is full", "free some space; nothing was written"
        )
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StorageError(
            f"{path} is not a readable mirix database ({e})",
            "restore it from data/backups or move it aside",
        )
    if "disk i/o error" in text:
        return StorageError(
            f"could not read or write the memory database ({path}): disk I/O error",
            "check that its disk is not full, read-only or failing; nothing was written",
        )
    if "unable to open" in text:
        return StorageError(
            f"cannot open {path}", "check that the data folder exists and is writable"
        )
    return StorageError(f"database error: {e}")
