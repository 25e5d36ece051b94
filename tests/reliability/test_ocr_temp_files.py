"""OCR writes no file: the screen crop goes to tesseract on a pipe and its text comes back on one.
Traced with strace (every process, every open/creat/rename): no file is opened for writing, the
TMPDIR stays empty and no tess_* file appears in /tmp; the words are read all the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.reliability.layers import require_tool
from tests.reliability.sandbox import REPO

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    from mirix_app.capture.change import Box
    from mirix_app.capture.ocr import OcrEngine, assemble
    from mirix_app.capture.screen import Frame
    im = Image.new("RGB", (900, 120), "white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 22)
    ImageDraw.Draw(im).text((20, 20), "Card 4539 1488 0343 6467 exp 11/28", fill="black", font=font)
    ImageDraw.Draw(im).text((20, 70), "Quarterly plan for the Lisbon office", fill="black", font=font)
    bgra = np.dstack([np.asarray(im)[:, :, ::-1], np.full((120, 900), 255, np.uint8)]).copy()
    frame = Frame(1, 0, 0, bgra)
    words = OcrEngine().read(frame, [Box(0, 0, 450, 120), Box(450, 0, 900, 120)])
    print(assemble(words))
    """
)
_WRITE = re.compile(r"O_WRONLY|O_RDWR|O_CREAT")
_PATH = re.compile(r'"([^"]*)"')


TRACE = "trace=open,openat,creat,rename,renameat,renameat2,mkdir"


def traced(strace: str, trace: Path, script: str, env: dict[str, str]) -> Any:
    argv = [strace, "-f", "-qq", "-e", TRACE, "-o", str(trace), sys.executable, "-c", script]
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return r


def writes_in(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if (_WRITE.search(line) or re.search(r"\b(creat|rename\w*|mkdir)\(", line))
        and not any(p.startswith(("/dev/", "/proc/")) for p in _PATH.findall(line)[:1])
    ]


def test_control_pytesseract_writes_the_crop_to_tmpdir(tmp_path: Path) -> None:
    """Positive control: the trace sees pytesseract's temp files (what OCR used to do)."""
    strace = require_tool("strace", "strace")
    require_tool("tesseract", "tesseract-ocr tesseract-ocr-eng")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    trace = tmp_path / "trace.txt"
    script = SCRIPT.replace(
        "words = OcrEngine().read(frame, [Box(0, 0, 450, 120), Box(450, 0, 900, 120)])",
        "import pytesseract; words = []; print(pytesseract.image_to_string(im))",
    )
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    r = traced(strace, trace, script, env)
    assert "Lisbon" in r.stdout
    found = [w for w in writes_in(trace.read_text().splitlines()) if str(tmp) in w]
    assert any("tess_" in w for w in found), found


def test_ocr_opens_no_file_for_writing(tmp_path: Path) -> None:
    strace = require_tool("strace", "strace")
    require_tool("tesseract", "tesseract-ocr tesseract-ocr-eng")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    trace = tmp_path / "trace.txt"
    before = {p.name for p in Path("/tmp").glob("tess_*")}
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    r = traced(strace, trace, SCRIPT, env)
    assert "Lisbon" in r.stdout and "4539" in r.stdout, r.stdout  # the words were read
    lines = trace.read_text().splitlines()
    tesseract_ran = any("tessdata" in line for line in lines)
    writes = writes_in(lines)
    print(
        f"\nOCR traced: {len(lines)} file calls, {len(writes)} writes, tesseract ran: {tesseract_ran}"
    )
    assert tesseract_ran, "strace did not see tesseract start"
    assert writes == [], "\n".join(writes[:20])
    assert list(tmp.iterdir()) == []
    assert {p.name for p in Path("/tmp").glob("tess_*")} - before == set()
