"""Captured content is data: text that reads as instructions to an AI, and how to quote it.

`instruction_like` says why a text reads as instructions (override phrases, fake system or tool
messages, requests to delete memories, change settings or reveal secrets); the agent then lets
such an item add memories only. `quote_data` makes text safe to put between our <data> markers.
Both undo the tricks that hide words from a check: invisible characters, look-alike letters,
width forms, s p a c e d letters, base64.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

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


# Every angle bracket and its look-alikes (full-width, small, CJK, mathematical, modifier) become
# single guillemets, so the only "<data>" and "</data>" in a prompt are ours and chat-template
# tokens ("<|im_start|>") cannot be formed; line breaks the model might read as such become "\n";
# a "[2]" or "[sem_...]" at the start of a line cannot pose as one of our numbered items or ids.
_ANGLES = str.maketrans(
    {
        **dict.fromkeys("<\uff1c\ufe64\u2329\u3008\u27e8\u02c2\u276e\u29fc\u1438", "\u2039"),
        **dict.fromkeys(">\uff1e\ufe65\u232a\u3009\u27e9\u02c3\u276f\u29fd\u1433", "\u203a"),
    }
)
_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_LINE_TAG = re.compile(r"(?m)^(\s*)\[([^\]\n]{1,40})\]")


def quote_data(text: str) -> str:
    """Captured text made safe to put between our <data> markers: it cannot close them, open
    another block, forge an item or an id, or form a chat-template token. Invisible characters
    (zero-width, bidi controls) go: they only serve to hide words from our checks."""
    text = _BREAKS.sub("\n", INVISIBLE.sub("", text)).translate(_ANGLES)
    return _LINE_TAG.sub(r"\1(\2)", text)
