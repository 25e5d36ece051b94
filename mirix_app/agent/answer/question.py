"""What a question asks: its parts, their kinds (when, who, how many, ...), its topic words and the days it names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from mirix_app.agent.answer.lexicon import (
    _AUX,
    _CALENDAR,
    _LISTY,
    _NOT_NAMES,
    _SPLIT_PARTS,
    content_stems,
)
from mirix_app.agent.extract.times import (
    MONTH_NAMES,
    _shift_months,
    find_times,
)
from mirix_app.memory.types import STOP_WORDS


@dataclass
class Part:
    """One thing the question asks (a question can ask two: "when ... and from which gate?")."""

    text: str
    kind: str  # when | time | ago | who | where | number | duration | steps | yesno | field | what
    head: str = ""  # the noun after which/what/how many ("gate", "eggs")


@dataclass
class Question:
    text: str
    parts: list[Part]
    stems: list[str]
    names: list[str]
    listy: bool
    window: tuple[date, date] | None = None  # [first, last] day a dated question is about
    options: tuple[str, str] | None = None  # "... a beach or the mountains?": one is the answer

    @property
    def kind(self) -> str:
        return self.parts[0].kind


_KINDS = frozenset("kind kinds type types sort sorts".split())


def _kind(part: str) -> tuple[str, str]:
    q = part.lower().strip()
    first = q.split()[0] if q.split() else ""
    m = re.search(r"\bhow (?:many|much)\s+([a-z]+)?", q)
    if m:
        head = m.group(1) or ""
        return "number", "" if head in STOP_WORDS or head in _AUX else head
    if re.search(r"\bhow (?:full|big|large|far|heavy|fast|tall|high|wide|deep)\b", q):
        return "number", ""
    if first in ("what", "what's") and re.search(r"\b(?:cost|costs|price|fee|charge|pay)\b", q):
        return "number", ""  # "what will my plan cost": an amount
    if re.search(r"\bhow long ago\b", q):
        return "ago", ""
    if re.search(r"\bhow (?:long|often|frequently)\b|\bhow old\b", q):
        return "duration", ""
    if re.search(r"\bwhat time\b|\bat what time\b", q):
        return "time", ""
    wh = re.search(r"\b(?:what|which|who|whom|whose|where|why|how|when)\b", q)
    # "When did she make a video on how to style ...": the 'how to' is what was made.
    how_to = r"\bhow to\b|" if wh is None or wh.group(0) in ("how", "what", "which") else ""
    if re.search(
        r"\bhow (?:do|did|can|should|would|could) (?:i|we|you|one)\b|"
        + how_to
        + r"\bsteps?\b|\bprocedure\b|\binstructions?\b",
        q,
    ) and not re.search(r"\bhow (?:do|did) (?:i|you) (?:feel|like|know|meet)\b", q):
        return "steps", ""
    # "Who supports her when she ...": a 'when' after another question word is a condition.
    if (wh and wh.group(0) == "when") or re.search(
        r"\bwhat (?:date|day|year|month)\b|\bwhich (?:date|day|year|month)\b", q
    ):
        return "when", ""
    if re.search(r"\bwho(?:m|se)?\b|\bwith whom\b", q):
        return "who", ""
    m = re.search(
        r"\b(?:which|what)\s+(city|country|place|town|state|room|restaurant|venue|address|hotel|"
        r"location|street|building|office|station|airport)\b",
        q,
    )
    if m:
        return "where", m.group(1)
    if re.search(r"\bwhere\b", q):
        return "where", ""
    m = re.search(
        r"\b(?:which|what(?:'s| is| was| are)?(?: my| the| our| his| her)?)\s+"
        r"(?:[a-z][\w-]*['’]s\s+)?([a-z][\w-]+)",  # "what is Tom's phone number": phone
        q,
    )
    if (
        m
        and m.group(1) not in STOP_WORDS | _AUX | _KINDS | {"did", "do", "does"}
        and not m.group(1).endswith("ed")  # "what inspired you": a verb, not a field
    ):
        return "field", m.group(1)
    if first in _AUX:
        return "yesno", ""
    return "what", ""


def analyze(question: str) -> Question:
    text = " ".join(question.split())
    pieces = [p for p in _SPLIT_PARTS.split(text) if p.strip()] or [text]
    parts = [Part(p, *_kind(p)) for p in pieces]
    names = [
        w
        for w in re.findall(r"\b[A-Z][\w'’-]+", text[1:] if text else "")
        if w.lower() not in _NOT_NAMES and w.lower() not in _AUX
    ]
    window, undated = question_window(text)
    names = [n for n in names if n.lower() not in _CALENDAR]
    return Question(
        text,
        parts,
        content_stems(undated),
        names,
        bool(_LISTY.search(text)),
        window,
        options(text),
    )


_FUNCTION = frozenset(
    "a an the to in at on of for with by near from into than more less go going be being".split()
)
_OPTION = re.compile(r"^([\w'’ -]+?)\s+or\s+([\w'’ -]+?)\s*\?*\s*$")


def options(text: str) -> tuple[str, str] | None:
    """The two things a question offers to choose from: "Does he live near a beach or the
    mountains?" -> ("beach", "mountains"). None when it offers none."""
    m = _OPTION.search(text.split(",")[-1])
    if m is None or " or " in m.group(2):
        return None
    after: list[str] = []
    for w in m.group(2).split():
        if w.lower() in _FUNCTION:
            if after:
                break
            continue
        after.append(w)
    before: list[str] = []
    for w in reversed(m.group(1).split()):
        if w.lower() in _FUNCTION or w.lower() in _AUX or len(before) >= max(len(after), 1):
            break
        before.insert(0, w)
    if not before or not after or len(after) > 3:
        return None
    a, b = " ".join(before), " ".join(after)
    return None if a.lower() == b.lower() else (a, b)


_MONTH_YEAR = re.compile(r"\b([A-Z][a-z]+) (\d{4})\b")


_YEAR = re.compile(r"\b(?:in|during|of)\s+((?:19|20)\d\d)\b")


def question_window(text: str, now: date | None = None) -> tuple[tuple[date, date] | None, str]:
    """The days a question names ("on 3 June, 2023", "in October 2023", "in 2022") and the
    question without them: the date is a time to look at, not a word to match. A named day
    reaches back a week, since what was said that day is often about the days before."""
    ref = now or date.today()
    for t in find_times(text, ref):
        rest = f"{text[: t.start]} {text[t.end :]}"
        if t.day is not None and t.precision == "day" and re.search(r"\d{4}", t.text):
            return (t.day - timedelta(days=7), t.day + timedelta(days=1)), rest
        mm = _MONTH_YEAR.search(t.value)
        if t.precision == "month" and mm and mm.group(1).lower() in _CALENDAR:
            month = MONTH_NAMES.index(mm.group(1))
            first = date(int(mm.group(2)), month, 1)
            return (first, _shift_months(first, 1) - timedelta(days=1)), rest
    ym = _YEAR.search(text)
    if ym:
        y = int(ym.group(1))
        return (date(y, 1, 1), date(y, 12, 31)), f"{text[: ym.start()]} {text[ym.end() :]}"
    return None, text
