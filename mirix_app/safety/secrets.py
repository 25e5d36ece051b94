"""Secrets in text: one mask, one Luhn check, one set of card and key formats.

Capture redacts OCR text with these shapes (see `redaction`); the agent finds secrets in what it
stores (`find_secrets`: a vault entry per secret) and masks them in memory text and prompts
(`mask_secrets`). Both write the same marker. Nothing here logs the text it looks at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "[REDACTED]"
# The agent once masked with "[secret]": stored memories may still hold it, so readers that ask
# "was something hidden here?" (`has_marker`) accept both.
OLD_MARKERS = ("[secret]",)
_MARKERS_LOWER = tuple(m.lower() for m in (MARKER, *OLD_MARKERS))

# A value that is itself a placeholder: masked dots or stars, a marker, "<your password>".
MASKED = re.compile(r"^(?:\[?redacted\]?|\[secret\]|[*•·●x.]+|<[^>]*>)$", re.I)


def has_marker(text: str) -> bool:
    """Whether `text` holds a mask written by us (the current one or an older one)."""
    low = text.lower()
    return any(m in low for m in _MARKERS_LOWER)


# -- shapes ----------------------------------------------------------------------------------------
PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.S,
)
# The same block with the dashes misread or lost by OCR (upper case, as PEM writes it: prose
# that mentions how to "begin a private key backup" is left alone).
PRIVATE_KEY_LOOSE = re.compile(
    r"BEGIN[A-Z0-9 ]{0,20}PRIVATE ?KEY.*?(?:END[A-Z0-9 ]{0,20}PRIVATE ?KEY[^\n]*|\Z)", re.S
)


@dataclass(frozen=True)
class Shape:
    kind: str  # the redaction counter's name ("openai_key")
    label: str  # what a vault entry calls it ("api key")
    pattern: re.Pattern[str]


TOKENS: list[Shape] = [
    Shape(
        "jwt", "jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
    ),
    Shape("aws_key", "aws access key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    Shape(
        "github_token",
        "github token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})"),
    ),
    Shape("gitlab_token", "gitlab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    Shape("slack_token", "slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    Shape("stripe_key", "stripe key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    Shape("anthropic_key", "api key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    Shape("openai_key", "api key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    Shape("google_key", "api key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    Shape("hf_token", "hugging face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    Shape("npm_token", "npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    Shape("bearer", "bearer token", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{16,}")),
    Shape("url_credentials", "password", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
]

CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _not_a_card(text: str, m: re.Match[str]) -> bool:
    """Digits that pass Luhn by chance: a run inside a longer hex string (a hash such as
    ...e2fe8718008589502334d2...), or groups no card is printed in (`9297151 100644` in a git
    diff header: a card's groups are 4 to 6 digits)."""
    groups = re.split(r"[ -]", m.group(0))
    if len(groups) > 1:
        return any(len(g) > 6 for g in groups)
    a, b = m.start(), m.end()
    while a > 0 and text[a - 1] in _HEXDIGITS:
        a -= 1
    while b < len(text) and text[b] in _HEXDIGITS:
        b += 1
    return b - a > len(m.group(0)) and b - a >= 20


def card_numbers(text: str) -> list[re.Match[str]]:
    """Card numbers in `text`: 13 to 19 digits (spaces or dashes between groups) passing Luhn."""
    out = []
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and not _not_a_card(text, m):
            out.append(m)
    return out


# -- secrets the agent keeps in the vault ----------------------------------------------------------
# "my wifi password is hunter22", "PIN for the garage: 4711": the value, and what it is for.
_STATED = re.compile(
    r"(?i)\b(?P<label>password|passwd|passphrase|passcode|pin(?: code)?|api[ _-]?key|"
    r"secret(?: key)?|access[ _-]?key|auth[ _-]?token|token|login code|security code)"
    r"(?:\s+(?:for|of|to)\s+(?P<what>[\w .@-]{1,40}?))?\s*(?:is|=|:)\s*"
    r"[\"'`]?(?P<value>[^\s\"'`,;]{4,128})"
)
_NOT_A_VALUE = {"required", "incorrect", "invalid", "hidden"}
_NOT_WHAT = {"my", "the", "our", "your", "his", "her", "their", "a", "an", "new", "is", "and",
    "with"}  # fmt: skip


@dataclass
class SecretMatch:
    kind: str
    value: str
    start: int
    end: int
    what: str = ""


def find_secrets(text: str) -> list[SecretMatch]:
    """Stated passwords and PINs, key and token formats, private keys and card numbers, in
    order; of overlapping matches the first is kept."""
    found: list[SecretMatch] = []
    for m in _STATED.finditer(text):
        value = m.group("value")
        if MASKED.match(value) or value.lower() in _NOT_A_VALUE:
            continue
        what = (m.group("what") or "").strip()
        if not what:  # "my wifi password is ..." -> "wifi"
            before = re.findall(r"[\w.@-]+", text[max(0, m.start() - 40) : m.start()])[-2:]
            what = " ".join(w for w in before if w.lower() not in _NOT_WHAT)
        found.append(
            SecretMatch(m.group("label").lower(), value, m.start("value"), m.end("value"), what)
        )
    for shape in TOKENS:
        for m in shape.pattern.finditer(text):
            found.append(SecretMatch(shape.label, m.group(0), m.start(), m.end()))
    for m in PRIVATE_KEY.finditer(text):
        found.append(SecretMatch("private key", m.group(0), m.start(), m.end()))
    for m in card_numbers(text):
        found.append(SecretMatch("card number", m.group(0).strip(), m.start(), m.end()))
    found.sort(key=lambda s: (s.start, -s.end))
    out: list[SecretMatch] = []
    for s in found:
        if not out or s.start >= out[-1].end:
            out.append(s)
    return out


def mask_secrets(text: str, secrets: list[SecretMatch] | None = None) -> str:
    """`text` with each secret (found here unless given) replaced by MARKER."""
    secrets = find_secrets(text) if secrets is None else secrets
    for s in sorted(secrets, key=lambda s: -s.start):
        text = text[: s.start] + MARKER + text[s.end :]
    return text
