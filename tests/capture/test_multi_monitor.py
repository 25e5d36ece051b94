"""Two monitors: one Xvfb framebuffer 3840x1080 with a two-monitor RandR 1.5 layout (xrandr
--setmonitor, as a desktop with two screens side by side reports it). Both monitors are captured,
each with its own text and screenshot, and an excluded window on the second monitor is blank in
its screenshot and absent from its text (the exclusion rules of capture/privacy.py, the window
list of capture/windows.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.capture.conftest import QtWindows, _free_display
from tests.reliability.layers import require_tool

WIDTH, HEIGHT = 1920, 1080
NO_TCP = ("-nolisten", "tcp", "-s", "0")  # no network listener, no screen saver
EXCLUDED = (WIDTH + 700, 500, 900, 300)  # x, y, w, h of the password manager, on monitor 2


@pytest.fixture(scope="module")
def two_monitors() -> Iterator[str]:
    require_tool("Xvfb", "xvfb")
    xrandr = require_tool("xrandr", "x11-xserver-utils")
    require_tool("tesseract", "tesseract-ocr tesseract-ocr-eng")
    n = _free_display()
    display = f":{n}"
    # -noreset: the monitor layout is server state, kept when the xrandr client disconnects.
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{2 * WIDTH}x{HEIGHT}x24", *NO_TCP, "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        for name, x, output in (("MIRIX-LEFT", 0, "screen"), ("MIRIX-RIGHT", WIDTH, "none")):
            geometry = f"{WIDTH}/508x{HEIGHT}/286+{x}+0"
            subprocess.run(
                [xrandr, "-d", display, "--setmonitor", name, geometry, output],
                check=True,
                capture_output=True,
                timeout=20,
            )
        listed = subprocess.run(
            [xrandr, "-d", display, "--listmonitors"], capture_output=True, text=True, timeout=20
        ).stdout
        assert "Monitors: 2" in listed, listed
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.xvfb
def test_both_monitors_captured_and_an_excluded_window_on_the_second_is_blank(
    two_monitors: str, core: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.screen import MssGrabber
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter

    monkeypatch.setenv("DISPLAY", two_monitors)
    settings = CaptureSettings(
        idle_after_seconds=0,
        on_focus_change=False,
        keep_screenshots=True,
        screenshot_max_width=WIDTH,  # full size, so pixels map 1:1
        screenshot_quality=90,
    )
    with QtWindows(two_monitors, app_name="notes") as win:
        win.open("left", "Left notes", ["Alpha briefing for the Lisbon team"], x=100, y=100)
        win.open("right", "Right notes", ["Bravo roadmap review on Thursday"], x=WIDTH + 100, y=100)
        x, y, w, h = EXCLUDED
        win.open(
            "vault",
            "Passwords.kdbx - KeePassXC",
            ["Zulu vault entry Marigold-Pelican-77"],
            x=x,
            y=y,
            w=w,
            h=h,
            app="KeePassXC",
        )
        grabber = MssGrabber()
        frames = grabber.grab_all()
        assert [(f.monitor, f.left, f.width) for f in frames] == [(1, 0, WIDTH), (2, WIDTH, WIDTH)]
        grabber.close()
        c = Capturer(core, settings, adapter=X11Adapter())
        try:
            results = c.capture()
        finally:
            c.close()
    kept = {r.monitor: r.item for r in results if r.kept and r.item is not None}
    assert set(kept) == {1, 2}, [(r.monitor, r.reason) for r in results]
    left, right = kept[1], kept[2]
    assert "Alpha" in left.text and "Bravo" not in left.text
    assert "Bravo" in right.text and "Alpha" not in right.text
    for item in (left, right):
        assert "Zulu" not in item.text and "Marigold" not in item.text
        assert "KeePassXC" not in (item.window or "")
    assert right.meta.get("excluded_windows") == 1 and "excluded_windows" not in left.meta
    assert c.screenshots is not None and left.image and right.image
    image = np.asarray(c.screenshots.load(right.image).convert("L"))
    assert image.shape == (HEIGHT, WIDTH)
    ex, ey = x - WIDTH, y
    inside = image[ey + 4 : ey + h - 4, ex + 4 : ex + w - 4]
    assert inside.max() <= 8, f"the excluded window is not blank (max {inside.max()})"
    # The rest of monitor 2 was kept: the normal window's white background is there.
    assert image[100 + 10 : 100 + 200, 100 + 10 : 100 + 700].mean() > 200
    left_image = np.asarray(c.screenshots.load(left.image).convert("L"))
    assert left_image[110:300, 110:800].mean() > 200  # monitor 1 has nothing blanked
    print(
        f"\nmonitors: {sorted(kept)} captured; excluded window on monitor 2 blank "
        f"(max grey {inside.max()}); words: {left.meta['words']} + {right.meta['words']}"
    )
