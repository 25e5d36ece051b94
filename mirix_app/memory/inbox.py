"""The inbox: a durable queue in memory.db of inputs waiting for the agent.

Capture appends (never waits for the model); the agent takes a batch, and marks items done inside
the same write that stores what it made of them (`MemoryCore.batch`), so a crash at any moment loses
nothing and duplicates nothing. Done items stay as the record the timeline shows and sources cite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import new_id, normalize_time, now_iso, parse_time, to_iso
from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.packing import pack, unpack
from mirix_app.memory.store import Store

KINDS = ("capture", "chat", "document")
_PREFIX = {"capture": "cap", "chat": "msg", "document": "doc"}


@dataclass
class InboxItem:
    kind: str
    text: str = ""
    at: str = ""
    id: str = ""
    app: str | None = None
    window: str | None = None
    url: str | None = None
    monitor: int | None = None
    image: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None


_COLS = "id, kind, at, text, app, window, url, monitor, image, meta, status, attempts, last_error"


def _row(r: tuple[Any, ...]) -> InboxItem:
    return InboxItem(
        id=r[0],
        kind=r[1],
        at=r[2],
        text=unpack(r[3]) or "",
        app=r[4],
        window=r[5],
        url=r[6],
        monitor=r[7],
        image=r[8],
        meta=json.loads(r[9]),
        status=r[10],
        attempts=r[11],
        last_error=r[12],
    )


class Inbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, item: InboxItem) -> InboxItem:
        with self.store.write() as con:
            return self.put_in(con, item)

    def put_in(self, con: sqlite3.Connection, item: InboxItem) -> InboxItem:
        """Append; an id seen before is not added twice (a retried capture is one capture)."""
        if item.kind not in KINDS:
            raise InvalidInput(f"inbox kind must be one of {', '.join(KINDS)}")
        item.id = item.id or new_id(_PREFIX[item.kind])
        item.at = normalize_time(item.at) if item.at else now_iso()
        con.execute(
            "INSERT INTO inbox(id, kind, at, text, app, window, url, monitor, image, meta) "
            "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING",
            (
                item.id,
                item.kind,
                item.at,
                pack(item.text),
                item.app,
                item.window,
                item.url,
                item.monitor,
                item.image,
                json.dumps(item.meta, ensure_ascii=False),
            ),
        )
        return item

    def take(self, limit: int = 20, kinds: tuple[str, ...] = KINDS) -> list[InboxItem]:
        """The oldest pending items that are due (failed ones wait for their next try)."""
        marks = ",".join("?" * len(kinds))
        rows = self.store.con.execute(
            f"SELECT {_COLS} FROM inbox WHERE status='pending' AND kind IN ({marks}) "
            "AND (next_try_at IS NULL OR next_try_at <= ?) ORDER BY seq LIMIT ?",
            (*kinds, now_iso(), limit),
        ).fetchall()
        return [_row(r) for r in rows]

    def get(self, item_id: str) -> InboxItem | None:
        r = self.store.con.execute(f"SELECT {_COLS} FROM inbox WHERE id=?", (item_id,)).fetchone()
        return _row(r) if r else None

    def done_in(
        self, con: sqlite3.Connection, ids: list[str], texts: dict[str, str] | None = None
    ) -> None:
        con.executemany(
            "UPDATE inbox SET status='done', done_at=? WHERE id=?", [(now_iso(), i) for i in ids]
        )
        if texts:
            con.executemany(
                "UPDATE inbox SET text=? WHERE id=?", [(pack(t), i) for i, t in texts.items()]
            )

    def retry_later(self, item_id: str, error: str, *, max_attempts: int = 5) -> None:
        """Count a failed attempt; back off exponentially; give up (status failed) at the cap."""
        with self.store.write() as con:
            row = con.execute("SELECT attempts FROM inbox WHERE id=?", (item_id,)).fetchone()
            if row is None:
                return
            attempts = row[0] + 1
            status = "failed" if attempts >= max_attempts else "pending"
            due = to_iso(parse_time(now_iso()) + timedelta(minutes=2**attempts))
            con.execute(
                "UPDATE inbox SET attempts=?, last_error=?, next_try_at=?, status=? WHERE id=?",
                (attempts, error[:500], due, status, item_id),
            )

    def backlog(self) -> int:
        return int(
            self.store.con.execute("SELECT count(*) FROM inbox WHERE status='pending'").fetchone()[
                0
            ]
        )

    def recent(
        self,
        limit: int = 50,
        kind: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[InboxItem]:
        clauses, args = ["1=1"], []
        if kind:
            clauses.append("kind=?")
            args.append(kind)
        if since:
            clauses.append("at >= ?")
            args.append(since)
        if until:
            clauses.append("at < ?")
            args.append(until)
        rows = self.store.con.execute(
            f"SELECT {_COLS} FROM inbox WHERE {' AND '.join(clauses)} ORDER BY at DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_row(r) for r in rows]

    def latest(self, kind: str, monitor: int | None = None) -> InboxItem | None:
        """The newest item of a kind (and monitor); capture uses it not to repeat itself after a
        restart."""
        if monitor is None:
            r = self.store.con.execute(
                f"SELECT {_COLS} FROM inbox WHERE kind=? ORDER BY seq DESC LIMIT 1", (kind,)
            ).fetchone()
        else:
            r = self.store.con.execute(
                f"SELECT {_COLS} FROM inbox WHERE kind=? AND monitor=? ORDER BY seq DESC LIMIT 1",
                (kind, monitor),
            ).fetchone()
        return _row(r) if r else None
