"""OCR with tesseract on the changed boxes only; words keep their boxes and confidences.

The text of a monitor is the words carried over from its last kept frame (those outside every
changed box) plus the words read now inside the changed boxes. tesseract runs single-threaded
(OMP_THREAD_LIMIT=1): its OpenMP threads fight each other on small machines (3x slower). It reads
the image from a pipe and writes its text to one: no screen crop or OCR text is ever a file.
"""

from __future__ import annotations

import io
import logging
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mirix_app.capture.change import Box
from mirix_app.capture.errors import CaptureError, OcrUnavailable
from mirix_app.capture.screen import Frame

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install it with `apt-get install tesseract-ocr tesseract-ocr-eng` (Debian/Ubuntu), "
    "`brew install tesseract` (macOS) or the UB Mannheim installer (Windows), "
    "or set capture.tesseract_cmd to its path"
)

# Boxes are stacked into one image, this far apart, up to this height per tesseract run.
STACK_GAP = 24
STACK_MAX_HEIGHT = 4000


@dataclass
class Word:
    text: str
    conf: float
    box: Box

    @property
    def cx(self) -> float:
        return (self.box.x0 + self.box.x1) / 2

    @property
    def cy(self) -> float:
        return (self.box.y0 + self.box.y1) / 2


class OcrEngine:
    """tesseract as a child process, fed through its stdin and read from its stdout.

    No image or text ever touches a file: the crop of the screen is piped in as PNG and the TSV
    comes back on a pipe (pytesseract writes both to the system temp dir, and a kill during OCR
    left unredacted screen crops there). `faint` holds the words of the last `read` whose
    confidence was below `min_confidence`: they are not text, but their boxes are still blanked
    next to a hidden secret in a kept screenshot.
    """

    def __init__(
        self,
        *,
        languages: str = "eng",
        min_confidence: float = 5.0,
        timeout_seconds: float = 60.0,
        tesseract_cmd: str = "",
    ) -> None:
        self.languages = languages
        self.min_confidence = min_confidence
        self.timeout = timeout_seconds
        self.tesseract_cmd = tesseract_cmd
        self.faint: list[Word] = []

    def command(self) -> str:
        return self.tesseract_cmd or "tesseract"

    def _spawn(self, argv: list[str], data: bytes | None, timeout: float) -> Any:
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        try:
            return subprocess.run(
                argv, input=data, capture_output=True, timeout=timeout, env=env, check=False
            )
        except FileNotFoundError as e:
            raise OcrUnavailable(f"tesseract not found ({self.command()})", INSTALL_HINT) from e
        except subprocess.TimeoutExpired as e:  # run() has killed it
            raise CaptureError(
                f"OCR took longer than {timeout:.0f} s", "raise capture.ocr_timeout_seconds"
            ) from e
        except OSError as e:  # not executable, a directory...
            raise OcrUnavailable(
                f"tesseract cannot run ({self.command()}): {e.strerror or e}", INSTALL_HINT
            ) from e

    def version(self) -> str:
        """tesseract's version, or OcrUnavailable with what to install."""
        r = self._spawn([self.command(), "--version"], None, 30)
        out = (r.stdout or b"").decode(errors="replace") + (r.stderr or b"").decode(
            errors="replace"
        )
        m = re.search(r"tesseract\s+v?(\d+(?:\.\d+)*\S*)", out)
        if r.returncode != 0 or m is None:
            raise OcrUnavailable(
                f"tesseract cannot run ({self.command()}): status {r.returncode}", INSTALL_HINT
            )
        return m.group(1)

    def read(
        self, frame: Frame, boxes: Iterable[Box], cancelled: Callable[[], bool] = lambda: False
    ) -> list[Word]:
        """Words inside `boxes` (monitor pixel coordinates). The boxes are stacked into one image
        so tesseract starts once per frame (its start-up, ~0.2 s, dominates small regions)."""
        todo = [b for b in boxes if b.area > 0]
        words: list[Word] = []
        self.faint = []
        while todo and not cancelled():
            batch: list[Box] = []
            height = 0
            while todo and (not batch or height + todo[0].y1 - todo[0].y0 <= STACK_MAX_HEIGHT):
                b = todo.pop(0)
                batch.append(b)
                height += b.y1 - b.y0 + STACK_GAP
            words.extend(self._read_stack(frame, batch))
        return words

    def _read_stack(self, frame: Frame, boxes: list[Box]) -> list[Word]:
        from PIL import Image

        offsets: list[tuple[int, Box]] = []
        if len(boxes) == 1:
            b = boxes[0]
            image = frame.rgb_crop(b.x0, b.y0, b.x1, b.y1)
            offsets.append((0, b))
        else:
            width = max(b.x1 - b.x0 for b in boxes)
            height = sum(b.y1 - b.y0 for b in boxes) + STACK_GAP * (len(boxes) - 1)
            image = Image.new("RGB", (width, height), "white")
            y = 0
            for b in boxes:
                image.paste(frame.rgb_crop(b.x0, b.y0, b.x1, b.y1), (0, y))
                offsets.append((y, b))
                y += b.y1 - b.y0 + STACK_GAP
        data = self._run(image)

        def place(w: Word) -> Word | None:
            for y, b in reversed(offsets):
                if w.cy >= y:
                    dx, dy = b.x0, b.y0 - y
                    box = Box(w.box.x0 + dx, w.box.y0 + dy, w.box.x1 + dx, w.box.y1 + dy)
                    return Word(w.text, w.conf, box)
            return None

        out = [p for w in self._words(data, Box(0, 0, 0, 0)) if (p := place(w))]
        self.faint += [p for w in self._words(data, Box(0, 0, 0, 0), faint=True) if (p := place(w))]
        return out

    def _run(self, image: Any) -> dict[str, list[Any]]:
        buf = io.BytesIO()
        image.save(buf, "PNG", compress_level=1)
        return parse_tsv(self._tesseract(buf.getvalue()))

    def _tesseract(self, png: bytes) -> str:
        """tesseract's TSV for one PNG: image on stdin, text on stdout, nothing on disk."""
        argv = [self.command(), "stdin", "stdout", "-l", self.languages, "--psm", "3", "tsv"]
        r = self._spawn(argv, png, self.timeout)
        if r.returncode != 0:
            raise OcrUnavailable(
                f"tesseract failed (status {r.returncode})",
                f"check that the language data for '{self.languages}' is installed "
                "(e.g. apt-get install tesseract-ocr-eng)",
            )
        return str(r.stdout.decode("utf-8", errors="replace"))

    def _words(self, data: dict[str, list[Any]], box: Box, *, faint: bool = False) -> list[Word]:
        out = []
        for text, conf, x, y, w, h in zip(
            data["text"],
            data["conf"],
            data["left"],
            data["top"],
            data["width"],
            data["height"],
            strict=False,
        ):
            text = str(text).strip()
            try:
                c = float(conf)
            except (TypeError, ValueError):
                continue
            if not text or c < 0 or (c < self.min_confidence) != faint:
                continue
            out.append(Word(text, c, Box(box.x0 + x, box.y0 + y, box.x0 + x + w, box.y0 + y + h)))
        return out


TSV_COLUMNS = ("left", "top", "width", "height", "conf", "text")


def parse_tsv(tsv: str) -> dict[str, list[Any]]:
    """tesseract's TSV (level page block par line word left top width height conf text) as
    columns, as pytesseract's Output.DICT gives them."""
    out: dict[str, list[Any]] = {k: [] for k in TSV_COLUMNS}
    lines = tsv.splitlines()
    for line in lines[1:] if lines and lines[0].startswith("level") else lines:
        cols = line.split("\t", 11)
        if len(cols) < 12:
            continue
        try:
            left, top, width, height = (int(v) for v in cols[6:10])
        except ValueError:
            continue
        out["left"].append(left)
        out["top"].append(top)
        out["width"].append(width)
        out["height"].append(height)
        out["conf"].append(cols[10])
        out["text"].append(cols[11])
    return out


def carry_over(previous: list[Word], boxes: list[Box]) -> list[Word]:
    """The previous words that lie outside every re-read box."""
    return [w for w in previous if not any(b.contains_point(w.cx, w.cy) for b in boxes)]


def expand_to_words(boxes: list[Box], previous: list[Word]) -> list[Box]:
    """Grow each box to cover previous words it cuts, so no word is read half."""
    out = []
    for b in boxes:
        for w in previous:
            if b.intersects(w.box):
                b = b.union(w.box)
        out.append(b)
    return out


def assemble(words: list[Word]) -> str:
    """Words in reading order: lines by vertical centre, left to right within a line."""
    return assemble_spans(words)[0]


def assemble_spans(words: list[Word]) -> tuple[str, list[tuple[Word, int, int]]]:
    """`assemble`, plus where each word's text sits in it: (word, start, end)."""
    if not words:
        return "", []
    heights = [w.box.y1 - w.box.y0 for w in words]
    tol = max(4.0, statistics.median(heights) * 0.5)
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.cy, w.box.x0)):
        if lines and abs(lines[-1][-1].cy - w.cy) <= tol:
            lines[-1].append(w)
        else:
            lines.append([w])
    parts: list[str] = []
    spans: list[tuple[Word, int, int]] = []
    pos = 0
    for n, line in enumerate(lines):
        if n:
            parts.append("\n")
            pos += 1
        for k, w in enumerate(sorted(line, key=lambda w: w.box.x0)):
            if k:
                parts.append(" ")
                pos += 1
            parts.append(w.text)
            spans.append((w, pos, pos + len(w.text)))
            pos += len(w.text)
    return "".join(parts), spans


def mean_confidence(words: list[Word]) -> float | None:
    return round(statistics.fmean(w.conf for w in words), 1) if words else None


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 2)
