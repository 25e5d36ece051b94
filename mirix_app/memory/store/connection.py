"""Connections to memory.db: one per thread, SQLCipher key, IMMEDIATE writes, migrations, backup."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mirix_app.errors import MemoryClosed, StorageError
from mirix_app.memory import db, schema
from mirix_app.memory.clock import now_iso
from mirix_app.memory.crypto import SecretBox
from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.paths import make_private_dir, make_private_file

log = logging.getLogger(__name__)


class Connections:
    """One SQLite file; one connection per thread; every write in one IMMEDIATE transaction.
    The base of Store: the other parts (records, history, fts, outbox, meta) use `con`/`write`."""

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
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.closed = False  # after close() no connection is opened again (MemoryClosed)
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
            raise storage_error(e, self.path) from e
        for suffix in ("", "-wal", "-shm"):
            make_private_file(Path(str(self.path) + suffix))
        return con

    @property
    def con(self) -> sqlite3.Connection:
        if self.closed:
            raise MemoryClosed("the memory store is closed", "the app is quitting")
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
        self.closed = True  # first: a late thread gets MemoryClosed, not a closed connection
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
            raise storage_error(e, self.path) from e
        try:
            yield con
            con.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise storage_error(e, self.path) from e
            raise

    def _migrate(self) -> None:
        con = self.con
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise storage_error(e, self.path) from e
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
                raise storage_error(e, self.path) from e
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


def chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def storage_error(e: sqlite3.Error, path: Path) -> StorageError:
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
