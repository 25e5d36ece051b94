"""Key facts on a screen: labelled values ("Booking reference: K7Q2ZP", "Seat: 14A"), codes named
in prose ("flight TP1947", "order 5521", "gate A14") and rates ("rate limit 120 requests per
minute"). A fact is kept on the resource or entity it belongs to (see apply.py). Values the capture
or signals masked as secrets are never facts. Pure functions, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirix_app.agent.extract.events import chat_line
from mirix_app.agent.extract.text import STOP, lines_of, plausible
from mirix_app.safety.secrets import find_secrets, has_marker

# "Label: value" with a short label; several on one line ("Passenger: Alex Morgan Seat: 14A").
_LABEL = re.compile(
    r"(?:(?<=\s)|^)(?P<label>[A-Z][A-Za-z]*(?:[ -][A-Za-z]+){0,3})\s*:\s+"
    r"(?P<value>.+?)(?=\s+[A-Z][A-Za-z]*(?:[ -][a-z]+){0,2}:\s|$)"
)
_CODE_WORDS = (
    "reference|ref|booking|confirmation|order|invoice|ticket|tracking|flight|train|gate|seat|"
    "platform|terminal|room|account|case|issue|pr|pull request|version|hotfix|release|build|"
    "policy|contract|customer|member|membership|parcel|shipment|locker|table|row|desk|floor|"
    "reservation|voucher|coupon|serial|licen[cs]e|plate|pnr"
)
_CODE = re.compile(
    rf"(?i)\b(?P<label>{_CODE_WORDS})\b(?:\s+(?:reference|ref|no\.?|number|nr\.?|#|code|id)\b)?"
    r"\s*(?:is\s+|:\s*|#\s*)?"
    r"(?P<value>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{1,20}[A-Z0-9](?:\.\d+)*)\b"
)
_RATE = re.compile(
    r"(?i)\b(?P<label>[a-z][a-z ]{2,30}?)\s+(?:is\s+|of\s+|at\s+|=\s*|:\s*)?(?P<value>\d[\d,.]*\s*"
    r"[a-z%€$£]{1,15}(?:\s+[a-z]{1,15})?\s+(?:per|a|an|/)\s*(?:second|sec|minute|min|hour|day|"
    r"week|month|year|request|user|person|seat|night|kg|km|gb|mb))\b"
)
_SKIP_LABELS = frozenset(
    [
        "http",
        "https",
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "re",
        "fwd",
        "note",
        "notes",
        "steps",
        "step",
        "description",
        "status",
        "priority",
        "message",
        "hint",
        "tip",
        "warning",
        "error",
    ]
)
_SKIP_VALUE = re.compile(r"(?i)^(?:none|n/?a|-+|\[?redacted\]?|\*+)$")


@dataclass(frozen=True)
class KeyFact:
    label: str
    value: str

    def line(self) -> str:
        return f"{self.label}: {self.value}"


def _useful(value: str) -> bool:
    v = value.strip()
    if not v or _SKIP_VALUE.match(v) or has_marker(v):
        return False
    if find_secrets(v):
        return False
    return any(ch.isdigit() for ch in v) or bool(re.search(r"\b[A-Z]{2,}\d|\b[A-Z][a-z]+ [A-Z]", v))


def find_facts(text: str, limit: int = 40) -> list[KeyFact]:
    """Key facts in `text`, in reading order, without repeats."""
    out: list[KeyFact] = []
    seen: set[str] = set()

    def keep(label: str, value: str) -> None:
        label = " ".join(label.split()).strip(" :-")
        value = " ".join(value.split()).strip(" ,;.")
        words = label.split()
        while len(words) > 1 and words[0].lower() in STOP:
            words.pop(0)
        if len(words) > 3 and not value[:1].isalpha():
            words = words[-3:]  # "The API has a rate limit" -> "a rate limit" -> "rate limit"
            while len(words) > 1 and words[0].lower() in STOP:
                words.pop(0)
        label = " ".join(words)
        key = f"{label.lower()}|{value.lower()}"
        if (
            not label
            or label.lower() in _SKIP_LABELS
            or len(value) > 80
            or key in seen
            or not _useful(value)
        ):
            return
        for n, f in enumerate(out):
            if value.lower() == f.value.lower():
                if len(label) > len(f.label):  # "Booking reference" over "ref"
                    out[n] = KeyFact(label[:40], value)
                return
        seen.add(key)
        out.append(KeyFact(label[:40], value))

    for ln in lines_of(text or "").lines:
        if not plausible(ln) or len(out) >= limit:
            continue
        if re.match(r"^\s*(?:https?\s*:|\$|#|>)", ln) or chat_line(ln) is not None:
            continue  # an address bar, a prompt, a heading, a chat message
        for m in _LABEL.finditer(ln):
            keep(m.group("label"), m.group("value"))
        for m in _CODE.finditer(ln):
            head = ln[m.start() : m.start("value")]
            keep(re.sub(r"(?i)\s*(?:\bis\b|[:#])\s*$", "", head).lower(), m.group("value"))
        for m in _RATE.finditer(ln):
            keep(m.group("label"), m.group("value"))
    return out[:limit]
