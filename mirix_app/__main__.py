"""`mirix-app` / `python -m mirix_app`: start the desktop app."""

from __future__ import annotations

import sys


def main() -> int:
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
