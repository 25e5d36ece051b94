"""Screen grabs with mss, kept as raw BGRA numpy arrays (no Pillow on the hot path)."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mirix_app.capture.errors import CaptureError, ScreenUnavailable

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """One monitor's pixels: `bgra` is (height, width, 4) uint8, writable, C-contiguous."""

    monitor: int  # 1-based, as mss numbers monitors
    left: int
    top: int
    bgra: np.ndarray

    @property
    def width(self) -> int:
        return int(self.bgra.shape[1])

    @property
    def height(self) -> int:
        return int(self.bgra.shape[0])

    @classmethod
    def from_bgra(
        cls,
        data: bytes | bytearray | memoryview,
        width: int,
        height: int,
        *,
        monitor: int = 1,
        left: int = 0,
        top: int = 0,
    ) -> Frame:
        """Wrap a raw BGRA buffer; a zero-size or short buffer is a clear error, not a crash."""
        if width <= 0 or height <= 0:
            raise CaptureError(f"screenshot of monitor {monitor} has no pixels ({width}x{height})")
        expected = width * height * 4
        if len(data) != expected:
            raise CaptureError(
                f"screenshot of monitor {monitor} is {len(data)} bytes, expected {expected} "
                f"for {width}x{height} BGRA",
                "the display may have changed size during the grab; the next capture retries",
            )
        buf = data if isinstance(data, bytearray) else bytearray(data)
        arr = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 4)
        return cls(monitor=monitor, left=left, top=top, bgra=arr)

    def rgb_crop(self, x0: int, y0: int, x1: int, y1: int) -> Any:
        """A Pillow RGB image of a region (for OCR and kept screenshots)."""
        from PIL import Image

        region = np.ascontiguousarray(self.bgra[y0:y1, x0:x1])
        h, w = region.shape[:2]
        return Image.frombuffer("RGB", (w, h), region.tobytes(), "raw", "BGRX", 0, 1)

    def copy(self) -> Frame:
        return Frame(self.monitor, self.left, self.top, self.bgra.copy())


class Grabber(Protocol):
    def grab_all(self) -> list[Frame]: ...

    def close(self) -> None: ...


class MssGrabber:
    """Grabs every monitor with `mss.MSS()`; one mss handle per thread (X connections are not
    shared between threads)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _mss(self) -> Any:
        sct = getattr(self._local, "sct", None)
        if sct is None:
            try:
                import mss
            except ImportError as e:  # pragma: no cover - mss is a dependency
                raise ScreenUnavailable("the mss package is missing", "pip install mss") from e
            try:
                sct = mss.MSS()
            except Exception as e:
                raise ScreenUnavailable(
                    f"cannot open the screen: {e}",
                    "run inside a desktop session (DISPLAY or WAYLAND_DISPLAY must be set)",
                ) from e
            self._local.sct = sct
            with self._lock:
                self._all.append(sct)
        return sct

    def grab_all(self) -> list[Frame]:
        sct = self._mss()
        frames = []
        try:
            monitors = sct.monitors[1:] or sct.monitors[:1]
            for i, mon in enumerate(monitors, start=1):
                shot = sct.grab(mon)
                w, h = shot.size
                frames.append(
                    Frame.from_bgra(shot.raw, w, h, monitor=i, left=mon["left"], top=mon["top"])
                )
        except CaptureError:
            raise
        except Exception as e:
            # The X connection may be gone (display restarted): reopen next time.
            self._local.sct = None
            raise ScreenUnavailable(f"screen grab failed: {e}") from e
        return frames

    def close(self) -> None:
        with self._lock:
            for sct in self._all:
                with contextlib.suppress(Exception):
                    sct.close()
            self._all.clear()
        self._local = threading.local()
