"""Cheap deterministic signals that decide what they can before any model runs.

A small model labels most screens "core" when used as a classifier, so routing rests on code:
app and window, dates and times, numbered steps, credential and document patterns, and the user's
own words in chat ("my manager is Bob"). The model only summarizes and fills in.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType

# -- secrets ---------------------------------------------------------------------------------------
_LABELLED = re.compile(
    r"(?i)\b(?P<label>password|passwd|passphrase|passcode|pin(?: code)?|api[ _-]?key|"
    r"secret(?: key)?|access[ _-]?key|auth[ _-]?token|token|login code|security code)"
    r"(?:\s+(?:for|of|to)\s+(?P<what>[\w .@-]{1,40}?))?\s*(?:is|=|:)\s*"
    r"[\"'`]?(?P<value>[^\s\"'`,;]{4,128})"
)
_SHAPED = [
    ("api key", re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b")),
    ("aws access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    (
        "private key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ),
]
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_MASKED = re.compile(r"^(?:\[?redacted\]?|\*+|•+|x+|\.+|<[^>]*>)$", re.I)
SECRET_MARK = "[secret]"
_NOT_WHAT = {
    "my",
    "the",
    "our",
    "your",
    "his",
    "her",
    "their",
    "a",
    "an",
    "new",
    "is",
    "and",
    "with",
}


@dataclass
class SecretMatch:
    kind: str
    value: str
    start: int
    end: int
    what: str = ""


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_secrets(text: str) -> list[SecretMatch]:
    found: list[SecretMatch] = []
    for m in _LABELLED.finditer(text):
        value = m.group("value")
        if _MASKED.match(value) or value.lower() in {"required", "incorrect", "invalid", "hidden"}:
            continue
        what = (m.group("what") or "").strip()
        if not what:  # "my wifi password is ..." -> "wifi"
            before = re.findall(r"[\w.@-]+", text[max(0, m.start() - 40) : m.start()])[-2:]
            what = " ".join(w for w in before if w.lower() not in _NOT_WHAT)
        found.append(
            SecretMatch(m.group("label").lower(), value, m.start("value"), m.end("value"), what)
        )
    for kind, rx in _SHAPED:
        for m in rx.finditer(text):
            found.append(SecretMatch(kind, m.group(0), m.start(), m.end()))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn(digits):
            found.append(SecretMatch("card number", m.group(0).strip(), m.start(), m.end()))
    # Keep the first of overlapping matches.
    found.sort(key=lambda s: (s.start, -s.end))
    out: list[SecretMatch] = []
    for s in found:
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out


def mask_secrets(text: str, secrets: list[SecretMatch] | None = None) -> str:
    secrets = find_secrets(text) if secrets is None else secrets
    for s in sorted(secrets, key=lambda s: -s.start):
        text = text[: s.start] + SECRET_MARK + text[s.end :]
    return text


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


@dataclass
class Fact:
    """A statement in the user's (or a speaker's) own words: "my manager is Bob"."""

    owner: str  # "user" or a speaker's name
    key: str  # "manager"
    value: str  # "Bob"
    core: bool = False  # a stable trait that belongs in the core human block

    @property
    def name(self) -> str:
        return f"{self.owner}'s {self.key}" if self.owner != "user" else f"my {self.key}"

    @property
    def sentence(self) -> str:
        who = "The user's" if self.owner == "user" else f"{self.owner}'s"
        return f"{who} {self.key} is {self.value}."

    @property
    def tag(self) -> str:
        return f"fact:{self.owner.lower()}/{self.key.lower()}"


_QUAL = r"(?:new |current |old |former |previous |latest )?"
_MY_X_IS = re.compile(
    r"(?i)\bmy " + _QUAL + r"(?P<key>[a-z][a-z-]*(?: [a-z][a-z-]*)?) (?:is|are|=) (?:now )?"
    r"(?P<value>[^.,;!?\n]{1,60})"
)
_Y_IS_MY_X = re.compile(
    r"(?i)\b(?P<value>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}) is (?:now )?my "
    + _QUAL
    + r"(?P<key>[a-z][a-z-]*(?: [a-z][a-z-]*)?)\b"
)
_NAME = re.compile(r"(?i)\b(?:my name is|call me)\s+(?P<value>[A-Z][\w'-]*(?: [A-Z][\w'-]*)?)")
_LIVE = re.compile(r"(?i)\bI (?P<verb>live|work) (?:in|at|for) (?P<value>[^.,;!?\n]{2,60})")
_LIKE = re.compile(
    r"(?i)\bI (?:really )?(?P<verb>like|love|prefer|hate|dislike) (?P<value>[^.,;!?\n]{2,60})"
)
_CLAUSE_START = {
    "that",
    "how",
    "what",
    "when",
    "where",
    "why",
    "which",
    "who",
    "it",
    "it's",
    "this",
    "these",
    "those",
    "you",
    "your",
    "you're",
    "them",
    "him",
    "her",
    "all",
}
_BAD_KEYS = {
    "name",
    "password",
    "pin",
    "code",
    "question",
    "problem",
    "point",
    "guess",
    "bad",
    "turn",
}


def user_facts(text: str, owner: str = "user") -> list[Fact]:
    """Facts stated in the first person. Conservative: only patterns that rarely misfire."""
    facts: list[Fact] = []
    for m in _NAME.finditer(text):
        facts.append(Fact(owner, "name", m.group("value").strip(), core=True))
    for rx in (_MY_X_IS, _Y_IS_MY_X):
        for m in rx.finditer(text):
            key = m.group("key").lower().strip()
            value = m.group("value").strip()
            if key in _BAD_KEYS or key.split()[0] in _BAD_KEYS or len(value) < 2:
                continue
            if value.lower().startswith(("a ", "an ", "the ", "not ", "very ", "so ")):
                continue
            facts.append(Fact(owner, key, value))
    for m in _LIVE.finditer(text):
        key = "home" if m.group("verb").lower() == "live" else "workplace"
        facts.append(Fact(owner, key, m.group("value").strip(), core=True))
    for m in _LIKE.finditer(text):
        verb = m.group("verb").lower()
        key = "dislikes" if verb in ("hate", "dislike") else "likes"
        value = m.group("value").strip()
        # "I love how you ...", "I love that it ...": a clause about something else, not a like.
        if value.split()[0].lower() in _CLAUSE_START:
            continue
        facts.append(Fact(owner, key, value, core=True))
    # A fact whose value holds a secret is the vault's business, not memory text.
    return [f for f in facts if not find_secrets(f.value) and SECRET_MARK not in f.value]


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


def route(item: InboxItem, *, max_chars: int = 600, lines_seen: LineMemory | None = None) -> Route:
    raw = item.text or ""
    secrets = find_secrets(raw)
    masked = mask_secrets(raw, secrets)
    lines = clean_lines(masked)
    app = (item.app or "").strip()
    window = (item.window or "").strip()
    meta = item.meta or {}
    speaker = str(meta.get("speaker") or "user")
    trusted = item.kind == "chat" and meta.get("role", "user") == "user" and "speaker" not in meta
    if item.kind == "capture" and lines_seen is not None:
        fresh = lines_seen.fresh(app.lower() or "?", lines)
        stale = not fresh
        lines = fresh or lines[:3]  # an unchanged screen still notes where the user was
    else:
        stale = False
    budget = max_chars if item.kind == "capture" else max(max_chars, 2000)
    text = trim_text(lines, budget)
    r = Route(item=item, text=text, secrets=secrets, trusted=trusted, speaker=speaker, stale=stale)
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
    if item.kind == "chat":
        r.facts = user_facts(masked, owner="user" if trusted else speaker)
        if r.facts:
            r.types.add(MemoryType.SEMANTIC)
            if trusted and any(f.core for f in r.facts):
                r.types.add(MemoryType.CORE)
            r.reasons.append("own words")
    return r
