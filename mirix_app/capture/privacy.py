"""Privacy, applied before anything is stored: excluded windows and secret redaction.

Excluded windows (password managers, private/incognito browsing, the user's own rules) are blanked
in the frame before change detection, OCR and storage, so no pixel or word of them is kept; a
frame entirely covered by excluded windows is dropped. OCR text then has secrets replaced by a
marker. Nothing here logs the text it looks at.
"""

from __future__ import annotations

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

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
    re.S,
)
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
    ("aws_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}")),
    ("google_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("hf_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    ("bearer", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{16,}")),
    ("url_credentials", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
]
_LABELLED = re.compile(
    r"(?im)(\b(?:password|passwort|passwd|passphrase|pass ?code|pwd|secret|api[ _-]?key|"
    r"access[ _-]?token|auth[ _-]?token|token|client[ _-]?secret|pin)\b\s*[:=]\s*)(\S+)"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")


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


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace secrets with MARKER; returns the text and how many of each kind were found."""
    found: Counter[str] = Counter()

    def sub(kind: str, pattern: re.Pattern[str], s: str) -> str:
        def repl(m: re.Match[str]) -> str:
            found[kind] += 1
            return MARKER

        return pattern.sub(repl, s)

    text = sub("private_key", _PRIVATE_KEY, text)
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
        if m.group(2) == MARKER:
            return m.group(0)
        found["password"] += 1
        return m.group(1) + MARKER

    text = _LABELLED.sub(labelled, text)
    return text, dict(found)
