"""The daily digest (agent/digest.py): the day's activity by app and time, the people seen and
what is scheduled next, every line cited; one memory per day; on demand and at the day's end."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from mirix_app.agent import digest
from mirix_app.agent.extract import apply as extract
from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType

FIXTURE = Path(__file__).with_name("extract_ocr_screens.json")
DAY = date(2024, 11, 12)
SCREENS = [
    "calendar_event",
    "jira_tls",
    "bank_transfer",
    "discord_games",
    "mail_parcel",
    "signal_tom",
]


@pytest.fixture
def day_of_work(core: Any) -> Any:
    extract._LATELY.clear()
    for c in json.loads(FIXTURE.read_text())["captures"]:
        if c["screen"] in SCREENS:
            core.inbox.put(
                InboxItem(
                    "capture", c["text"], c["at"], app=c["app"], window=c["window"], url=c["url"]
                )
            )
    s = AgentSettings()
    s.notes_backlog_limit, s.decide_with_model = 0, False
    Pipeline(core, None, s).drain()
    return core


def test_digest_content_is_extractive_and_cited(day_of_work: Any) -> None:
    core = day_of_work
    m = digest.write_digest(core, DAY, now=datetime(2024, 11, 13, 9, 0).astimezone())
    assert m is not None and m.type is MemoryType.EPISODIC
    assert m.fields["event_type"] == "digest" and digest.digest_tag(DAY) in m.tags
    s, d = m.fields["summary"], m.fields["details"]
    assert s.startswith("Day digest, Tuesday 12 November 2024")
    assert "Activity by app" in d and "firefox" in d and "Signal" in d
    assert "Sam Okafor" in d and "Hana Sato" in d and "Tom Becker" in d  # people seen that day
    nxt = d.split("Scheduled next", 1)[1]
    assert "Thursday 14 November 2024, 13:00" in nxt and "Monday 18 November 2024" in nxt
    assert "23 November" not in nxt  # more than a week ahead
    # every cited id is a source, and every source is a live memory
    cited = {x.strip("[]") for x in d.split() if x.startswith("[") and "_" in x}
    assert cited and cited <= {src.ref for src in m.sources}
    for src in m.sources:
        assert src.kind == "agent" and core.get(src.ref).deleted_at is None
    assert digest.parse_day("2024-11-12") == DAY
    assert digest.parse_day("yesterday", today=date(2024, 11, 13)) == DAY


def test_one_digest_per_day_rewritten_and_written_at_the_days_end(day_of_work: Any) -> None:
    core = day_of_work
    first = digest.write_digest(core, DAY)
    again = digest.write_digest(core, DAY)
    assert first is not None and again is not None and first.id == again.id
    assert digest.write_digest(core, date(2024, 10, 1)) is None  # nothing that day: no memory
    core.trash(first.id)
    written = digest.write_due(core, today=date(2024, 11, 13))
    assert [digest.digest_tag(DAY) in m.tags for m in written] == [True]
    assert digest.write_due(core, today=date(2024, 11, 13)) == []  # already there


def test_cli_digest(day_of_work: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mirix_app.cli import main

    day_of_work.close()  # the CLI opens the same data dir itself
    assert main(["digest", "2024-11-12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["id"].startswith("epi_") and "Tom Becker" in out["details"]
    assert main(["digest", "32/13"]) == 1
    assert "not a day" in capsys.readouterr().err


def test_end_of_day_listener_writes_yesterdays_digest_once(core: Any) -> None:
    import time as _time
    from datetime import timedelta

    from mirix_app.memory.clock import to_iso
    from mirix_app.memory.types import Memory, Source

    yesterday = datetime.now().astimezone().replace(hour=10, minute=0) - timedelta(days=1)
    at = to_iso(yesterday)
    core.add(
        Memory(
            MemoryType.EPISODIC,
            {"occurred_at": at, "summary": "Edited notes.md in gedit", "details": "notes.md"},
            sources=[Source("capture", "cap_x", at, app="gedit", window="notes.md - gedit")],
            origin="agent",
        ),
        actor="agent",
    )
    listener = digest.EndOfDay(core)
    listener(None, [])
    deadline = _time.monotonic() + 20
    while digest.find_digest(core, yesterday.date()) is None and _time.monotonic() < deadline:
        _time.sleep(0.1)
    m = digest.find_digest(core, yesterday.date())
    assert m is not None and "gedit" in m.fields["details"]
    listener(None, [])  # the same day again: nothing to do, no second digest
    _time.sleep(0.3)
    assert len([x for x in core.browse(limit=50) if digest.DIGEST_TAG in x.tags]) == 1
