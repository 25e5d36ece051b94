"""Kept screenshots: downscaled, WebP/JPEG, encrypted with the data key, under a retention period
and a storage budget (oldest deleted first). Files are 0600 in a 0700 folder.

Names start with the capture time (`20240131T235959Z_cap_<id>.webp.mxe`), so the oldest sort
first. A capture's inbox row keeps the relative path even after the file is gone: memories
outlive the screenshots they came from.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mirix_app.capture.errors import ScreenshotUnreadable, storage_fault
from mirix_app.capture.screen import Frame
from mirix_app.paths import make_private_dir

log = logging.getLogger(__name__)

SUFFIX = ".mxe"
# What `encode` writes (PNG: files from older versions); nothing else is decoded.
READ_FORMATS = ("WEBP", "JPEG", "PNG")
# 16K x 4K: far over any kept screenshot (they are downscaled to `max_width`).
MAX_PIXELS = 64_000_000
_NAME = re.compile(r"^(\d{8}T\d{6}Z)_")


class Sealer(Protocol):
    def seal_bytes(self, data: bytes) -> bytes: ...

    def open_bytes(self, blob: bytes) -> bytes: ...


@dataclass
class Kept:
    path: Path
    size: int
    at: float  # epoch seconds


class ScreenshotStore:
    def __init__(
        self,
        root: Path,
        data_dir: Path,
        sealer: Sealer,
        *,
        fmt: str = "webp",
        quality: int = 50,
        max_width: int = 1280,
        retention_days: float = 30.0,
        budget_bytes: int = 1024 * 1024 * 1024,
    ) -> None:
        self.root = root
        self.data_dir = data_dir
        self.sealer = sealer
        self.fmt = fmt
        self.quality = quality
        self.max_width = max_width
        self.retention_s = retention_days * 86400.0
        self.budget = budget_bytes
        self._files: list[Kept] | None = None
        self.bytes_written = 0

    # -- writing ----------------------------------------------------------------------------------
    def encode(self, frame: Frame) -> bytes:
        image = frame.rgb_crop(0, 0, frame.width, frame.height)
        if image.width > self.max_width:
            h = max(1, round(image.height * self.max_width / image.width))
            from PIL import Image

            image = image.resize((self.max_width, h), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        if self.fmt == "webp":
            image.save(out, "WEBP", quality=self.quality, method=0)
        else:
            image.save(out, "JPEG", quality=self.quality, optimize=False)
        return out.getvalue()

    def seal(self, frame: Frame) -> bytes:
        """The encoded, encrypted image, ready to write (no disk access)."""
        return self.sealer.seal_bytes(self.encode(frame))

    def save(self, frame: Frame, capture_id: str, at: float | None = None) -> str:
        """Encrypt and write atomically; returns the path relative to the data dir."""
        return self.write(self.seal(frame), capture_id, at)

    def write(self, blob: bytes, capture_id: str, at: float | None = None) -> str:
        """Write a sealed image atomically; a full or read-only disk raises a StorageError with
        what to do, and leaves no partial file behind."""
        at = time.time() if at is None else at
        files = self._list()  # scan before writing, so the new file is not listed twice
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")
        ext = "webp" if self.fmt == "webp" else "jpg"
        tmp: Path | None = None
        try:
            day = make_private_dir(self.root / stamp[:8])
            path = day / f"{stamp}_{capture_id}.{ext}{SUFFIX}"
            tmp = path.with_name(path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as e:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise storage_fault(e, self.data_dir) from e
        self.bytes_written += len(blob)
        if not any(k.path == path for k in files):
            files.append(Kept(path, len(blob), at))
        return path.relative_to(self.data_dir).as_posix()

    # -- reading ----------------------------------------------------------------------------------
    def load(self, ref: str) -> Any:
        """The Pillow image of a kept screenshot; ScreenshotUnreadable when it is gone or bad."""
        from PIL import Image, UnidentifiedImageError

        from mirix_app.errors import MirixError

        path = self.data_dir / ref
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise ScreenshotUnreadable(
                f"screenshot {ref} is no longer kept", "it was removed by retention or budget"
            ) from None
        except (OSError, ValueError) as e:  # a folder, no permission, a NUL in the name
            reason = getattr(e, "strerror", None) or "not a file name"
            raise ScreenshotUnreadable(f"screenshot {ref} cannot be read: {reason}") from None
        if not blob:
            raise ScreenshotUnreadable(f"screenshot {ref} is empty (0 bytes)")
        try:
            data = self.sealer.open_bytes(blob)
        except MirixError as e:
            raise ScreenshotUnreadable(f"screenshot {ref} cannot be decrypted: {e.message}") from e
        except ValueError:  # too short to hold a nonce: a truncated file
            raise ScreenshotUnreadable(
                f"screenshot {ref} cannot be decrypted: the file is truncated"
            ) from None
        # Only the formats this store writes are read (Pillow would try dozens on any bytes), and
        # the size is checked before the pixels are decoded, so a damaged header claiming
        # gigapixels costs nothing.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data), formats=READ_FORMATS)
                if image.width * image.height > MAX_PIXELS:
                    raise ScreenshotUnreadable(
                        f"screenshot {ref} is corrupt: it claims {image.width}x{image.height} "
                        "pixels"
                    )
                image.load()
        except ScreenshotUnreadable:
            raise
        except UnidentifiedImageError:
            raise ScreenshotUnreadable(
                f"screenshot {ref} is corrupt: not a WebP or JPEG image"
            ) from None
        except Exception as e:  # Pillow raises many types on damaged data (OSError, SyntaxError,
            # struct.error, EOFError, DecompressionBombError...): all mean the same here
            reason = str(e).split("\n")[0][:120] or type(e).__name__
            raise ScreenshotUnreadable(f"screenshot {ref} is corrupt: {reason}") from e
        return image

    # -- retention --------------------------------------------------------------------------------
    def _list(self) -> list[Kept]:
        if self._files is None:
            files = []
            if self.root.exists():
                for p in self.root.rglob(f"*{SUFFIX}"):
                    try:
                        st = p.stat()
                    except FileNotFoundError:
                        continue
                    files.append(Kept(p, st.st_size, _time_of(p, st.st_mtime)))
            files.sort(key=lambda k: (k.at, k.path.name))
            self._files = files
        return self._files

    def usage(self) -> int:
        return sum(k.size for k in self._list())

    def enforce(self, now: float | None = None, *, rescan: bool = False) -> int:
        """Delete files past retention, then the oldest until under budget. Returns how many."""
        if rescan:
            self._files = None
        files = self._list()
        now = time.time() if now is None else now
        files.sort(key=lambda k: (k.at, k.path.name))
        total = sum(k.size for k in files)
        removed = 0
        while files and (now - files[0].at > self.retention_s or total > self.budget):
            k = files.pop(0)
            total -= k.size
            try:
                k.path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as e:  # a read-only disk: keep capturing, delete later
                log.warning("screenshots: cannot delete an old file: %s", e.strerror)
                self._files = None
                break
        if removed:
            log.info("screenshots: removed %d old file(s), %d bytes kept", removed, total)
        return removed

    def remove_orphans(self, is_known: Callable[[str], bool]) -> int:
        """Delete temp files, and files whose capture never reached the queue (a crash between
        the image write and the queue write)."""
        removed = 0
        if not self.root.exists():
            return 0
        for p in self.root.rglob("*.tmp"):
            p.unlink(missing_ok=True)
            removed += 1
        files = self._list()
        for k in list(files):
            cap = _capture_id(k.path)
            if cap is not None and not is_known(cap):
                k.path.unlink(missing_ok=True)
                files.remove(k)
                removed += 1
        return removed


def _time_of(path: Path, fallback: float) -> float:
    m = _NAME.match(path.name)
    if m:
        try:
            return datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    return fallback


def _capture_id(path: Path) -> str | None:
    m = re.match(r"^\d{8}T\d{6}Z_(cap_[0-9A-Z]+)\.", path.name)
    return m.group(1) if m else None
