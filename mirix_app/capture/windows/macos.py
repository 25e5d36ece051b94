"""macOS: Quartz if importable; fails soft, a field left empty."""

from __future__ import annotations

import logging
from collections.abc import Callable

from mirix_app.capture.windows.base import (
    OWN_WINDOWS,
    WindowInfo,
    url_from_title,
)

log = logging.getLogger(__name__)


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
