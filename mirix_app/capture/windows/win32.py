"""Windows: only what the OS ships (ctypes user32); fails soft, a field left empty."""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable

from mirix_app.capture.windows.base import (
    OWN_WINDOWS,
    WindowInfo,
    url_from_title,
)

log = logging.getLogger(__name__)


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
