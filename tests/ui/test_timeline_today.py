"""The Timeline's Today card: it shows the day's digest and writes it on demand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mirix_app.agent import digest
from mirix_app.agent.extract import apply as extract
from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.clock import to_iso
from mirix_app.memory.inbox import InboxItem

TIMEOUT = 15_000
FIXTURE = Path(__file__).parents[1] / "agent" / "extract_ocr_screens.json"


def _work_today(core: Any) -> None:
    """Two real OCR screens captured this morning, sorted by the pipeline (no model)."""
    extract._LATELY.clear()
    caps = {c["screen"]: c for c in json.loads(FIXTURE.read_text())["captures"]}
    morning = datetime.now().astimezone().replace(hour=0, minute=5, second=0, microsecond=0)
    for n, name in enumerate(["slack_platform", "calendar_event"]):
        c = caps[name]
        at = to_iso(morning + timedelta(minutes=10 * n))
        core.inbox.put(InboxItem("capture", c["text"], at, app=c["app"], window=c["window"]))
    s = AgentSettings()
    s.notes_backlog_limit, s.decide_with_model = 0, False
    Pipeline(core, None, s).drain()


def test_today_card_writes_and_shows_the_digest(core: Any, window: Any, qtbot: Any) -> None:
    _work_today(core)
    tl = window.timeline
    with qtbot.waitSignal(tl.digest_shown, timeout=TIMEOUT) as first:
        window.show_page("timeline")
    assert first.args == [None]
    assert tl.digest_title.text() == "Today" and "No digest" in tl.digest_text.text()
    with qtbot.waitSignal(tl.digest_shown, timeout=TIMEOUT) as shown:
        tl.digest_btn.click()
    m = shown.args[0]
    assert m is not None and digest.digest_tag(datetime.now().astimezone().date()) in m.tags
    text = tl.digest_text.text()
    assert text.startswith("Day digest, ") and "Slack" in text and "Sam Okafor" in text
    assert "[epi_" not in text and "[sem_" not in text  # citations stay in the memory
    assert tl.digest_btn.text() == "Update digest" and tl.digest_open.isEnabled()
    with qtbot.waitSignal(tl.open_memory, timeout=TIMEOUT) as opened:
        tl.digest_open.click()
    assert opened.args[0].id == m.id
    # another day: its own (missing) digest; back to today: the stored one is shown again
    window.show_page("timeline")
    with qtbot.waitSignal(tl.digest_shown, timeout=TIMEOUT) as prev:
        tl.prev_btn.click()
    assert prev.args == [None] and tl.digest_title.text().startswith("Digest of ")
    with qtbot.waitSignal(tl.digest_shown, timeout=TIMEOUT) as back:
        tl.today_btn.click()
    assert back.args[0] is not None and back.args[0].id == m.id
