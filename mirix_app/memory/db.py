"""SQLite through SQLCipher: every page of memory.db (and its WAL) is AES-256 encrypted.

The `sqlcipher3-binary` wheel bundles SQLCipher 4 with FTS5 and JSON1, and keeps the sqlite3
DB-API, so the store code is unchanged apart from `PRAGMA key`. We pass a raw 256-bit key, so
opening costs no PBKDF2 round (the passphrase, if any, went through scrypt once already).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from sqlcipher3 import dbapi2 as sqlite

from mirix_app.paths import make_private_file

log = logging.getLogger(__name__)

Error = sqlite.Error
DatabaseError = sqlite.DatabaseError
Connection = Any  # sqlcipher3 ships no type stubs
PLAIN_HEADER = b"SQLite format 3\x00"


def _key_pragma(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("the database key must be 32 bytes")
    return f"x'{key.hex()}'"


def connect(path: Path | str, key: bytes, *, timeout: float = 5.0) -> Connection:
    con = sqlite.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    # SQLCipher logs decryption failures to stderr by itself; we report them as errors instead.
    con.execute("PRAGMA cipher_log_level = NONE")
    con.execute(f'PRAGMA key = "{_key_pragma(key)}"')
    return con


def is_plaintext(path: Path) -> bool:
    """True for a database written before encryption (or by stock SQLite)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == PLAIN_HEADER
    except FileNotFoundError:
        return False


def read_plain_meta(path: Path, key: str) -> str | None:
    con = sqlite.connect(str(path))
    try:
        row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None
    except sqlite.Error:
        return None
    finally:
        con.close()


def encrypt_plaintext(path: Path, key: bytes) -> None:
    """Rewrite a plain SQLite file as SQLCipher. Crash-safe: the plain file is replaced by a
    rename only once the encrypted copy is complete and synced."""
    tmp = path.with_name(path.name + ".encrypting")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    con = sqlite.connect(str(path), isolation_level=None)
    try:
        # Fold the plain WAL into the file first: a stale plain WAL beside an encrypted file
        # would be replayed into it.
        con.execute("PRAGMA journal_mode=DELETE")
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        con.execute(f'ATTACH DATABASE ? AS enc KEY "{_key_pragma(key)}"', (str(tmp),))
        con.execute("SELECT sqlcipher_export('enc')")
        con.execute(f"PRAGMA enc.user_version = {version}")
        con.execute("DETACH DATABASE enc")
    finally:
        con.close()
    make_private_file(tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
    log.info("encrypted %s", path.name)
