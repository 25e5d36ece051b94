"""Each unit's score against the question: overlap, similarity, answer-type cue, context."""

from __future__ import annotations

import itertools
import logging
import math
import re
from datetime import datetime

from mirix_app.agent.answer.lexicon import (
    _CALENDAR,
    _FAVOURITE,
    _FAVOURITE_Q,
    _FILLER,
    _LEAD,
    _MEANS,
    _MEANS_Q,
    _TIME_KINDS,
    _TIME_WORDS,
    _matches,
    content_stems,
    stem,
    words,
)
from mirix_app.agent.answer.question import Question
from mirix_app.agent.answer.spans import _TYPED_VALUES, _has_cue
from mirix_app.agent.answer.units import Embed, Unit
from mirix_app.memory.types import STOP_WORDS

log = logging.getLogger(__name__)


# How much of what the unit before a unit holds of the question it may carry: an answer often
# follows the line that restates the question, and nearly always follows a question.
SPECIFIC = 0.25  # a document line's share for the question words its title lacks
CARRY = 0.3


QUESTION_CARRY = 0.9
THROUGH = 0.8  # how much of the topic before a question the question passes on


NOVEL = 0.08  # a unit that adds words of its own to the question's


DATED = 0.15  # a dated question ("on 3 June 2023") prefers memories of those days
SESSION_HEAD = 0.6  # a conversation session's topic list, for a question that is not "when"


def score_units(
    q: Question, units: list[Unit], embed: Embed | None = None, *, embed_top: int = 24
) -> list[Unit]:
    """Each unit's score against the question, best first."""
    if not units:
        return []
    stems_of = [set(content_stems(strip_vocatives(u.text), STOP_WORDS)) for u in units]
    context_of = [
        set(content_stems(f"{u.speaker} {u.memory.fields.get('actor', '')}", STOP_WORDS))
        for u in units
    ]
    typed = _TYPED_VALUES.get(q.parts[0].head.lower()) if q.kind == "field" else None
    if typed:
        # A value of the shape asked for says the key: "Call us on 35 12 48 90" is a phone line.
        key = stem(q.parts[0].head)
        for u, st in zip(units, stems_of, strict=True):
            if re.search(typed, u.text):
                st.add(key)
    means = _MEANS_Q.search(q.text)
    # "What does her tattoo symbolize?" is answered by "it stands for freedom".
    meaning = {id(u) for u in units if _MEANS.search(u.text)} if means else set()
    if means:
        said = [s for s in content_stems(means.group(0), STOP_WORDS) if s in q.stems]
        for u, st in zip(units, stems_of, strict=True):
            if said and id(u) in meaning:
                st.update(said)
    fav = _FAVOURITE_Q.search(q.text)
    if fav:
        for u, st in zip(units, stems_of, strict=True):
            if _FAVOURITE.search(u.text):
                st.add(stem(fav.group(0)))
    n = len(units)
    idf: dict[str, float] = {}
    for s in q.stems:
        df = sum(1 for st in stems_of if _matches(s, st))
        idf[s] = 1.0 + max(0.0, math.log((n + 1) / (df + 0.5)))
    total = sum(idf.values()) or 1.0
    # What the whole memory shares with the question counts too: a line "4 eggs" of the recipe
    # titled "Shakshuka" answers "how many eggs for the shakshuka".
    whole: dict[str, set[str]] = {}
    heads: dict[str, set[str]] = {}  # what a document's title and summary already say
    for u, st in zip(units, stems_of, strict=True):
        whole.setdefault(u.memory.id, set()).update(st)
        if u.kind == "sentence" and u.seq < 100:
            heads.setdefault(u.memory.id, set()).update(st)
    for u, st, ctx in zip(units, stems_of, context_of, strict=True):
        got = sum(idf[s] for s in q.stems if _matches(s, st))
        got += 0.5 * sum(idf[s] for s in q.stems if not _matches(s, st) and _matches(s, ctx))
        in_memory = sum(idf[s] for s in q.stems if _matches(s, whole[u.memory.id] | ctx))
        u.overlap = 0.7 * got / total + 0.3 * in_memory / total
        if u.kind in ("line", "field"):
            # Of a document's lines, the one holding what its title does not ("Wednesday" on
            # the canteen menu) is the one asked about.
            given = heads.get(u.memory.id, set())
            own = sum(idf[s] for s in q.stems if _matches(s, st) and not _matches(s, given))
            u.overlap += SPECIFIC * own / total
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
    # A question passes on what came before it ("I did something new last weekend." - "What
    # was it?" - "A 5K charity run."): the reply answers the topic the question took up.
    before: dict[int, Unit] = {}
    incoming: dict[int, float] = {}
    asked: dict[int, bool] = {}  # a question comes right before, maybe past a line of filler
    by_memory: dict[str, list[Unit]] = {}
    for u in units:
        if u.kind != "caption":
            by_memory.setdefault(u.memory.id, []).append(u)
    novelty = {id(u): _novelty(u.text, q, qnames) for u in units}
    for group in by_memory.values():
        group.sort(key=lambda x: x.seq)
        run = 0.0  # the best overlap in the current speaker's turn so far
        for a, b in itertools.pairwise(group):
            before[id(b)] = a
            prev_a = before.get(id(a))
            run = max(run, a.overlap) if prev_a and _same_turn(prev_a, a) else a.overlap
            # A question, or a line that says nothing ("Thanks, Mel."), passes the topic on.
            through = _asks(a) or not novelty[id(a)]
            # Filler opening the reply ("Thanks! A contemporary piece.") loses nothing of it.
            opening = not _asks(a) and _same_turn(a, b)
            decay = 1.0 if opening else THROUGH
            passed = decay * incoming.get(id(a), 0.0) if through else 0.0
            # A question takes up what its whole turn is about ("Winning first place is
            # amazing! What dance were you doing?"): the reply answers that.
            own = run if _asks(a) and b.speaker and b.speaker != a.speaker else a.overlap
            incoming[id(b)] = max(own, passed)
            asked[id(b)] = _asks(a) or (through and asked.get(id(a), False))
    for u in units:
        cue = 1.0 if _has_cue(q.kind, u, head, q) or id(u) in meaning else 0.0
        novel = novelty[id(u)]
        prev = before.get(id(u))
        carried = 0.0
        if prev is not None and novel:
            # What a question in the memories asks, the line after it answers.
            w = QUESTION_CARRY if asked[id(u)] else CARRY
            carried = w * max(0.0, incoming[id(u)] - u.overlap)
        u.score = (
            0.5 * u.overlap
            + 0.35 * max(0.0, u.similarity)
            + 0.1 * cue
            + NOVEL * min(novel, 4) / 4
            + carried
            + 0.05 / (1 + u.rank)
        )
        if in_window(u, q):
            u.score += DATED
        if _asks(u):  # a question is rarely its own answer
            u.score *= 0.55
        if u.kind == "context":
            u.score *= 0.85
        if (
            u.kind == "sentence"
            and u.memory.fields.get("event_type") == "conversation-session"
            and q.kind not in _TIME_KINDS
        ):
            # "Conversation on 4 March between Lena and Sam about cycling, river, ...": a list of
            # topics says when, never what.
            u.score *= SESSION_HEAD
    return sorted(units, key=lambda u: (-u.score, u.rank))


# The person spoken to ("Thanks, Maria!", "Hey Jon, ..."): a reply to them says nothing about them.
_VOCATIVES = (
    re.compile(r",\s*[A-Z][a-z]+(?=\s*[!.?]*\s*$)"),
    re.compile(
        r"^(?i:hey|hi|hello|thanks|thank you|wow|woah|oh|congrats|congratulations|yay|aw+|sorry)"
        r"[,!]?\s+[A-Z][a-z]+\b"
    ),
    re.compile(r"^[A-Z][a-z]+,(?=\s)"),
)


def strip_vocatives(text: str) -> str:
    for pat in _VOCATIVES:
        text = pat.sub(" ", text)
    return text


def in_window(u: Unit, q: Question) -> bool:
    """Whether the unit's memory is of the days a dated question names."""
    if q.window is None:
        return False
    day = u.ref.date() if isinstance(u.ref, datetime) else u.ref
    return q.window[0] <= day <= q.window[1]


def _same_turn(a: Unit, b: Unit) -> bool:
    """Whether two units of one memory come from the same turn: a context turn's lines share
    their hundred in `seq` (units._context_seq); the memory's own lines are one turn."""

    def turn(u: Unit) -> int:
        return u.seq // 100 if u.kind == "context" else 10**6

    return a.speaker == b.speaker and turn(a) == turn(b)


def _asks(u: Unit) -> bool:
    return u.text.rstrip().endswith("?")


def _novelty(text: str, q: Question, qnames: set[str]) -> int:
    """How many words of substance a unit adds to the question's own: an answer says something
    new, while "That's great, Caroline!" only echoes it."""
    qset = set(q.stems)
    n = 0
    for w in words(strip_vocatives(text)):
        lw = w.lower()
        if len(lw) < 3 or lw in STOP_WORDS or lw in _FILLER or lw in _LEAD or lw in qnames:
            continue
        if (lw in _TIME_WORDS or lw in _CALENDAR) and q.kind not in _TIME_KINDS:
            continue
        if _matches(stem(lw), qset):
            continue
        n += 1
    return n
