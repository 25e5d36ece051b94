"""History of every change (one entry per agent burst), trash, restore, undo and purge."""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from mirix_app.errors import NotFound
from mirix_app.memory.clock import now_iso
from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.packing import pack, unpack
from mirix_app.memory.store.outbox import Outbox
from mirix_app.memory.types import HistoryEntry, Memory

HISTORY_BURST_SECONDS = 30 * 60


class History(Outbox):
    """Every change as a history entry (before/after), and the moves that use it."""

    # Row primitives that Records (records.py, built on this class) implements.
    @abc.abstractmethod
    def get_in(self, con: sqlite3.Connection, memory_id: str) -> Memory: ...

    @abc.abstractmethod
    def _write_row(self, con: sqlite3.Connection, m: Memory, *, new: bool) -> None: ...

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


def _seconds_since(iso: str) -> float:
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - then).total_seconds()
