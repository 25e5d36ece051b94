"""`mirix-app` with no display: a clear message (not Qt's "libxcb-cursor0 is needed" abort), exit 2;
the CLI keeps working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirix_app.__main__ import no_display_message

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland only")


def headless_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["MIRIX_HOME"] = str(home)
    return env


def test_mirix_app_without_a_display_says_so_and_exits_2(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mirix_app"],
        env=headless_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "no graphical display was found (DISPLAY and WAYLAND_DISPLAY are unset)" in r.stderr
    assert "needs a desktop session" in r.stderr and "mirix --help" in r.stderr
    assert "xcb" not in r.stderr.lower()
    # ... and the CLI works on the same machine.
    cli = subprocess.run(
        [sys.executable, "-m", "mirix_app.cli", "stats"],
        env=headless_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr


def test_display_or_a_chosen_qt_platform_is_left_to_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert no_display_message() is not None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert no_display_message() is not None  # xcb still needs an X display
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert no_display_message() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert no_display_message() is None
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", ":0")
    assert no_display_message() is None
