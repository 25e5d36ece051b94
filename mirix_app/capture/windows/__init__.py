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

import logging
import os
import sys

from mirix_app.capture.windows.base import (
    LOCKERS,
    OWN_CLASSES,
    OWN_WINDOWS,
    NullAdapter,
    OwnWindows,
    WindowAdapter,
    WindowInfo,
    is_own,
    url_from_title,
)
from mirix_app.capture.windows.macos import MacAdapter
from mirix_app.capture.windows.win32 import WindowsAdapter
from mirix_app.capture.windows.x11 import X11Adapter

log = logging.getLogger(__name__)

__all__ = [
    "LOCKERS",
    "OWN_CLASSES",
    "OWN_WINDOWS",
    "MacAdapter",
    "NullAdapter",
    "OwnWindows",
    "WindowAdapter",
    "WindowInfo",
    "WindowsAdapter",
    "X11Adapter",
    "adapter_for_platform",
    "is_own",
    "url_from_title",
]


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
