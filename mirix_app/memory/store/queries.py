"""Reads over many memories: browse, ids, times, counts, by source; Filters as SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.store.connection import chunks
from mirix_app.memory.store.records import Records
from mirix_app.memory.types import Filters, Memory, MemoryType


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


class Queries(Records):
    """Reads that select many memories by filters, tags or sources."""

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

    def times(self, ids: Sequence[str], filters: Filters | None = None) -> dict[str, str]:
        """ts of those ids that are live and pass the filters."""
        where, args = filter_sql(filters)
        out: dict[str, str] = {}
        for chunk in chunks(list(ids), 500):
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

    def tagged_ids(
        self,
        mtype: MemoryType,
        tag: str,
        *,
        limit: int = 20,
        by_time: bool = False,
        con: sqlite3.Connection | None = None,
    ) -> list[str]:
        """Live memories of `mtype` carrying `tag`: newest written first, or newest by time.
        With `con` (an open write), that write's own changes count."""
        order = "m.ts DESC, m.seq DESC" if by_time else "m.seq DESC"
        rows = (
            (con or self.con)
            .execute(
                "SELECT m.id FROM memories m WHERE m.deleted_at IS NULL AND m.type=? AND EXISTS "
                f"(SELECT 1 FROM json_each(m.tags) WHERE value=?) ORDER BY {order} LIMIT ?",
                (mtype.value, tag, limit),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def source_refs(self, kind: str) -> list[str]:
        """Distinct refs of the sources of that kind."""
        return [
            r[0]
            for r in self.con.execute("SELECT DISTINCT ref FROM sources WHERE kind = ?", (kind,))
        ]
