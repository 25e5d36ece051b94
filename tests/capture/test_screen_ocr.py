"""Real windows on Xvfb, real mss grabs, real tesseract."""

from __future__ import annotations

from typing import Any

import pytest

LINES = ["Quarterly budget review with Alice", "Flight LH438 departs Frankfurt at 09:45"]


def kept(results: list[Any]) -> list[Any]:
    return [r for r in results if r.kept]


@pytest.mark.slow
def test_ocr_finds_window_text_and_context(qtwin: Any, capturer: Any, core: Any) -> None:
    qtwin.open("a", "Trip planning - Notes", LINES)
    results = capturer.capture()
    [r] = kept(results)
    item = core.inbox.get(r.item.id)
    assert item is not None and item.kind == "capture" and item.status == "pending"
    for word in ("Quarterly", "budget", "review", "Alice", "LH438", "Frankfurt", "09:45"):
        assert word in item.text, word
    assert item.window == "Trip planning - Notes"
    assert item.app == "mirix-test"
    assert item.monitor == 1
    assert item.meta["words"] >= 10 and item.meta["confidence"] > 60
    # Nothing changed: the next capture keeps nothing and reads nothing.
    again = capturer.capture()
    assert not kept(again)
    assert again[0].reason in ("same_screen", "unchanged")


@pytest.mark.slow
def test_typed_line_counts_and_blinking_cursor_does_not(
    qtwin: Any, capturer: Any, core: Any
) -> None:
    qtwin.open("a", "Editor", LINES)
    qtwin.cursor("a", False)
    assert kept(capturer.capture())
    for on in (True, False, True):
        qtwin.cursor("a", on)
        res = capturer.capture()
        assert not kept(res), f"cursor blink kept: {res[0].reason} {res[0].changed_blocks}"
        assert res[0].reason == "unchanged"
        # Compared with the last kept frame (cursor off): "on" differs a little, "off" not at all.
        assert res[0].changed_blocks < capturer.settings.min_changed_blocks
        assert (res[0].changed_blocks > 0) == on
    qtwin.append("a", "Call the dentist on Monday")
    res = capturer.capture()
    [r] = kept(res)
    assert "dentist" in r.item.text and "Monday" in r.item.text
    # Carried over: the lines not re-read are still in the text.
    assert "Frankfurt" in r.item.text and "Quarterly" in r.item.text
    # Only a small part of the screen was OCR'd.
    assert r.ocr_fraction < 0.1, r.ocr_fraction
    assert len(core.inbox.recent(kind="capture")) == 2


@pytest.mark.slow
def test_ticking_clock_is_not_a_change(qtwin: Any, capturer: Any) -> None:
    qtwin.open("a", "Editor", LINES)
    qtwin.open("clock", "Clock", ["10:41:07"], x=1700, y=0, w=200, h=60)
    assert kept(capturer.capture())
    blocks = []
    for t in ("10:41:10", "10:41:13", "10:41:16", "10:41:19", "10:42:00", "10:42:59"):
        qtwin.lines("clock", [t])
        res = capturer.capture()
        blocks.append(res[0].changed_blocks)
        assert not kept(res), (t, blocks)
    assert max(blocks) > 0


@pytest.mark.slow
def test_several_changed_regions_are_read_in_one_pass_and_carried_over(
    qtwin: Any, capturer: Any
) -> None:
    qtwin.open("l", "Left", ["Left pane heading"], x=0, y=0, w=700, h=300)
    qtwin.open("r", "Right", ["Right pane heading"], x=1100, y=700, w=700, h=300)
    assert kept(capturer.capture())
    qtwin.append("l", "Invoice 4471 from Contoso arrived")
    qtwin.append("r", "Weekly sync moved to Thursday")
    [r] = kept(capturer.capture())
    assert r.ocr_boxes == 2
    assert "Contoso" in r.item.text and "Thursday" in r.item.text
    words = {w.text: w for w in capturer.states[1].words}
    assert words["Thursday"].box.x0 > 1100 and words["Thursday"].box.y0 > 700
    assert words["Contoso"].box.x1 < 700 and words["Contoso"].box.y1 < 300
    qtwin.append("l", "Reply sent to Contoso finance")
    [r] = kept(capturer.capture())
    assert "finance" in r.item.text and "Thursday" in r.item.text  # carried over
    assert r.item.text.count("Thursday") == 1
