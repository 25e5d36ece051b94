"""Dated items -> absolute local datetimes (agent/extract/events.py), on real OCR output and on
text the extractor was not written against."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mirix_app.agent.extract.events import chat_line, find_events
from mirix_app.memory.clock import parse_time

FIXTURE = Path(__file__).with_name("extract_ocr_screens.json")


def captures() -> dict[str, dict]:
    return {c["screen"]: c for c in json.loads(FIXTURE.read_text())["captures"]}


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone()


def times(text: str, ref: datetime, app: str = "") -> list[str]:
    return [
        e.when.strftime("%Y-%m-%d %H:%M" if e.precision == "time" else "%Y-%m-%d")
        for e in find_events(text, ref, app).events
    ]


def ocr(screen: str) -> tuple[str, datetime, str]:
    c = captures()[screen]
    return c["text"], parse_time(c["at"]).astimezone(), c["app"] or ""


def test_flight_mail_from_real_ocr_is_dated_at_departure_not_capture() -> None:
    text, ref, app = ocr("mail_flight")
    got = times(text, ref, app)
    assert "2024-11-21 07:45" in got and "2024-11-24 18:30" in got
    assert "2024-11-21 07:25" in got  # boarding closes: the line below, same day
    assert all(not g.startswith(ref.strftime("%Y-%m-%d %H")) for g in got)
    ev = next(
        e for e in find_events(text, ref, app).events if e.when.hour == 7 and e.when.minute == 45
    )
    assert "Lisbon" in ev.summary and ev.kind(ref) == "scheduled"


def test_moved_meeting_keeps_the_new_slot_and_drops_the_old_day() -> None:
    text, ref, app = ocr("mail_meeting")
    evs = find_events(text, ref, app).events
    assert [e.when.strftime("%a %d %H:%M") for e in evs] == ["Wed 13 15:30"]
    assert evs[0].end is not None and evs[0].end.strftime("%H:%M") == "16:30"


def test_calendar_grid_rows_become_one_event_per_clock() -> None:
    text, ref, app = ocr("calendar_week")
    evs = find_events(text, ref, app).events
    got = {e.when.strftime("%d %H:%M"): e.summary for e in evs}
    assert got["11 14:00"].startswith("1:1 with Priya")
    assert got["15 08:20"] == "Dentist"
    assert len(evs) == 11  # the "Week 46 ... Today" heading and "no events" are not items


def test_chat_headers_are_not_events_but_their_messages_are() -> None:
    text, ref, app = ocr("discord_games")
    assert times(text, ref, app) == ["2024-11-23 19:30"]  # "Saturday the 23rd", not the 16th
    text, ref, app = ocr("slack_platform")
    assert sorted(times(text, ref, app)) == ["2024-11-11 11:00", "2024-11-14"]
    assert chat_line("Jonas Berg 09:14") == ("Jonas Berg", "09:14", "")
    assert chat_line("Mon 11 09:30 Standup") is None


def test_a_clock_continues_the_day_of_the_message_before() -> None:
    text, ref, app = ocr("signal_mum")
    evs = find_events(text, ref, app).events
    assert [e.when.strftime("%a %d %H:%M") for e in evs] == ["Sat 16 19:00"]
    assert "birthday dinner" in evs[0].summary


def test_relative_and_weekly_tables() -> None:
    text, ref, app = ocr("term_gitlog")  # "yesterday", "2 days ago" in a git log
    assert {"2024-11-10", "2024-11-09"} <= set(times(text, ref, app))
    text, ref, app = ocr("canteen_menu")  # a week's menu: this week's days, not next week's
    assert "2024-11-11" in times(text, ref, app) and "2024-11-18" not in times(text, ref, app)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Jonas: the design review moved to Thursday 3 pm, room Aurora", ["2026-03-12 15:00"]),
        ("Flight TP1947 on Thursday 12 March, 07:45 from gate A14", ["2026-03-12 07:45"]),
        ("Invoice due 31/03/2026, late fee after that", ["2026-03-31"]),
        ("Kick-off: 2026-04-02T09:15 in the big room", ["2026-04-02 09:15"]),
        ("Dinner with Ana tomorrow at 19.30 at Casa Nova", ["2026-03-10 19:30"]),
        ("Standup every day at 09:30", []),  # recurring: not a dated item
        ("uptime 09:02:41 up 47 days, load average: 0.41, 0.37", []),
        ("version 2.14.3 released, 1/1 pods ready, page 3/12", []),
    ],
)
def test_unseen_sentences(text: str, want: list[str]) -> None:
    ref = at("2026-03-09T10:00")  # a Monday
    assert times(text, ref) == want


def test_impossible_dates_are_reported_not_moved() -> None:
    ref = at("2026-03-09T10:00")
    res = find_events("Team offsite on 32/13 at 10:00, and the audit on 31 February", ref)
    assert res.events == []
    assert {r.text for r in res.rejected} == {"32/13", "31 February"}
    assert all("not a date" in r.reason for r in res.rejected)


def test_garbled_and_huge_screens() -> None:
    ref = at("2026-03-09T10:00")
    garbled = "~~ |l1| ,,;; @@@ ^^ %%% 0O0O ] [ } { ::: 12:: :34 ;;" * 20
    assert find_events(garbled, ref).events == []
    huge = ("lorem ipsum dolor sit amet " * 4000) + "\nMeeting on Friday 13 March at 14:00\n"
    res = find_events(huge, ref)
    assert res.truncated  # a clear result: the extractor read only the first part
    big = "Meeting on Friday 13 March at 14:00\n" + "x y z filler line\n" * 6000
    res = find_events(big, ref)
    assert res.truncated and [e.when.strftime("%d %H:%M") for e in res.events] == ["13 14:00"]


def test_unseen_day_view_and_stamped_chat() -> None:
    ref = at("2026-03-09T10:00")
    day_view = "Tuesday 17 March 2026\n09:30 Standup (Room Delta)\n11:00 Vendor demo with Acme\nWednesday 18 March 2026\n10:00 Dentist"
    assert times(day_view, ref, "gnome-calendar") == [
        "2026-03-17 09:30",
        "2026-03-17 11:00",
        "2026-03-18 10:00",
    ]
    chat = "[09:12] Dad: lunch on Sunday at 1pm?\n[09:15] You: yes, at the usual place"
    assert times(chat, ref, "WhatsApp") == ["2026-03-15 13:00"]
    assert chat_line("[09:12] Dad: lunch on Sunday at 1pm?") == (
        "Dad",
        "09:12",
        "lunch on Sunday at 1pm?",
    )
