"""Dated items in screen text and messages, resolved to absolute local datetimes.

"Thursday 21 November, departs 07:45" on a screen captured on 11 November 2024 is an event at
2024-11-21 07:45 (local time), not at the capture time. Day and clock expressions come from
`times.find_times`; this module adds what a screen shows beyond prose: calendar grid rows ("Mon 11
09:30 Standup ... 14:00 1:1 with Priya"), "Saturday the 23rd", numeric dates ("12/11/2024",
"due 30/11"), clocks that continue the line before ("Friday lunch?" / "at 12:30?"), ranges
("15:30 to 16:30"), and chat lines ("Kira Today at 20:14" is a message header, not an event).
Impossible dates ("32/13", "31 February") are reported in `rejected`, never moved to another day.
Pure functions, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from mirix_app.agent.extract.text import content_words, lines_of, plausible
from mirix_app.agent.extract.times import (
    MONTH_NAMES,
    MONTHS,
    WEEKDAYS,
    clock,
    find_times,
    format_day,
)


@dataclass
class Event:
    """One dated item: when it happens (local, aware), what it is and where it was read."""

    when: datetime
    precision: str  # "time" or "day"
    summary: str  # "OUTBOUND SN 482 Copenhagen (CPH) to Lisbon (LIS) — departs 07:45, ..."
    value: str  # what a person reads: "Thursday 21 November 2024, 07:45"
    line: str  # the line it was read in
    end: datetime | None = None

    def kind(self, ref: datetime) -> str:
        return "scheduled" if self.when >= ref else "event"


@dataclass
class Rejected:
    text: str
    reason: str


@dataclass
class Events:
    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    truncated: bool = False


_WD_ABBR = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"
_WD_FULL = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
# "Mon 11", "Saturday the 23rd", "Thu, 14": a weekday and a day of the month, no month.
_WD_NUM = re.compile(
    rf"\b(?P<wd>{_WD_FULL}|{_WD_ABBR})\.?,?\s+(?:the\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b"
    rf"(?!\s*(?:[:.h]\d|[/-]\d|\s*(?:{'|'.join(sorted(MONTHS, key=len, reverse=True))})\b))",
    re.I,
)
_NUMERIC = re.compile(
    r"(?<![\d/.:,])(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?"
    r"(?![\d/.:]|\.\d)"
)
_DATE_CUE = re.compile(
    r"(?i)\b(?:on|due|date|dated|by|until|till|before|after|from|deadline|expires?|valid|"
    r"starts?|ends?|effective|since)\b[^\n]{0,6}$"
)
_MONTH_DAY = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{'|'.join(MONTH_NAMES[1:])})\b"
    rf"|\b(?P<m2>{'|'.join(MONTH_NAMES[1:])})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b",
    re.I,
)
_RANGE_DAYS = re.compile(r"\b\d{1,2}\s*[-–]\s*\d{1,2}\s+[A-Za-z]{3,}")
_TIME_CUE = re.compile(
    r"(?i)(?:\b(?:at|by|for|from|until|till|before|after|starts?|starting|begins?|departs?|"
    r"arrives?|opens?|closes?|due|around|approx\.?|@)\s*$)"
)
_END_CUE = re.compile(r"(?i)\b(?:arrives?|arrival|lands?|landing|ends?|finish(?:es)?)\s*:?\s*$")
_RANGE_TO = re.compile(r"(?i)^\s*(?:to|until|till|-|–|—)\s*$")
# A chat message header: "Kira   Today at 20:14", "Jonas Berg 09:14", "Mum 18:02 <text>".
_NAME = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2}"
_CHAT_HEAD = re.compile(
    rf"^(?P<name>{_NAME})\s+(?:(?:Today|Yesterday)\s+at\s+)?"
    r"(?P<t>\d{1,2}:\d{2}(?:\s*[AaPp]\.?[Mm]\.?)?)(?:\s+(?P<rest>.*))?$"
)
# "[09:12] Dad: text", "09:12 - Dad: text" (exported and bridged chats)
_CHAT_STAMPED = re.compile(
    rf"^\[?(?P<t>\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\s*[AaPp][Mm])?)\]?\s*[-–]?\s*"
    rf"(?P<name>{_NAME}):\s+(?P<rest>.+)$"
)
_NOT_NAMES = {w.capitalize() for w in [*MONTHS, *WEEKDAYS]} | {"Today", "Yesterday", "At"}
_NOTHING = re.compile(r"(?i)^\W*(?:no|nothing|none)\b")


def chat_line(line: str) -> tuple[str, str, str] | None:
    """(speaker, clock, message) for a chat line with a header ("Mum 18:02 text"), else None."""
    m = _CHAT_HEAD.match(line) or _CHAT_STAMPED.match(line)
    if not m or m.group("name").split()[0] in _NOT_NAMES:
        return None
    return m.group("name"), m.group("t"), (m.group("rest") or "").strip()


def _local(ref: datetime) -> datetime:
    return ref if ref.tzinfo is not None else ref.astimezone()


def _nearest_with(day: int, weekday: int, ref: date, window: int = 75) -> date | None:
    """The date nearest `ref` with this day of the month and this weekday."""
    for off in range(window + 1):
        for d in (ref + timedelta(days=off), ref - timedelta(days=off)):
            if d.day == day and d.weekday() == weekday:
                return d
    return None


@dataclass
class _Mention:
    start: int
    end: int
    day: date | None
    hhmm: str | None
    value: str
    text: str


_CLOCK = re.compile(
    r"(?<![\w.:/,])(?:(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::[0-5]\d)?(?:\s*(?P<ap>[ap])\.?m\.?)?"
    r"|(?P<h2>1[0-2]|0?[1-9])\s*(?P<ap2>[ap])\.?m\.?|(?P<h3>[01]?\d|2[0-3])[.h](?P<m3>[0-5]\d))"
    r"(?![\w:]|\.\d)",
    re.I,
)
_NOON = re.compile(r"(?i)\b(?:noon|midday|midnight)\b")
_NEGATED = re.compile(
    r"(?i)\b(?:no longer|not|cancel(?:l)?ed|moved from|instead of|except)\b[^.;]{0,12}$"
)
_RECURRING = re.compile(
    r"(?i)\b(?:every\s+(?:day|week|month|morning|evening|night|year|\w+day)|daily|weekly|"
    r"monthly|weekdays|(?:on|until|till)\s+\w+days)\b"
)
_WEEK_ROW = re.compile(rf"(?i)^(?P<wd>{_WD_FULL})\b")
CALENDAR_APPS = frozenset(
    [
        "gnome-calendar",
        "calendar",
        "korganizer",
        "evolution",
        "thunderbird-calendar",
        "google-calendar",
        "fantastical",
        "busycal",
        "outlook-calendar",
        "merkuro",
    ]
)
CHAT_APPS = frozenset(
    [
        "slack",
        "discord",
        "signal",
        "teams",
        "microsoft-teams",
        "telegram",
        "telegram-desktop",
        "whatsapp",
        "element",
        "mattermost",
        "skype",
        "zulip",
        "hexchat",
        "messages",
        "rocket.chat",
        "wire",
        "threema",
    ]
)


def _clocks(line: str) -> list[_Mention]:
    out: list[_Mention] = []
    for m in _CLOCK.finditer(line):
        if m.group("h3") is not None and not _TIME_CUE.search(line[: m.start()][-14:]):
            continue  # "0.41", "2.14": a number, unless "at 19.30"
        hhmm = clock(re.sub(r"^(\d{1,2}:\d{2}):\d{2}", r"\1", m.group(0)))
        if hhmm is not None:
            out.append(_Mention(m.start(), m.end(), None, hhmm, hhmm, m.group(0)))
    for m in _NOON.finditer(line):
        hhmm = "00:00" if m.group(0).lower() == "midnight" else "12:00"
        out.append(_Mention(m.start(), m.end(), None, hhmm, hhmm, m.group(0)))
    out.sort(key=lambda x: x.start)
    return out


def _mentions(
    line: str, ref: datetime, rejected: list[Rejected], week_table: bool = False
) -> tuple[list[_Mention], str]:
    """Every day and clock expression in one line (sorted), and the line with them blanked."""
    base = ref.date()
    out: list[_Mention] = []
    blank = list(line)

    def take(s: int, e: int) -> None:
        for i in range(s, e):
            blank[i] = "\x01"  # not a space: a pattern must not reach across a taken span

    for m in _RANGE_DAYS.finditer(line):  # "11 - 17 November 2024": a period, not a day
        month = m.group(0).split()[-1].lower().rstrip(".")
        if month in MONTHS:
            e = m.end()
            y = re.match(r"\s*,?\s*(?:19|20)\d\d", line[e:])
            take(m.start(), e + (y.end() if y else 0))
    clocks = _clocks(line)
    for c in clocks:
        take(c.start, c.end)
    for m in _WD_NUM.finditer("".join(blank)):
        wd = WEEKDAYS.get(m.group("wd").lower().rstrip("."))
        d = int(m.group("d"))
        if wd is None or not 1 <= d <= 31:
            continue
        found = _nearest_with(d, wd, base)
        if found is None:
            rejected.append(Rejected(m.group(0), f"no {m.group('wd')} {d} near {base}"))
        else:
            out.append(
                _Mention(
                    m.start(), m.end(), found, None, format_day(found, weekday=True), m.group(0)
                )
            )
        take(m.start(), m.end())
    if week_table:  # a weekly table ("Monday  Chicken shawarma"): this week's days
        row = _WEEK_ROW.match("".join(blank))
        if row:
            wd = WEEKDAYS[row.group("wd").lower()]
            found = base - timedelta(days=base.weekday()) + timedelta(days=wd)
            text = row.group(0)
            out.append(
                _Mention(row.start(), row.end(), found, None, format_day(found, weekday=True), text)
            )
            take(row.start(), row.end())
    for m in _NUMERIC.finditer("".join(blank)):
        before = line[max(0, m.start() - 14) : m.start()]
        if not m.group("y") and not _DATE_CUE.search(before):
            continue  # "1/1", "3/12": a ratio or a page, not a date
        a, b = int(m.group("a")), int(m.group("b"))
        yy: str | None = m.group("y")
        year = (int(yy) + (2000 if len(yy) == 2 else 0)) if yy else None
        day_, month_ = (b, a) if b > 12 >= a else (a, b)  # 11/30/2024: month first
        take(m.start(), m.end())
        if not 1 <= month_ <= 12 or not 1 <= day_ <= 31:
            rejected.append(Rejected(m.group(0), f"not a date: {m.group(0)} has no such month/day"))
            continue
        try:
            found = date(year or _year_near(month_, day_, base), month_, day_)
        except ValueError:
            rejected.append(
                Rejected(m.group(0), f"not a date: {MONTH_NAMES[month_]} has no day {day_}")
            )
            continue
        out.append(_Mention(m.start(), m.end(), found, None, format_day(found), m.group(0)))
    for m in _MONTH_DAY.finditer("".join(blank)):  # "31 February", "32 March": say so, no guess
        d = int(m.group("d") or m.group("d2"))
        mon = MONTHS[(m.group("m") or m.group("m2")).lower()]
        try:
            date(2024, mon, d)  # a leap year: 29 February exists
        except ValueError:
            rejected.append(Rejected(m.group(0), f"not a date: {MONTH_NAMES[mon]} has no day {d}"))
            take(m.start(), m.end())
    rest = "".join(blank)
    for t in find_times(rest, ref):
        if t.day is None:
            continue
        if _NEGATED.search(line[: t.start]):
            take(t.start, t.end)
            continue  # "no longer on Tuesday"
        own = re.search(r", (\d{2}:\d{2})$", t.value) if t.precision == "time" else None
        hhmm = own.group(1) if own else None  # an ISO time carries its clock ("...T09:15")
        out.append(_Mention(t.start, t.end, t.day, hhmm, format_day(t.day, weekday=True), t.text))
        take(t.start, t.end)
    out.extend(clocks)
    out.sort(key=lambda x: x.start)
    return out, "".join(blank)


def _year_near(month: int, day: int, ref: date) -> int:
    best, gap = ref.year, None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        try:
            g = abs((date(y, month, day) - ref).days)
        except ValueError:
            continue
        if gap is None or g < gap:
            best, gap = y, g
    return best


def _at(day: date, hhmm: str | None, tz: datetime) -> datetime:
    h, m = (int(x) for x in hhmm.split(":")) if hhmm else (0, 0)
    return datetime.combine(day, time(h, m), tzinfo=tz.tzinfo)


def _value(day: date, hhmm: str | None) -> str:
    v = format_day(day, weekday=True)
    return f"{v}, {hhmm}" if hhmm else v


def _tidy(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:-–—|")[:240]


def _sentence(line: str, pos: int) -> str:
    """The sentence of `line` around position `pos`."""
    starts = [0] + [m.end() for m in re.finditer(r"[.!?](?:\s+|$)", line) if m.end() <= pos]
    s = starts[-1]
    m = re.compile(r"[.!?](?:\s+|$)").search(line, max(pos, s))
    return line[s : m.end() if m else len(line)]


def _context(line: str, ms: list[_Mention], prev: str, pos: int) -> str:
    """What a dated item is: its sentence, with the line before when the sentence says little
    more than the time ("Date: Monday 11 November 2024, 10:12" under "Subject: ...")."""
    sent = _sentence(line, pos)
    rest = sent
    for m in ms:
        rest = rest.replace(m.text, " ")
    if len(content_words(rest)) < 3 and prev:
        return _tidy(f"{prev} — {sent}")
    return _tidy(sent)


def find_events(text: str, ref: datetime, app: str = "") -> Events:
    """Dated items in `text`, resolved against `ref` (when the text was seen or written); `app`
    (the app it was read in) tells chat timestamps from calendar rows."""
    ref = _local(ref)
    src = lines_of(text or "")
    res = Events(truncated=src.truncated)
    is_chat = app.strip().lower() in CHAT_APPS
    is_calendar = app.strip().lower() in CALENDAR_APPS
    shown_day: date | None = None  # a calendar's day heading ("Tuesday 12 November")
    week_table = sum(bool(_WEEK_ROW.match(ln)) for ln in src.lines) >= 3
    recent: tuple[int, Event] | None = None  # the last event, which a clock line may continue
    prev_plain = ""
    for i, raw in enumerate(src.lines):
        if not plausible(raw):
            continue
        line, chat = raw, False
        head = None if is_calendar else chat_line(raw)
        if head is not None:
            speaker, _t, message = head
            if not message:
                continue  # a message header: its time is when it was sent, not an event
            line, chat = f"{speaker}: {message}", True
        elif is_chat:
            bare = re.match(r"^\d{1,2}:\d{2}\s+(?=\S)", raw)
            if bare:  # "18:02 Don't forget ...": a message's timestamp
                line, chat = raw[bare.end() :], True
        n_rej = len(res.rejected)
        ms, residual = _mentions(line, ref, res.rejected, week_table)
        bad_date = len(res.rejected) > n_rej
        days = [m for m in ms if m.day is not None]
        clocks = [m for m in ms if m.day is None]
        recurring = bool(_RECURRING.search(line))
        made: list[Event] = []

        def context(
            pos: int, line: str = line, ms: list[_Mention] = ms, prev: str = prev_plain
        ) -> str:
            return _context(line, ms, prev, pos)

        heading = len(content_words(residual)) < 2 or bool(_NOTHING.match(residual.strip(" \x01")))
        if days:
            spare = list(clocks)
            grid = False
            j = 0
            while j < len(days):
                d = days[j]
                end_day = None
                if j + 1 < len(days) and _RANGE_TO.match(line[d.end : days[j + 1].start]):
                    end_day = days[j + 1]  # "Thursday to Sunday": one item with an end
                    j += 1
                j += 1
                for c in list(spare) if d.hhmm is None else []:
                    gap = line[d.end : c.start] if c.start >= d.end else line[c.end : d.start]
                    if (
                        c.start >= d.end
                        or len(gap.strip()) <= 2
                        or _TIME_CUE.search(line[: c.start])
                    ):
                        d.hhmm = c.hhmm
                        spare.remove(c)
                        # A calendar row: "Mon 11 09:30 Standup ... 14:00 1:1 with Priya"
                        grid = (
                            c.start >= d.end
                            and len(gap.strip()) <= 2
                            and (len(clocks) >= 2 or d.start <= 2)
                        )
                        break
                assert d.day is not None
                if d.hhmm is None and heading:
                    continue  # "Week 46 ... Today", "Sun 17 no events": a heading, not an item
                summary = context(d.start)
                if grid:
                    nxt = min((x.start for x in ms if x.start > c.end), default=len(line))
                    after = _tidy(line[c.end : nxt])
                    summary = after if content_words(after) else summary
                ev = Event(
                    _at(d.day, d.hhmm, ref),
                    "time" if d.hhmm else "day",
                    summary,
                    _value(d.day, d.hhmm),
                    raw,
                )
                if end_day is not None and end_day.day is not None:
                    ev.end = _at(end_day.day, None, ref)
                made.append(ev)
            anchor = days[0]
            for c in spare:  # more clocks with one day: more items that day, or a range's end
                prev_end = max((x.end for x in ms if x.end <= c.start and x.hhmm), default=None)
                if prev_end is not None and (
                    _RANGE_TO.match(line[prev_end : c.start])
                    or _END_CUE.search(line[prev_end : c.start])
                ):
                    # "09:00 to 10:00", "departs 07:45, arrives 10:20": the end of that item
                    if made and made[-1].precision == "time":
                        made[-1].end = _at(made[-1].when.date(), c.hhmm, ref)
                    continue
                if c.start < anchor.start and not _TIME_CUE.search(line[: c.start]):
                    continue  # "18:02 ... on Saturday": that clock is not the item's
                nxt = min((x.start for x in ms if x.start > c.start), default=len(line))
                what = _tidy(line[c.end : nxt]) or context(c.start)
                assert anchor.day is not None
                made.append(
                    Event(
                        _at(anchor.day, c.hhmm, ref), "time", what, _value(anchor.day, c.hhmm), raw
                    )
                )
        elif clocks and not days and not bad_date and not recurring:
            for c in clocks:
                prev_end = max((x.end for x in clocks if x.end <= c.start), default=None)
                if prev_end is not None and _RANGE_TO.match(line[prev_end : c.start]):
                    if made:
                        made[-1].end = _at(made[-1].when.date(), c.hhmm, ref)
                    continue
                agenda = (
                    is_calendar and not line[: c.start].strip()
                )  # "09:30 Standup" in a day view
                if not agenda and not _TIME_CUE.search(line[: c.start][-14:]):
                    continue  # a bare clock (a timestamp, an uptime): not an item
                day = shown_day if agenda and shown_day else ref.date()
                if agenda:
                    nxt = min((x.start for x in clocks if x.start > c.end), default=len(line))
                    what = _tidy(line[c.end : nxt])
                    if content_words(what):
                        made.append(
                            Event(_at(day, c.hhmm, ref), "time", what, _value(day, c.hhmm), raw)
                        )
                        continue
                if recent is not None and i - recent[0] <= 2:
                    ev = recent[1]
                    if ev.precision == "day" and chat:  # "dinner on Saturday!" / "for 19:00"
                        ev.when = _at(ev.when.date(), c.hhmm, ref)
                        ev.precision = "time"
                        ev.value = _value(ev.when.date(), c.hhmm)
                        ev.summary = _tidy(f"{ev.summary} {line}")
                        continue
                    day = ev.when.date()
                made.append(
                    Event(_at(day, c.hhmm, ref), "time", context(c.start), _value(day, c.hhmm), raw)
                )
        if days:
            shown_day = days[-1].day
        if made:
            res.events.extend(made)
            recent = (i, made[-1])
        if not ms:
            prev_plain = line
    res.events = _merged(res.events)
    return res


def _merged(events: list[Event]) -> list[Event]:
    """One item per time: two lines about the same moment are one event."""
    out: dict[tuple[datetime, str], Event] = {}
    for e in events:
        k = (e.when, e.precision)
        if k in out:
            o = out[k]
            if e.summary not in o.summary:
                o.summary = _tidy(f"{o.summary} / {e.summary}")
            o.end = o.end or e.end
        else:
            out[k] = e
    return list(out.values())
