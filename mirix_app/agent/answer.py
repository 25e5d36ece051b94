"""Evidence-first answers: a short, cited answer made from the retrieved memories with no model.

The retrieved memories are split into units (sentences, lines, steps, field values), each unit is
scored against the question (term overlap, embedder similarity, the answer type the question asks
for), and the best unit gives the answer: a span of it (a date, a name, a number with its unit,
the words after the matched verb), the steps of a procedure, or the sentence itself. Relative
times are resolved against the memory's own time. When nothing scores high enough the answer says
so and lists the nearest memories; nothing is ever made up.

This is the fallback for every model: a model may only rephrase it, after verification.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mirix_app.agent.extract.times import (
    MONTH_NAMES,
    TimeMention,
    _shift_months,
    find_times,
    format_day,
)
from mirix_app.memory.clock import parse_time
from mirix_app.memory.types import STOP_WORDS, Memory, MemoryType

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], Any]  # texts -> (n, d) array of unit vectors

_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'“(]?[A-Z0-9])|\s+[–—]\s+|\n+")
_CLAUSE_END = re.compile(r"[,;:!?()\"“”]|\.(?:\s|$)|\s[–—-]\s")
_STEP_LINE = re.compile(r"^\s*(?:step\s*)?(\d{1,2})[.):]\s+(.+)$", re.I)
_FIELD = re.compile(r"^\s*([A-Za-z][\w ./&#-]{0,30}?)\s*[:：]\s+(\S.{0,200})$")
_PHOTO = re.compile(r"\s*\[shared a photo: ([^\]]*)\]")
_SESSION_TIME = re.compile(
    r",\s*\d{1,2}:\d{2}(?:\s*[–-]\s*\d{1,2}:\d{2})?(?:\s*\(\d+ captures?\))?\s*$"
)
_MARKER = re.compile(r"\s*\[(?:capture|source|conversation):[^\]]{0,120}\]")
_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,40}):\s+")
_NUMBER = re.compile(
    r"(?:[$€£¥]\s?)?\b\d[\d,]*(?:\.\d+)?\b(?:\s?(?:%|percent|[kKmM]\b))?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|hundred|a dozen|dozen|half|a couple|a few|several)\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|a few|a couple of|several|many)\s+(?:more\s+)?(?:years?|months?|weeks?|days?|hours?|"
    r"minutes?|mins?|seconds?|decades?)(?:\s+(?:ago|long|old))?\b"
    r"|\b(?:once|twice|\w+ times)\s+(?:a|per|every)\s+\w+\b|\bevery\s+(?:\w+\s+)?\w+\b|"
    r"\b(?:daily|weekly|monthly|yearly|annually)\b",
    re.I,
)
_PLACE = re.compile(
    r"\b(?:in|at|to|from|near|around|into|visited|visiting|visit|toward|towards)\s+"
    r"((?:the\s+)?[A-Z][\w'’-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’-]+)*)"
)
_PLACE_NOUN = re.compile(
    r"\b(?:in|at|to|from|near|into)\s+((?:the|a|an|my|our|his|her|their)\s+(?:[\w'-]+\s+){0,2}?"
    r"(?:park|beach|lake|museum|cafe|café|restaurant|shelter|store|shop|school|office|library|"
    r"gym|studio|church|hospital|clinic|center|centre|hall|room|gallery|theater|theatre|mountains?|"
    r"forest|city|town|village|country|house|home|garden|camp|campground|station|airport|bar|"
    r"market|mall|conference|festival|concert|meeting)\b)",
    re.I,
)
_NAME = re.compile(
    r"\b((?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][a-z'’-]+(?:\s+(?:[A-Z][a-z'’-]+|[A-Z]\.))*(?:\s+(?:de|da|van|von)\s+[A-Z][a-z]+)?)"
)
_RELATION = re.compile(
    r"\b((?:my|his|her|our|their)\s+(?:(?:best|old|close|new|younger|older|little|big)\s+)?"
    r"(?:mom|mother|dad|father|parents|aunt|uncle|sister|brother|sibling|cousin|grandma|"
    r"grandmother|grandpa|grandfather|friends?|husband|wife|partner|boyfriend|girlfriend|son|"
    r"daughter|kids|children|boss|manager|colleague|coworker|co-worker|mentor|teacher|neighbou?r|"
    r"dentist|doctor|therapist|team|family))\b",
    re.I,
)
_SENDER_Q = re.compile(
    r"\b(?:sent|send|from|wrote|write|emailed|invited|organi[sz]ed|signed)\b", re.I
)
_SENDER_KEYS = {"from", "sender", "organizer", "organiser", "author", "by", "host", "signed"}
_ORG = re.compile(
    r"\b(?:Clinic|Inc|Ltd|LLC|GmbH|Travel|Bank|School|University|Hospital|Hotel|Airlines?|"
    r"Airways|Group|Company|Corp|Center|Centre|Cafe|Café|Restaurant|Studio|Store|Shop|Team)\b"
)
_NOT_NAMES = {
    "i",
    "i'm",
    "i've",
    "i'll",
    "the",
    "a",
    "my",
    "we",
    "you",
    "it",
    "hey",
    "hi",
    "hello",
    "thanks",
    "thank",
    "wow",
    "yes",
    "yeah",
    "no",
    "oh",
    "ok",
    "okay",
    "sure",
    "great",
    "that",
    "this",
    "there",
    "what",
    "lol",
    "haha",
    "also",
    "so",
    "and",
    "but",
    "awesome",
    "cool",
    "nice",
    "congrats",
    "sounds",
    "good",
    "glad",
    "sorry",
    "by",
    "btw",
    "last",
    "next",
    "today",
    "yesterday",
    "tomorrow",
    "inbox",
    "subject",
    "from",
    "to",
    "dear",
    "page",
}
_CALENDAR = {
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
}
# Words a question is made of besides its topic (chat's topic search drops them too).
QUESTION_WORDS = STOP_WORDS | {
    "tell",
    "know",
    "about",
    "remember",
    "any",
    "some",
    "there",
    "ever",
    "please",
    "many",
    "much",
    "does",
    "did",
    "ago",
    "last",
    "like",
}
_QUESTION_NOISE = (QUESTION_WORDS - {"ago", "last"}) | {
    "tell",
    "know",
    "about",
    "remember",
    "any",
    "some",
    "ever",
    "please",
    "many",
    "much",
    "does",
    "did",
    "do",
    "kind",
    "type",
    "sort",
    "time",
    "date",
    "day",
    "long",
    "often",
    "old",
    "get",
    "got",
    "going",
    "go",
    "like",
    "mention",
    "mentioned",
    "say",
    "said",
    "think",
    "thing",
    "things",
    "happen",
    "happened",
    "recently",
    "there",
    "been",
    "being",
    "should",
    "must",
    "also",
    "other",
    "one",
    "ones",
    "us",
    "am",
    "s",
}
_AUX = {
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "should",
    "has",
    "have",
    "had",
    "am",
    "may",
    "might",
    "shall",
}
_LISTY = re.compile(
    r"\b(?:activities|things|ways|hobbies|events|books|items|kinds|types|places|names|"
    r"pets|foods|instruments|sports|games|countries|cities|artists|bands|songs|movies|both|all)\b",
    re.I,
)
_SPLIT_PARTS = re.compile(
    r"\s*(?:,|\band\b|\bor\b)\s+(?=(?:from\s+|at\s+|in\s+|on\s+|to\s+)?(?:what|which|when|where|who|whom|how)\b)",
    re.I,
)


# -- words -----------------------------------------------------------------------------------------
# Past forms that no suffix rule reaches: "felt" answers "how did you feel".
_IRREGULAR = {
    "felt": "feel",
    "saw": "see",
    "seen": "see",
    "made": "make",
    "went": "go",
    "gone": "go",
    "got": "get",
    "gotten": "get",
    "took": "take",
    "taken": "take",
    "bought": "buy",
    "thought": "think",
    "told": "tell",
    "found": "find",
    "gave": "give",
    "given": "give",
    "met": "meet",
    "ran": "run",
    "won": "win",
    "wrote": "write",
    "written": "write",
    "began": "begin",
    "begun": "begin",
    "became": "become",
    "came": "come",
    "left": "leave",
    "lost": "lose",
    "kept": "keep",
    "taught": "teach",
    "brought": "bring",
    "sent": "send",
    "spent": "spend",
    "built": "build",
    "held": "hold",
    "heard": "hear",
    "sold": "sell",
    "paid": "pay",
    "said": "say",
    "ate": "eat",
    "eaten": "eat",
    "drove": "drive",
    "flew": "fly",
    "sang": "sing",
    "swam": "swim",
    "chose": "choose",
    "chosen": "choose",
    "grew": "grow",
    "knew": "know",
    "drew": "draw",
    "fell": "fall",
    "caught": "catch",
    "learnt": "learn",
    "led": "lead",
}


def stem(word: str) -> str:
    """A light suffix stripper: 'donated' and 'donate', 'paintings' and 'painting' meet."""
    w = word.lower().strip("'’.-")
    w = re.sub(r"['’]s$", "", w)
    w = _IRREGULAR.get(w, w)
    for suffix in (
        "ations",
        "ation",
        "ingly",
        "ings",
        "ing",
        "edly",
        "ies",
        "ied",
        "ed",
        "es",
        "s",
        "ly",
        "e",
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if suffix in ("ies", "ied"):
                w += "y"
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # 'running' -> 'runn' -> 'run'
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_stems(text: str, noise: frozenset[str] | set[str] = _QUESTION_NOISE) -> list[str]:
    out: list[str] = []
    for w in words(text):
        lw = w.lower()
        if lw in noise or len(lw) < 2 or (lw.isdigit() and len(lw) < 2):
            continue
        # "invoice-worker-0", "db_staging": the parts are words too
        parts = (
            [lw, *(p for p in re.split(r"[-_./]+", lw) if len(p) >= 3)]
            if re.search(r"[-_./]", lw)
            else [lw]
        )
        for part in parts:
            if part in noise:
                continue
            s = stem(part)
            if s not in out:
                out.append(s)
    return out


# -- the question ---------------------------------------------------------------------------------
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

    @property
    def kind(self) -> str:
        return self.parts[0].kind


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
    if re.search(
        r"\bhow (?:do|did|can|should|would|could) (?:i|we|you|one)\b|\bhow to\b|\bsteps?\b|\bprocedure\b|\binstructions?\b",
        q,
    ) and not re.search(r"\bhow (?:do|did) (?:i|you) (?:feel|like|know|meet)\b", q):
        return "steps", ""
    wh = re.search(r"\b(?:what|which|who|whom|whose|where|why|how|when)\b", q)
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
        r"\b(?:which|what(?:'s| is| was| are)?(?: my| the| our| his| her)?)\s+([a-z][\w-]+)", q
    )
    if m and m.group(1) not in STOP_WORDS | _AUX | {"kind", "type", "sort", "did", "do", "does"}:
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
    return Question(text, parts, content_stems(undated), names, bool(_LISTY.search(text)), window)


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


# -- units ----------------------------------------------------------------------------------------
@dataclass
class Unit:
    memory: Memory
    text: str
    kind: str  # sentence | line | step | field | steps | caption
    ref: datetime
    rank: int
    speaker: str = ""
    steps: list[str] = field(default_factory=list)
    key: str = ""
    value: str = ""
    seq: int = 0  # reading order within its memory: a unit may answer what the one before asks
    score: float = 0.0
    overlap: float = 0.0
    similarity: float = 0.0
    coverage: float = 0.0  # the share of the question's weight its whole memory holds


def memory_time(m: Memory) -> datetime:
    try:
        return parse_time(m.time)
    except ValueError:
        return datetime.now(UTC)


_ABBREV = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr|Mt|No|vs|etc|e\.g|i\.e|approx|ca)\.$", re.I
)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for s in _SENT.split(text):
        s = s.strip(" \t-•*")
        if out and _ABBREV.search(out[-1]) and s:
            out[-1] = f"{out[-1]} {s}"[:600]  # "Dr. Okafor" is one sentence
        elif len(s) >= 2:
            out.append(s[:600])
    return out


def units_of(m: Memory, rank: int) -> list[Unit]:
    """The candidate answer units of one memory. A vault value is never a unit."""
    ref = memory_time(m)
    f = m.fields
    out: list[Unit] = []
    if "chat-question" in m.tags or f.get("event_type") == "question":
        return out  # what the user asked is never evidence for its own answer

    def add(text: str, kind: str = "sentence", **kw: object) -> None:
        text = _MARKER.sub("", text).strip()  # "[capture:cap_01… 01 Dec 14:54]" is provenance
        if text:
            out.append(Unit(m, text, kind, ref, rank, **kw))  # type: ignore[arg-type]

    if m.type is MemoryType.VAULT:
        add(
            f"{f.get('caption', '')} ({f.get('entry_type', '')})",
            "field",
            key=str(f.get("entry_type", "")),
        )
        return out
    if m.type is MemoryType.CORE:
        add(
            f"{f.get('label')}: {f.get('value')}",
            "field",
            key=str(f.get("label", "")),
            value=str(f.get("value", "")),
        )
        return out
    if m.type is MemoryType.PROCEDURAL:
        steps = [str(s) for s in f.get("steps") or []]
        add(str(f.get("summary", "")), "steps", steps=steps)
        for s in steps:
            add(s, "step")
        return out
    speaker = ""
    head = str(f.get("summary") or f.get("title") or f.get("name") or "")
    body = str(f.get("details") or f.get("content") or "")
    if m.type is MemoryType.SEMANTIC:
        head = f"{f.get('name', '')}: {f.get('summary', '')}"
    if m.type is MemoryType.EPISODIC and f.get("event_type") == "conversation":
        # An imported turn: "Speaker: text [shared a photo: ...]"; the details are its
        # neighbours, which are memories of their own.
        sm = _SPEAKER.match(head)
        speaker = sm.group(1) if sm else str(f.get("actor") or "")
        text = head[sm.end() :] if sm else head
        photo = _PHOTO.search(text)
        if photo:
            text = text[: photo.start()]
            caption = re.sub(
                r"^(?:a|an)\s+(?:photo|photograph|photography|picture|image)\s+of\s+",
                "",
                photo.group(1),
            )
            add(caption, "caption", speaker=speaker, seq=500)
        for i, s in enumerate(_sentences(text)):
            add(s, speaker=speaker, seq=i)
        # Its neighbours, as context: a question's answer is often the next turn. The memory
        # holds their text, so citing it is truthful. With two, the first came before.
        near = str(f.get("details") or "").splitlines()
        for k, line in enumerate(near):
            nm = _SPEAKER.match(line)
            said = _PHOTO.sub("", line[nm.end() :] if nm else line)
            base = -100 if k == 0 and len(near) > 1 else 1000
            for i, s in enumerate(_sentences(said)):
                add(s, "context", speaker=nm.group(1) if nm else "", seq=base + i)
        return out
    if f.get("event_type") in ("activity", "session") or "session" in m.tags:
        # "Read 'Invoice …' in Thunderbird (Inbox), 19:19": the time is when it was seen, which
        # the memory's own time says; as text it would answer "by when must I pay".
        head = _SESSION_TIME.sub("", head)
    for i, s in enumerate(_sentences(head)):
        add(s, "sentence", seq=i)
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    numbered = [(_STEP_LINE.match(ln), ln) for ln in lines]
    steps = [mm.group(2).strip() for mm, _ in numbered if mm]
    if len(steps) >= 2:
        add(head or "steps", "steps", steps=steps)
    for i, ln in enumerate(lines[:400]):
        fm = _FIELD.match(ln)
        seq = 100 + 10 * i
        if fm:
            add(ln, "field", key=fm.group(1).strip(), value=fm.group(2).strip(), seq=seq)
        elif len(ln) > 160:
            for j, s in enumerate(_sentences(ln)):
                add(s, "line", seq=seq + min(j, 9))
        else:
            add(ln, "line", seq=seq)
    return out


# -- scoring ----------------------------------------------------------------------------------------
def _matches(qs: str, unit_stems: set[str]) -> bool:
    if qs in unit_stems:
        return True
    if len(qs) >= 5:
        return any(len(u) >= 5 and (u.startswith(qs) or qs.startswith(u)) for u in unit_stems)
    return False


def _has_cue(kind: str, u: Unit, head: str, q: Question | None = None) -> bool:
    t = u.text
    if kind in ("when", "time"):
        return bool(find_times(t, u.ref))
    if kind == "ago":
        return bool(re.search(r"\bago\b|\bsince\b", t, re.I))
    if kind == "number":
        if q is not None:
            return _number_span(t, u, Part("", "number", head), q) is not None
        return bool(_NUMBER.search(t))
    if kind == "duration":
        return bool(_DURATION.search(t))
    if kind == "who":
        if _ROLE.search(t) or _HANDLE_ACTS.search(t):
            return True
        t = u.value if u.kind == "field" and u.value else t
        return bool(_names(t, set()) or _RELATION.search(t))
    if kind == "where":
        return bool(
            _PLACE.search(t) or _PLACE_NOUN.search(t) or _ADDRESS.search(t) or _ROOM.search(t)
        ) or (u.kind == "field" and u.key.lower() in _PLACE_KEYS)
    if kind == "steps":
        return u.kind == "steps"
    if kind == "field":
        return bool(head) and _field_value(u, head, q) is not None
    return False


# How much of what the unit before a unit holds of the question it may carry: an answer often
# follows the line that restates the question, and nearly always follows a question.
CARRY = 0.3
QUESTION_CARRY = 0.9
DATED = 0.15  # a dated question ("on 3 June 2023") prefers memories of those days


def score_units(
    q: Question, units: list[Unit], embed: Embed | None = None, *, embed_top: int = 24
) -> list[Unit]:
    """Each unit's score against the question, best first."""
    if not units:
        return []
    stems_of = [set(content_stems(u.text, STOP_WORDS)) for u in units]
    context_of = [
        set(content_stems(f"{u.speaker} {u.memory.fields.get('actor', '')}", STOP_WORDS))
        for u in units
    ]
    n = len(units)
    idf: dict[str, float] = {}
    for s in q.stems:
        df = sum(1 for st in stems_of if _matches(s, st))
        idf[s] = 1.0 + max(0.0, math.log((n + 1) / (df + 0.5)))
    total = sum(idf.values()) or 1.0
    # What the whole memory shares with the question counts too: a line "4 eggs" of the recipe
    # titled "Shakshuka" answers "how many eggs for the shakshuka".
    whole: dict[str, set[str]] = {}
    for u, st in zip(units, stems_of, strict=True):
        whole.setdefault(u.memory.id, set()).update(st)
    for u, st, ctx in zip(units, stems_of, context_of, strict=True):
        got = sum(idf[s] for s in q.stems if _matches(s, st))
        got += 0.5 * sum(idf[s] for s in q.stems if not _matches(s, st) and _matches(s, ctx))
        in_memory = sum(idf[s] for s in q.stems if _matches(s, whole[u.memory.id] | ctx))
        u.overlap = 0.7 * got / total + 0.3 * in_memory / total
        u.coverage = in_memory / total
    order = sorted(range(n), key=lambda i: (-units[i].overlap, units[i].rank))
    if embed is not None:
        top = order[:embed_top]
        try:
            vecs = embed([q.text] + [units[i].text[:300] for i in top])
            qv = vecs[0]
            for j, i in enumerate(top, 1):
                units[i].similarity = float(qv @ vecs[j])
        except Exception as e:  # the embedder is an aid: lexical scores still answer
            log.debug("answer: unit similarity skipped (%s): lexical scores only", type(e).__name__)
    head = q.parts[0].head
    qnames = {n.lower().rstrip("'’s") for n in q.names}
    # A unit may answer what the unit before it asks or restates ("Why did you run again?" ->
    # "I decided to run again." -> "After my last run, I saw the impact...").
    before: dict[int, Unit] = {}
    by_memory: dict[str, list[Unit]] = {}
    for u in units:
        if u.kind != "caption":
            by_memory.setdefault(u.memory.id, []).append(u)
    for group in by_memory.values():
        group.sort(key=lambda x: x.seq)
        for a, b in itertools.pairwise(group):
            before[id(b)] = a
    for u in units:
        cue = 1.0 if _has_cue(q.kind, u, head, q) else 0.0
        novel = _novelty(u.text, q, qnames)
        prev = before.get(id(u))
        carried = 0.0
        if prev is not None and novel:
            # What a question in the memories asks, the line after it answers.
            w = QUESTION_CARRY if prev.text.rstrip().endswith("?") else CARRY
            carried = w * max(0.0, prev.overlap - u.overlap)
        u.score = (
            0.5 * u.overlap
            + 0.35 * max(0.0, u.similarity)
            + 0.1 * cue
            + 0.08 * min(novel, 4) / 4
            + carried
            + 0.05 / (1 + u.rank)
        )
        if q.window is not None:
            first, last = q.window
            day = u.ref.date() if isinstance(u.ref, datetime) else u.ref
            u.score += DATED if first <= day <= last else 0.0
        if u.text.rstrip().endswith("?"):  # a question is rarely its own answer
            u.score *= 0.55
        if u.kind == "context":
            u.score *= 0.85
    return sorted(units, key=lambda u: (-u.score, u.rank))


def _novelty(text: str, q: Question, qnames: set[str]) -> int:
    """How many words of substance a unit adds to the question's own: an answer says something
    new, while "That's great, Caroline!" only echoes it."""
    qset = set(q.stems)
    n = 0
    for w in words(text):
        lw = w.lower()
        if len(lw) < 3 or lw in STOP_WORDS or lw in _FILLER or lw in _LEAD or lw in qnames:
            continue
        if (lw in _TIME_WORDS or lw in _CALENDAR) and q.kind not in _TIME_KINDS:
            continue
        if _matches(stem(lw), qset):
            continue
        n += 1
    return n


# -- spans --------------------------------------------------------------------------------------------
def _names(text: str, exclude: set[str]) -> list[str]:
    out: list[str] = []
    for m in _NAME.finditer(text):
        name = m.group(1)
        first = name.split()[0].lower()
        if first in _NOT_NAMES or first in _CALENDAR or first in _AUX or first in STOP_WORDS:
            rest = name.split()[1:]
            if not rest:
                continue
            name = " ".join(rest)
        at_start = m.start() == 0 or text[: m.start()].rstrip().endswith((".", "!", "?"))
        if at_start and " " not in name and not text[m.end() :].startswith((" ", ",")):
            continue  # "Read 'Your trip'": a capitalised first word alone is no name
        if at_start and " " not in name and name.lower() in STOP_WORDS | _NOT_NAMES:
            continue
        if name.lower() in exclude or name.split()[0].lower() in exclude:
            continue
        if name not in out:
            out.append(name)
    return out


_TYPED_VALUES = {
    "version": r"\bv?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?\b",
    "ip": r"\b\d{1,3}(?:\.\d{1,3}){3}\b",
    "port": r"(?:(?<=:)|(?<=port )|(?<=port: ))\d{2,5}\b",
    "email": r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    "url": r"\bhttps?://\S+",
}


def _field_value(u: Unit, head: str, q: Question | None = None) -> str | None:
    """The value next to a key the question names: 'Gate: A14', 'gate A14', 'Booking ref QX7-2';
    for a typed key (version, ip, port, email, url) a value of that shape."""
    hs = stem(head)
    if u.kind == "field" and u.key and _matches(hs, set(content_stems(u.key, set()))):
        return u.value or None
    anchors = _anchors(u.text, q, head) if q is not None else []
    typed = _TYPED_VALUES.get(head.lower())
    if typed:
        found = [(m.start(), m.group(0)) for m in re.finditer(typed, u.text)]
        if found:
            return _nearest(found, anchors)
    key = rf"(?i:\b{re.escape(head[: max(2, len(hs))])}\w*\b(?:\s+(?:no\.?|number|#|ref(?:erence)?|code|id))?)"
    cands: list[tuple[int, str]] = []
    # A code-like value may follow a space ("gate A14"); plain words only after ":" or "=".
    for pat in (
        key + r"(?:\s+[a-z]+){0,2}?[\s:#=-]{1,4}([A-Z0-9][\w./-]*\d[\w./-]*|[A-Z][A-Z0-9-]+\b)",
        key + r"\s*[:=]\s*([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)",
    ):
        cands += [(m.start(1), m.group(1)) for m in re.finditer(pat, u.text)]
        if cands:
            break
    return _nearest(cands, anchors)


_FILLER = {
    "i'm",
    "i've",
    "i'll",
    "i'd",
    "you're",
    "you've",
    "it's",
    "that's",
    "we're",
    "they're",
    "he's",
    "she's",
    "there's",
    "let's",
    "great",
    "really",
    "just",
    "so",
    "very",
    "thanks",
    "awesome",
    "cool",
    "glad",
    "wow",
    "hey",
    "yeah",
    "totally",
    "definitely",
    "pretty",
    "super",
    "now",
    "also",
    "too",
    "actually",
    "finally",
    "recently",
    "lately",
    "always",
    "still",
    "even",
    "some",
    "much",
    "lot",
    "lots",
    "stuff",
    "omg",
    "haha",
    "lol",
    "yes",
    "no",
    "oh",
    "well",
}
_LEAD = (
    _FILLER
    | STOP_WORDS
    | {
        "went",
        "go",
        "going",
        "got",
        "get",
        "getting",
        "have",
        "has",
        "had",
        "took",
        "take",
        "did",
        "been",
        "am",
        "love",
        "loved",
        "like",
        "liked",
        "think",
        "thought",
        "feel",
        "felt",
        "know",
        "guess",
        "want",
        "wanted",
        "decided",
        "started",
        "tried",
        "mean",
        "means",
        "said",
        "says",
        "about",
        "all",
        "both",
        "one",
        "kind",
        "sort",
        "type",
        "bit",
        "little",
    }
)


_BREAK = re.compile(r"[;:!?()\[\]“”]|[,.](?:\s|$)|\s[–—-]+\s|--")
# Words at which the answer's noun phrase ends: a new clause begins ("Marley flooring, which is
# what studios use"; "mental health is super rewarding").
_STOP_AT = {
    "is",
    "was",
    "are",
    "were",
    "which",
    "that",
    "who",
    "because",
    "but",
    "so",
    "when",
    "while",
    "if",
    "since",
    "it",
    "it's",
    "i",
    "i'm",
    "i've",
    "we",
    "you",
    "they",
    "he",
    "she",
    "has",
    "have",
    "had",
    "will",
    "would",
    "can",
    "could",
    "really",
    "just",
    "last",
    "yesterday",
    "today",
    "tomorrow",
    "ago",
    "next",
    "recently",
    "lately",
    "too",
    "also",
    "as",
    "than",
}
# Words that place a sentence in time: they say when, never what ("Last Fri I took my kids to a
# pottery workshop" adds no answer to "what did they make there").
_TIME_WORDS = {
    "last",
    "next",
    "week",
    "weekend",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "day",
    "days",
    "ago",
    "yesterday",
    "today",
    "tomorrow",
    "tonight",
    "morning",
    "evening",
    "night",
    "afternoon",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
    "earlier",
    "later",
    "soon",
    "once",
    "before",
    "after",
    "while",
    "since",
}
_DEICTIC = {"last", "next", "ago", "yesterday", "today", "tomorrow", "tonight", "earlier", "later"}
_TIME_KINDS = {"when", "time", "ago", "duration"}
_PREP = {
    "after",
    "before",
    "about",
    "with",
    "into",
    "like",
    "through",
    "around",
    "over",
    "under",
    "towards",
    "toward",
    "across",
    "along",
    "during",
    "up",
    "out",
    "off",
    "down",
    "onto",
}
_TITLE_HEADS = {
    "book",
    "song",
    "movie",
    "film",
    "show",
    "title",
    "piece",
    "album",
    "poem",
    "novel",
    "series",
    "game",
    "play",
    "name",
    "named",
    "called",
    "quote",
    "saying",
    "motto",
    "slogan",
    "sign",
    "poster",
    "posters",
    "tattoo",
    "band",
    "podcast",
}
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,60})[\"”]|(?<!\w)'([^']{2,40})'(?!\w)")
_WHY = re.compile(r"(?i)^\s*why\b")
_REASON = re.compile(r"(?i)\b(?:because|since|so that|in order to|to|for)\b")


def _window(text: str, q: Question) -> str:
    """The words of a sentence that answer a 'what' question: the chunk of words the question
    does not already hold, nearest after the words it does hold ("raise awareness for -> mental
    health"; "say goodbye to -> Max"), cut where a new clause begins; the thing asked about keeps
    its modifiers ("what kind of flooring" -> "Marley flooring"). A quoted title answers a
    question about a book, a song or a name."""
    qset = set(q.stems)
    qnames = {n.lower().rstrip("'’s") for n in q.names}
    focus = _focus(q.text)
    qwords = {w.lower() for w in words(q.text)}
    if focus in _TITLE_HEADS or qwords & {"name", "named", "called", "title"}:
        quoted = [m.group(1) or m.group(2) for m in _QUOTED.finditer(text)]
        quoted = [
            x.strip() for x in quoted if x and not all(_is_q(w, qset, qnames) for w in words(x))
        ]
        if quoted:
            return quoted[0]
    if _WHY.search(q.text):
        m = re.search(r"(?i)\b(?:because|since|so that|in order to|'?cause)\b\s+(.+)", text)
        if m:
            return _trim(_cut(m.group(1)), 12)
    fstem = stem(focus) if focus else ""
    best: tuple[float, str] | None = None
    for ci, clause in enumerate(_clauses(text)):
        toks = words(clause)
        marks = [_is_q(w, qset, qnames) for w in toks]
        heads = [bool(fstem) and stem(w.lower()) == fstem for w in toks]
        nq = sum(marks)
        chunks: list[tuple[int, int]] = []
        i = 0
        while i < len(toks):
            if (marks[i] and not heads[i]) or toks[i].lower() in _STOP_AT:
                i += 1
                continue
            j = i
            while j < len(toks) and not (
                (marks[j] and not heads[j]) or toks[j].lower() in _STOP_AT
            ):
                j += 1
                if heads[j - 1]:
                    break  # the thing asked about ends its phrase
            chunks.append((i, j))
            i = j
        for a, b in chunks:
            span = _tidy(toks[a:b])
            if not span:
                continue
            content = sum(1 for w in span if _substantive(w))
            if not content or (len(span) == 1 and heads[b - 1]):
                continue
            k = a - 1
            while k >= 0 and toks[k].lower() in STOP_WORDS and not marks[k]:
                k -= 1
            after = k >= 0 and marks[k] and not heads[k]
            before = b < len(toks) and marks[b]
            score = (
                2.0 * after
                + 0.8 * before
                + 2.5 * heads[b - 1]
                + 0.7 * any(toks[x][:1].isupper() for x in range(max(a, 1), b))
                + 0.6 * min(nq, 3)
                + 0.5 * min(content, 3)
                - 0.2 * max(0, len(span) - 6)
                - 0.3 * ci
            )
            if best is None or score > best[0]:
                best = (score, " ".join(span))
    if best is None:
        return _trim(text, 12)
    return best[1]


_FOCUS = re.compile(
    r"(?i)\b(?:what|which)(?:'s|\s+is|\s+was|\s+are|\s+were)?"
    r"(?:\s+(?:my|your|the|his|her|their|our|[a-z]+'s))?(?:\s+(?:favou?rite|fav|main|new|first))?"
    r"\s+(?:(?:kind|type|sort|style|form|genre|brand)s?\s+of\s+)?([a-z][\w-]+)"
)


def _focus(question: str) -> str:
    """The noun a 'what' question asks about: "what kind of flooring" -> flooring."""
    m = _FOCUS.search(question)
    w = m.group(1).lower() if m else ""
    return "" if w in STOP_WORDS or w in _AUX or w in _QUESTION_NOISE else w


def _substantive(w: str) -> bool:
    lw = w.lower()
    return not (
        lw in STOP_WORDS or lw in _FILLER or lw in _TIME_WORDS or lw in _CALENDAR or lw.isdigit()
    )


def _is_q(w: str, qset: set[str], qnames: set[str]) -> bool:
    lw = w.lower().rstrip("'’s") if w[:1].isupper() else w.lower()
    if lw in qnames or w.lower() in qnames:
        return True
    return w.lower() not in STOP_WORDS and _matches(stem(w.lower()), qset)


def _clauses(text: str) -> list[str]:
    """Clauses of a sentence; a comma list of short items ("salads, sandwiches, and desserts")
    stays whole."""
    text = re.sub(r"(\w+(?:\s\w+)?),\s+(?=(?:\w+(?:\s\w+)?,\s+)*(?:and|or)\s)", r"\1 , ", text)
    parts = re.split(r"[;:!?()\[\]“”\"]|(?<! ),\s|\.(?:\s|$)|\s[–—-]+\s|--", text)
    return [p.replace(" , ", ", ").strip() for p in parts if p and p.strip()]


def _tidy(toks: list[str]) -> list[str]:
    """A run of words with its leading verb, pronoun and filler cut, ended where a new clause
    starts, at most 10 words."""
    i = 0
    while i < len(toks) and (
        toks[i].lower() in _LEAD | _PREP | _STOP_AT | _TIME_WORDS
        or (toks[i].lower().endswith("ly") and len(toks[i]) > 4)  # "Thankfully, ..."
    ):
        i += 1
    out: list[str] = []
    for w in toks[i:]:
        lw = w.lower()
        if out and lw in _STOP_AT:
            break
        out.append(w)
        if len(out) >= 10:
            break
    while out and (
        out[-1].lower() in _LEAD | _DEICTIC | _CALENDAR | _PREP | {"before", "until"}
        or out[-1].lower() in STOP_WORDS
    ):
        out.pop()
    return out


def _cut(text: str) -> str:
    return " ".join(
        _tidy(words(re.split(r"[;!?]|\.(?:\s|$)|\s[–—-]+\s", text)[0])) or words(text)[:12]
    )


def _trim(text: str, limit: int = 30) -> str:
    ws = text.split()
    return " ".join(ws[:limit]) + ("…" if len(ws) > limit else "")


def _anchors(text: str, q: Question, head: str = "") -> list[int]:
    """Where the question's own words occur in `text`: of several values on one line ("09:30
    Standup (Room Delta) 11:00 Vendor demo (Room Birch)"), the one nearest them is meant. The
    key asked about ("room") marks every value, so it is no anchor."""
    qset = set(q.stems) - {stem(head)} if head else set(q.stems)
    return [
        m.start()
        for m in _WORD.finditer(text)
        if m.group(0).lower() not in STOP_WORDS and _matches(stem(m.group(0)), qset)
    ]


def _nearest(cands: list[tuple[int, str]], anchors: list[int]) -> str | None:
    """The candidate (position, value) closest to an anchor, ties to the earlier one."""
    if not cands:
        return None
    if not anchors:
        return cands[0][1]
    return min(cands, key=lambda c: (min(abs(c[0] - a) for a in anchors), c[0]))[1]


_TIME_PREP = re.compile(
    r"(?i)\b(until|till|by|before|after|from|since|at)\s+when\b|\b(until|till)\b"
)


def _time_prep(q: Question) -> str:
    """The preposition a time question hangs on ("until when", "by when"), or ""."""
    pm = _TIME_PREP.search(q.text)
    return (pm.group(1) or pm.group(2)).lower() if pm else ""


def _time_after(prep: str, text: str, mentions: list[TimeMention]) -> TimeMention | None:
    """The time mentioned right after `prep`: "until 16:00" in "Open 18:10… until 16:00"."""
    for t in mentions:
        if re.search(rf"(?i)\b{prep}\s*$", text[max(0, t.start - 12) : t.start]):
            return t
    return None


def _time_value(
    mentions: list[TimeMention], kind: str, text: str = "", q: Question | None = None
) -> str | None:
    prep = _time_prep(q) if q is not None and text and mentions else ""
    after = _time_after(prep, text, mentions) if prep else None
    if after is not None:
        return after.value
    if kind == "time":
        clocks = [t for t in mentions if t.precision == "time"]
        if clocks:
            return clocks[0].value.split(", ")[-1] if clocks[0].day is None else clocks[0].value
    dated = [t for t in mentions if t.precision != "time" or t.day is not None]
    return dated[0].value if dated else (mentions[0].value if mentions else None)


def span_for(part: Part, u: Unit, q: Question) -> str:
    """The words of unit `u` that answer `part`."""
    t = u.text
    if part.kind in ("when", "time"):
        found = _time_value(find_times(t, u.ref), part.kind, t, q)
        if found:
            return found
        if u.memory.type is MemoryType.EPISODIC:
            day = format_day(u.ref.date() if isinstance(u.ref, datetime) else u.ref)
            seen = _SESSION_TIME.search(str(u.memory.fields.get("summary") or ""))
            if seen and u.memory.fields.get("event_type") in ("activity", "session"):
                clock = re.match(r",\s*([\d:–\s-]+\d)", seen.group(0))
                return f"{day}, {clock.group(1).strip()}" if clock else day  # when it was seen
            return day
        return _window(t, q)
    if part.kind == "ago":
        m = re.search(r"\b[\w-]+\s+(?:years?|months?|weeks?|days?)\s+ago\b", t, re.I)
        return m.group(0) if m else _window(t, q)
    if part.kind == "duration":
        m = _DURATION.search(t)
        return m.group(0) if m else _window(t, q)
    if part.kind == "number":
        return _table_value(u, q) or _number_span(t, u, part, q) or _window(t, q)
    if part.kind == "who":
        role = _role_person(t, q)
        if role:
            return role
        if u.kind == "field" and u.value:
            t = u.value  # "From: Marta Silva <...>": the name is in the value
        names = _names(t, {n.lower() for n in q.names} | {u.speaker.lower()})
        people = [n for n in names if not _ORG.search(n)] or names
        # "Okafor" inside "Dr. Amara Okafor" is the same person.
        people = [
            n
            for n in people
            if not any(n != o and n.split()[-1] in o.split() and len(o) > len(n) for o in people)
        ]
        if people:
            return ", ".join(people[:3])
        rel = _RELATION.search(t)
        if rel:
            return rel.group(1)
        if u.speaker and u.speaker.lower() not in {n.lower() for n in q.names}:
            return u.speaker
        return _window(t, q)
    if part.kind == "where":
        if part.head:
            value = _field_value(u, part.head, q)
            if value:
                return value
        if u.kind == "field" and u.key.lower() in _PLACE_KEYS and u.value:
            return u.value
        anchors = _anchors(t, q, part.head)
        for pat in (_ADDRESS, _ROOM):
            found = _nearest([(m.start(), m.group(1)) for m in pat.finditer(t)], anchors)
            if found:
                return found
        for pat in (_PLACE, _PLACE_NOUN):
            for m in pat.finditer(t):
                place = m.group(1)
                if place.split()[-1].lower() in _CALENDAR or place.lower() in {
                    n.lower() for n in q.names
                }:
                    continue
                return place
        return _window(t, q)
    if part.kind == "field" and part.head:
        value = _field_value(u, part.head, q)
        if value:
            return value
    if part.kind == "yesno":
        verdict = _polarity(t)
        return f"{verdict} — {_trim(t, 25)}" if verdict else _trim(t, 25)
    if u.kind == "field" and u.value:
        return u.value
    return _window(t, q)


_CURRENCY = re.compile(r"(?:[$€£¥]|\b(?:DKK|EUR|USD|GBP|SEK|NOK|CHF|JPY|kr|eur|usd)\b)", re.I)
_TO_AFTER_FROM = re.compile(r"(?i)\bfrom\b.*\d.*\bto\s+(?:[$€£¥]|[A-Z]{3}\s)?\s*$")
_OLD_Q = re.compile(r"(?i)\b(?:before|old|previous|used to|was it|originally)\b")
_TOTAL = re.compile(r"(?i)\b(?:total|due|balance|amount|to pay|owed?)\b")
_MONEY_Q = re.compile(
    r"\b(?:cost|costs|price|pay|paid|owe|spend|spent|send|sent|rent|fee|"
    r"charge|much money|amount|total|budget|salary|bill)\b",
    re.I,
)


def _number_span(t: str, u: Unit, part: Part, q: Question) -> str | None:
    best = _number_candidates(t, u, part, q)
    return best[0][2] if best else None


def _number_candidates(t: str, u: Unit, part: Part, q: Question) -> list[tuple[float, int, str]]:
    """The number that answers "how many/much": one next to the noun asked about, else money for
    a money question, else a percentage or a number with a unit, never a date, a clock time, a
    section number or a piece of an identifier ("INV-2024-0318", "IPv4")."""
    head = stem(part.head) if part.head else ""
    times = [(m.start(), m.end()) for m in _CLOCK_OR_DATE.finditer(t)]
    money_q = (
        bool(_MONEY_Q.search(q.text))
        or part.head == "money"
        or (not part.head and "how much" in q.text.lower())
    )
    scored: list[tuple[float, int, str]] = []
    for m in _NUMBER.finditer(t):
        a, b = m.start(), m.end()
        if any(x <= a < y or x < b <= y for x, y in times):
            continue
        before, after = t[max(0, a - 8) : a], t[b : b + 40]
        if re.search(r"[A-Za-z_-]$", before) or re.match(r"[A-Za-z_-]\w", after):
            continue  # inside an identifier
        if a == 0 and "." in m.group(0) and re.match(r"\s+[A-Z][a-z]", t[b:]):
            continue  # "7.1 The monthly rent is ..." numbers a section
        unit = re.match(r"\s*((?:[a-zA-Z%]+\s+){0,2}[a-zA-Z%]+)", after)
        words_after = unit.group(1).split() if unit else []
        value = m.group(0).strip()
        if head and any(_matches(head, {stem(w)}) for w in words_after[:3]):
            upto = next(k for k, w in enumerate(words_after[:3]) if _matches(head, {stem(w)}))
            scored.append((3.0, a, f"{value} {' '.join(words_after[: upto + 1])}".strip()))
            continue
        qset = set(q.stems)
        if (
            words_after
            and len(words_after[0]) >= 4
            and words_after[0].lower() not in STOP_WORDS
            and _matches(stem(words_after[0]), qset)
            and not _CURRENCY.search(before)
        ):  # "139 passed" for "how many tests passed"
            scored.append((2.5, a, f"{value} {words_after[0]}"))
            continue
        cur_before = _CURRENCY.search(before)
        cur_after = _CURRENCY.match(after.lstrip())
        score = 0.0
        if cur_before or cur_after:
            score += 2.0 if money_q else 1.0
            if _TOTAL.search(t[max(0, a - 24) : a]):
                score += 0.5  # of an invoice's amounts, the total or what is due
            value = (
                f"{cur_before.group(0)} {value}".replace("  ", " ")
                if cur_before and value[:1] not in "$€£¥"
                else value
            )
            if cur_after:
                value = f"{value} {cur_after.group(0)}"
        elif "%" in value or "percent" in value.lower():
            score += 1.0
        elif words_after and words_after[0].lower() not in STOP_WORDS:
            score += 0.5
            value = f"{value} {words_after[0]}"
        if re.fullmatch(r"(?:19|20)\d\d", m.group(0)):
            score -= 1.0  # a year is rarely "how many"
        if _TO_AFTER_FROM.search(t[max(0, a - 40) : a]) and not _OLD_Q.search(q.text):
            score += 0.6  # "goes from DKK 89 to DKK 99": what it is now, unless asked before
        scored.append((score, a, value))
    anchors = _anchors(t, q)
    if anchors:  # of equals, the one nearest the question's words
        scored = [
            (sc - 0.001 * min(abs(pos - a) for a in anchors), pos, v) for sc, pos, v in scored
        ]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return scored


_CLOCK_OR_DATE = re.compile(
    r"\b\d{1,2}[:.]\d{2}\b(?:\s?[ap]\.?m\.?)?"
    r"|\b\d{1,2}\s?[ap]\.?m\.?\b"
    r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{4})?"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+\d{4})?",
    re.I,
)


_PLACE_KEYS = {"location", "where", "room", "venue", "address", "place", "meeting point", "at"}
_ADDRESS = re.compile(
    r"\b((?:[A-Z][\w'’.-]+\s+){0,2}(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Way|Boulevard|"
    r"Blvd\.?|Square|Drive|Dr\.)\s+\d+[A-Za-z]?"
    r"|[A-ZÆØÅÄÖÜ][\wæøåäöüß]+(?:vej|gade|gatan|gata|straße|strasse|weg|plein|laan|straat|"
    r"allé|alle|torv)\s+\d+[A-Za-z]?"
    r"|\d+[A-Za-z]?\s+(?:[A-Z][\w'’-]+\s+){1,2}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Way|Drive))\b"
)
_ROOM = re.compile(r"\b((?:[Rr]oom|Rm\.?|[Mm]eeting room)\s+(?:[A-Z][\w-]*|\d+[A-Za-z]?))")
# "Assignee: Sam Okafor", "organizer Hana Lee", "Reviewed by Sam": a person named by their role.
_ROLE = re.compile(
    r"\b(assignee|assigned to|organi[sz]er|organi[sz]ed by|reviewer|reviewed by|reporter|"
    r"reported by|owner|owned by|host(?:ed by)?|author|written by|requested by|approved by|"
    r"sent by|from|with|by|attendees?|speaker|presenter|driver|contact|on call)\b[\s:]+"
    r"((?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?|@?[a-z][a-z0-9_.-]{2,20}\b)",
    re.I,
)
# "sokafor requested changes", "@jberg approved": a handle and what it did.
_HANDLE_ACTS = re.compile(
    r"(?:^|\n|\s)@?([a-z][a-z0-9_.-]{2,20})\s+(requested|approved|commented|reviewed|merged|"
    r"pushed|opened|closed|assigned|added|wrote|left|asked|suggested|replied)\b"
)
_ROLE_OF_VERB = {
    "organiz": ("organi",),
    "organis": ("organi",),
    "assign": ("assign",),
    "review": ("review", "requested", "approved"),
    "chang": ("requested",),
    "approv": ("approved",),
    "report": ("report",),
    "own": ("own",),
    "host": ("host",),
    "wrot": ("author", "written", "wrote"),
    "writ": ("author", "written", "wrote"),
    "sent": ("from", "sent"),
    "send": ("from", "sent"),
    "present": ("speaker", "presenter"),
    "speak": ("speaker",),
}


def _role_person(t: str, q: Question) -> str | None:
    """The person a role or an action of the question's own verb names in `t`."""
    wanted = {
        r for s in q.stems for k, roles in _ROLE_OF_VERB.items() if s.startswith(k) for r in roles
    }
    if not wanted:
        return None
    qnames = {n.lower().rstrip("'’s") for n in q.names}
    for m in _HANDLE_ACTS.finditer(t):
        who, act = m.group(1), m.group(2).lower()
        if any(act.startswith(w) for w in wanted) and who not in STOP_WORDS and who not in qnames:
            return who
    for m in _ROLE.finditer(t):
        role, who = m.group(1).lower(), m.group(2)
        if any(role.startswith(w) for w in wanted) and who.lower() not in STOP_WORDS | qnames:
            return who
    return None


_NO = re.compile(
    r"(?i)\b(?:no|not|never|failed|failing|fails|failure|denied|declined|rejected|cancel+ed|"
    r"isn't|aren't|wasn't|won't|can't|cannot|don't|doesn't|didn't|forbidden|prohibited|"
    r"unsuccessful|postponed|blocked)\b"
)
_YES = re.compile(
    r"(?i)\b(?:yes|yep|permitted|allowed|passed|passing|succeeded|successful|confirmed|approved|"
    r"accepted|on track|still on|going ahead|will ship|shipped|done|completed)\b"
)


def _polarity(text: str) -> str:
    """ "Yes" or "No" when the evidence says so in plain words of one kind only, else ""."""
    no, yes = bool(_NO.search(text)), bool(_YES.search(text))
    if yes and not no:
        return "Yes"
    if no and not yes:
        return "No"
    return ""


def _table_value(u: Unit, q: Question) -> str | None:
    """A cell of a table row: "invoice-worker-0 0/1 CrashLoopBackOff 14 52m" under the header
    "NAME READY STATUS RESTARTS AGE" answers "how many times has invoice-worker restarted"."""
    cells = u.text.split()
    if u.kind != "line" or len(cells) < 3:
        return None
    lines = [ln.strip() for ln in str(u.memory.fields.get("details") or "").splitlines()]
    if u.text.strip() not in lines:
        return None
    qset = set(q.stems)
    for ln in reversed(lines[: lines.index(u.text.strip())][-12:]):
        head = ln.split()
        if len(head) != len(cells) or not all(
            re.fullmatch(r"[A-Z][A-Z0-9_%/.()-]*", h) for h in head
        ):
            continue
        for i, h in enumerate(head):
            if _matches(stem(h.lower()), qset) and re.search(r"\d", cells[i]):
                return cells[i]
        return None
    return None


# -- the answer -------------------------------------------------------------------------------------
@dataclass
class Span:
    text: str
    memory_id: str
    support: str  # the unit the span comes from
    speaker: str = ""
    when: str = ""  # the memory's own date


@dataclass
class Answer:
    question: str
    kind: str
    spans: list[Span] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    steps_title: str = ""
    found: bool = False
    confidence: float = 0.0
    nearest: list[Memory] = field(default_factory=list)
    note: str = ""  # why there is no answer ("empty question", "no memories yet")

    @property
    def cited_ids(self) -> list[str]:
        ids = [s.memory_id for s in self.spans] + [m.id for m in self.nearest]
        return list(dict.fromkeys(ids))

    @property
    def short(self) -> str:
        """The answer words alone (no citations, no support): what benchmarks score."""
        if not self.found:
            return ""
        if self.steps:
            return "; ".join(self.steps)
        return "; ".join(dict.fromkeys(s.text for s in self.spans))

    @property
    def headline(self) -> str:
        if not self.found:
            return self.note or "I couldn't find that in your memories."
        if self.steps:
            sid = self.spans[0].memory_id if self.spans else ""
            return f"{self.steps_title or 'Steps'} [{sid}]:"
        seen: dict[str, list[str]] = {}
        for s in self.spans:
            seen.setdefault(s.text, [])
            if s.memory_id not in seen[s.text]:
                seen[s.text].append(s.memory_id)
        return "; ".join(f"{t} " + " ".join(f"[{i}]" for i in ids) for t, ids in seen.items())

    def render(self) -> str:
        """Headline, then the steps or the supporting sentences beneath it."""
        lines = [self.headline]
        if self.found and self.steps:
            lines.extend(f"{i}. {s}" for i, s in enumerate(self.steps, 1))
        elif self.found:
            shown: set[str] = set()
            for s in self.spans:
                if s.support in shown or s.support.strip() == s.text.strip():
                    continue
                shown.add(s.support)
                who = ", ".join(x for x in (s.speaker, s.when) if x)
                lines.append(f"“{_trim(s.support, 30)}”" + (f" — {who}" if who else ""))
        elif self.nearest:
            lines.append("The nearest memories:")
            for m in self.nearest[:3]:
                lines.append(f"• {_trim(m.title, 14)} ({m.time[:10]}) [{m.id}]")
        return "\n".join(lines)

    def evidence(self) -> list[str]:
        return [s.support for s in self.spans] + list(self.steps)


MIN_OVERLAP = 0.34
MIN_SIMILARITY = 0.5
MIN_COVERAGE = 0.4


def answer(
    question: str,
    memories: list[Memory],
    embed: Embed | None = None,
) -> Answer:
    """The evidence-first answer to `question` from `memories` (best first)."""
    q = analyze(question)
    ans = Answer(question, q.kind if q.parts else "what")
    if not q.text:
        ans.note = "Ask a question about something you saw, read or said."
        return ans
    units = [u for rank, m in enumerate(memories) for u in units_of(m, rank)]
    if not units:
        ans.note = "I couldn't find anything about that in your memories."
        return ans
    ranked = score_units(q, units, embed)
    best = ranked[0]
    ans.confidence = best.score
    top = ranked[:8]
    if (
        max(u.overlap for u in top) < MIN_OVERLAP
        and max(u.similarity for u in top) < MIN_SIMILARITY
    ):
        ans.note = "I couldn't find that in your memories."
        near: dict[str, Memory] = {}
        for u in ranked[:8]:
            near.setdefault(u.memory.id, u.memory)
        ans.nearest = list(near.values())[:3]
        return ans
    if (
        len(q.stems) >= 3
        and max(u.coverage for u in top) < MIN_COVERAGE
        and (max(u.similarity for u in top) < 0.62)
    ):
        # No memory holds most of what the question is about: "the address of my hotel in
        # Lisbon" is not answered by a flight to Lisbon or a Wi-Fi address.
        ans.note = "I couldn't find that in your memories."
        ans.nearest = list({u.memory.id: u.memory for u in top}.values())[:3]
        return ans
    ans.found = True
    if q.kind == "steps":
        # Of the step lists that answer about as well, the procedure itself, then the longest:
        # a page's first lines may hold only the start of the list the procedure keeps whole.
        lists = [u for u in ranked[:12] if u.kind == "steps" and u.steps]
        top_score = lists[0].score if lists else 0.0
        close = [u for u in lists if u.score >= 0.85 * top_score and u.score >= 0.6 * best.score]
        proc = max(
            close,
            key=lambda u: (u.memory.type is MemoryType.PROCEDURAL, len(u.steps), u.score),
            default=None,
        )
        if proc is None:
            parent = next((u for u in ranked[:12] if u.kind == "step"), None)
            if parent is not None:
                proc = next(
                    (x for x in units if x.memory is parent.memory and x.kind == "steps"), None
                )
        if proc is not None:
            ans.steps = list(proc.steps)
            ans.steps_title = _trim(proc.text or proc.memory.title, 14)
            ans.spans = [_span(proc, ans.steps_title)]
            return ans
    for part in q.parts:
        picks = _units_for(part, ranked, q)
        for u in picks:
            ans.spans.append(_span(u, span_for(part, u, q)))
    return ans


def _units_for(part: Part, ranked: list[Unit], q: Question) -> list[Unit]:
    """The unit(s) a part is answered from: the best one, preferring one that has the answer type
    when it scores nearly as well; for list questions, the good units of other memories too."""
    best = ranked[0]
    pick = best
    if part.kind not in ("what", "yesno") and not _has_cue(part.kind, best, part.head, q):
        # Another unit nearly as good, or another line of the same document, that has it.
        for u in ranked[1:40]:
            near = u.score >= 0.7 * best.score or u.memory.id == best.memory.id
            if near and _has_cue(part.kind, u, part.head, q):
                pick = u
                break
    if part.kind == "who" and _SENDER_Q.search(q.text):
        sender = next(
            (
                u
                for u in ranked[:40]
                if u.memory.id == pick.memory.id and u.key.lower() in _SENDER_KEYS
            ),
            None,
        )
        pick = sender or pick
    near_units = [
        u for u in ranked[:40] if u.memory.id == best.memory.id or u.score >= 0.6 * best.score
    ]
    if part.kind == "number":
        # A number next to the thing asked about ("250 g ricotta") beats any other number.
        def strength(u: Unit) -> float:
            c = _number_candidates(u.text, u, part, q)
            return c[0][0] if c else -9.0

        strongest = max(near_units, key=strength, default=pick)
        if strength(strongest) >= strength(pick) + 1.0:
            pick = strongest
    prep = _time_prep(q) if part.kind in ("when", "time") else ""
    if prep:

        def after_prep(u: Unit) -> bool:
            return _time_after(prep, u.text, find_times(u.text, u.ref)) is not None

        if not after_prep(pick):
            pick = next((u for u in near_units if after_prep(u)), pick)
    if part.kind == "where" and not (_ADDRESS.search(pick.text) or _ROOM.search(pick.text)):
        placed = next(
            (u for u in near_units if _ADDRESS.search(u.text) or _ROOM.search(u.text)), None
        )
        pick = placed or pick
    if part.kind == "who":
        # "Who is assigned to ...": the line naming the role beats a line of capitalised words.
        role = next(
            (
                u
                for u in ranked[:40]
                if (u.memory.id == best.memory.id or u.score >= 0.6 * best.score)
                and _role_person(u.text, q)
            ),
            None,
        )
        pick = role or pick
    picks = [pick]
    if q.listy and part.kind in ("what", "field", "where", "who"):
        for u in ranked[1:10]:
            if len(picks) >= 3:
                break
            if u.score >= 0.8 * best.score and all(u.memory.id != p.memory.id for p in picks):
                picks.append(u)
    return picks


def _span(u: Unit, text: str) -> Span:
    when = format_day(u.ref.date()) if isinstance(u.ref, datetime) else format_day(date.today())
    return Span(
        text=text.strip(" ,;:-"),
        memory_id=u.memory.id,
        support=u.text,
        speaker=u.speaker,
        when=when,
    )
