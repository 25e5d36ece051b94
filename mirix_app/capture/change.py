"""Tile-grid change detection against the last kept frame of a monitor.

One global similarity score drops typing (a new line is a tiny fraction of the screen). Instead:

1. Bands of `tile` rows are compared byte-for-byte (memcmp speed); an equal band costs nothing.
2. In a band that differs, only the columns that differ are looked at: the per-pixel difference
   (max over B, G, R) is averaged over 4x4 blocks (the downscale), and a block is "changed" when
   that mean is at least `block_threshold` grey levels (anti-aliasing shifts and hover tints are
   below it).
3. The frame counts as changed when at least `min_changed_blocks` blocks changed in total: a
   blinking text cursor is 4-6 blocks, a clock digit about as many, one typed line of text 50+.
4. The tiles holding changed blocks are merged into boxes (8-connected), which OCR then reads.

When a quarter of the tiles or more differ at all (a window switch, a scroll), the frame is a new
screen: the block test is skipped (it would cost ~20 ms) and every differing tile is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BLOCK = 4


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    def intersects(self, o: Box) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1

    def union(self, o: Box) -> Box:
        return Box(min(self.x0, o.x0), min(self.y0, o.y0), max(self.x1, o.x1), max(self.y1, o.y1))

    def pad(self, px: int, width: int, height: int) -> Box:
        return Box(
            max(0, self.x0 - px),
            max(0, self.y0 - px),
            min(width, self.x1 + px),
            min(height, self.y1 + px),
        )

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1


@dataclass
class Change:
    changed: bool
    changed_blocks: int
    boxes: list[Box] = field(default_factory=list)
    full: bool = False  # no comparable reference: the whole frame is new

    @property
    def area(self) -> int:
        return sum(b.area for b in self.boxes)


class ChangeDetector:
    def __init__(
        self, *, tile: int = 64, block_threshold: int = 24, min_changed_blocks: int = 48
    ) -> None:
        if tile % BLOCK:
            raise ValueError("tile must be a multiple of 4")
        self.tile = tile
        self.block_threshold = block_threshold
        self.min_changed_blocks = min_changed_blocks

    # When this share of the tiles differs at all, the frame is a new screen.
    FULL_FRACTION = 0.25

    def compare(self, ref: np.ndarray | None, cur: np.ndarray) -> Change:
        h, w = cur.shape[:2]
        if ref is None or ref.shape != cur.shape:
            return Change(True, (h // BLOCK) * (w // BLOCK), [Box(0, 0, w, h)], full=True)
        tile = self.tile
        rows, cols = -(-h // tile), -(-w // tile)
        cur32 = cur.view(np.uint32).reshape(h, w)
        ref32 = ref.view(np.uint32).reshape(h, w)
        col_starts = np.arange(0, w, tile)
        # Pass 1: which tiles differ at all (memcmp per band, then per column in a band).
        touched = np.zeros((rows, cols), dtype=bool)
        diff_cols: dict[int, np.ndarray] = {}
        for r in range(rows):
            y0, y1 = r * tile, min(h, r * tile + tile)
            a, b = cur32[y0:y1], ref32[y0:y1]
            if np.array_equal(a, b):
                continue
            any_col = (a != b).any(axis=0)
            diff_cols[r] = np.flatnonzero(any_col)
            touched[r] = np.logical_or.reduceat(any_col, col_starts)
        if not diff_cols:
            return Change(False, 0)
        if touched.mean() >= self.FULL_FRACTION:
            # A new screen (window switch, scroll): no need to weigh blocks.
            n = int(touched.sum()) * (tile // BLOCK) ** 2
            return Change(True, n, tile_boxes(touched, tile, w, h))
        # Pass 2: in the bands that differ, weigh 4x4 blocks of the differing columns.
        counts = np.zeros((rows, cols), dtype=np.int32)
        limit = self.block_threshold * BLOCK * BLOCK
        per_tile = tile // BLOCK
        for r, dc in diff_cols.items():
            y0 = r * tile
            yb = y0 + ((min(h, y0 + tile) - y0) // BLOCK) * BLOCK
            x0 = int(dc[0]) // BLOCK * BLOCK
            x1 = min((w // BLOCK) * BLOCK, -(-(int(dc[-1]) + 1) // BLOCK) * BLOCK)
            if yb <= y0 or x1 <= x0:
                continue
            c = cur[y0:yb, x0:x1]
            p = ref[y0:yb, x0:x1]
            d = np.maximum(c, p)
            d -= np.minimum(c, p)
            m = np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2])
            hb, wb = m.shape[0] // BLOCK, m.shape[1] // BLOCK
            sums = m.reshape(hb, BLOCK, wb, BLOCK).sum(axis=(1, 3), dtype=np.uint32)
            per_col = (sums >= limit).sum(axis=0)
            if not per_col.any():
                continue
            tile_of_col = (x0 // BLOCK + np.arange(wb)) // per_tile
            np.add.at(counts[r], tile_of_col, per_col)
        total = int(counts.sum())
        if total < self.min_changed_blocks:
            return Change(False, total)
        return Change(True, total, tile_boxes(counts > 0, tile, w, h))


def tile_boxes(mask: np.ndarray, tile: int, width: int, height: int) -> list[Box]:
    """Bounding boxes (pixels) of the 8-connected groups of set tiles."""
    rows, cols = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    boxes: list[Box] = []
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        stack = [(int(r0), int(c0))]
        seen[r0, c0] = True
        rmin = rmax = int(r0)
        cmin = cmax = int(c0)
        while stack:
            r, c = stack.pop()
            rmin, rmax, cmin, cmax = min(rmin, r), max(rmax, r), min(cmin, c), max(cmax, c)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
        boxes.append(
            Box(
                cmin * tile,
                rmin * tile,
                min(width, (cmax + 1) * tile),
                min(height, (rmax + 1) * tile),
            )
        )
    return boxes


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Union boxes that overlap until none do."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        result: list[Box] = []
        for b in out:
            for i, o in enumerate(result):
                if b.intersects(o):
                    result[i] = o.union(b)
                    merged = True
                    break
            else:
                result.append(b)
        out = result
    return sorted(out, key=lambda b: (b.y0, b.x0))
