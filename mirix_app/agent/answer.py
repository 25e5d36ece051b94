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

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from mirix_app.agent.extract.times import TimeMention, find_times, format_day
from mirix_app.memory.clock import parse_time
from mirix_app.memory.store import STOP_WORDS
from mirix_app.memory.types import Memory, MemoryType

Embed = Callable[[Sequence[str]], Any]  # texts -> (n, d) array of unit vectors

_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'“(]?[A-Z0-9])|\s+[–—]\s+|\n+")
_CLAUSE_END = re.compile(r"[,;:!?()\"“”]|\.(?:\s|$)|\s[–—-]\s")
_STEP_LINE = re.compile(r"^\s*(?:step\s*)?(\d{1,2})[.):]\s+(.+)$", re.I)
_FIELD = re.compile(r"^\s*([A-Za-z][\w ./&#-]{0,30}?)\s*[:：]\s+(\S.{0,200})$")
_PHOTO = re.compile(r"\s*\[shared a photo: ([^\]]*)\]")
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
def stem(word: str) -> str:
    """A light suffix stripper: 'donated' and 'donate', 'paintings' and 'painting' meet."""
    w = word.lower().strip("'’.-")
    w = re.sub(r"['’]s$", "", w)
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
        s = stem(lw)
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

    @property
    def kind(self) -> str:
        return self.parts[0].kind


def _kind(part: str) -> tuple[str, str]:
    q = part.lower().strip()
    first = q.split()[0] if q.split() else ""
    m = re.search(r"\bhow (?:many|much)\s+([a-z]+)?", q)
    if m:
        return "number", m.group(1) or ""
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
    if re.search(r"\bwhen\b|\bwhat (?:date|day|year|month)\b|\bwhich (?:date|day|year|month)\b", q):
        return "when", ""
    if re.search(r"\bwho(?:m|se)?\b|\bwith whom\b", q):
        return "who", ""
    if re.search(
        r"\bwhere\b|\bwhich (?:city|country|place|town|state|room)\b|\bwhat (?:city|country|place|town|state)\b",
        q,
    ):
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
    return Question(text, parts, content_stems(text), names, bool(_LISTY.search(text)))


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
    score: float = 0.0
    overlap: float = 0.0
    similarity: float = 0.0


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
            add(photo.group(1), "caption", speaker=speaker)
        for s in _sentences(text):
            add(s, speaker=speaker)
        # Its neighbours, as context: a question's answer is often the next turn. The memory
        # holds their text, so citing it is truthful.
        for line in str(f.get("details") or "").splitlines():
            nm = _SPEAKER.match(line)
            said = _PHOTO.sub("", line[nm.end() :] if nm else line)
            for s in _sentences(said):
                add(s, "context", speaker=nm.group(1) if nm else "")
        return out
    for s in _sentences(head):
        add(s, "sentence")
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    numbered = [(_STEP_LINE.match(ln), ln) for ln in lines]
    steps = [mm.group(2).strip() for mm, _ in numbered if mm]
    if len(steps) >= 2:
        add(head or "steps", "steps", steps=steps)
    for ln in lines[:400]:
        fm = _FIELD.match(ln)
        if fm:
            add(ln, "field", key=fm.group(1).strip(), value=fm.group(2).strip())
        elif len(ln) > 160:
            for s in _sentences(ln):
                add(s, "line")
        else:
            add(ln, "line")
    return out


# -- scoring ----------------------------------------------------------------------------------------
def _matches(qs: str, unit_stems: set[str]) -> bool:
    if qs in unit_stems:
        return True
    if len(qs) >= 5:
        return any(len(u) >= 5 and (u.startswith(qs) or qs.startswith(u)) for u in unit_stems)
    return False


def _has_cue(kind: str, u: Unit, head: str) -> bool:
    t = u.text
    if kind in ("when", "time"):
        return bool(find_times(t, u.ref))
    if kind == "ago":
        return bool(re.search(r"\bago\b|\bsince\b", t, re.I))
    if kind == "number":
        return bool(_NUMBER.search(t))
    if kind == "duration":
        return bool(_DURATION.search(t))
    if kind == "who":
        t = u.value if u.kind == "field" and u.value else t
        return bool(_names(t, set()) or _RELATION.search(t))
    if kind == "where":
        return bool(_PLACE.search(t) or _PLACE_NOUN.search(t))
    if kind == "steps":
        return u.kind == "steps"
    if kind == "field":
        return bool(head) and _field_value(u, head) is not None
    return False


def score_units(
    q: Question, units: list[Unit], embed: Embed | None = None, *, embed_top: int = 48
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
    order = sorted(range(n), key=lambda i: (-units[i].overlap, units[i].rank))
    if embed is not None:
        top = order[:embed_top]
        try:
            vecs = embed([q.text] + [units[i].text[:300] for i in top])
            qv = vecs[0]
            for j, i in enumerate(top, 1):
                units[i].similarity = float(qv @ vecs[j])
        except Exception:  # the embedder is an aid: lexical scores still answer
            pass
    head = q.parts[0].head
    for u in units:
        cue = 1.0 if _has_cue(q.kind, u, head) else 0.0
        brevity = 0.03 if len(u.text) < 20 else 0.0  # a bare "Thanks!" says little
        u.score = (
            0.5 * u.overlap
            + 0.35 * max(0.0, u.similarity)
            + 0.1 * cue
            + 0.05 / (1 + u.rank)
            - brevity
        )
        if u.text.rstrip().endswith("?"):  # a question is rarely its own answer
            u.score *= 0.55
        if u.kind == "context":
            u.score *= 0.85
    return sorted(units, key=lambda u: (-u.score, u.rank))


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


def _field_value(u: Unit, head: str) -> str | None:
    """The value next to a key the question names: 'Gate: A14', 'gate A14', 'Booking ref QX7-2'."""
    hs = stem(head)
    if u.kind == "field" and u.key and _matches(hs, set(content_stems(u.key, set()))):
        return u.value or None
    m = re.search(
        rf"(?i:\b{re.escape(head[: max(3, len(hs))])}\w*\b(?:\s+(?:no\.?|number|#|ref(?:erence)?|code|id))?)"
        r"[\s:#=-]{1,4}([A-Z0-9][\w./-]*\d[\w./-]*|[A-Z][A-Z0-9-]+\b|[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)",
        u.text,
    )
    return m.group(1) if m else None


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


def _window(text: str, q: Question) -> str:
    """The words of a sentence that answer a 'what' question: its clause with the most new
    words beside the question's own, with the leading subject, verb and filler cut."""
    qset = set(q.stems)
    qnames = {n.lower() for n in q.names}

    def is_q(w: str) -> bool:
        lw = w.lower()
        return lw in qnames or (lw not in STOP_WORDS and _matches(stem(lw), qset))

    clauses = [c.strip() for c in re.split(r"[;:!?()\"“”]|,\s|\.\s|\s[–—-]\s", text) if c.strip()]
    best: tuple[float, list[str]] | None = None
    for c in clauses:
        toks = words(c)
        if not toks:
            continue
        marks = [is_q(w) for w in toks]
        novel = sum(
            1
            for w, m in zip(toks, marks, strict=True)
            if not m and w.lower() not in STOP_WORDS and w.lower() not in _FILLER and len(w) > 1
        )
        if not novel:
            continue
        score = novel + 0.8 * min(sum(marks), 2) - 0.04 * len(toks)
        if best is None or score > best[0]:
            best = (score, toks)
    if best is None:
        return _trim(text)
    toks = best[1]
    i, j = 0, len(toks) - 1
    while i < j and (toks[i].lower() in _LEAD or is_q(toks[i])):
        i += 1
    while j > i and (
        toks[j].lower() in _LEAD | {"ago", "yesterday", "today", "week", "weekend"} or is_q(toks[j])
    ):
        j -= 1
    return " ".join(toks[i : min(j, i + 13) + 1])


def _trim(text: str, limit: int = 30) -> str:
    ws = text.split()
    return " ".join(ws[:limit]) + ("…" if len(ws) > limit else "")


def _time_value(mentions: list[TimeMention], kind: str) -> str | None:
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
        found = _time_value(find_times(t, u.ref), part.kind)
        if found:
            return found
        if u.memory.type is MemoryType.EPISODIC:
            return format_day(u.ref.date() if isinstance(u.ref, datetime) else u.ref)
        return _window(t, q)
    if part.kind == "ago":
        m = re.search(r"\b[\w-]+\s+(?:years?|months?|weeks?|days?)\s+ago\b", t, re.I)
        return m.group(0) if m else _window(t, q)
    if part.kind == "duration":
        m = _DURATION.search(t)
        return m.group(0) if m else _window(t, q)
    if part.kind == "number":
        head = stem(part.head) if part.head else ""
        best: str | None = None
        for m in _NUMBER.finditer(t):
            after = t[m.end() : m.end() + 40]
            unit = re.match(r"\s*((?:[a-zA-Z]+\s+){0,2}?[a-zA-Z]+)", after)
            words_after = unit.group(1).split() if unit else []
            if head and any(_matches(head, {stem(w)}) for w in words_after[:3]):
                upto = next(k for k, w in enumerate(words_after[:3]) if _matches(head, {stem(w)}))
                return f"{m.group(0)} {' '.join(words_after[: upto + 1])}".strip()
            if best is None:
                best = (
                    f"{m.group(0)} {words_after[0]}"
                    if words_after and words_after[0].lower() not in STOP_WORDS
                    else m.group(0)
                )
        return best or _window(t, q)
    if part.kind == "who":
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
        value = _field_value(u, part.head)
        if value:
            return value
    if part.kind == "yesno":
        return _trim(t, 25)
    if u.kind == "field" and u.value:
        return u.value
    return _window(t, q)


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
    ans.found = True
    if q.kind == "steps":
        proc = next(
            (
                u
                for u in ranked[:12]
                if u.kind == "steps" and u.steps and u.score >= 0.6 * best.score
            ),
            None,
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
    if part.kind not in ("what", "yesno") and not _has_cue(part.kind, best, part.head):
        # Another unit nearly as good, or another line of the same document, that has it.
        for u in ranked[1:40]:
            near = u.score >= 0.8 * best.score or u.memory.id == best.memory.id
            if near and _has_cue(part.kind, u, part.head):
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
