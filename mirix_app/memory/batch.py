"""Batch: several writes in one transaction, handed out by `MemoryCore.batch()`."""

from __future__ import annotations

from typing import Any

from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.inbox import Inbox
from mirix_app.memory.store import Store
from mirix_app.memory.types import Memory, MemoryType


class Batch:
    """Several writes in one transaction (e.g. the memories made from inbox items + marking them
    done). Vectors are synced after the commit."""

    def __init__(self, store: Store, inbox: Inbox, con: sqlite3.Connection, actor: str) -> None:
        self.store, self.inbox, self.con, self.actor = store, inbox, con, actor

    def add(self, memory: Memory) -> Memory:
        return self.store.add_in(self.con, memory, actor=self.actor)

    def update(self, memory_id: str, **changes: Any) -> Memory:
        return self.store.update_in(self.con, memory_id, actor=self.actor, **changes)

    def trash(self, memory_id: str) -> Memory:
        return self.store.set_deleted_in(self.con, memory_id, True, actor=self.actor)

    def get(self, memory_id: str) -> Memory:
        return self.store.get_in(self.con, memory_id)

    def tagged(self, mtype: MemoryType, tag: str, limit: int = 20) -> list[Memory]:
        """Live memories of `mtype` carrying `tag`, newest first; writes made earlier in this
        batch count (extraction dedupes by a stable key kept as a tag)."""
        ids = self.store.tagged_ids(mtype, tag, limit=limit, con=self.con)
        return [self.get(i) for i in ids]

    def inbox_done(self, ids: list[str], texts: dict[str, str] | None = None) -> None:
        """Mark items done; `texts` replaces what an item keeps (e.g. a secret now in the vault,
        masked in the record of the message it came from)."""
        self.inbox.done_in(self.con, ids, texts)
