"""Privacy, applied before anything is stored: excluded windows and secret redaction.

Excluded windows (password managers, private/incognito browsing, the user's own rules) are blanked
in the frame before change detection, OCR and storage, so no pixel or word of them is kept; a
frame entirely covered by excluded windows is dropped. OCR text then has secrets replaced by a
marker. Nothing here logs the text it looks at.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from mirix_app.capture.screen import Frame
from mirix_app.capture.windows import WindowInfo

MARKER = "[REDACTED]"

DEFAULT_EXCLUDED_APPS = [
    r"keepass",
    r"1password",
    r"bitwarden",
    r"lastpass",
    r"dashlane",
    r"enpass",
    r"keeweb",
    r"proton ?pass",
    r"nordpass",
    r"roboform",
    r"keeper",
    r"seahorse",
    r"kwalletmanager",
    r"keychain access",
    r"passwords?$",
    r"gopass",
    r"qtpass",
    r"tor ?browser",
]
DEFAULT_EXCLUDED_TITLES = [
    r"private browsing",
    r"\bincognito\b",
    r"\binprivate\b",
    r"private window",
    r"\(private\)",
    r"keepassxc",
    r"1password",
    r"bitwarden",
]


@dataclass
class ExclusionRules:
    apps: list[re.Pattern[str]] = field(default_factory=list)
    titles: list[re.Pattern[str]] = field(default_factory=list)

    @classmethod
    def build(cls, apps: list[str], titles: list[str], *, defaults: bool = True) -> ExclusionRules:
        a = (DEFAULT_EXCLUDED_APPS if defaults else []) + list(apps)
        t = (DEFAULT_EXCLUDED_TITLES if defaults else []) + list(titles)
        try:
            return cls([re.compile(p, re.I) for p in a], [re.compile(p, re.I) for p in t])
        except re.error as e:
            from mirix_app.errors import InvalidInput

            raise InvalidInput(f"settings: bad exclusion pattern {e.pattern!r}: {e}") from e

    def excludes(self, w: WindowInfo) -> bool:
        return any(p.search(w.app or "") for p in self.apps) or any(
            p.search(w.title or "") for p in self.titles
        )


def blank_excluded(frame: Frame, excluded: list[WindowInfo]) -> float:
    """Fill the excluded windows' areas (screen coords) with black; returns the fraction of the
    frame covered."""
    if not excluded:
        return 0.0
    h, w = frame.height, frame.width
    mask = np.zeros((h, w), dtype=bool)
    for win in excluded:
        x0, y0 = max(0, win.x - frame.left), max(0, win.y - frame.top)
        x1 = min(w, win.x + win.width - frame.left)
        y1 = min(h, win.y + win.height - frame.top)
        if x1 > x0 and y1 > y0:
            frame.bgra[y0:y1, x0:x1] = 0
            mask[y0:y1, x0:x1] = True
    return float(mask.mean())


def on_frame(win: WindowInfo, frame: Frame) -> bool:
    return (
        win.x < frame.left + frame.width
        and frame.left < win.x + win.width
        and win.y < frame.top + frame.height
        and frame.top < win.y + win.height
    )


# -- secret redaction ----------------------------------------------------------------------------
# OCR reads random strings imperfectly: it misreads characters (J -> ]), inserts spaces and drops
# low-confidence words, so a key often arrives in pieces no exact pattern matches. Four layers:
#  1. shapes: private-key blocks, vendor token formats, card numbers (Luhn);
#  2. labelled values: a name holding a secret word (Password, DB_PASSWORD, aws_secret_access_key,
#     "password":) then = or : hides the rest of the line; a password word then a space (or "is")
#     hides it when the value looks like a password;
#  3. random-looking tokens: letters and digits that change class often, what a key still looks
#     like after OCR (long ones, or shorter ones mixing upper, lower and digits);
#  4. fragments (mixed letters and digits) next to something hidden on the same line: the rest of
#     a key that OCR split.
# Over-redaction is the safe side: a hidden UUID costs less than a kept key.

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.S,
)
# The same block with the dashes misread or lost by OCR (upper case, as PEM writes it: prose
# that mentions how to "begin a private key backup" is left alone).
_PRIVATE_KEY_LOOSE = re.compile(
    r"BEGIN[A-Z0-9 ]{0,20}PRIVATE ?KEY.*?(?:END[A-Z0-9 ]{0,20}PRIVATE ?KEY[^\n]*|\Z)", re.S
)
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
    ("aws_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    ("google_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("hf_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("bearer", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{16,}")),
    ("url_credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
]
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")

_PASSWORD_WORDS = r"password|passwort|passwd|passphrase|pass ?code|pwd|pin"
_SECRET_WORDS = (
    _PASSWORD_WORDS + r"|secret|private[ _-]?key|api[ _-]?key|access[ _-]?key|secret[ _-]?key|"
    r"access[ _-]?token|auth[ _-]?token|refresh[ _-]?token|session[ _-]?token|token|"
    r"client[ _-]?secret|credentials?"
)


def _label(words: str) -> str:
    # The secret word alone or as the start of the rest of a name: DB_PASSWORD (the DB_ stays),
    # aws_secret_access_key, x-api-key, "password"; not spinner, tokens, passwords.
    return rf"(?<![A-Za-z0-9])(?:{words})(?:[_.-][A-Za-z0-9]{{1,40}}){{0,4}}(?![A-Za-z0-9])"


_LABELLED = re.compile(
    rf"(?im)(?P<label>{_label(_SECRET_WORDS)}[\"'`]?[ \t]*(?::=|=>|[:=])[ \t]*)(?P<value>[^\n]*\S)"
)
_LABELLED_LOOSE = re.compile(
    rf"(?im)(?P<label>{_label(_PASSWORD_WORDS)}[ \t]+(?:(?:is|was)[ \t]+)?)"
    r"(?P<value>[^\s:=][^\n]*\S|[^\s:=])"
)
_MASKED = re.compile(r"^(?:\[REDACTED\]|[*•·●x.]+)$", re.I)
_EDGE = "\"'`()[]{}<>,;:."


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


def _classes(token: str) -> list[int]:
    """0 digit, 1 upper, 2 lower, for the ASCII letters and digits of `token`."""
    return [
        0 if c.isdigit() else 1 if c.isupper() else 2 for c in token if c.isascii() and c.isalnum()
    ]


def _change_rate(classes: list[int]) -> float:
    if len(classes) < 2:
        return 0.0
    return sum(a != b for a, b in itertools.pairwise(classes)) / (len(classes) - 1)


def looks_random(token: str) -> bool:
    """A token that reads like a key rather than a word, an identifier, a date or a path."""
    core = token.strip(_EDGE)
    if core.startswith("eyJ"):  # base64 of '{"': a JWT or a piece of one
        return True
    cls = _classes(core)
    n = len(cls)
    if n < 8 or n < 0.75 * len(core):
        return False
    kinds = set(cls)
    rate = _change_rate(cls)
    if n >= 16:
        if 0 in kinds and len(kinds) >= 2:
            return rate >= 0.3
        return kinds == {1, 2} and rate >= 0.45
    return len(kinds) == 3 and rate >= 0.6


def _fragment(token: str) -> bool:
    """Letters mixed with digits, or a capital inside lower case: the rest of a split key (or
    OCR debris inside one, such as `1]`)."""
    core = token.strip(_EDGE)
    cls = _classes(core)
    if len(cls) < 3:
        return len(cls) < len(token) and any(c in token for c in "[]|{}")
    kinds = set(cls)
    return (0 in kinds and len(kinds) >= 2) or (2 in cls and 1 in cls[cls.index(2) :])


def _looks_like_password(value: str) -> bool:
    first = value.split()[0].strip(_EDGE)
    if len(first) < 4 or _MASKED.match(first):
        return False
    kinds = set(_classes(first))
    if any(not (c.isascii() and c.isalnum()) for c in first):
        kinds.add(3)
    return len(kinds) >= 2 or (kinds == {0} and len(first) <= 12)  # PINs are all digits


def _hide_random(text: str, found: Counter[str]) -> str:
    out_lines = []
    for line in text.split("\n"):
        parts = re.split(r"(\s+)", line)
        words = parts[0::2]
        hidden = [looks_random(w) and MARKER not in w for w in words]
        anchor = [h or MARKER in w for h, w in zip(hidden, words, strict=True)]
        if not any(anchor):
            out_lines.append(line)
            continue
        found["random"] += sum(hidden)
        changed = True
        while changed:
            changed = False
            for i, w in enumerate(words):
                if anchor[i] or not _fragment(w):
                    continue
                if (i > 0 and anchor[i - 1]) or (i + 1 < len(words) and anchor[i + 1]):
                    anchor[i] = hidden[i] = changed = True
                    found["fragment"] += 1
        out: list[str] = []
        i = 0
        while i < len(words):
            j = i
            if hidden[i]:
                while j + 1 < len(words) and hidden[j + 1]:
                    j += 1  # a run of hidden pieces becomes one marker
                out.append(MARKER)
            else:
                out.append(words[i])
            if 2 * j + 1 < len(parts):
                out.append(parts[2 * j + 1])
            i = j + 1
        out_lines.append("".join(out))
    return "\n".join(out_lines)


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace secrets with MARKER; returns the text and how many of each kind were found."""
    found: Counter[str] = Counter()

    def sub(kind: str, pattern: re.Pattern[str], s: str) -> str:
        def repl(m: re.Match[str]) -> str:
            found[kind] += 1
            return MARKER

        return pattern.sub(repl, s)

    text = sub("private_key", _PRIVATE_KEY, text)
    text = sub("private_key", _PRIVATE_KEY_LOOSE, text)
    for kind, pattern in _TOKENS:
        text = sub(kind, pattern, text)

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found["card"] += 1
            return MARKER
        return m.group(0)

    text = _CARD.sub(card, text)

    def labelled(m: re.Match[str]) -> str:
        value = m.group("value")
        if _MASKED.match(value.strip(_EDGE)):
            return m.group(0)
        found["password"] += 1
        return m.group("label") + MARKER

    text = _LABELLED.sub(labelled, text)

    def loose(m: re.Match[str]) -> str:
        if not _looks_like_password(m.group("value")):
            return m.group(0)
        found["password"] += 1
        return m.group("label") + MARKER

    text = _LABELLED_LOOSE.sub(loose, text)
    text = _hide_random(text, found)
    return text, dict(found)
