"""OCR with tesseract on the changed boxes only; words keep their boxes and confidences.

The text of a monitor is the words carried over from its last kept frame (those outside every
changed box) plus the words read now inside the changed boxes. tesseract runs single-threaded
(OMP_THREAD_LIMIT=1): its OpenMP threads fight each other on small machines (3x slower).
"""

from __future__ import annotations

import logging
import os
import statistics
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
    def __init__(
        self,
        *,
        languages: str = "eng",
        min_confidence: float = 30.0,
        timeout_seconds: float = 60.0,
        tesseract_cmd: str = "",
    ) -> None:
        self.languages = languages
        self.min_confidence = min_confidence
        self.timeout = timeout_seconds
        self.tesseract_cmd = tesseract_cmd

    def _pytesseract(self) -> Any:
        os.environ["OMP_THREAD_LIMIT"] = "1"
        try:
            import pytesseract
        except ImportError as e:  # pragma: no cover - a dependency
            raise OcrUnavailable(
                "the pytesseract package is missing", "pip install pytesseract"
            ) from e
        if self.tesseract_cmd:
            pytesseract.pytesseract.tesseract_cmd = self.tesseract_cmd
        return pytesseract

    def version(self) -> str:
        """tesseract's version, or OcrUnavailable with what to install."""
        pt = self._pytesseract()
        try:
            return str(pt.get_tesseract_version())
        except pt.TesseractNotFoundError as e:
            raise OcrUnavailable(f"tesseract not found ({_cmd(pt)})", INSTALL_HINT) from e
        except (OSError, pt.TesseractError) as e:
            raise OcrUnavailable(f"tesseract cannot run ({_cmd(pt)}): {e}", INSTALL_HINT) from e

    def read(
        self, frame: Frame, boxes: Iterable[Box], cancelled: Callable[[], bool] = lambda: False
    ) -> list[Word]:
        """Words inside `boxes` (monitor pixel coordinates). The boxes are stacked into one image
        so tesseract starts once per frame (its start-up, ~0.2 s, dominates small regions)."""
        pt = self._pytesseract()
        todo = [b for b in boxes if b.area > 0]
        words: list[Word] = []
        while todo and not cancelled():
            batch: list[Box] = []
            height = 0
            while todo and (not batch or height + todo[0].y1 - todo[0].y0 <= STACK_MAX_HEIGHT):
                b = todo.pop(0)
                batch.append(b)
                height += b.y1 - b.y0 + STACK_GAP
            words.extend(self._read_stack(pt, frame, batch))
        return words

    def _read_stack(self, pt: Any, frame: Frame, boxes: list[Box]) -> list[Word]:
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
        out = []
        for w in self._words(self._run(pt, image), Box(0, 0, 0, 0)):
            for y, b in reversed(offsets):
                if w.cy >= y:
                    dx, dy = b.x0, b.y0 - y
                    box = Box(w.box.x0 + dx, w.box.y0 + dy, w.box.x1 + dx, w.box.y1 + dy)
                    out.append(Word(w.text, w.conf, box))
                    break
        return out

    def _run(self, pt: Any, image: Any) -> dict[str, list[Any]]:
        try:
            data: dict[str, list[Any]] = pt.image_to_data(
                image,
                lang=self.languages,
                config="--psm 3",
                output_type=pt.Output.DICT,
                timeout=self.timeout,
            )
            return data
        except pt.TesseractNotFoundError as e:
            raise OcrUnavailable(f"tesseract not found ({_cmd(pt)})", INSTALL_HINT) from e
        except pt.TesseractError as e:
            raise OcrUnavailable(
                f"tesseract failed (status {e.status})",
                f"check that the language data for '{self.languages}' is installed "
                "(e.g. apt-get install tesseract-ocr-eng)",
            ) from e
        except RuntimeError as e:  # pytesseract's timeout
            raise CaptureError(
                f"OCR took longer than {self.timeout:.0f} s", "raise capture.ocr_timeout_seconds"
            ) from e
        except OSError as e:
            raise OcrUnavailable(f"tesseract cannot run ({_cmd(pt)}): {e}", INSTALL_HINT) from e

    def _words(self, data: dict[str, list[Any]], box: Box) -> list[Word]:
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
            if not text or c < self.min_confidence:
                continue
            out.append(Word(text, c, Box(box.x0 + x, box.y0 + y, box.x0 + x + w, box.y0 + y + h)))
        return out


def _cmd(pt: Any) -> str:
    return str(pt.pytesseract.tesseract_cmd)


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
    if not words:
        return ""
    heights = [w.box.y1 - w.box.y0 for w in words]
    tol = max(4.0, statistics.median(heights) * 0.5)
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.cy, w.box.x0)):
        if lines and abs(lines[-1][-1].cy - w.cy) <= tol:
            lines[-1].append(w)
        else:
            lines.append([w])
    return "\n".join(
        " ".join(w.text for w in sorted(line, key=lambda w: w.box.x0)) for line in lines
    )


def mean_confidence(words: list[Word]) -> float | None:
    return round(statistics.fmean(w.conf for w in words), 1) if words else None


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.t0) * 1000, 2)
