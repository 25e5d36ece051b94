"""Candidate answer units: the sentences, lines, steps and field values of a memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mirix_app.agent.answer.lexicon import (
    _FIELD,
    _MARKER,
    _PHOTO,
    _SENT,
    _SESSION_TIME,
    _SPEAKER,
    _STEP_LINE,
)
from mirix_app.memory.clock import parse_time
from mirix_app.memory.types import Memory, MemoryType

Embed = Callable[[Sequence[str]], Any]  # texts -> (n, d) array of unit vectors


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
        # holds their text, so citing it is truthful.
        near = str(f.get("details") or "").splitlines()
        for k, line in enumerate(near):
            nm = _SPEAKER.match(line)
            said = _PHOTO.sub("", line[nm.end() :] if nm else line)
            base = _context_seq(k, len(near))
            for i, s in enumerate(_sentences(said)):
                add(s, "context", speaker=nm.group(1) if nm else "", seq=base + i)
        return out
    if f.get("event_type") in ("activity", "session") or "session" in m.tags:
        # "Read 'Invoice …' in Thunderbird (Inbox), 19:19": the time is when it was seen, which
        # the memory's own time says; as text it would answer "by when must I pay".
        head = _SESSION_TIME.sub("", head)
    for i, s in enumerate(_sentences(head)):
        add(s, "sentence", seq=i)
    title = str(f.get("title") or "")
    if title and title != head and m.type is MemoryType.RESOURCE:
        add(title, "sentence", seq=50)  # "Canteen menu week 46": what the page is
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    numbered = [(_STEP_LINE.match(ln), ln) for ln in lines]
    steps = [mm.group(2).strip() for mm, _ in numbered if mm]
    if len(steps) >= 2:
        add(head or "steps", "steps", steps=steps)
    # A session's lines are its turns ("Lena: Cycling is the best way to unwind"): what a person
    # said, not a field named after them.
    people = {p.strip() for p in str(f.get("actor") or "").split(",") if p.strip()}
    for i, ln in enumerate(lines[:400]):
        fm = _FIELD.match(ln)
        seq = 100 + 10 * i
        turn = _SPEAKER.match(ln)
        if turn and turn.group(1) in people:
            for j, s in enumerate(_sentences(ln[turn.end() :])):
                add(s, "context", speaker=turn.group(1), seq=100 * (i + 1) + min(j, 99))
        elif fm:
            add(ln, "field", key=fm.group(1).strip(), value=fm.group(2).strip(), seq=seq)
        elif len(ln) > 160:
            for j, s in enumerate(_sentences(ln)):
                add(s, "line", seq=seq + min(j, 9))
        else:
            add(ln, "line", seq=seq)
    return out


def _context_seq(k: int, n: int) -> int:
    """Where the k-th of n context lines sits in reading order. The import writes neighbours
    nearest first, alternating sides (turn -1, +1, -2, +2): with four or three lines the even
    ones came before the message; with two, the first (a session's edge is rarer than its
    middle)."""
    if n == 1:
        return 1000
    if n == 2 or k < 2:
        return -100 if k == 0 else 1000
    if n >= 4:
        return -100 * (k // 2 + 1) if k % 2 == 0 else 1000 * (k // 2 + 1)
    return 2000  # the third of three: one side ran out; after is the likelier
