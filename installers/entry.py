"""Entry point of the frozen bundle: one analysis, two executables.

The bundle holds `mirix` (console) and `mirix-app` (windowed), both built from this script; which
one runs is decided by the name of the executable (sys.executable in a PyInstaller bundle).
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _program_name() -> str:
    name = os.path.basename(sys.executable if getattr(sys, "frozen", False) else sys.argv[0])
    return name.lower().removesuffix(".exe")


def main() -> int:
    if _program_name() in ("mirix-app", "mirix_app"):
        from mirix_app.__main__ import main as gui_main

        return gui_main()
    from mirix_app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not start the app again
    sys.exit(main())
