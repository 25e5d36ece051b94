"""Capture tests run on a real X server (Xvfb), with real Qt windows, mss and tesseract."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tools import require_tools

HERE = Path(__file__).parent
SCREEN = (1920, 1080)


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


def start_xvfb(
    width: int = SCREEN[0], height: int = SCREEN[1]
) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a free display; the screen saver is off so idle time never blanks it."""
    require_tools("Xvfb")
    for _ in range(5):
        n = _free_display()
        proc = subprocess.Popen(
            [
                "Xvfb",
                f":{n}",
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
                "-s",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError("Xvfb did not start")


@contextlib.contextmanager
def xvfb(*, set_display: bool = False) -> Iterator[str]:
    """A virtual X screen for the block; `set_display` points this process's DISPLAY at it."""
    proc, display = start_xvfb()
    old = os.environ.get("DISPLAY")
    if set_display:
        os.environ["DISPLAY"] = display
    try:
        yield display
    finally:
        if set_display:
            if old is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = old
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def xdisplay() -> Iterator[str]:
    with xvfb(set_display=True) as display:
        yield display


class QtWindows:
    """Client of qt_windows.py: real windows on the X display, drawn by Qt."""

    def __init__(self, display: str, app_name: str = "mirix-test") -> None:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "qt_windows.py"), app_name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line.strip() == "ok", f"window helper died ({self.proc.poll()})"

    def open(
        self,
        wid: str,
        title: str,
        lines: list[str],
        x: int = 100,
        y: int = 100,
        w: int = 800,
        h: int = 400,
        **style: Any,
    ) -> None:
        """`style`: optional keys of qt_windows.py's `open` (app, app_instance, font, font_px,
        line_px, bg, fg)."""
        self.send(cmd="open", id=wid, title=title, lines=lines, x=x, y=y, w=w, h=h, **style)

    def lines(self, wid: str, lines: list[str]) -> None:
        self.send(cmd="lines", id=wid, lines=lines)

    def append(self, wid: str, line: str) -> None:
        self.send(cmd="append", id=wid, line=line)

    def cursor(self, wid: str, on: bool) -> None:
        self.send(cmd="cursor", id=wid, on=on)

    def close_all(self) -> None:
        self.send(cmd="closeall")

    def __enter__(self) -> QtWindows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.quit()

    def quit(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def _qt_session(xdisplay: str) -> Iterator[QtWindows]:
    w = QtWindows(xdisplay)
    yield w
    w.quit()


@pytest.fixture
def qtwin(_qt_session: QtWindows) -> Iterator[QtWindows]:
    yield _qt_session
    _qt_session.close_all()


@pytest.fixture
def capture_settings() -> Any:
    from mirix_app.capture.settings import CaptureSettings

    return CaptureSettings(idle_after_seconds=0, on_focus_change=False)


@pytest.fixture
def capturer(core: Any, xdisplay: str, capture_settings: Any) -> Iterator[Any]:
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.windows import X11Adapter

    c = Capturer(core, capture_settings, adapter=X11Adapter())
    yield c
    c.close()
