"""Memory rows and their sources: read, add (one or in bulk), update, replace."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from mirix_app.errors import InvalidInput, NotFound, StorageError
from mirix_app.memory.clock import new_id, now_iso
from mirix_app.memory.crypto import SecretBox
from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.packing import pack
from mirix_app.memory.store.cjk import has_cjk, index_text
from mirix_app.memory.store.connection import chunks
from mirix_app.memory.store.history import History
from mirix_app.memory.types import Memory, MemoryType, Source, validate_fields, validate_sources

CJK_INDEXED = "fts.cjk_pairs"  # meta key: the rows holding CJK text are indexed as pairs


def _fts_columns(m: Memory) -> tuple[str, str, str]:
    """What memory_fts indexes of a memory: head, body (CJK runs also as pairs) and tags."""
    return index_text(m.head_text()), index_text(m.body_text()), " ".join(m.tags)


class Records(History):
    """Rows of the memories table with their sources (vault values sealed on the way in)."""

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

    def index_cjk_once(self) -> int:
        """A store written before CJK runs were indexed as character pairs (cjk.index_text):
        its live rows holding CJK text are indexed again, once. Returns how many."""
        done = self.con.execute("SELECT 1 FROM meta WHERE key=?", (CJK_INDEXED,)).fetchone()
        if done:
            return 0
        rows = self.con.execute(  # read as a stream: a large store need not fit in memory
            f"SELECT seq, {self._COLS} FROM memories WHERE deleted_at IS NULL AND type != ?",
            (MemoryType.VAULT.value,),  # sealed values are never indexed from the row
        )
        redo = []
        for seq, *row in rows:
            m = self._row_to_memory(tuple(row))
            if has_cjk(m.head_text()) or has_cjk(m.body_text()):
                redo.append((*_fts_columns(m), seq))
        with self.write() as con:
            con.executemany("UPDATE memory_fts SET head=?, body=?, tags=? WHERE rowid=?", redo)
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", (CJK_INDEXED,))
        return len(redo)

    def _sources_for(self, ids: Sequence[str]) -> dict[str, list[Source]]:
        out: dict[str, list[Source]] = {i: [] for i in ids}
        for chunk in chunks(list(ids), 500):
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
        for chunk in chunks(list(ids), 500):
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

    def _row(self, m: Memory) -> tuple[Any, ...]:
        """The `memories` columns type .. origin of `m` (its fields as stored: vault values
        sealed, read back so `m` holds what the row holds)."""
        fields_json = json.dumps(self._store_fields(m), ensure_ascii=False, sort_keys=True)
        m.fields = json.loads(fields_json)
        return (
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

    def _write_row(self, con: sqlite3.Connection, m: Memory, *, new: bool) -> None:
        args = self._row(m)
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
                (seq, *_fts_columns(m)),
            )
        self.queue_vectors(
            con, [(m.id, m.type.value, "upsert" if m.deleted_at is None else "delete")]
        )

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
            rows.append((m.id, *self._row(m)))
            srcs += [
                (m.id, i, s.kind, s.ref, s.at, s.uri, s.app, s.window)
                for i, s in enumerate(m.sources)
            ]
            hist.append((m.id, "create", stamp, actor, None, pack(m.to_json())))
        ids = [r[0] for r in rows]
        if len(set(ids)) != len(ids):
            raise InvalidInput("the same memory id appears twice in one batch")
        for chunk in chunks(ids, 500):
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
        for chunk in chunks(ids, 500):
            seqs.update(
                con.execute(
                    f"SELECT id, seq FROM memories WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        con.executemany(
            "INSERT INTO memory_fts(rowid, head, body, tags) VALUES (?,?,?,?)",
            [(seqs[m.id], *_fts_columns(m)) for m in memories if m.deleted_at is None],
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
