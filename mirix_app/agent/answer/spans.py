"""Typed spans of a unit: the time, number, place, person or value a question part asks for."""

from __future__ import annotations

import re
from datetime import datetime

from mirix_app.agent.answer.lexicon import (
    _AUX,
    _CALENDAR,
    _DURATION,
    _FILLER,
    _NAME,
    _NOT_NAMES,
    _NUMBER,
    _ORG,
    _PLACE,
    _PLACE_NOUN,
    _RELATION,
    _SESSION_TIME,
    _WORD,
    _matches,
    _trim,
    content_stems,
    stem,
)
from mirix_app.agent.answer.phrase import _window
from mirix_app.agent.answer.question import Part, Question
from mirix_app.agent.answer.units import Unit
from mirix_app.agent.extract.times import (
    TimeMention,
    _num,
    _shift_months,
    find_times,
    format_day,
)
from mirix_app.memory.types import STOP_WORDS, MemoryType


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
        asked = {n.lower() for n in q.names} if q is not None else set()
        return bool(_names(t, asked, _lower_words(q)) or _RELATION.search(t))
    if kind == "where":
        return bool(
            _PLACE.search(t) or _PLACE_NOUN.search(t) or _ADDRESS.search(t) or _ROOM.search(t)
        ) or (u.kind == "field" and u.key.lower() in _PLACE_KEYS)
    if kind == "steps":
        return u.kind == "steps"
    if kind == "field":
        return bool(head) and _field_value(u, head, q) is not None
    return False


_NAMED_PLACE = re.compile(r"(?:\s+[a-z]+)?,\s+([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*)")


def _names(
    text: str, exclude: set[str], common: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """Capitalised names in `text`; a first word of a sentence that `common` holds in lower case
    ("Domestic abuse is horrible." after "victims of domestic abuse") is none."""
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
        if at_start and " " not in name and name.lower() in STOP_WORDS | _NOT_NAMES | _FILLER:
            continue
        if at_start and name.split()[0].lower() in common:
            continue
        if at_start and " " not in name and text[m.end() :].startswith(","):
            continue  # "Oof, ..." or "John, ...": a cry or the person spoken to
        if name.lower() in exclude or name.split()[0].lower() in exclude:
            continue
        if name not in out:
            out.append(name)
    return out


def _lower_words(q: Question | None) -> set[str]:
    return {w for w in _WORD.findall(q.text) if w.islower()} if q is not None else set()


_TYPED_VALUES = {
    "version": r"\bv?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?\b",
    "ip": r"\b\d{1,3}(?:\.\d{1,3}){3}\b",
    "port": r"(?:(?<=:)|(?<=port )|(?<=port: ))\d{2,5}\b",
    "email": r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    "url": r"\bhttps?://\S+",
    "phone": r"(?<![\d.])\+?\d(?:[ ()-]?\d){6,14}(?![\d.])",
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
        # a phone question is not answered by a code or a word next to "phone"
        return _nearest(found, anchors) if found else None
    key = rf"(?i:\b{re.escape(head[: max(2, len(hs))])}\w*\b(?:\s+(?:no\.?|number|#|ref(?:erence)?|code|id))?)"
    cands: list[tuple[int, str]] = []
    # A code-like value may follow a space ("gate A14"); plain words only after ":" or "=".
    for pat in (
        key + r"(?:\s+[a-z]+){0,2}?[\s:#=-]{1,4}([A-Z0-9][\w./-]*\d[\w./-]*|[A-Z][A-Z0-9-]+\b)",
        key + r"\s*[:=]\s*([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)",
        key + r"\s+(?:is|was|'s)\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)",  # "his name is Kyle"
    ):
        cands += [(m.start(1), m.group(1)) for m in re.finditer(pat, u.text)]
        if cands:
            break
    if not cands and q is not None and _CODE_Q.search(q.text):
        # "the flight number of my return flight": the line says "RETURN SN 487", not "flight".
        cands = [(m.start(), m.group(0)) for m in _CODE.finditer(u.text)]
        if not anchors:
            return None
    return _nearest(cands, anchors)


# A question for a code ("flight number", "order no.", "booking id"), and a code's shape: letters
# and digits together ("SN 487", "K7Q2ZP", "A14"), never a bare amount or a word.
_CODE_Q = re.compile(r"(?i)\b(?:number|no\.|code|id|reference|ref)\b")
_CODE = re.compile(
    r"\b[A-Z]{2} ?\d{2,5}\b|\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{2,}\b"
)


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


_SO_FAR = re.compile(r"(?i)^how long\s+(?:has|have)\b.*\bbeen\b")
_SPAN_OF = re.compile(r"(?i)^(\w+(?:\s+of)?)\s+(years?|months?)$")


def _since(span: str, u: Unit, q: Question) -> str:
    """ "How long has she been painting?" - "Seven years now" in a message of 2023: seven years,
    since 2016; the memory's own time is the day it was said."""
    m = _SPAN_OF.match(span.strip())
    if not m or not _SO_FAR.search(q.text) or m.group(1).lower() in ("a few", "a couple of"):
        return span
    n = _num(m.group(1))
    day = u.ref.date() if isinstance(u.ref, datetime) else u.ref
    if m.group(2).lower().startswith("year"):
        return f"{span} (since {day.year - n})"
    start = _shift_months(day, -n)
    return f"{span} (since {format_day(start).split(' ', 1)[1]})"


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
        return _since(m.group(0), u, q) if m else _window(t, q)
    if part.kind == "number":
        return _table_value(u, q) or _number_span(t, u, part, q) or _window(t, q)
    if part.kind == "who":
        role = _role_person(t, q)
        if role:
            return role
        if u.kind == "field" and u.value:
            t = u.value  # "From: Marta Silva <...>": the name is in the value
        names = _names(t, {n.lower() for n in q.names} | {u.speaker.lower()}, _lower_words(q))
        people = [n for n in names if not _ORG.search(n)] or names
        # "Okafor" inside "Dr. Amara Okafor" is the same person.
        people = [
            n
            for n in people
            if not any(n != o and n.split()[-1] in o.split() and len(o) > len(n) for o in people)
        ]
        people = [re.sub(r"['’]s$", "", n) for n in people]
        anchors = _anchors(t, q)
        if len(people) > 1 and anchors and not q.listy and u.speaker:
            # "a fan of classical like Bach, and of modern music like Ed Sheeran": in what a
            # person says, the name nearest what the question names. (A screen's line, such as
            # "4e1b9c7 Lena Fischer 2 hours ago Fix off-by-one", keeps all its names.)
            return _nearest([(t.find(n), n) for n in people], anchors) or people[0]
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
                named = _NAMED_PLACE.match(t, m.end())
                if pat is _PLACE_NOUN and named:
                    place = named.group(1)  # "in my home country, Sweden"
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
        # The verdict is the answer; the sentence it rests on is shown beneath it. A statement
        # holding all the question asks about, with no negation, says yes.
        verdict = _polarity(t)
        if not verdict and u.coverage >= YES_COVERAGE and not _NO.search(t):
            verdict = "Yes"
        return verdict or _trim(t, 25)
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


YES_COVERAGE = 0.6


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
