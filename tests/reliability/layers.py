"""A check that needs a tool (strace, desktop-file-validate, Xvfb, tesseract, gnome-keyring) never
switches itself off in CI: with CI=true a missing tool fails the test; elsewhere it is a skip
that names what to install. `installers/bootstrap.sh test` installs all of them."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(what: str, hint: str) -> None:
    """This test's layer `what` is unavailable: fail under CI, skip elsewhere."""
    message = f"{what} is not available ({hint})"
    if in_ci():
        pytest.fail(f"CI=true: {message}; a missing layer is a failure, not a skip")
    pytest.skip(message)


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(name, f"apt-get install {package}, or run installers/bootstrap.sh test")
        raise AssertionError("unreachable")
    return path
