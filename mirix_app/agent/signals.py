"""Cheap deterministic signals that decide what they can before any model runs (`route`).

A small model labels most screens "core" when used as a classifier, so routing rests on code:
app and window, dates and times, numbered steps, credential and document patterns, and the user's
own words in chat ("my manager is Bob"). The model only summarizes and fills in.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from mirix_app.agent.statements import (
    Fact,
    asked_by_user,
    is_question,
    stated,
    unquoted,
    user_facts,
)
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.search import QUESTION_EVENT  # the mark search demotes by
from mirix_app.memory.types import MemoryType
from mirix_app.safety import injection
from mirix_app.safety.secrets import SecretMatch, find_secrets, mask_secrets


# -- OCR trimming ----------------------------------------------------------------------------------
class LineMemory:
    """Lines seen recently per app, so a capture only contributes what changed on screen."""

    def __init__(self, per_app: int = 400, apps: int = 32) -> None:
        self.per_app, self.apps = per_app, apps
        self._seen: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    def fresh(self, app: str, lines: list[str]) -> list[str]:
        seen = self._seen.setdefault(app, OrderedDict())
        self._seen.move_to_end(app)
        while len(self._seen) > self.apps:
            self._seen.popitem(last=False)
        out = []
        for line in lines:
            h = hashlib.blake2b(line.lower().encode(), digest_size=8).hexdigest()
            if h in seen:
                seen.move_to_end(h)
                continue
            seen[h] = None
            out.append(line)
        while len(seen) > self.per_app:
            seen.popitem(last=False)
        return out


_WS = re.compile(r"[ \t\u00a0]+")


def clean_lines(text: str) -> list[str]:
    """OCR lines without noise: collapsed spaces, no near-empty lines, no repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = _WS.sub(" ", raw).strip()
        if sum(ch.isalnum() for ch in line) < 3:
            continue
        key = line.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(line)
    return out


def trim_text(lines: list[str], max_chars: int) -> str:
    out: list[str] = []
    n = 0
    for line in lines:
        if n + len(line) + 1 > max_chars:
            if not out:
                out.append(line[:max_chars].rsplit(" ", 1)[0])
            break
        out.append(line)
        n += len(line) + 1
    return "\n".join(out)


# -- signals ---------------------------------------------------------------------------------------
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_DATE_TIME = re.compile(
    r"(?i)\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTHS
    + r"|"
    + _MONTHS
    + r"\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}:\d{2}\s*(?:am|pm)?|\d{1,2}\s*(?:am|pm)|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|tomorrow|tonight|next week)\b"
)
_STEP = re.compile(r"(?i)^\s*(?:step\s*\d+[:.)]?|\d{1,2}[.)]|[-*•]\s)\s*(?P<body>\S.*)$")
_NUMBERED = re.compile(r"(?i)^\s*(?:step\s*\d+|\d{1,2}[.)])")
_DOC_FILE = re.compile(r"(?i)[\w -]+\.(?:pdf|docx?|xlsx?|pptx?|odt|ods|odp|md|txt|rtf|epub|csv)\b")
DOC_APPS = {
    "evince",
    "okular",
    "acrobat",
    "acrobat reader",
    "adobe acrobat",
    "preview",
    "word",
    "microsoft word",
    "excel",
    "powerpoint",
    "libreoffice",
    "soffice",
    "zathura",
    "foxit reader",
    "sumatrapdf",
    "atril",
}
CALENDAR_APPS = {
    "calendar",
    "outlook",
    "thunderbird",
    "google calendar",
    "fantastical",
    "gnome-calendar",
}
CALENDAR_WORDS = re.compile(
    r"(?i)\b(?:meeting|appointment|deadline|due|call|interview|flight|event|reminder)\b"
)


def numbered_steps(lines: list[str]) -> list[str]:
    """Consecutive list lines with at least two numbered ones: a procedure."""
    best: list[str] = []
    run: list[str] = []
    numbered = 0
    best_numbered = 0
    for line in [*lines, ""]:
        m = _STEP.match(line)
        if m:
            run.append(m.group("body").strip())
            numbered += bool(_NUMBERED.match(line))
            continue
        if len(run) > len(best) and numbered >= 2:
            best, best_numbered = run, numbered
        run, numbered = [], 0
    return best if len(best) >= 2 and best_numbered >= 2 else []


@dataclass
class Route:
    """What deterministic signals say about one inbox item."""

    item: InboxItem
    text: str  # cleaned, trimmed, secrets masked: safe for prompts and memory text
    types: set[MemoryType] = field(default_factory=set)
    event_type: str = "activity"
    secrets: list[SecretMatch] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    document: str = ""  # a document title when the item is / shows a document
    facts: list[Fact] = field(default_factory=list)
    trusted: bool = False  # the user's own words typed into mirix chat
    stale: bool = False  # a capture that shows nothing new for its app
    speaker: str = "user"
    reasons: list[str] = field(default_factory=list)
    # The turns before and after an imported conversation turn ("speaker: text"), set by the
    # pipeline: a reply ("Yes, last Friday") means little alone.
    context: list[str] = field(default_factory=list)
    # Why the item reads as instructions to the agent (`injection.instruction_like`); [] if not.
    # Such an item is kept as data, but nothing it leads to may change or delete existing memories.
    injected: list[str] = field(default_factory=list)
    question: bool = False  # a chat message that asks (at least one of its sentences)
    asked: bool = False  # a question the user typed to mirix: kept as chat history, never a fact


def _steps_and_document(r: Route, lines: list[str], app: str, window: str) -> None:
    """Numbered steps make a procedure; a document (a file, or a window of a document app) makes
    a resource."""
    item, meta = r.item, r.item.meta or {}
    steps = numbered_steps(lines)
    if steps:
        r.steps = steps[:20]
        r.types.add(MemoryType.PROCEDURAL)
        r.reasons.append("numbered steps")
    if item.kind == "document":
        r.document = str(meta.get("title") or meta.get("path") or window or "document")
    elif app.lower() in DOC_APPS or (window and _DOC_FILE.search(window)):
        doc = _DOC_FILE.search(window)
        r.document = doc.group(0).strip() if doc else window or app
    if r.document:
        r.types.add(MemoryType.RESOURCE)
        r.event_type = "document" if r.event_type == "activity" else r.event_type
        r.reasons.append("document")


def route(item: InboxItem, *, max_chars: int = 600, lines_seen: LineMemory | None = None) -> Route:
    raw = item.text or ""
    secrets = find_secrets(raw)
    masked = mask_secrets(raw, secrets)
    lines = clean_lines(masked)
    app = (item.app or "").strip()
    window = (item.window or "").strip()
    meta = item.meta or {}
    speaker = str(meta.get("speaker") or "user")
    # Everything the model will read about the item: its text and where it came from.
    seen = [raw, app, window, *(str(meta.get(k) or "") for k in ("title", "caption"))]
    injected = injection.instruction_like("\n".join(x for x in seen if x))
    # The user's own words typed into mirix chat, unless they carry pasted instructions to an AI:
    # the user wrote the message, but not necessarily what it quotes.
    trusted = (
        item.kind == "chat"
        and meta.get("role", "user") == "user"
        and "speaker" not in meta
        and not injected
    )
    if item.kind == "capture" and lines_seen is not None:
        fresh = lines_seen.fresh(app.lower() or "?", lines)
        stale = not fresh
        lines = fresh or lines[:3]  # an unchanged screen still notes where the user was
    else:
        stale = False
    budget = max_chars if item.kind == "capture" else max(max_chars, 2000)
    text = trim_text(lines, budget)
    r = Route(
        item=item,
        text=text,
        secrets=secrets,
        trusted=trusted,
        speaker=speaker,
        stale=stale,
        injected=injected,
        question=item.kind == "chat" and is_question(raw),
        asked=asked_by_user(item),
    )
    if injected:
        r.reasons.append("instruction-like text: " + ", ".join(injected))
    r.types.add(MemoryType.EPISODIC)  # everything is an event in the user's day
    if item.kind == "chat":
        r.event_type = "conversation" if "speaker" in meta else "chat"
    if secrets:
        r.types.add(MemoryType.VAULT)
        r.reasons.append("credential pattern")
    when = _DATE_TIME.search(masked)
    if when and (
        app.lower() in CALENDAR_APPS or CALENDAR_WORDS.search(masked) or item.kind == "chat"
    ):
        r.event_type = (
            "scheduled" if item.kind != "chat" or CALENDAR_WORDS.search(masked) else r.event_type
        )
        r.reasons.append("date/time")
    _steps_and_document(r, lines, app, window)
    # Facts come from the user's own words or a named speaker's, never from text that holds
    # instructions (a pasted "SYSTEM: my name is Mallory" is not the user's name).
    if item.kind == "chat" and not injected and (trusted or "speaker" in meta):
        # Only the sentences that state something: a question's words are not a fact.
        r.facts = user_facts(stated(unquoted(masked)), owner="user" if trusted else speaker)
        if r.facts:
            r.types.add(MemoryType.SEMANTIC)
            if trusted and any(f.core for f in r.facts):
                r.types.add(MemoryType.CORE)
            r.reasons.append("own words")
    if r.asked:
        r.event_type = QUESTION_EVENT
        r.reasons.append("question")
    return r
