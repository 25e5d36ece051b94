"""`mirix-app` / `python -m mirix_app`: start the desktop app."""

from __future__ import annotations

import os
import sys

NO_DISPLAY_EXIT = 2


def no_display_message() -> str | None:
    """Why the window cannot open here, or None. On Linux (and the BSDs) Qt needs an X11 or a
    Wayland display: without one it aborts with a misleading "libxcb-cursor0 is needed". A Qt
    platform chosen on purpose (QT_QPA_PLATFORM=offscreen, vnc, ...) is left to Qt."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform and platform not in ("xcb", "wayland", "wayland-egl"):
        return None
    return (
        "mirix-app: no graphical display was found (DISPLAY and WAYLAND_DISPLAY are unset).\n"
        "The window needs a desktop session: start mirix-app from one (or over ssh -X).\n"
        "The command line works without one: `mirix --help` (e.g. mirix search, mirix capture "
        "--once, mirix ask)."
    )


def main() -> int:
    message = no_display_message()
    if message is not None:
        print(message, file=sys.stderr)
        return NO_DISPLAY_EXIT
    from mirix_app.ui.app import run

    return run(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
