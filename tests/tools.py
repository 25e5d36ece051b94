"""What a test needs from the machine. The README's test command installs all of it, so a
missing tool or model package is a failure that names the fix, never a silent skip."""

from __future__ import annotations

import shutil
from typing import NoReturn

import pytest

FIX = "run ./installers/bootstrap.sh test, which installs it"


def unavailable(what: str, hint: str = FIX) -> NoReturn:
    pytest.fail(f"{what} is not available ({hint}); a missing layer is a failure, not a skip")


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        unavailable(
            " and ".join(missing),
            f"apt-get install {' '.join(t.lower() for t in missing)}, or {FIX}",
        )
