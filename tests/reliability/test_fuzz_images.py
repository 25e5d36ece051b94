"""Fuzz, images: corrupt, truncated, huge and wrong-format image bytes and damaged encrypted
screenshots, fed to every place that decodes an image: the kept-screenshot store (Pillow), the
timeline's loader (Services.image_bytes + QImage), raw screen grabs (Frame.from_bgra) and OCR.

The store answers with ScreenshotUnreadable (a MirixError naming the screenshot); the timeline
answers with "no image" (None, it shows a placeholder); nothing raises anything else.
"""

from __future__ import annotations

import io
import itertools
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mirix_app.capture.change import ChangeDetector, merge_boxes
from mirix_app.capture.errors import ScreenshotUnreadable
from mirix_app.capture.ocr import OcrEngine
from mirix_app.capture.screen import Frame
from mirix_app.capture.storage import ScreenshotStore
from mirix_app.errors import MirixError

from .fuzz_data import Case, Outcomes, blob_cases, frame_cases, image_cases, ocr_frames

REF = "screenshots/20240101/20240101T000000Z_cap_01FUZZ.webp.mxe"


class OtherKey:
    """A sealer with a different key: what a screenshot from another install looks like."""

    def __init__(self, core: Any) -> None:
        from mirix_app.memory.crypto import SecretBox

        self.box = SecretBox(b"k" * 32)

    def seal_bytes(self, data: bytes) -> bytes:
        return self.box.seal_bytes(data)


def _store(core: Any) -> ScreenshotStore:
    return ScreenshotStore(core.paths.screenshots, core.paths.data, core.secrets)


def _write(core: Any, data: bytes) -> Path:
    path = core.paths.data / REF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _valid_screenshot(core: Any) -> tuple[bytes, bytes]:
    """(plain WEBP bytes, the file as the store writes it)."""
    rng = np.random.default_rng(7)
    a = np.zeros((90, 160, 4), dtype=np.uint8)
    a[..., :3] = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    store = _store(core)
    plain = store.encode(Frame(1, 0, 0, a))
    return plain, core.secrets.seal_bytes(plain)


def store_cases(core: Any) -> list[Case]:
    plain, sealed = _valid_screenshot(core)
    other = OtherKey(core).seal_bytes(plain)
    return image_cases() + blob_cases(sealed, other, plain)


def test_kept_screenshot_store_refuses_every_bad_image(core: Any) -> None:
    store = _store(core)
    _, sealed = _valid_screenshot(core)
    _write(core, sealed)
    assert store.load(REF).size == (160, 90)  # the harness reads a good one
    out = Outcomes()
    for case in store_cases(core):
        _write(core, core.secrets.seal_bytes(case.data) if case.kind == "plain" else case.data)
        got = out.check(case, lambda: store.load(REF), must_name=REF)
        if isinstance(got, MirixError) and not isinstance(got, ScreenshotUnreadable):
            out.problem(case, f"{type(got).__name__}, not ScreenshotUnreadable")
    out.assert_clean()
    assert out.rejected >= 150


@pytest.mark.parametrize(
    "ref", ["", ".", "screenshots", "screenshots/a\x00b.mxe", "../outside.mxe", "x" * 5000]
)
def test_odd_screenshot_refs_are_unreadable_not_a_crash(core: Any, ref: str) -> None:
    (core.paths.data / "screenshots").mkdir(exist_ok=True)
    with pytest.raises(ScreenshotUnreadable):
        _store(core).load(ref)


def test_timeline_loader_shows_a_placeholder_for_every_bad_image(core: Any, qapp: Any) -> None:
    """Services.image_bytes (decrypts) + timeline._decode (QImage): None, never an exception."""
    from mirix_app.ui.services import Services
    from mirix_app.ui.timeline import THUMB, _decode

    svc = Services(core)
    _, sealed = _valid_screenshot(core)
    _write(core, sealed)
    assert _decode(svc.image_bytes(REF), THUMB) is not None
    out = Outcomes()
    for case in store_cases(core):
        _write(core, core.secrets.seal_bytes(case.data) if case.kind == "plain" else case.data)
        lenient = Case(case.name, case.data, "any", case.kind)  # a drawable image is fine too
        img = out.check(lenient, lambda: _decode(svc.image_bytes(REF), THUMB))
        drawn = img is not None and not isinstance(img, BaseException)
        if case.kind == "blob" and case.name != "blob-not-encrypted" and drawn:
            out.problem(case, "a damaged encrypted file gave an image")
    for ref in ("", "screenshots", "nope.mxe", "a\x00b"):
        out.check(Case(f"ref-{ref!r}", ref, "any"), partial(svc.image_bytes, ref))
    out.assert_clean()


def test_raw_grabs_of_the_wrong_size_are_clear_errors() -> None:
    out = Outcomes()
    for case in frame_cases():
        data, w, h = case.data
        out.check(case, partial(Frame.from_bgra, data, w, h))
    out.assert_clean()


def test_change_detection_survives_frames_of_another_shape() -> None:
    det = ChangeDetector()
    frames = [a for _, a in ocr_frames()]
    for prev, cur in itertools.pairwise(frames):
        change = det.compare(prev, cur)
        assert change.changed and change.full


class FakeTesseract:
    """Stands in for the tesseract process: checks each PNG it is piped, reads nothing."""

    def __init__(self) -> None:
        self.images: list[tuple[int, int]] = []

    def __call__(self, png: bytes) -> str:
        from PIL import Image

        image = Image.open(io.BytesIO(png))
        assert image.width > 0 and image.height > 0, "an empty image reached tesseract"
        image.load()
        self.images.append(image.size)
        return "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"


def _boxes(frame: Frame) -> list[Any]:
    change = ChangeDetector().compare(None, frame.bgra)
    return merge_boxes([b.pad(6, frame.width, frame.height) for b in change.boxes])


def test_ocr_path_handles_degenerate_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTesseract()
    engine = OcrEngine()
    monkeypatch.setattr(engine, "_tesseract", fake)
    for name, a in ocr_frames():
        frame = Frame(1, 0, 0, a)
        assert engine.read(frame, _boxes(frame)) == [], name
        # Boxes that a stale change could leave: past the edge, inverted, empty.
        h, w = a.shape[:2]
        from mirix_app.capture.change import Box

        odd = [Box(w - 1, h - 1, w + 50, h + 50), Box(5, 5, 2, 2), Box(0, 0, 0, 0)]
        engine.read(frame, odd)
    assert fake.images


def test_real_tesseract_on_tiny_and_noisy_frames() -> None:
    from tests.reliability.layers import require_tool

    require_tool("tesseract", "tesseract-ocr tesseract-ocr-eng")
    engine = OcrEngine(timeout_seconds=30)
    for name, a in ocr_frames()[:4]:
        frame = Frame(1, 0, 0, a)
        try:
            words = engine.read(frame, _boxes(frame))
        except MirixError as e:
            pytest.fail(f"{name}: {e}")
        assert isinstance(words, list)
