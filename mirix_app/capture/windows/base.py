"""What every window adapter shares: `WindowInfo`, our own windows (`OWN_WINDOWS`), the
`WindowAdapter` interface and `NullAdapter` (nothing known)."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


_URL = re.compile(
    r"\bhttps?://[^\s\"'<>]+|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|app|edu|gov)(?:/[^\s]*)?\b",
    re.I,
)
LOCKERS = re.compile(
    r"i3lock|xscreensaver|slock|light-locker|xsecurelock|gnome-screensaver|swaylock|kscreenlocker",
    re.I,
)


@dataclass
class WindowInfo:
    app: str = ""
    title: str = ""
    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0
    pid: int | None = None
    url: str | None = None
    handle: int = 0
    # The window class as the OS names it: X11 WM_CLASS (instance and class), the Win32 class
    # name, the macOS owner name. Used to recognise our own windows.
    classes: tuple[str, ...] = ()
    own: bool = False  # one of this app's windows: never captured (see OwnWindows)

    def rect(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


# Window classes of this app: Qt names every window of the GUI after the application name
# ("mirix"); a frozen build's executable is "mirix-app". Compared whole and case-insensitively,
# so "mirix-test" or "Mirix Notes" are not ours.
OWN_CLASSES = ("mirix", "mirix-app")


class OwnWindows:
    """Which windows are ours: by process id, window class and handle. Thread-safe; the UI
    registers its process, class and window handles (ui/app.py), capture asks `owns`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pids: set[int] = set()  # besides this process (compared live: a fork is itself)
        self.classes: set[str] = set(OWN_CLASSES)
        self.handles: set[int] = set()

    def register(
        self,
        *,
        pid: int | None = None,
        window_class: str | None = None,
        handles: Iterable[int] = (),
    ) -> None:
        with self._lock:
            if pid:
                self.pids.add(int(pid))
            if window_class and window_class.strip():
                self.classes.add(window_class.strip().lower())
            self.handles.update(int(h) for h in handles if h)

    def forget_handles(self, handles: Iterable[int]) -> None:
        with self._lock:
            self.handles.difference_update(int(h) for h in handles)

    def owns(self, w: WindowInfo) -> bool:
        with self._lock:
            if w.pid is not None and (w.pid == os.getpid() or w.pid in self.pids):
                return True
            if w.handle and w.handle in self.handles:
                return True
            names = [*w.classes, w.app]
            return any(n and n.strip().lower() in self.classes for n in names)

    def mark(self, w: WindowInfo) -> WindowInfo:
        w.own = w.own or self.owns(w)
        return w


OWN_WINDOWS = OwnWindows()


def is_own(w: WindowInfo) -> bool:
    """Whether capture must treat `w` as one of our windows (marked by the adapter, or matched
    now: a WindowInfo made elsewhere)."""
    return w.own or OWN_WINDOWS.owns(w)


def url_from_title(title: str) -> str | None:
    """Browsers do not expose their URL to other X clients; some titles carry it."""
    m = _URL.search(title or "")
    return m.group(0) if m else None


class WindowAdapter(Protocol):
    name: str

    def active(self) -> WindowInfo | None: ...

    def visible(self) -> list[WindowInfo]:
        """Visible top-level windows, bottom to top, in screen coordinates."""
        ...

    def idle_seconds(self) -> float | None: ...

    def locked(self) -> bool | None: ...

    def watch_focus(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call `callback` when the active window changes; returns a stop function, or None
        where the platform does not tell us."""
        ...

    def close(self) -> None: ...


class NullAdapter:
    name = "none"

    def active(self) -> WindowInfo | None:
        return None

    def visible(self) -> list[WindowInfo]:
        return []

    def idle_seconds(self) -> float | None:
        return None

    def locked(self) -> bool | None:
        return None

    def watch_focus(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        return None

    def close(self) -> None:
        pass
