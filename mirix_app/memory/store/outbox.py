"""The vector outbox: changes queued for Chroma in the same transaction as the rows they follow."""

from __future__ import annotations

from collections.abc import Sequence

from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.store.connection import Connections
from mirix_app.memory.types import MemoryType


class Outbox(Connections):
    """Queued (id, type, op) changes that MemoryCore.sync_vectors applies to Chroma."""

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
