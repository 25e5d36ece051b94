"""Time expressions in text, resolved against the time the text was written or seen.

"yesterday" in a message of 8 May 2023 is 7 May 2023; "last Friday" is the Friday before it;
"last week" cannot be pinned to a day, so it stays a period: "the week before 8 May 2023". Pure
functions, no model: the answer step and extraction both use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for m in names
}
MONTH_NAMES = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = {
    d: i
    for i, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for d in names
}
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "couple of": 2,
    "a couple of": 2,
    "few": 3,
    "a few": 3,
}

_MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_WD = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?"
_NUM = r"(?:\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty)"
_UNIT = r"(?:day|week|weekend|month|year)s?"
_CLOCK = r"(?:(?:[01]?\d|2[0-3])[:.h][0-5]\d(?:\s*[ap]\.?m\.?)?|(?:1[0-2]|0?[1-9])\s*[ap]\.?m\.?\b)"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "iso",
        re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?\b"),
    ),
    (
        "dmy",  # [Thursday,] 12 March [2024]
        re.compile(
            rf"\b(?:(?P<wd>{_WD}),?\s+)?(?:the\s+)?(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MON})(?:,?\s+(?P<y>(?:19|20)\d\d))?\b",
            re.I,
        ),
    ),
    (
        "mdy",  # [Thursday,] March 12[, 2024]
        re.compile(
            rf"\b(?:(?P<wd>{_WD}),?\s+)?(?P<m>{_MON})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>(?:19|20)\d\d))?",
            re.I,
        ),
    ),
    ("my", re.compile(rf"\b(?:in\s+)?(?P<m>{_MON})\s+(?P<y>(?:19|20)\d\d)\b", re.I)),
    ("ago", re.compile(rf"\b(?P<n>{_NUM})\s+(?P<u>{_UNIT})\s+ago\b", re.I)),
    ("in_n", re.compile(rf"\bin\s+(?P<n>{_NUM})\s+(?P<u>{_UNIT})\b", re.I)),
    (
        "rel_wd",
        re.compile(rf"\b(?P<rel>last|past|this|next|coming|on)\s+(?P<wd>{_WD})\b", re.I),
    ),
    (
        "rel_unit",
        re.compile(
            r"\b(?P<rel>last|past|this|next|coming|the previous|the following)\s+(?P<u>week(?:end)?|month|year|summer|winter|spring|fall|autumn)\b",
            re.I,
        ),
    ),
    (
        "day",
        re.compile(
            r"\b(?P<w>the day before yesterday|the day after tomorrow|yesterday|today|tonight|tomorrow|last night|this (?:morning|afternoon|evening))\b",
            re.I,
        ),
    ),
    ("bare_wd", re.compile(r"\b(?P<wd>(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b", re.I)),
    ("year", re.compile(r"\b(?:in|since|of|during)\s+(?P<y>(?:19|20)\d\d)\b", re.I)),
    ("bare_month", re.compile(rf"\b(?:in|during|since|by|until)\s+(?P<m>{_MON})\b(?!\s+\d)", re.I)),
]
_CLOCK_RE = re.compile(rf"\b(?:at\s+)?(?P<t>{_CLOCK})", re.I)


@dataclass
class TimeMention:
    """One time expression: where it is in the text, and what it resolves to."""

    text: str
    start: int
    end: int
    value: str  # what a person reads: "Thursday 12 March 2026, 07:45", "the week before 8 May 2023"
    day: date | None = None  # set when the expression names one day
    precision: str = "day"  # day | week | weekend | month | year | season | time


def format_day(d: date, *, weekday: bool = False) -> str:
    text = f"{d.day} {MONTH_NAMES[d.month]} {d.year}"
    return f"{WEEKDAY_NAMES[d.weekday()]} {text}" if weekday else text


def _num(word: str) -> int:
    w = word.lower().strip()
    return int(w) if w.isdigit() else NUMBER_WORDS.get(w, 1)


def _shift_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def _year_for(month: int, day: int, ref: date, weekday: int | None) -> int:
    """A date given without a year: the year where its weekday fits, else the nearest one."""
    years = [ref.year - 1, ref.year, ref.year + 1]
    ok: list[tuple[int, int]] = []
    for y in years:
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        if weekday is not None and d.weekday() != weekday:
            continue
        ok.append((abs((d - ref).days), y))
    if not ok and weekday is not None:
        return _year_for(month, day, ref, None)
    return min(ok)[1] if ok else ref.year


def clock(text: str) -> str | None:
    """'7:45 am' -> '07:45', '3 pm' -> '15:00', '19.30' -> '19:30'."""
    m = re.fullmatch(
        r"\s*(?:at\s+)?(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])?\.?(?:m\.?)?\s*", text, re.I
    )
    if not m:
        return None
    h, mi, ap = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
    if ap == "p" and h < 12:
        h += 12
    if ap == "a" and h == 12:
        h = 0
    if h > 23 or mi > 59:
        return None
    return f"{h:02d}:{mi:02d}"


def find_times(text: str, ref: datetime | date) -> list[TimeMention]:
    """Every time expression in `text`, resolved against `ref` (when the text was written)."""
    base = ref.date() if isinstance(ref, datetime) else ref
    taken: list[tuple[int, int]] = []
    out: list[TimeMention] = []
    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            mention = _resolve(kind, m, base)
            if mention is None:
                continue
            taken.append((s, e))
            out.append(mention)
    out.sort(key=lambda t: t.start)
    _attach_clock(text, out)
    return out


def _attach_clock(text: str, mentions: list[TimeMention]) -> None:
    """A clock time next to a day ('Thursday 12 March, 07:45', 'tomorrow at 3 pm') joins it;
    a clock time on its own becomes a mention of its own."""
    used: list[tuple[int, int]] = [(t.start, t.end) for t in mentions]
    for m in _CLOCK_RE.finditer(text):
        s, e = m.span()
        if any(s < ue and us < e for us, ue in used):
            continue
        hhmm = clock(m.group("t"))
        if hhmm is None:
            continue
        near = [t for t in mentions if t.day is not None and 0 <= s - t.end <= 12]
        near += [t for t in mentions if t.day is not None and 0 <= t.start - e <= 4]
        if near:
            t = near[0]
            t.value = f"{t.value}, {hhmm}"
            t.start, t.end = min(t.start, s), max(t.end, e)
            t.text = text[t.start : t.end]
            t.precision = "time"
        else:
            mentions.append(TimeMention(m.group(0).strip(), s, e, hhmm, None, "time"))
        used.append((s, e))
    mentions.sort(key=lambda t: t.start)


def _resolve(kind: str, m: re.Match[str], ref: date) -> TimeMention | None:
    g = m.groupdict()
    text, s, e = m.group(0), m.start(), m.end()

    def at(value: str, day: date | None = None, precision: str = "day") -> TimeMention:
        return TimeMention(text, s, e, value, day, precision)

    if kind == "iso":
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        value = format_day(d)
        if m.group(4):
            value += f", {m.group(4)}:{m.group(5)}"
        return at(value, d, "time" if m.group(4) else "day")
    if kind in ("dmy", "mdy"):
        month = MONTHS.get(g["m"].lower().rstrip("."))
        day = int(g["d"])
        if month is None or not 1 <= day <= 31:
            return None
        wd = WEEKDAYS.get((g.get("wd") or "").lower().rstrip("."))
        year = int(g["y"]) if g.get("y") else _year_for(month, day, ref, wd)
        try:
            d = date(year, month, day)
        except ValueError:
            return None
        return at(format_day(d, weekday=wd is not None), d)
    if kind == "my":
        month = MONTHS.get(g["m"].lower().rstrip("."))
        if month is None:
            return None
        return at(f"{MONTH_NAMES[month]} {g['y']}", None, "month")
    if kind in ("ago", "in_n"):
        n = _num(g["n"]) * (-1 if kind == "ago" else 1)
        unit = g["u"].lower().rstrip("s")
        if unit == "day":
            d = ref + timedelta(days=n)
            return at(format_day(d), d)
        if unit == "week":
            d = ref + timedelta(weeks=n)
            return at(f"the week of {format_day(d)}", None, "week")
        if unit == "weekend":
            word = {1: "the weekend", 2: "two weekends", 3: "three weekends"}.get(abs(n))
            word = word or f"{abs(n)} weekends"
            side = "before" if n < 0 else "after"
            return at(f"{word} {side} {format_day(ref)}", None, "weekend")
        if unit == "month":
            d = _shift_months(ref, n)
            return at(f"{MONTH_NAMES[d.month]} {d.year}", None, "month")
        return at(str(ref.year + n), None, "year")
    if kind in ("rel_wd", "bare_wd"):
        wd = WEEKDAYS.get(g["wd"].lower().rstrip("."))
        if wd is None:
            return None
        rel = (g.get("rel") or "").lower()
        if rel in ("last", "past"):
            delta = (ref.weekday() - wd) % 7 or 7
            d = ref - timedelta(days=delta)
        elif rel == "this":
            d = ref + timedelta(days=wd - ref.weekday())
        else:  # next, coming, on, or a bare weekday: the next one from the reference day
            delta = (wd - ref.weekday()) % 7 or 7
            d = ref + timedelta(days=delta)
        return at(format_day(d, weekday=True), d)
    if kind == "rel_unit":
        rel, unit = g["rel"].lower(), g["u"].lower()
        past = rel in ("last", "past", "the previous")
        now = rel == "this"
        if unit == "week":
            word = "of" if now else "before" if past else "after"
            return at(f"the week {word} {format_day(ref)}", None, "week")
        if unit == "weekend":
            word = "before" if past else "of" if now else "after"
            return at(f"the weekend {word} {format_day(ref)}", None, "weekend")
        if unit == "month":
            d = ref.replace(day=1) if now else _shift_months(ref, -1 if past else 1)
            return at(f"{MONTH_NAMES[d.month]} {d.year}", None, "month")
        if unit == "year":
            return at(
                str(ref.year if now else ref.year - 1 if past else ref.year + 1), None, "year"
            )
        season = "autumn" if unit == "fall" else unit
        year = ref.year - 1 if past else ref.year + (1 if rel in ("next", "the following") else 0)
        return at(f"{season} {year}", None, "season")
    if kind == "day":
        w = g["w"].lower()
        offset = {
            "the day before yesterday": -2,
            "yesterday": -1,
            "last night": -1,
            "tomorrow": 1,
            "the day after tomorrow": 2,
        }.get(w, 0)
        d = ref + timedelta(days=offset)
        return at(format_day(d), d)
    if kind == "year":
        return at(g["y"], None, "year")
    if kind == "bare_month":
        month = MONTHS.get(g["m"].lower().rstrip("."))
        if month is None or g["m"] == "may":  # lower-case "may" is the verb
            return None
        year = ref.year if month >= ref.month - 6 else ref.year + 1
        return at(f"{MONTH_NAMES[month]} {year}", None, "month")
    return None
