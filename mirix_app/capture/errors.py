"""Capture errors the user can act on, and what a failed write means for the user."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from mirix_app.errors import MirixError, StorageError


class CaptureError(MirixError):
    """A capture step failed (screen grab, image, storage); the service keeps running."""


class ScreenUnavailable(CaptureError):
    """No screen to grab: no display, or the grab returned nothing usable."""


class OcrUnavailable(CaptureError):
    """tesseract is missing or cannot run."""


class ScreenshotUnreadable(CaptureError):
    """A kept screenshot is empty, corrupt or cannot be decrypted."""


FULL = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def disk_full(data_dir: Path) -> StorageError:
    return StorageError(
        f"the disk holding the data folder is full ({data_dir})", "free some space on that disk"
    )


def read_only(data_dir: Path) -> StorageError:
    return StorageError(
        f"the data folder is read-only or not writable ({data_dir})",
        "make it writable again: check the disk, how it is mounted, and the folder's owner "
        "and permissions",
    )


def probe_write(data_dir: Path) -> int | None:
    """Write and remove a small file in the data folder: None if that works, else the errno.

    SQLite reports a read-only or full disk under an open connection as a bare "disk I/O
    error"; trying a real write tells the user which it is."""
    path = data_dir / f".write-probe-{os.getpid()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        return e.errno
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    return None


def storage_fault(error: BaseException, data_dir: Path) -> MirixError:
    """The clear, user-facing error for a failed capture write (or database read)."""
    code = error.errno if isinstance(error, OSError) else None
    if code not in FULL + READ_ONLY:
        code = probe_write(data_dir)
    if code in FULL:
        return disk_full(data_dir)
    if code in READ_ONLY:
        return read_only(data_dir)
    if isinstance(error, MirixError):
        return error  # e.g. "the memory database is locked by another process"
    if isinstance(error, OSError):
        return StorageError(
            f"cannot write to the data folder ({data_dir}): {error.strerror or error}",
            "check the disk holding it",
        )
    return StorageError(f"database error: {type(error).__name__}: {error}", "see the log file")
