"""The answer: the best units' spans with their citations, or a plain decline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from mirix_app.agent.answer.lexicon import (
    _MEANS,
    _MEANS_Q,
    _SENDER_KEYS,
    _SENDER_Q,
    _matches,
    _trim,
    content_stems,
    stem,
    words,
)
from mirix_app.agent.answer.phrase import judges, weak
from mirix_app.agent.answer.question import Part, Question, analyze
from mirix_app.agent.answer.scoring import _asks, _novelty, in_window, score_units, strip_vocatives
from mirix_app.agent.answer.spans import (
    _ADDRESS,
    _ROOM,
    _TYPED_VALUES,
    _field_value,
    _has_cue,
    _number_candidates,
    _role_person,
    _time_after,
    _time_prep,
    span_for,
)
from mirix_app.agent.answer.units import Embed, Unit, units_of
from mirix_app.agent.extract.times import (
    find_times,
    format_day,
)
from mirix_app.memory.types import STOP_WORDS, Memory, MemoryType


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


# A question that asks for an account (why, how it went, what was said or felt), not a thing.
_ACCOUNT = re.compile(
    r"(?i)^(?:why\b|how\s+(?!many|much|long|often|old|far|big)\w+|what\s+(?:inspired|motivated|"
    r"sparked|led|made|caused|happened)\b)|\b(?:say|said|think|thinks|learn|learned|realize|realized|"
    r"take away|discussed|feel|felt|mean|means|symbolize|symbolizes|represent|represents|appreciate|"
    r"believe|believes|describe|handle|handled)\b"
)
ECHO_FALLBACK = 0.7  # how close the unit that says something new must score
NEXT_FALLBACK = 0.5  # the same, for what the speaker says right after
MIN_OVERLAP = 0.34


MIN_SIMILARITY = 0.5


MIN_COVERAGE = 0.4
DATE_HELD = 0.1  # the share of a dated question its date answers


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
    # A memory of the very days a dated question names ("on 7 July") holds that part of it.
    held = DATE_HELD if q.window is not None and any(in_window(u, q) for u in top[:3]) else 0.0
    if (
        max(u.overlap for u in top) + held < MIN_OVERLAP
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
        and max(u.coverage for u in top) + held < MIN_COVERAGE
        and (max(u.similarity for u in top) < 0.62)
    ):
        # No memory holds most of what the question is about: "the address of my hotel in
        # Lisbon" is not answered by a flight to Lisbon or a Wi-Fi address.
        ans.note = "I couldn't find that in your memories."
        ans.nearest = list({u.memory.id: u.memory for u in top}.values())[:3]
        return ans
    if _typed_key_unmet(q, top[:3]):
        # "Tom's phone number" is not answered by a lunch with Tom, nor by the dentist's number:
        # a value of the shape asked for, in a memory of what the question is about.
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
    chosen = _choice(q, ranked[:12])
    if chosen is not None:
        ans.spans = [_span(chosen[1], chosen[0])]
        return ans
    qnames = {n.lower() for n in q.names}

    def says(text: str) -> bool:
        new = bool(_novelty(text, q, qnames)) or judges(text, q)
        return new and not weak(text.split(), q)

    def restates(u: Unit) -> bool:
        """A turn that only sets the scene of an account ("I visited a veteran's hospital"):
        what the question asks about it the speaker says next."""
        if not u.speaker or q.kind != "what" or not _ACCOUNT.search(q.text):
            return False
        qset = set(q.stems)
        held = sum(
            1 for x in set(content_stems(strip_vocatives(u.text), STOP_WORDS)) if _matches(x, qset)
        )
        return held >= 2 and _novelty(u.text, q, qnames) <= held

    for part in q.parts:
        picks = _units_for(part, ranked, q)
        for k, u in enumerate(picks):
            text = span_for(part, u, q)
            if k and _NAMES_Q.search(q.text) and not _new_name(text, qnames):
                continue  # "what are her dogs' names": another memory adds a name or nothing
            if (
                part.kind in ("what", "field")
                and u.kind != "field"
                and not (part.kind == "field" and _field_value(u, part.head, q))
                and (not says(text) or restates(u))
            ):
                # The unit only restates the question ("I went to the pottery workshop") or
                # reacts to it ("That race sounds great!"): the next unit that scores nearly as
                # well and says something new answers it.
                nxt = _next_of(u, units)
                for alt in [*nxt, *ranked[1:6]]:
                    alt_text = span_for(part, alt, q)
                    bar = NEXT_FALLBACK if alt in nxt else ECHO_FALLBACK
                    if alt.score >= bar * best.score and says(alt_text):
                        u, text = alt, alt_text
                        break
            sib = _verb_sibling(u, units, q) if part.kind in ("what", "field") else None
            sib_text = span_for(part, sib, q) if sib is not None else ""
            if sib is not None and says(sib_text):
                u, text = sib, sib_text
            ans.spans.append(_span(u, text))
    return ans


# "What did Mia realize after the race?": the verb the question asks about, after its subject.
_ASKED_VERB = re.compile(
    r"^\s*(?:[Ww]hat|[Ww]hich\s+\w+)\s+(?:did|does|do|has|have|had|was|is|will|would)\s+"
    r"(?:[A-Z][\w'’-]*['’]s\s+[\w-]+|[A-Z][\w-]*(?:\s+and\s+[A-Z][\w-]*)?|"
    r"(?:his|her|their|my|your|the)\s+[\w-]+)\s+"
    r"([a-z][\w-]+)"
)
_PLAIN_VERBS = frozenset("do doing have get got go be say think like want use make".split())


def _verb_sibling(u: Unit, units: list[Unit], q: Question) -> Unit | None:
    """The sentence of the same turn (or the speaker's next) that holds what the question asks
    about, when the chosen one sets the scene without it: "I ran a charity race." -> "I realized
    self-care matters"; "I framed my grandfather's map." -> "It stands for patience"."""
    if _MEANS_Q.search(q.text):

        def holds(x: Unit) -> bool:
            return bool(_MEANS.search(x.text))

    else:
        m = _ASKED_VERB.match(q.text)
        if m is None or m.group(1).lower() in _PLAIN_VERBS or m.group(1).lower() in STOP_WORDS:
            return None
        verb = stem(m.group(1))

        def holds(x: Unit) -> bool:
            return _matches(verb, set(content_stems(x.text, STOP_WORDS)))

    if holds(u):
        return None
    near = [
        x
        for x in units
        if x.memory is u.memory
        and x is not u
        and x.speaker == u.speaker
        and _follows(u, x)
        and not _asks(x)
        and holds(x)
    ]
    return min(near, key=lambda x: abs(x.seq - u.seq), default=None)


def _follows(u: Unit, x: Unit) -> bool:
    """Whether x is said near u: a sentence of the same turn, or of the speaker's next turn."""
    if x.kind == u.kind:
        return abs(x.seq - u.seq) <= 2 if u.kind != "context" else x.seq // 100 == u.seq // 100
    return u.kind == "sentence" and x.kind == "context" and 1000 <= x.seq < 3000


_NAMES_Q = re.compile(r"(?i)\bnames\b|\bwho\b")


def _new_name(text: str, qnames: set[str]) -> bool:
    """Whether a span holds a name the question does not: a capitalised word past its first, or
    the span is that one word ("Tofu"; not "Exciting but nerve-wracking")."""
    toks = words(text)
    seen = toks if len(toks) == 1 else toks[1:]
    return any(
        w[:1].isupper() and w.lower().rstrip("'’s") not in qnames and w.lower() not in STOP_WORDS
        for w in seen
    )


CHOICE_LEAD = 1.5  # how far one option's support must lead the other's


def _choice(q: Question, top: list[Unit]) -> tuple[str, Unit] | None:
    """For "a beach or the mountains?": the option the best memories speak of, when one clearly
    leads; the unit that says it is the support."""
    if q.options is None:
        return None
    support: list[tuple[float, Unit | None]] = []
    for option in q.options:
        need = set(content_stems(option, STOP_WORDS)) or {stem(option)}
        held = [
            u for u in top if all(_matches(s, set(content_stems(u.text, STOP_WORDS))) for s in need)
        ]
        support.append((sum(u.score for u in held), held[0] if held else None))
    (sa, ua), (sb, ub) = support
    if ua is not None and sa >= CHOICE_LEAD * sb:
        return q.options[0], ua
    if ub is not None and sb >= CHOICE_LEAD * sa:
        return q.options[1], ub
    return None


# "What is Tom's phone number?" -> "phone number": the noun phrase a field question asks for.
_KEY_PHRASE = re.compile(
    r"(?i)^(?:what|which)(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:(?:my|your|the|his|her|their|"
    r"our|[A-Z][\w-]*['’]s)\s+)?((?:[\w-]+\s+){0,2}?[\w-]+)(?=\s+(?:of|for|at|in|on|from|to|"
    r"that|with)\b|\s*\?*\s*$)"
)


def _typed_key_unmet(q: Question, top: list[Unit]) -> bool:
    """A field question asks for a value of a known shape (phone, email, ip, url, version, port)
    and no top unit holds one in a memory of the question's other words."""
    m = _KEY_PHRASE.search(q.text.strip()) if q.kind == "field" else None
    if m is None:
        return False
    key = [w.lower() for w in words(m.group(1))]
    shape = next((_TYPED_VALUES[w] for w in key if w in _TYPED_VALUES), None)
    if shape is None:
        return False
    keyed = {stem(w) for w in key}
    topic = [s for s in q.stems if not _matches(s, keyed)]
    return not any(
        re.search(shape, u.text) and all(_matches(s, memory_stems(u)) for s in topic) for u in top
    )


def memory_stems(u: Unit) -> set[str]:
    """The stems of everything the unit's memory says (title, fields, text)."""
    return set(content_stems(u.memory.search_text(), STOP_WORDS))


def _next_of(u: Unit, units: list[Unit]) -> list[Unit]:
    """What the same speaker says next in the same memory: after "I went to the council meeting
    for adoption." comes what it was like."""
    later = [
        x
        for x in units
        if x.memory is u.memory and x.seq > u.seq and x.kind == u.kind and x.speaker == u.speaker
    ]
    nxt = min(later, key=lambda x: x.seq, default=None)
    return [nxt] if nxt is not None and nxt.seq - u.seq < 10 and not _asks(nxt) else []


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
