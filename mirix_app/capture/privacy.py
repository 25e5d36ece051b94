"""Privacy, applied before anything is stored: excluded windows, and the pixels of secrets.

Excluded windows (password managers, private/incognito browsing, the user's own rules) are blanked
in the frame before change detection, OCR and storage, so no pixel or word of them is kept; a
frame entirely covered by excluded windows is dropped. OCR text then has secrets replaced by a
marker (mirix_app.safety.redaction), and a kept screenshot has the boxes of those words blanked
too (`secret_boxes`): the pixels of a secret are as private as its text. Nothing here logs the text it looks at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mirix_app.capture.change import Box
from mirix_app.capture.ocr import Word
from mirix_app.capture.screen import Frame
from mirix_app.capture.windows import WindowInfo

DEFAULT_EXCLUDED_APPS = [
    r"keepass",
    r"1password",
    r"bitwarden",
    r"lastpass",
    r"dashlane",
    r"enpass",
    r"keeweb",
    r"proton ?pass",
    r"nordpass",
    r"roboform",
    r"keeper",
    r"seahorse",
    r"kwalletmanager",
    r"keychain access",
    r"passwords?$",
    r"gopass",
    r"qtpass",
    r"tor ?browser",
]
DEFAULT_EXCLUDED_TITLES = [
    r"private browsing",
    r"\bincognito\b",
    r"\binprivate\b",
    r"private window",
    r"\(private\)",
    r"keepassxc",
    r"1password",
    r"bitwarden",
]


@dataclass
class ExclusionRules:
    apps: list[re.Pattern[str]] = field(default_factory=list)
    titles: list[re.Pattern[str]] = field(default_factory=list)

    @classmethod
    def build(cls, apps: list[str], titles: list[str], *, defaults: bool = True) -> ExclusionRules:
        a = (DEFAULT_EXCLUDED_APPS if defaults else []) + list(apps)
        t = (DEFAULT_EXCLUDED_TITLES if defaults else []) + list(titles)
        try:
            return cls([re.compile(p, re.I) for p in a], [re.compile(p, re.I) for p in t])
        except re.error as e:
            from mirix_app.errors import InvalidInput

            raise InvalidInput(f"settings: bad exclusion pattern {e.pattern!r}: {e}") from e

    def excludes(self, w: WindowInfo) -> bool:
        return any(p.search(w.app or "") for p in self.apps) or any(
            p.search(w.title or "") for p in self.titles
        )


def excluded_mask(
    frame: Frame, excluded: list[WindowInfo], stacking: list[WindowInfo] | None = None
) -> np.ndarray:
    """The pixels of `frame` that show an excluded window. With `stacking` (the visible
    windows, bottom to top, as the window system lists them), the parts of an excluded window
    that a window above it covers are not its pixels: mirix's own window behind a browser must
    not black out the browser. Without it, or for a window not in it (moved or closed since the
    last look), the whole rectangle counts."""
    h, w = frame.height, frame.width
    mask = np.zeros((h, w), dtype=bool)
    order = stacking or []
    for win in excluded:
        part = np.zeros((h, w), dtype=bool)
        x0, y0, x1, y1 = _clip(win, frame)
        if x1 <= x0 or y1 <= y0:
            continue
        part[y0:y1, x0:x1] = True
        if win in order:
            for above in order[order.index(win) + 1 :]:
                if above in excluded:
                    continue
                a0, b0, a1, b1 = _clip(above, frame)
                if a1 > a0 and b1 > b0:
                    part[b0:b1, a0:a1] = False
        mask |= part
    return mask


def _clip(win: WindowInfo, frame: Frame) -> tuple[int, int, int, int]:
    x0, y0 = max(0, win.x - frame.left), max(0, win.y - frame.top)
    x1 = min(frame.width, win.x + win.width - frame.left)
    y1 = min(frame.height, win.y + win.height - frame.top)
    return x0, y0, x1, y1


def blank_excluded(
    frame: Frame, excluded: list[WindowInfo], stacking: list[WindowInfo] | None = None
) -> float:
    """Fill what the excluded windows show (see `excluded_mask`) with black; returns the
    fraction of the frame covered."""
    if not excluded:
        return 0.0
    return blank_mask(frame, excluded_mask(frame, excluded, stacking))


def blank_mask(frame: Frame, mask: np.ndarray) -> float:
    """Fill the pixels of `mask` with black; returns the fraction of the frame covered."""
    frame.bgra[mask] = 0
    return float(mask.mean())


def secret_boxes(
    spans: list[tuple[Word, int, int]],
    hidden: list[tuple[int, int]],
    faint: list[Word] | None = None,
    pad: int = 3,
) -> list[Box]:
    """The screen boxes to blank in a kept screenshot: every word whose text (at `spans` in the
    assembled text) overlaps a hidden range, the gap between two such words next to each other
    on a line (a key OCR split), and faint words (below the confidence bar, so never text) on
    the same line close to one: the pixels of a secret that OCR read only in part."""
    secret = [w for w, a, b in spans if any(a < hb and ha < b for ha, hb in hidden)]
    if not secret:
        return []
    boxes = [w.box for w in secret]
    flags = [any(a < hb and ha < b for ha, hb in hidden) for _, a, b in spans]
    for (w1, _, _), (w2, _, _), f1, f2 in zip(spans, spans[1:], flags, flags[1:], strict=False):
        if f1 and f2 and _same_line(w1.box, w2.box):
            boxes.append(w1.box.union(w2.box))
    todo = list(faint or [])
    grown = True
    while grown and todo:
        grown = False
        for w in list(todo):
            if any(_same_line(w.box, b) and _gap(w.box, b) <= 2 * _height(b) for b in boxes):
                boxes.append(w.box)
                todo.remove(w)
                grown = True
    return [Box(b.x0 - pad, b.y0 - pad, b.x1 + pad, b.y1 + pad) for b in boxes]


def _height(b: Box) -> int:
    return max(1, b.y1 - b.y0)


def _same_line(a: Box, b: Box) -> bool:
    return abs((a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2) <= 0.6 * max(_height(a), _height(b))


def _gap(a: Box, b: Box) -> int:
    return max(0, max(a.x0, b.x0) - min(a.x1, b.x1))


def blank_boxes(bgra: np.ndarray, boxes: list[Box]) -> int:
    """Fill `boxes` (frame coordinates) with solid black; returns how many touched the frame."""
    h, w = bgra.shape[:2]
    n = 0
    for b in boxes:
        x0, y0, x1, y1 = max(0, b.x0), max(0, b.y0), min(w, b.x1), min(h, b.y1)
        if x1 > x0 and y1 > y0:
            bgra[y0:y1, x0:x1, :3] = 0
            bgra[y0:y1, x0:x1, 3] = 255
            n += 1
    return n


def on_frame(win: WindowInfo, frame: Frame) -> bool:
    return (
        win.x < frame.left + frame.width
        and frame.left < win.x + win.width
        and win.y < frame.top + frame.height
        and frame.top < win.y + win.height
    )
