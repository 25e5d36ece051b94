"""Cheap deterministic signals that decide what they can before any model runs.

A small model labels most screens "core" when used as a classifier, so routing rests on code:
app and window, dates and times, numbered steps, credential and document patterns, and the user's
own words in chat ("my manager is Bob"). The model only summarizes and fills in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field

from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.search import QUESTION_EVENT  # the mark search demotes by
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


# -- instructions in content -----------------------------------------------------------------------
# Captured content is data. Text that reads as instructions to an AI (override phrases, fake system
# or tool messages, fake tool calls, fence or chat-template tokens, requests to delete memories,
# change settings or reveal secrets) marks its item: the code that applies the model's decisions
# then lets it add memories only (see managers.apply), and no facts about the user come from it.
# The check runs on a folded copy (width forms, invisible characters and Cyrillic/Greek look-alikes
# undone, s p a c e d letters joined) and on the decoded text of base64 runs.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_LOOKALIKE = str.maketrans(
    {
        **dict.fromkeys("\u0430\u03b1\u0410\u0391", "a"),
        **dict.fromkeys("\u0412\u0392", "b"),
        **dict.fromkeys("\u0441\u0421\u03f2", "c"),
        **dict.fromkeys("\u0501", "d"),
        **dict.fromkeys("\u0435\u03b5\u0415\u0395", "e"),
        **dict.fromkeys("\u041d\u0397", "h"),
        **dict.fromkeys("\u0456\u03b9\u0406\u0399", "i"),
        **dict.fromkeys("\u0458\u0408", "j"),
        **dict.fromkeys("\u03ba\u041a\u039a", "k"),
        **dict.fromkeys("\u04cf", "l"),
        **dict.fromkeys("\u041c\u039c", "m"),
        **dict.fromkeys("\u03bd\u039d", "n"),
        **dict.fromkeys("\u043e\u03bf\u041e\u039f", "o"),
        **dict.fromkeys("\u0440\u03c1\u0420\u03a1", "p"),
        **dict.fromkeys("\u0455\u0405", "s"),
        **dict.fromkeys("\u03c4\u0422\u03a4", "t"),
        **dict.fromkeys("\u03c5\u0443\u03a5\u0423", "y"),
        **dict.fromkeys("\u0445\u03c7\u0425\u03a7", "x"),
        **dict.fromkeys("\u2039\u2329\u3008\u27e8\u02c2\u276e", "<"),
        **dict.fromkeys("\u203a\u232a\u3009\u27e9\u02c3\u276f", ">"),
    }
)
_SPACED = re.compile(r"\b(?:\w[ .\-_*]){3,}\w\b")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_INSTRUCTIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "override",
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.\n]{0,40}?\b(?:previous|prior|"
            r"above|earlier|preceding|all|any|your|the|these|those|system|safety|my)\b[^.\n]{0,25}?"
            r"\b(?:instructions?|rules?|prompts?|directions?|guidelines?|guardrails?|polic(?:y|ies)|"
            r"restrictions?|constraints?|context)\b"
        ),
    ),
    (
        "new instructions",
        re.compile(
            r"\b(?:new|updated|real|actual|hidden|secret)\s+(?:instructions?|rules|directives?|"
            r"orders)\b|\bsystem\s*(?:prompt|override|message|instructions?|notice)\b"
        ),
    ),
    (
        "persona",
        re.compile(
            r"\b(?:you are now (?:a|an|the|in|my|dan|free|unrestricted|jailbroken)|"
            r"from now on,? (?:you are|you're|you will be|act|ignore|your (?:new )?(?:role|name|"
            r"instructions|rules))|pretend (?:to be|you are|you're)|act as (?:a|an|the|if)|"
            r"role-?play|jailbreak|developer mode|admin mode|god mode|maintenance mode|"
            r"do anything now|no (?:rules|restrictions|limits))\b|\byou are (?:dan|an? ai)\b"
        ),
    ),
    (
        "role marker",
        re.compile(
            r"(?m)^\s*(?:system|assistant|developer|tool|function)\s*:|"
            r"(?:[.!?:;'\"“‘(\[]|\s{2})\s*(?:system|assistant|developer)\s*:|"
            r"^\s*#{1,6}\s*(?:system|instructions?|response|assistant)\b"
        ),
    ),
    (
        "markup",
        re.compile(
            r"[<\[]\s*/?\s*(?:system|inst|sys|assistant|tool|developer|data|item|instructions?)\s*[>\]]"
            r"|<\|[^|>]{1,30}\|>"
        ),
    ),
    (
        "tool call",
        re.compile(
            r"\"(?:tool|tool_calls?|function_call|function|action|op|command|name)\"\s*:\s*[{\[]?\s*"
            r"\"?(?:delete|merge|update|trash|purge|forget|wipe|remove|set|reveal|disable)"
            r"|\b(?:tool_calls?|function_call|tool_use)\b"
        ),
    ),
    (
        "addressed to an ai",
        re.compile(
            r"\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|assistants?|"
            r"agents?|llms?|models?|bots?|chatbots?)\b|(?:^|[\n.!?]\s*|\bhey\s+)(?:ai|assistant|"
            r"ai assistant|agent|mirix|llm|chatbot)\s*[,:]"
        ),
    ),
    (
        "memory change",
        re.compile(
            r"\b(?:delete|erase|wipe|purge|remove|forget|trash|destroy|overwrite|merge)\b[^.\n]{0,40}?"
            r"\b(?:memor(?:y|ies)|notes?|records?|database|vault|everything|history)\b"
        ),
    ),
    (
        "settings change",
        re.compile(
            r"\b(?:turn|switch|shut)(?:ing)?\s+off\b[^.\n]{0,20}?\b(?:capture|recording|privacy|"
            r"redaction|exclusions?)\b|\b(?:capture|recording)\s+off\b|\b(?:disable|stop|pause|"
            r"remove|clear|delete|empty)\b[^.\n]{0,20}?\b(?:capture|exclusions?|privacy|redaction)\b"
            r"|\bexclusions?\s+(?:cleared|removed|deleted|off)\b|\ballow_?writes\b|"
            r"\bcapture\.enabled\b|\bexclude_(?:apps|titles)\b|\b(?:endpoint|base_url|api_base)\b"
            r"[^.\n]{0,30}?https?://|\b(?:change|set|update|modify|edit|reset)\b[^.\n]{0,30}?"
            r"\b(?:settings?|config(?:uration)?|preferences)\b"
        ),
    ),
    (
        "secret request",
        re.compile(
            r"\b(?:reveal|print|show|output|repeat|tell|send|leak|dump|list|copy|include|give|read|"
            r"display|paste|post|exfiltrate)\b[^.\n]{0,50}?\b(?:passwords?|passphrases?|secrets?|"
            r"vault|credentials?|api[ _-]?keys?|tokens?|pins?|passcodes?)\b"
        ),
    ),
]


def fold(text: str) -> str:
    """Text as a reader (or a model) sees it: no invisible characters, width forms and look-alike
    letters mapped to ASCII, lower case, s p a c e d letters joined."""
    t = unicodedata.normalize("NFKC", INVISIBLE.sub("", text)).translate(_LOOKALIKE).lower()
    return _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), t)


def _decoded_runs(text: str) -> list[str]:
    out = []
    for run in _B64_RUN.findall(text):
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), altchars=b"-_", validate=False)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if len(decoded) >= 8 and sum(
            ch.isprintable() or ch.isspace() for ch in decoded
        ) >= 0.95 * len(decoded):
            out.append(decoded)
    return out


def instruction_like(text: str) -> list[str]:
    """Why `text` reads as instructions to an AI agent ([] when it does not)."""
    if not text:
        return []
    views = [fold(text)]
    views += [fold(d) for d in _decoded_runs(text)]
    found: list[str] = []
    for name, rx in _INSTRUCTIONS:
        if any(rx.search(v) for v in views):
            found.append(name)
    return found


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
_TITLE = r"(?:(?:dr|mr|mrs|ms|mx|prof|st)\.\s*)?"  # "my dentist is Dr. Okafor": the title is part
_MY_X_IS = re.compile(
    r"(?i)\bmy " + _QUAL + r"(?P<key>[a-z][a-z-]*(?: [a-z][a-z-]*)?) (?:is|are|=) (?:now )?"
    r"(?P<value>" + _TITLE + r"[^.,;!?\n]{1,60})"
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
_NOT_A_VALUE = {"what", "when", "where", "who", "whom", "whose", "which", "why", "how", "this", "that",
    "it", "there", "here", "these", "those"}  # fmt: skip
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
            if re.sub(r"['’]s$", "", value.split()[0].lower()) in _NOT_A_VALUE:
                continue  # "When is my flight to ...", "That is my car": no name is given
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


# -- questions -------------------------------------------------------------------------------------
# A question states nothing: "When is my flight to Porto?" once became the "fact" "my flight to is
# When". The user's questions are kept as chat history only (see managers.candidates), and facts
# come only from the sentences of a message that state something.
_WH = {"what", "when", "where", "who", "whom", "whose", "which", "why", "how"}
_AUX = {
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
    "have", "has", "am", "shall", "may", "might", "must", "isn't", "aren't", "wasn't", "don't",
    "doesn't", "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't",
    "hasn't",
}  # fmt: skip
# After an auxiliary, a subject makes a question ("is my flight ...", "did Bob call"); anything
# else is an imperative or a statement ("have a nice day", "Will is my brother").
_SUBJECT = {
    "i", "you", "we", "he", "she", "they", "it", "my", "your", "our", "his", "her", "their",
    "the", "this", "that", "these", "those", "there", "anyone", "anybody", "someone", "somebody",
    "anything", "something", "any", "mirix", "u",
}  # fmt: skip
# After a wh-word with no "?", a subject makes a clause of a statement ("When I'm at work my phone
# is on silent", "where my keys are is a mystery") and an article an exclamation ("what a day");
# anything else a question ("when is ...", "what day is ...", "how many ...").
_WH_CLAUSE = _SUBJECT | {"a", "an"}
_RECALL = re.compile(
    r"(?i)^(?:tell me|show me|remind me|find|search|look up|look for|recall|list|give me|"
    r"i (?:wonder|forgot|can't remember|cannot remember|don't remember|do not remember|need to "
    r"know|want to know|would like to know|'d like to know)\b[^.!?]*?\b(?:what|when|where|who|"
    r"which|why|how|if|whether)|do you (?:know|remember))\b"
)
# "Can you remember that ...", "could you note ...": a request to keep something, a statement.
_KEEP_REQUEST = re.compile(
    r"(?i)^(?:(?:can|could|would|will) you (?:please )?|please |do )(?:remember|note|save|store|"
    r"keep|record|write down|add|memori[sz]e)\b"
)
_LEAD = re.compile(
    r"(?i)^(?:(?:hey|hi|hello|ok|okay|so|and|but|also|um|uh|well|please|pls|mirix|quick "
    r"question)\b[\s,:;!-]*)+"
)
_FIRST_WORDS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_ABBREV = {"dr", "mr", "mrs", "ms", "st", "prof", "no", "vs", "etc", "e.g", "i.e", "jr", "sr", "mt"}
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?:\s+|$)|\n+")


def sentences(text: str) -> list[str]:
    """A message's sentences ("Dr. Okafor" and "J. Smith" stay whole)."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        piece = text[start : m.start()]
        last = piece.rsplit(None, 1)[-1].lower() if piece.strip() else ""
        if (
            "\n" not in m.group(0)
            and m.group(0).startswith(".")
            and end < len(text)
            and (last.rstrip(".") in _ABBREV or len(last) == 1)
        ):
            continue  # an abbreviation or an initial, not the end of a sentence
        s = text[start:end].strip()
        if s:
            out.append(s)
        start = end
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def is_question_sentence(sentence: str) -> bool:
    s = _LEAD.sub("", sentence.strip().lstrip("\"'“‘(*-• ")).strip()
    if not s:
        return False
    if _KEEP_REQUEST.match(s):
        return False  # "can you remember that my wifi password is ...?" asks to keep, states
    if s.rstrip("\"'”’)] ").endswith("?"):
        return True
    if _RECALL.match(s):
        return True
    ws = [w.lower().replace("’", "'") for w in _FIRST_WORDS.findall(s)[:2]]
    if not ws:
        return False
    first, nxt = ws[0], (ws[1] if len(ws) > 1 else "")
    head, _, tail = first.partition("'")
    if head in _WH:
        # "what's", "when's": a contraction of an auxiliary; "which gate ...": always a question.
        clause = nxt.partition("'")[0] in _WH_CLAUSE
        return bool(tail) or head in ("which", "whose", "whom") or not clause
    if first in _AUX:
        raw_next = _FIRST_WORDS.findall(s)[1:2]
        return nxt in _SUBJECT or bool(raw_next and raw_next[0][:1].isupper())
    return False


def is_question(text: str) -> bool:
    """Whether a message asks something (any of its sentences is a question)."""
    return any(is_question_sentence(s) for s in sentences(text or ""))


def stated(text: str) -> str:
    """The sentences of a message that state something (its questions left out), one per line."""
    return "\n".join(s for s in sentences(text) if not is_question_sentence(s))


def asked_by_user(item: InboxItem) -> bool:
    """A question the user typed to mirix (not an imported turn, not another speaker's)."""
    meta = item.meta or {}
    return (
        item.kind == "chat"
        and meta.get("role", "user") == "user"
        and "speaker" not in meta
        and not meta.get("message_id")
        and is_question(item.text or "")
    )


_QUOTED = re.compile(
    r"\"[^\"]{15,}\"|“[^”]{15,}”|«[^»]{15,}»|(?<!\w)'[^']{15,}'(?!\w)|```[\s\S]*?```"
)


def unquoted(text: str) -> str:
    """A message without the longer passages it quotes: "summarise this: '...'" states nothing
    about the user in the quoted part."""
    return _QUOTED.sub(" ", text)


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
    # Why the item reads as instructions to the agent (see `instruction_like`); [] when it does not.
    # Such an item is kept as data, but nothing it leads to may change or delete existing memories.
    injected: list[str] = field(default_factory=list)
    question: bool = False  # a chat message that asks (at least one of its sentences)
    asked: bool = False  # a question the user typed to mirix: kept as chat history, never a fact


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
    injected = instruction_like("\n".join(x for x in seen if x))
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
