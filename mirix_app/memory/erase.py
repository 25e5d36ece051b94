"""Delete everything: every memory, its history, the inbox, the vectors, kept screenshots, backups,
logs and caches, and the data key in the OS keyring.

The database is not only emptied but removed, and a new one is made under a new key (the old
keyring entry is deleted): what the old key encrypted (a copy of memory.db, a screenshot, a backup)
cannot be read any more. The running app keeps working on the new, empty folder. Settings (the
user's choices, no content) stay; so does the runtime folder (the single-instance socket, the
pause file).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from mirix_app.memory.crypto import SecretBox
from mirix_app.memory.keys import KeyManager, derive

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

log = logging.getLogger(__name__)

KEEP_IN_CACHE = ("run",)  # runtime state of the running app, not data


def delete_everything(core: MemoryCore) -> None:
    paths = core.paths
    store = core.store
    store.wipe(inbox=True)  # secure_delete zeroes the pages before the file goes
    core.vectors.reset()
    for d in (paths.screenshots, paths.backups):
        shutil.rmtree(d, ignore_errors=True)
    # The database file goes; a new one is made under a new key.
    master = KeyManager(paths).renew()
    store.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(store.path) + suffix).unlink(missing_ok=True)
    if master is not None:
        store._key = derive(master, "database")
        # The same SecretBox object, re-keyed: the capturer seals screenshots with it.
        SecretBox.__init__(core.secrets, master)
    store._doc_count = (0, -1e9)
    store.closed = False  # the same store opens again, on the new file (close() had closed it)
    store._migrate()
    clear_logs(paths.logs)
    clear_dir(paths.cache, keep=KEEP_IN_CACHE)
    log.info("deleted everything")


def clear_logs(logs: Path) -> None:
    """Empty the current log (its handler keeps appending to it) and delete the rotated ones."""
    if not logs.is_dir():
        return
    for p in logs.iterdir():
        with contextlib.suppress(OSError):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.name.endswith(".log"):
                with p.open("r+b") as f:
                    f.truncate(0)
            else:
                p.unlink()


def clear_dir(root: Path, keep: tuple[str, ...] = ()) -> None:
    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.name in keep:
            continue
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
