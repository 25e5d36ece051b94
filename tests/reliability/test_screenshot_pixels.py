"""Kept screenshots hold no secret as pixels: the boxes of redacted words are blanked before sealing.

A screen seeded with card numbers, API keys, passwords and a private key is captured with
screenshots on (`mirix capture --once --screenshots`); each kept screenshot is decrypted with
`mirix capture --export-image`, read by the real tesseract, and none of the seeded secrets (nor any
10-character piece of one) is in what it reads, while the ordinary text around them is. A control
captures the same screen with the blanking switched off and finds the secrets in the pixels, so
the test can see what it looks for.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.capture.conftest import QtWindows, xvfb
from tests.reliability.layers import require_tool
from tests.reliability.sandbox import App
from tests.reliability.test_secrets_scan import (
    ALL_SEEDS,
    CONTEXT,
    PEM,
    PEM_SEEDS,
    SEEDS,
    TITLE,
    screen_lines,
)

FRAGMENT = 10
SCREEN_SEEDS = [*SEEDS, *PEM_SEEDS]  # what is drawn as pixels (the title is not: no WM here)


@pytest.fixture(scope="module")
def seeded_screen() -> Iterator[str]:
    require_tool("Xvfb", "xvfb")
    require_tool("tesseract", "tesseract-ocr tesseract-ocr-eng")
    with xvfb() as display, QtWindows(display, app_name="editor") as win:
        win.open("notes", "billing.txt - Editor", screen_lines(), x=20, y=20, w=1850, h=500)
        win.open("pem", TITLE, PEM, x=20, y=560, w=1850, h=160)
        yield display


def ocr_image(image: Any) -> str:
    """What tesseract reads in a kept screenshot, upscaled back to screen size (kept images are
    downscaled to 1280 px wide), through stdin/stdout."""
    from PIL import Image

    scale = 1920 / image.width
    big = image.convert("RGB").resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC
    )
    buf = io.BytesIO()
    big.save(buf, "PNG")
    r = subprocess.run(
        ["tesseract", "stdin", "stdout", "--psm", "3"],
        input=buf.getvalue(),
        capture_output=True,
        timeout=120,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.decode(errors="replace")


def leaked(text: str) -> list[str]:
    """Seeds (or 10-char pieces of them) in `text`, also with OCR's inserted spaces removed."""
    flat = re.sub(r"\s+", "", text)
    digits = re.sub(r"\D", "", text)
    found = []
    for s in SCREEN_SEEDS:
        value = re.sub(r"\D", "", s.secret) if s.card else s.secret
        hay = digits if s.card else f"{text}\n{flat}"
        for i in range(max(1, len(value) - FRAGMENT + 1)):
            piece = value[i : i + FRAGMENT]
            if piece in hay:
                found.append(f"{s.kind}: {piece!r}")
                break
    return found


@pytest.mark.slow
@pytest.mark.xvfb
def test_kept_screenshots_show_no_seeded_secret(tmp_path: Path, seeded_screen: str) -> None:
    home = tmp_path / "home"
    app = App(home, env_extra={"DISPLAY": seeded_screen, "TMPDIR": str(tmp_path / "tmp")})
    (tmp_path / "tmp").mkdir()
    out = app.mirix("capture", "--once", "--screenshots", "--json").stdout
    kept = [json.loads(line) for line in out.splitlines()]
    assert kept and all(k["image"] for k in kept), out
    assert all(k["meta"].get("blanked_boxes", 0) > 0 for k in kept), [k["meta"] for k in kept]
    from PIL import Image

    hits: list[str] = []
    read = []
    for k in kept:
        png = tmp_path / f"{k['id']}.png"
        r = app.mirix("capture", "--export-image", k["id"], str(png))
        assert f"wrote {png}" in r.stdout
        assert png.stat().st_mode & 0o777 == 0o600  # a decrypted copy is private
        with Image.open(png) as im:
            text = ocr_image(im)
        read.append(text)
        hits += [f"{k['id']}: {h}" for h in leaked(text)]
    seen = "\n".join(read)
    print(
        f"\npixels: {len(kept)} kept screenshot(s), {len(SCREEN_SEEDS)} seeded secrets, "
        f"{sum(k['meta']['blanked_boxes'] for k in kept)} box(es) blanked; "
        f"secrets found by OCR of the kept screenshots: {len(hits)}"
    )
    # The image is readable (the context around the secrets is there), and no secret is.
    assert "ACME" in seen and "renewal" in seen, seen
    assert hits == [], "\n".join(hits) + "\n--- OCR of the kept screenshots:\n" + seen


@pytest.mark.slow
@pytest.mark.xvfb
def test_control_unblanked_screenshot_shows_the_secrets(
    core: Any, seeded_screen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the blanking switched off, OCR of the kept screenshot finds the seeded secrets: the
    test above can see pixels."""
    import mirix_app.capture.capturer as capturer_mod
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter

    monkeypatch.setenv("DISPLAY", seeded_screen)
    monkeypatch.setattr(capturer_mod, "secret_boxes", lambda *a, **k: [])
    settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False, keep_screenshots=True)
    c = Capturer(core, settings, adapter=X11Adapter())
    try:
        kept = [r for r in c.capture() if r.kept]
    finally:
        c.close()
    assert kept and c.screenshots is not None
    text = "\n".join(ocr_image(c.screenshots.load(r.item.image)) for r in kept if r.item)
    found = leaked(text)
    print(f"\ncontrol (no blanking): {len(found)} of {len(SCREEN_SEEDS)} seeds read from pixels")
    assert CONTEXT.split()[0] in text
    assert len(found) >= len(SCREEN_SEEDS) // 2, (found, text)
    assert {s.kind for s in ALL_SEEDS}  # the seeds are the secrets scan's own


def test_export_image_says_what_is_wrong(tmp_path: Path) -> None:
    """An unknown id, or a capture kept without its screenshot: a clear error, no file."""
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.paths import Paths

    home = tmp_path / "home"
    core = MemoryCore.open(Paths.under(home))
    item = InboxItem(kind="capture", text="a screen", monitor=1)
    core.inbox.put(item)
    core.close()
    app = App(home)
    out = tmp_path / "x.png"
    for cap, message in (
        ("cap_NOPE", "no capture 'cap_NOPE'"),
        (item.id, "has no kept screenshot"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "mirix_app.cli", "capture", "--export-image", cap, str(out)],
            env=app.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 1 and message in r.stderr, r.stderr
        assert not out.exists()
