"""A check that needs a tool (strace, desktop-file-validate, Xvfb, tesseract, gnome-keyring) never
switches itself off: a missing tool fails the test and names what to install.
`installers/bootstrap.sh test` installs all of them."""

from __future__ import annotations

import shutil

from tests.tools import unavailable


def missing(what: str, hint: str) -> None:
    unavailable(what, hint)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(name, f"apt-get install {package}, or run installers/bootstrap.sh test")
    assert path is not None
    return path
