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
    try:
        from mirix_app.ui.app import run
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("mirix_app.ui"):
            return _placeholder()
        raise
    return run(sys.argv)


def _placeholder() -> int:
    """Until the main window lands: a window that says what works today."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from mirix_app.paths import Paths

    app = QApplication.instance() or QApplication(sys.argv)
    box = QMessageBox()
    box.setWindowTitle("mirix")
    box.setText(
        "mirix-app: the memory core is ready; the window is on its way.\n\n"
        f"Your data folder: {Paths.default().data}\n"
        "Use the `mirix` command meanwhile (mirix --help)."
    )
    box.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
