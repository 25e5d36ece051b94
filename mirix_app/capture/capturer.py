"""One capture cycle over every monitor: grab, blank excluded windows, detect change, OCR the
changed boxes, redact, optionally keep the screenshot (with the redacted words blanked), append to
the queue.

Crash safety: the screenshot file (named after the capture id) is written and renamed first, then
the queue row is committed in one transaction. A crash before the commit leaves an orphan file
that the next start removes; a crash after it leaves a committed row. After a restart the first
frame is compared with the newest queued capture of that monitor, so the same screen is not
queued twice.

Faults (a full or read-only disk, a locked database): a capture whose write fails is held in
memory (a few, bounded) and written first by the next cycle; until that works no new screen is
read, so capture pauses while the fault lasts and nothing it had already read is lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mirix_app.capture.change import ChangeDetector, merge_boxes
from mirix_app.capture.errors import storage_fault
from mirix_app.capture.ocr import (
    OcrEngine,
    Word,
    assemble_spans,
    carry_over,
    expand_to_words,
    mean_confidence,
)
from mirix_app.capture.privacy import (
    ExclusionRules,
    blank_boxes,
    blank_mask,
    excluded_mask,
    on_frame,
    secret_boxes,
)
from mirix_app.capture.screen import Frame, Grabber, MssGrabber
from mirix_app.capture.settings import CaptureSettings
from mirix_app.capture.storage import ScreenshotStore
from mirix_app.capture.windows import NullAdapter, WindowAdapter, WindowInfo
from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import new_id, now_iso
from mirix_app.memory.inbox import InboxItem
from mirix_app.safety.redaction import redact, redact_spans

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

log = logging.getLogger(__name__)

FULLY_EXCLUDED = 0.99
# Captures held in memory while they cannot be written (capture pauses meanwhile, so this is
# one cycle's worth; the bound only guards against a fault that comes and goes).
MAX_HELD = 16
MAX_HELD_BYTES = 64 * 1024 * 1024


@dataclass
class MonitorState:
    frame: np.ndarray | None = None  # the last kept frame (after blanking)
    last_grab: np.ndarray | None = None  # the last grab that was fully handled (before blanking)
    words: list[Word] = field(default_factory=list)
    faint: list[Word] = field(default_factory=list)  # words below the confidence bar
    text: str = ""
    window: str | None = None


@dataclass
class CaptureResult:
    monitor: int
    kept: bool
    reason: str  # kept | unchanged | same_screen | excluded | same_text | no_text | cancelled
    item: InboxItem | None = None
    changed_blocks: int = 0
    ocr_boxes: int = 0
    ocr_fraction: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Held:
    """A capture read from the screen but not yet written (the disk or database failed)."""

    item: InboxItem
    blob: bytes | None  # the sealed screenshot, when screenshots are kept
    at: float  # epoch seconds, names the screenshot file
    monitor: int

    @property
    def size(self) -> int:
        return len(self.item.text.encode()) + len(self.blob or b"")


class Capturer:
    def __init__(
        self,
        core: MemoryCore,
        settings: CaptureSettings | None = None,
        *,
        grabber: Grabber | None = None,
        adapter: WindowAdapter | None = None,
        ocr: OcrEngine | None = None,
        screenshots: ScreenshotStore | None = None,
    ) -> None:
        s = settings or CaptureSettings()
        self.core = core
        self.settings = s
        self.grabber: Grabber = grabber or MssGrabber()
        self.adapter: WindowAdapter = adapter or NullAdapter()
        self.ocr = ocr or OcrEngine(
            languages=s.ocr_languages,
            min_confidence=s.ocr_min_confidence,
            timeout_seconds=s.ocr_timeout_seconds,
            tesseract_cmd=s.tesseract_cmd,
        )
        self.detector = ChangeDetector(
            block_threshold=s.block_threshold, min_changed_blocks=s.min_changed_blocks
        )
        self.rules = ExclusionRules.build(
            s.exclude_apps, s.exclude_titles, defaults=s.default_exclusions
        )
        if screenshots is None and s.keep_screenshots:
            screenshots = ScreenshotStore(
                core.paths.screenshots,
                core.paths.data,
                core.secrets,
                fmt=s.screenshot_format,
                quality=s.screenshot_quality,
                max_width=s.screenshot_max_width,
                retention_days=s.retention_days,
                budget_bytes=int(s.storage_budget_mb * 1024 * 1024),
            )
        self.screenshots = screenshots
        self.states: dict[int, MonitorState] = {}
        self._last_excluded: list[WindowInfo] = []
        self._cleaned = False
        self.held: list[Held] = []
        self.dropped = 0  # held captures given up because the bound was reached

    def startup(self) -> None:
        """Remove screenshots a crash left without a queue row, and old ones."""
        if self.screenshots is not None and not self._cleaned:
            shots = self.screenshots
            try:
                n = shots.remove_orphans(lambda cid: self.core.inbox_get(cid) is not None)
                shots.enforce()
            except Exception as e:
                raise storage_fault(e, self.core.paths.data) from e
            if n:
                log.info("screenshots: removed %d orphan file(s)", n)
        self._cleaned = True

    # -- held captures ----------------------------------------------------------------------------
    def _hold(self, held: Held) -> None:
        self.held.append(held)
        while len(self.held) > MAX_HELD or (
            len(self.held) > 1 and sum(h.size for h in self.held) > MAX_HELD_BYTES
        ):
            self.held.pop(0)
            self.dropped += 1
            log.warning("capture: too many captures wait to be written; dropped the oldest")

    def flush(self) -> list[CaptureResult]:
        """Write the held captures, oldest first; the first failure raises a clear StorageError
        and keeps that capture and the ones after it held."""
        out = []
        while self.held:
            h = self.held[0]
            try:
                if h.blob is not None and h.item.image is None and self.screenshots is not None:
                    h.item.image = self.screenshots.write(h.blob, h.item.id, h.at)
                self.core.inbox_put(h.item)
            except InvalidInput as e:  # this capture can never be written: do not block the rest
                log.warning("capture: dropped a capture that cannot be stored: %s", e.message)
                self.held.pop(0)
                self.dropped += 1
                continue
            except Exception as e:
                raise storage_fault(e, self.core.paths.data) from e
            self.held.pop(0)
            out.append(CaptureResult(h.monitor, True, "kept", item=h.item))
        if out and self.screenshots is not None:
            self.screenshots.enforce()
        return out

    def _latest(self, monitor: int) -> InboxItem | None:
        try:
            return self.core.inbox_latest("capture", monitor)
        except Exception as e:
            raise storage_fault(e, self.core.paths.data) from e

    def close(self) -> None:
        self.grabber.close()
        self.adapter.close()

    # -- one cycle --------------------------------------------------------------------------------
    def capture(self, cancelled: Callable[[], bool] = lambda: False) -> list[CaptureResult]:
        self.startup()
        # What an earlier fault left unwritten goes first; while that fails, no new screen is read.
        flushed = self.flush()
        results = self._capture(cancelled)
        return sorted(flushed + results, key=lambda r: r.monitor)

    def _capture(self, cancelled: Callable[[], bool]) -> list[CaptureResult]:
        at = now_iso()
        t0 = time.perf_counter()
        frames = self.grabber.grab_all()
        grab_ms = (time.perf_counter() - t0) * 1000
        # A screen identical to the last handled grab needs no window lookups at all.
        pending = []
        results = []
        for f in frames:
            st = self.states.setdefault(f.monitor, MonitorState())
            if st.last_grab is not None and np.array_equal(st.last_grab, f.bgra):
                results.append(CaptureResult(f.monitor, False, "same_screen"))
            else:
                pending.append(f)
        if not pending:
            return results
        visible = self.adapter.visible()
        active = self.adapter.active()
        for f in pending:
            if cancelled():
                results.append(CaptureResult(f.monitor, False, "cancelled"))
                continue
            r = self._one(f, at, visible, active, cancelled)
            r.timings["grab_ms"] = round(grab_ms, 2)
            results.append(r)
        self._last_excluded = [w for w in visible if self.rules.excludes(w)]
        results.sort(key=lambda r: r.monitor)
        return results

    def _one(
        self,
        frame: Frame,
        at: str,
        visible: list[WindowInfo],
        active: WindowInfo | None,
        cancelled: Callable[[], bool],
    ) -> CaptureResult:
        st = self.states[frame.monitor]
        grabbed = frame.bgra.copy()
        timings: dict[str, float] = {}
        here, excluded, mask, covered = self._exclude(frame, visible)
        if covered >= FULLY_EXCLUDED:
            st.last_grab = grabbed
            return CaptureResult(frame.monitor, False, "excluded")

        change = self._compare(st, frame, timings)
        if not change.changed:
            st.last_grab = grabbed
            return CaptureResult(
                frame.monitor,
                False,
                "unchanged",
                changed_blocks=change.changed_blocks,
                timings=timings,
            )

        read = self._read(frame, st, change, mask, cancelled, timings)
        if read is None:
            return CaptureResult(frame.monitor, False, "cancelled")
        boxes, words, faint = read
        assembled, spans = assemble_spans(words)
        text, redactions, hidden = redact_spans(assembled)

        ctx = self._context(frame, here, excluded, active)
        window, url = _redacted_context(ctx, redactions)
        result = CaptureResult(
            frame.monitor,
            False,
            "",
            changed_blocks=change.changed_blocks,
            ocr_boxes=len(boxes),
            ocr_fraction=round(sum(b.area for b in boxes) / (frame.width * frame.height), 4),
            timings=timings,
        )
        same = self._same(st, frame.monitor, text, window)
        # The same text in the same window is not a new capture (also right after a restart);
        # a screen with no text is worth a row only with its screenshot.
        if same or (self.screenshots is None and not text.strip()):
            self._advance(st, frame, grabbed, words, faint, text, window)
            result.reason = "same_text" if same else "no_text"
            return result

        blob, blanked = self._seal(frame, (spans, hidden, faint), timings)
        meta = _meta(words, result, frame)
        meta.update(
            _happened(redactions, blanked, len(excluded), ctx is not None and ctx is active)
        )
        item = InboxItem(
            kind="capture",
            id=new_id("cap"),
            at=at,
            text=text,
            app=(ctx.app or None) if ctx else None,
            window=window or None,
            url=url or None,
            monitor=frame.monitor,
            meta=meta,
        )
        # Read and accepted: from here the capture is held until written, and the monitor moves
        # on, so a fault neither loses it nor reads the same screen again.
        self._advance(st, frame, grabbed, words, faint, text, window)
        self._hold(Held(item, blob, time.time(), frame.monitor))
        t = time.perf_counter()
        self.flush()
        timings["store_ms"] = round((time.perf_counter() - t) * 1000, 2)
        result.kept, result.reason, result.item = True, "kept", item
        _log_kept(result, len(words), sum(redactions.values()))
        return result

    def _compare(self, st: MonitorState, frame: Frame, timings: dict[str, float]) -> Any:
        t = time.perf_counter()
        change = self.detector.compare(st.frame, frame.bgra)
        timings["change_ms"] = round((time.perf_counter() - t) * 1000, 2)
        return change

    def _same(self, st: MonitorState, monitor: int, text: str, window: str | None) -> bool:
        """The same text in the same window as the last look (or, right after a restart, as
        the monitor's last stored capture)."""
        if st.frame is None:
            last = self._latest(monitor)
            return last is not None and last.text == text and last.window == window
        return text == st.text and window == st.window

    def _exclude(
        self, frame: Frame, visible: list[WindowInfo]
    ) -> tuple[list[WindowInfo], list[WindowInfo], Any, float]:
        """The windows on this frame, the excluded ones, the mask blanked over them (None when
        there are none) and the share of the frame it covers."""
        here = [w for w in visible if on_frame(w, frame)]
        excluded = [w for w in here if self.rules.excludes(w)]
        # Windows are listed just after the grab: an excluded window that moved or closed in
        # between is still blanked where it was at the last look (over-blanking is the safe side).
        stale = [w for w in self._last_excluded if on_frame(w, frame) and w not in excluded]
        # No excluded window (the usual case): no mask to build on every capture.
        mask = excluded_mask(frame, excluded + stale, here) if excluded or stale else None
        covered = blank_mask(frame, mask) if mask is not None else 0.0
        return here, excluded, mask, covered

    def _read(
        self,
        frame: Frame,
        st: MonitorState,
        change: Any,
        mask: Any,
        cancelled: Callable[[], bool],
        timings: dict[str, float],
    ) -> tuple[list[Any], list[Word], list[Word]] | None:
        """OCR of what changed (boxes grown to whole words): (boxes, words, faint words), the
        words of the last look kept where nothing changed; none under an excluded window.
        None when cancelled."""
        boxes = [b.pad(6, frame.width, frame.height) for b in change.boxes]
        boxes = merge_boxes(expand_to_words(merge_boxes(boxes), st.words))
        t = time.perf_counter()
        new_words = self.ocr.read(frame, boxes, cancelled)
        timings["ocr_ms"] = round((time.perf_counter() - t) * 1000, 2)
        if cancelled():
            return None

        def outside(w: Word) -> bool:
            if mask is None:
                return True
            x = min(max(int(w.cx), 0), frame.width - 1)
            y = min(max(int(w.cy), 0), frame.height - 1)
            return not bool(mask[y, x])

        kept_words = [w for w in carry_over(st.words, boxes) if outside(w)]
        words = kept_words + new_words
        faint = [w for w in carry_over(st.faint, boxes) if outside(w)]
        faint += list(getattr(self.ocr, "faint", []))
        return boxes, words, faint

    def _seal(
        self, frame: Frame, secrets: tuple[Any, Any, Any], timings: dict[str, float]
    ) -> tuple[bytes | None, int]:
        """The sealed screenshot (None when none are kept) and how many boxes were blanked: the
        kept image shows no more than the kept text, the boxes of every redacted word are filled
        before sealing (on a copy: change detection keeps the real frame)."""
        if self.screenshots is None:
            return None, 0
        t = time.perf_counter()
        shot, blanked = frame, 0
        cover = secret_boxes(*secrets)  # (spans, hidden, faint)
        if cover:
            shot = Frame(frame.monitor, frame.left, frame.top, frame.bgra.copy())
            blanked = blank_boxes(shot.bgra, cover)
        blob = self.screenshots.seal(shot)
        timings["seal_ms"] = round((time.perf_counter() - t) * 1000, 2)
        return blob, blanked

    def _advance(
        self,
        st: MonitorState,
        frame: Frame,
        grabbed: np.ndarray,
        words: list[Word],
        faint: list[Word],
        text: str,
        window: str | None,
    ) -> None:
        st.frame = frame.bgra
        st.last_grab = grabbed
        st.words = words
        st.faint = faint
        st.text = text
        st.window = window

    def _context(
        self,
        frame: Frame,
        here: list[WindowInfo],
        excluded: list[WindowInfo],
        active: WindowInfo | None,
    ) -> WindowInfo | None:
        """The active window if it is on this monitor, else the topmost window here; never an
        excluded one (its title may be private)."""

        def mine(w: WindowInfo) -> bool:
            cx, cy = w.x + w.width / 2, w.y + w.height / 2
            return (
                frame.left <= cx < frame.left + frame.width
                and frame.top <= cy < frame.top + frame.height
            )

        if active is not None and mine(active):
            # The focus is read after the window list: a window focused in between (our own,
            # just opened) is judged on its own too.
            if (
                self.rules.excludes(active)
                or any(active.handle == e.handle for e in excluded)
                or any(e.rect() == active.rect() and e.title == active.title for e in excluded)
            ):
                return None
            return active
        for w in reversed(here):
            if w not in excluded and mine(w):
                return w
        return None


def _redacted_context(ctx: Any, redactions: dict[str, int]) -> tuple[str | None, str | None]:
    """The context's title and URL, redacted: they carry secrets too (tokens in URLs,
    "password=..." in a terminal title); what was found is added to `redactions`."""
    out: list[str | None] = []
    for part in ("title", "url"):
        value = getattr(ctx, part, None) if ctx else None
        if value:
            value, found = redact(value)
            for k, v in found.items():
                redactions[k] = redactions.get(k, 0) + v
        out.append(value)
    return out[0], out[1]


def _meta(words: list[Word], result: CaptureResult, frame: Frame) -> dict[str, Any]:
    """What a kept capture notes about how it was read."""
    return {
        "words": len(words),
        "confidence": mean_confidence(words),
        "low_confidence_words": sum(1 for w in words if w.conf < 60),
        "ocr_boxes": result.ocr_boxes,
        "ocr_fraction": result.ocr_fraction,
        "changed_blocks": result.changed_blocks,
        "size": [frame.width, frame.height],
    }


def _log_kept(result: CaptureResult, words: int, redactions: int) -> None:
    log.info(
        "capture kept: monitor %d, %d words, %d box(es), %.1f%% of the screen read, %d redaction(s)",
        result.monitor,
        words,
        result.ocr_boxes,
        result.ocr_fraction * 100,
        redactions,
    )


def _happened(
    redactions: dict[str, int], blanked: int, excluded: int, active: bool
) -> dict[str, Any]:
    """The meta keys of what happened to a kept capture, only those that did."""
    extra = {
        "redacted": redactions,
        "blanked_boxes": blanked,
        "excluded_windows": excluded,
        "active": active,
    }
    return {k: v for k, v in extra.items() if v}
