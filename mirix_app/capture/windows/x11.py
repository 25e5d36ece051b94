"""X11 (python-xlib; tested on Xvfb): windows, focus changes, idle time and the screen lock."""

from __future__ import annotations

import contextlib
import logging
import os
import select
from collections.abc import Callable
from typing import Any

from mirix_app.capture.windows.base import (
    LOCKERS,
    OWN_WINDOWS,
    WindowInfo,
    url_from_title,
)
from mirix_app.runtime import Cancel, Loop

log = logging.getLogger(__name__)


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
