"""Window context per OS behind one interface: active app/title/URL, visible windows, idle, lock.

The X11 adapter (python-xlib) is tested on Xvfb. The Windows and macOS adapters use only what the
OS ships (ctypes user32 / Quartz if importable) and fail soft: on any error a field is empty and
capture goes on. `NullAdapter` is used where nothing is known (e.g. Wayland without XWayland).

Our own windows (the main window, dialogs, the tray menu, the quick-search popup) are never
captured: every adapter marks a window `own` when its process id is ours (or one registered in
`OWN_WINDOWS`), its window class is one of ours ("mirix", or what the UI registers), or its handle
was registered by the UI; capture then treats it as it treats a password manager (blanked, never
the context of a capture). The class matters when capture runs in another process than the GUI
(`mirix capture`); the pid covers windows whose class we never set.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import select
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mirix_app.runtime import Cancel, Loop

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


class X11Adapter:
    """EWMH where a window manager provides it, plain X (focus, stacking, WM_CLASS) where not."""

    name = "x11"

    def __init__(self, display: str | None = None) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self._display_name = display or os.environ.get("DISPLAY")
        self.d: Any = xdisplay.Display(self._display_name)
        self.root = self.d.screen().root
        self._atoms: dict[str, int] = {}
        self._has_ss = self.d.has_extension("MIT-SCREEN-SAVER")

    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = self.d.intern_atom(name)
        return self._atoms[name]

    def _prop(self, win: Any, name: str) -> Any:
        try:
            p = win.get_full_property(self._atom(name), self._X.AnyPropertyType)
        except Exception as e:
            log.debug("X11: window property unreadable (%s)", type(e).__name__)
            return None
        return p.value if p is not None else None

    def _title(self, win: Any) -> str:
        v = self._prop(win, "_NET_WM_NAME")
        if v is None:
            v = self._prop(win, "WM_NAME")
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        return str(v) if v is not None else ""

    def _app(self, win: Any) -> tuple[str, int | None, tuple[str, ...]]:
        app = ""
        classes: tuple[str, ...] = ()
        try:
            cls = win.get_wm_class()
            if cls:
                app = cls[1] or cls[0]
                classes = tuple(c for c in cls if c)
        except Exception as e:
            log.debug("X11: window class unreadable (%s)", type(e).__name__)
        pid = None
        v = self._prop(win, "_NET_WM_PID")
        if v is not None and len(v):
            pid = int(v[0])
            if not app:
                try:
                    with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
                        app = f.read().strip()
                except OSError:
                    pass
        return app, pid, classes

    def _client(self, win: Any, depth: int = 0) -> Any:
        """The application window inside a WM frame (the one with WM_CLASS)."""
        try:
            if win.get_wm_class() is not None:
                return win
            if depth >= 3:
                return None
            for child in win.query_tree().children:
                c = self._client(child, depth + 1)
                if c is not None:
                    return c
        except Exception as e:
            log.debug("X11: window tree unreadable (%s)", type(e).__name__)
            return None
        return None

    def _info(self, frame: Any, client: Any) -> WindowInfo:
        geo = frame.get_geometry()
        pos = frame.translate_coords(self.root, 0, 0)
        app, pid, classes = self._app(client)
        title = self._title(client)
        return OWN_WINDOWS.mark(
            WindowInfo(
                app=app,
                title=title,
                x=-pos.x,
                y=-pos.y,
                width=geo.width,
                height=geo.height,
                pid=pid,
                url=url_from_title(title),
                handle=int(client.id),
                classes=classes,
            )
        )

    def visible(self) -> list[WindowInfo]:
        out = []
        try:
            children = self.root.query_tree().children
        except Exception as e:
            log.warning("x11: cannot list windows: %s", type(e).__name__)
            return []
        for top in children:
            try:
                if top.get_attributes().map_state != self._X.IsViewable:
                    continue
                client = self._client(top)
                if client is None:
                    continue
                out.append(self._info(top, client))
            except Exception as e:
                log.debug("X11: a window went away while listed (%s)", type(e).__name__)
                continue  # the window went away while we looked
        return out

    def active(self) -> WindowInfo | None:
        try:
            win = None
            v = self._prop(self.root, "_NET_ACTIVE_WINDOW")
            if v is not None and len(v) and v[0]:
                win = self.d.create_resource_object("window", int(v[0]))
            else:
                focus = self.d.get_input_focus().focus
                if not isinstance(focus, int) and focus.id not in (0, 1, self.root.id):
                    win = focus
            if win is None:
                # No WM and focus on the root (PointerRoot): the window under the pointer, else
                # the topmost one.
                child = self.root.query_pointer().child
                if child and not isinstance(child, int):
                    win = child
            if win is None:
                top = self.visible()
                return top[-1] if top else None
            top = self._toplevel(win)
            client = self._client(top) or win
            return self._info(top, client)
        except Exception as e:
            log.debug("x11: no active window: %s", type(e).__name__)
            return None

    def _toplevel(self, win: Any) -> Any:
        while True:
            tree = win.query_tree()
            if tree.parent == 0 or tree.parent.id == self.root.id:
                return win
            win = tree.parent

    def idle_seconds(self) -> float | None:
        if not self._has_ss:
            return None
        try:
            return float(self.root.screensaver_query_info().idle) / 1000.0
        except Exception as e:
            log.debug("X11: idle time unknown (%s)", type(e).__name__)
            return None

    def locked(self) -> bool | None:
        try:
            if self._has_ss and self.root.screensaver_query_info().state == 1:
                return True  # ScreenSaverOn: blanked or locked
            return any(LOCKERS.search(w.app) for w in self.visible()[-1:])
        except Exception as e:
            log.debug("X11: lock state unknown (%s)", type(e).__name__)
            return None

    def watch_focus(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """A thread on its own X connection listening for _NET_ACTIVE_WINDOW changes."""
        from Xlib import X
        from Xlib import display as xdisplay

        try:
            d = xdisplay.Display(self._display_name)
            root = d.screen().root
            atom = d.intern_atom("_NET_ACTIVE_WINDOW")
            root.change_attributes(event_mask=X.PropertyChangeMask)
            d.flush()
        except Exception as e:
            log.info("x11: focus changes not watched: %s", type(e).__name__)
            return None

        def watch(cancel: Cancel) -> None:
            try:
                while not cancel.cancelled:
                    ready, _, _ = select.select([d.fileno()], [], [], 0.5)
                    fired = False
                    while d.pending_events() if ready else False:
                        ev = d.next_event()
                        if ev.type == X.PropertyNotify and ev.atom == atom:
                            fired = True
                    if fired and not cancel.cancelled:
                        callback()
            except Exception as e:  # the display went away
                log.info("x11: focus watcher ended: %s", type(e).__name__)
            finally:
                with contextlib.suppress(Exception):
                    d.close()

        # A runtime Loop that runs `watch` once, until stopped (select wakes every 0.5 s).
        loop = Loop("mirix-focus-watch", watch)
        loop.start()

        def stop_watch() -> None:
            loop.stop(timeout=2)

        return stop_watch

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.d.close()


class _LastInput(ctypes.Structure):
    _fields_ = [("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint)]


class WindowsAdapter:
    """Win32 via ctypes: foreground window title, process name, rect, idle time."""

    name = "windows"

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self._ct = ctypes
        self._wt = wintypes
        self.user32 = ctypes.windll.user32  # type: ignore[attr-defined]
        self.kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]

    def _info(self, hwnd: int) -> WindowInfo:
        ct, wt = self._ct, self._wt
        n = self.user32.GetWindowTextLengthW(hwnd)
        buf = ct.create_unicode_buffer(n + 1)
        self.user32.GetWindowTextW(hwnd, buf, n + 1)
        rect = wt.RECT()
        self.user32.GetWindowRect(hwnd, ct.byref(rect))
        pid = wt.DWORD()
        self.user32.GetWindowThreadProcessId(hwnd, ct.byref(pid))
        app = ""
        h = self.kernel32.OpenProcess(0x1000, False, pid.value)  # QUERY_LIMITED_INFORMATION
        if h:
            size = wt.DWORD(1024)
            path = ct.create_unicode_buffer(1024)
            if self.kernel32.QueryFullProcessImageNameW(h, 0, path, ct.byref(size)):
                app = os.path.splitext(os.path.basename(path.value))[0]
            self.kernel32.CloseHandle(h)
        # The Win32 class (Qt's are generic, "Qt6...QWindowIcon", so they only count when the UI
        # registered them); the process image name ("mirix-app") is compared as a class too.
        cls = ct.create_unicode_buffer(256)
        classes = (cls.value,) if self.user32.GetClassNameW(hwnd, cls, 256) else ()
        return OWN_WINDOWS.mark(
            WindowInfo(
                app=app,
                title=buf.value,
                x=rect.left,
                y=rect.top,
                width=rect.right - rect.left,
                height=rect.bottom - rect.top,
                pid=pid.value,
                url=url_from_title(buf.value),
                handle=int(hwnd),
                classes=classes,
            )
        )

    def active(self) -> WindowInfo | None:
        try:
            hwnd = self.user32.GetForegroundWindow()
            return self._info(hwnd) if hwnd else None
        except Exception as e:
            log.debug("Windows: active window unknown (%s)", type(e).__name__)
            return None

    def visible(self) -> list[WindowInfo]:
        out: list[WindowInfo] = []
        try:
            proto = self._ct.WINFUNCTYPE(  # type: ignore[attr-defined]  # Windows only
                self._ct.c_bool, self._wt.HWND, self._wt.LPARAM
            )

            def each(hwnd: int, _: int) -> bool:
                if self.user32.IsWindowVisible(hwnd) and not self.user32.IsIconic(hwnd):
                    out.append(self._info(hwnd))
                return True

            self.user32.EnumWindows(proto(each), 0)
        except Exception as e:
            log.debug("Windows: window list unreadable (%s)", type(e).__name__)
            return []
        return list(reversed(out))  # EnumWindows goes top to bottom

    def idle_seconds(self) -> float | None:
        try:
            li = _LastInput()
            li.cbSize = self._ct.sizeof(li)
            if not self.user32.GetLastInputInfo(self._ct.byref(li)):
                return None
            return float((self.kernel32.GetTickCount() - li.dwTime) & 0xFFFFFFFF) / 1000.0
        except Exception as e:
            log.debug("Windows: idle time unknown (%s)", type(e).__name__)
            return None

    def locked(self) -> bool | None:
        try:
            return not bool(self.user32.OpenInputDesktop(0, False, 0x0100))
        except Exception as e:
            log.debug("Windows: lock state unknown (%s)", type(e).__name__)
            return None

    def watch_focus(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        return None

    def close(self) -> None:
        pass


class MacAdapter:
    """Quartz window list (needs pyobjc-framework-Quartz; without it, context stays empty)."""

    name = "macos"

    def __init__(self) -> None:
        import Quartz

        self.q = Quartz

    def visible(self) -> list[WindowInfo]:
        try:
            q = self.q
            wins = q.CGWindowListCopyWindowInfo(
                q.kCGWindowListOptionOnScreenOnly | q.kCGWindowListExcludeDesktopElements,
                q.kCGNullWindowID,
            )
            out = []
            for w in wins or []:
                if w.get("kCGWindowLayer", 0) != 0:
                    continue
                b = w.get("kCGWindowBounds", {})
                title = str(w.get("kCGWindowName", "") or "")
                owner = str(w.get("kCGWindowOwnerName", "") or "")
                # Quartz has no window class: the owning app's name stands for it.
                out.append(
                    OWN_WINDOWS.mark(
                        WindowInfo(
                            app=owner,
                            title=title,
                            x=int(b.get("X", 0)),
                            y=int(b.get("Y", 0)),
                            width=int(b.get("Width", 0)),
                            height=int(b.get("Height", 0)),
                            pid=int(w.get("kCGWindowOwnerPID", 0)),
                            url=url_from_title(title),
                            handle=int(w.get("kCGWindowNumber", 0)),
                            classes=(owner,) if owner else (),
                        )
                    )
                )
            return list(reversed(out))  # front to back -> bottom to top
        except Exception as e:
            log.debug("macOS: window list unreadable (%s)", type(e).__name__)
            return []

    def active(self) -> WindowInfo | None:
        wins = self.visible()
        return wins[-1] if wins else None

    def idle_seconds(self) -> float | None:
        try:
            q = self.q
            return float(
                q.CGEventSourceSecondsSinceLastEventType(
                    q.kCGEventSourceStateCombinedSessionState, q.kCGAnyInputEventType
                )
            )
        except Exception as e:
            log.debug("macOS: idle time unknown (%s)", type(e).__name__)
            return None

    def locked(self) -> bool | None:
        try:
            d = self.q.CGSessionCopyCurrentDictionary()
            return bool(d and d.get("CGSSessionScreenIsLocked", 0))
        except Exception as e:
            log.debug("macOS: lock state unknown (%s)", type(e).__name__)
            return None

    def watch_focus(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        return None

    def close(self) -> None:
        pass


def adapter_for_platform() -> WindowAdapter:
    """The adapter for this OS; NullAdapter (context empty) when it cannot start."""
    try:
        if sys.platform.startswith("win"):
            return WindowsAdapter()
        if sys.platform == "darwin":
            return MacAdapter()
        if os.environ.get("DISPLAY"):
            return X11Adapter()
    except Exception as e:
        log.warning("window context unavailable (%s); capturing without it", type(e).__name__)
    return NullAdapter()
