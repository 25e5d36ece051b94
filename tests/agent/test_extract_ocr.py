"""The OCR fixture (extract_ocr_screens.json) regenerated for real: the screens of the screen QA
benchmark shown as Qt windows on Xvfb and read through CaptureService (mss, tesseract, redaction).

The fast extractor tests read the saved OCR text; this slow test captures the screens again and
checks that the extractors find the same things in fresh OCR output. With MIRIX_REGEN_OCR=1 it
captures every screen and rewrites the fixture (about 30-60 s).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import pytest

from tests.tools import require_tools

FIXTURE = Path(__file__).with_name("extract_ocr_screens.json")
BENCH = Path(__file__).parents[1] / "bench"
SCREENS = ["mail_flight", "slack_platform", "calendar_week", "browser_pr"]


@pytest.mark.slow
def test_fresh_ocr_gives_the_same_extraction() -> None:
    require_tools("tesseract", "Xvfb")
    sys.path.insert(0, str(BENCH))
    import bench_extract
    from screen_qa_data import SCREENS as ALL

    from mirix_app.agent.extract.apply import extract_memories
    from mirix_app.memory.inbox import InboxItem

    regen = os.environ.get("MIRIX_REGEN_OCR") == "1"
    screens = list(ALL) if regen else [s for s in ALL if s["id"] in SCREENS]
    fresh = {c["screen"]: c for c in bench_extract.capture_real(screens)}
    saved = {c["screen"]: c for c in json.loads(FIXTURE.read_text())["captures"]}
    assert set(fresh) == {s["id"] for s in screens}  # every screen was kept by capture

    def planned(c: dict) -> set[str]:
        it = InboxItem(
            "capture", c["text"], c["at"], app=c["app"], window=c["window"], url=c["url"]
        )
        return {p.key for p in extract_memories(it).planned}

    for name, c in fresh.items():
        old = saved[name]
        ratio = difflib.SequenceMatcher(None, old["text"], c["text"]).ratio()
        assert ratio > 0.9, f"{name}: OCR changed a lot ({ratio:.2f}); regenerate the fixture"
        assert (c["app"], c["window"], c["at"]) == (old["app"], old["window"], old["at"])
        assert planned(c) == planned(old), name
    if regen:
        FIXTURE.write_text(
            json.dumps(
                {"now": bench_extract.NOW.isoformat(), "captures": list(fresh.values())}, indent=1
            )
            + "\n"
        )
