"""Privacy, applied before anything is stored: excluded windows and secret redaction.

Excluded windows (password managers, private/incognito browsing, the user's own rules) are blanked
in the frame before change detection, OCR and storage, so no pixel or word of them is kept; a
frame entirely covered by excluded windows is dropped. OCR text then has secrets replaced by a
marker, and a kept screenshot has the boxes of those words blanked too (`secret_boxes`): the
pixels of a secret are as private as its text. Nothing here logs the text it looks at.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from mirix_app.capture.change import Box
from mirix_app.capture.ocr import Word
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


def excluded_mask(
    frame: Frame, excluded: list[WindowInfo], stacking: list[WindowInfo] | None = None
) -> np.ndarray:
    """The pixels of `frame` that show an excluded window. With `stacking` (the visible
    windows, bottom to top, as the window system lists them), the parts of an excluded window
    that a window above it covers are not its pixels: mirix's own window behind a browser must
    not black out the browser. Without it, or for a window not in it (moved or closed since the
    last look), the whole rectangle counts."""
    h, w = frame.height, frame.width
    mask = np.zeros((h, w), dtype=bool)
    order = stacking or []
    for win in excluded:
        part = np.zeros((h, w), dtype=bool)
        x0, y0, x1, y1 = _clip(win, frame)
        if x1 <= x0 or y1 <= y0:
            continue
        part[y0:y1, x0:x1] = True
        if win in order:
            for above in order[order.index(win) + 1 :]:
                if above in excluded:
                    continue
                a0, b0, a1, b1 = _clip(above, frame)
                if a1 > a0 and b1 > b0:
                    part[b0:b1, a0:a1] = False
        mask |= part
    return mask


def _clip(win: WindowInfo, frame: Frame) -> tuple[int, int, int, int]:
    x0, y0 = max(0, win.x - frame.left), max(0, win.y - frame.top)
    x1 = min(frame.width, win.x + win.width - frame.left)
    y1 = min(frame.height, win.y + win.height - frame.top)
    return x0, y0, x1, y1


def blank_excluded(
    frame: Frame, excluded: list[WindowInfo], stacking: list[WindowInfo] | None = None
) -> float:
    """Fill what the excluded windows show (see `excluded_mask`) with black; returns the
    fraction of the frame covered."""
    if not excluded:
        return 0.0
    return blank_mask(frame, excluded_mask(frame, excluded, stacking))


def blank_mask(frame: Frame, mask: np.ndarray) -> float:
    """Fill the pixels of `mask` with black; returns the fraction of the frame covered."""
    frame.bgra[mask] = 0
    return float(mask.mean())


def secret_boxes(
    spans: list[tuple[Word, int, int]],
    hidden: list[tuple[int, int]],
    faint: list[Word] | None = None,
    pad: int = 3,
) -> list[Box]:
    """The screen boxes to blank in a kept screenshot: every word whose text (at `spans` in the
    assembled text) overlaps a hidden range, the gap between two such words next to each other
    on a line (a key OCR split), and faint words (below the confidence bar, so never text) on
    the same line close to one: the pixels of a secret that OCR read only in part."""
    secret = [w for w, a, b in spans if any(a < hb and ha < b for ha, hb in hidden)]
    if not secret:
        return []
    boxes = [w.box for w in secret]
    flags = [any(a < hb and ha < b for ha, hb in hidden) for _, a, b in spans]
    for (w1, _, _), (w2, _, _), f1, f2 in zip(spans, spans[1:], flags, flags[1:], strict=False):
        if f1 and f2 and _same_line(w1.box, w2.box):
            boxes.append(w1.box.union(w2.box))
    todo = list(faint or [])
    grown = True
    while grown and todo:
        grown = False
        for w in list(todo):
            if any(_same_line(w.box, b) and _gap(w.box, b) <= 2 * _height(b) for b in boxes):
                boxes.append(w.box)
                todo.remove(w)
                grown = True
    return [Box(b.x0 - pad, b.y0 - pad, b.x1 + pad, b.y1 + pad) for b in boxes]


def _height(b: Box) -> int:
    return max(1, b.y1 - b.y0)


def _same_line(a: Box, b: Box) -> bool:
    return abs((a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2) <= 0.6 * max(_height(a), _height(b))


def _gap(a: Box, b: Box) -> int:
    return max(0, max(a.x0, b.x0) - min(a.x1, b.x1))


def blank_boxes(bgra: np.ndarray, boxes: list[Box]) -> int:
    """Fill `boxes` (frame coordinates) with solid black; returns how many touched the frame."""
    h, w = bgra.shape[:2]
    n = 0
    for b in boxes:
        x0, y0, x1, y1 = max(0, b.x0), max(0, b.y0), min(w, b.x1), min(h, b.y1)
        if x1 > x0 and y1 > y0:
            bgra[y0:y1, x0:x1, :3] = 0
            bgra[y0:y1, x0:x1, 3] = 255
            n += 1
    return n


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


def _classes(token: str) -> list[int]:
    """0 digit, 1 upper, 2 lower, for the ASCII letters and digits of `token`."""
    return [
        0 if c.isdigit() else 1 if c.isupper() else 2 for c in token if c.isascii() and c.isalnum()
    ]


def _change_rate(classes: list[int]) -> float:
    if len(classes) < 2:
        return 0.0
    return sum(a != b for a, b in itertools.pairwise(classes)) / (len(classes) - 1)


# Ordinary screen text that reads random but is not a secret (measured on terminals and editors:
# tests/reliability/redaction_corpus.py). Each is judged by its parts, so a key inside still shows.
_HEX = re.compile(r"^(?:[0-9a-f]{7,64}|[0-9A-F]{7,64})$")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
# Words before a hash that name it as one: `commit <sha>` in git log, `sha256:` digests.
_HASH_WORDS = frozenset(
    [
        *("commit", "merge", "merge:", "tree", "parent", "revision", "rev", "head", "object"),
        *("blob", "sha", "sha1", "sha256", "sha512", "md5", "digest", "checksum", "hash"),
        *("sha1sum", "sha256sum", "sha512sum", "md5sum", "shasum", "b2sum", "etag"),
    ]
)
_HASH_PREFIX = re.compile(r"(?:^|@)(?:sha1|sha256|sha512|md5|blake2b?):", re.I)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+(?:[-.+_~][A-Za-z0-9]+)*$")
_PATH_START = re.compile(r"^(?:~?/|\.\.?/|[A-Za-z]:\\)")
_PARTS = re.compile(r"[/\\.+_~-]+")
# fe80::1c2b:..., 2001:db8::/32: hex groups and colons, with a "::" or at least 3 colons.
_IPV6 = re.compile(r"^(?=[^:]*(?:::|(?::[^:]*){3}))[0-9A-Fa-f:]{2,39}(?:/\d{1,3})?$")
_HEX_PART = re.compile(r"^[0-9a-f]+$")


def looks_random(token: str) -> bool:
    """A token that reads like a key rather than a word, an identifier, a date or a path."""
    core = token.strip(_EDGE)
    if core.startswith("eyJ"):  # base64 of '{"': a JWT or a piece of one
        return True
    if "=" in core and not core.endswith("="):  # key=value: each side on its own (base64's
        # padding `=` is at the end, so a key stays whole)
        return any(looks_random(part) for part in core.split("=") if part)
    if _UUID.match(core) or _IPV6.match(core):  # identifiers (a labelled one is still hidden)
        return False
    m = _HASH_PREFIX.search(core)
    if m and _HEX.match(core[m.end() :]):  # sha256:<hex>, image@sha256:<hex>
        return any(_random(p) for p in _PARTS.split(core[: m.start()]) if p)
    if _PATH_START.match(core) or _VERSION.match(core):
        # A file path or a version: random-looking parts (a temp folder, a git describe suffix)
        # are short, and lower-case hex parts are content hashes (a cache folder); a key inside
        # one is still judged on its own.
        return any(_random(p) for p in _PARTS.split(core) if p and not _HEX_PART.match(p))
    return _random(core)


def _random(core: str) -> bool:
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


def _named_hash(previous: str, token: str) -> bool:
    """`commit 3f9a...`, `Merge: 1a2b3c4 5d6e7f8`: a hash the text itself calls one."""
    return _HEX.match(token.strip(_EDGE)) is not None and (
        previous.strip("\"'`()[]{}<>,;.").lower() in _HASH_WORDS
        or previous.lower().rstrip(":") in _HASH_WORDS
    )


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


# -- tracked edits -------------------------------------------------------------------------------
# Every layer replaces ranges of the text with MARKER. The text keeps, per character, the range of
# the original text it stands for, so the caller learns exactly which original characters were
# hidden (the capturer blanks the screen boxes of those words before it keeps a screenshot).
class _Tracked:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = list(range(len(text)))
        self.ends = list(range(1, len(text) + 1))
        self.hidden: list[tuple[int, int]] = []

    def replace(self, edits: list[tuple[int, int]]) -> None:
        """Replace each (start, end) range of the current text (sorted, disjoint) by MARKER."""
        if not edits:
            return
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for a, b in edits:
            out.append(text[pos:a])
            new_starts += starts[pos:a]
            new_ends += ends[pos:a]
            lo, hi = starts[a], ends[b - 1]
            self.hidden.append((lo, hi))
            out.append(MARKER)
            new_starts += [lo] * len(MARKER)
            new_ends += [hi] * len(MARKER)
            pos = b
        out.append(text[pos:])
        new_starts += starts[pos:]
        new_ends += ends[pos:]
        self.text, self.starts, self.ends = "".join(out), new_starts, new_ends

    def hidden_ranges(self) -> list[tuple[int, int]]:
        merged: list[tuple[int, int]] = []
        for a, b in sorted(self.hidden):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged


def _random_edits(text: str, found: Counter[str]) -> list[tuple[int, int]]:
    edits: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        spans = [(m.start() + offset, m.end() + offset) for m in re.finditer(r"\S+", line)]
        words = [text[a:b] for a, b in spans]
        hidden = [
            looks_random(w) and MARKER not in w and not (i and _named_hash(words[i - 1], w))
            for i, w in enumerate(words)
        ]
        anchor = [h or MARKER in w for h, w in zip(hidden, words, strict=True)]
        offset += len(line) + 1
        if not any(anchor):
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
        i = 0
        while i < len(words):
            if hidden[i]:
                j = i
                while j + 1 < len(words) and hidden[j + 1]:
                    j += 1  # a run of hidden pieces becomes one marker
                edits.append((spans[i][0], spans[j][1]))
                i = j + 1
            else:
                i += 1
    return edits


def redact(text: str) -> tuple[str, dict[str, int]]:
    """Replace secrets with MARKER; returns the text and how many of each kind were found."""
    out, found, _ = redact_spans(text)
    return out, found


def redact_spans(text: str) -> tuple[str, dict[str, int], list[tuple[int, int]]]:
    """`redact`, plus the (start, end) ranges of `text` that were hidden, merged and sorted."""
    found: Counter[str] = Counter()
    t = _Tracked(text)

    def sub(kind: str, pattern: re.Pattern[str]) -> None:
        edits = [(m.start(), m.end()) for m in pattern.finditer(t.text) if m.end() > m.start()]
        found[kind] += len(edits)
        t.replace(edits)

    sub("private_key", _PRIVATE_KEY)
    sub("private_key", _PRIVATE_KEY_LOOSE)
    for kind, pattern in _TOKENS:
        sub(kind, pattern)

    cards = []
    for m in _CARD.finditer(t.text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and not _not_a_card(t.text, m):
            found["card"] += 1
            cards.append((m.start(), m.end()))
    t.replace(cards)

    labelled = []
    for m in _LABELLED.finditer(t.text):
        if _MASKED.match(m.group("value").strip(_EDGE)):
            continue
        found["password"] += 1
        labelled.append((m.start("value"), m.end("value")))
    t.replace(labelled)

    loose = []
    for m in _LABELLED_LOOSE.finditer(t.text):
        if not _looks_like_password(m.group("value")):
            continue
        found["password"] += 1
        loose.append((m.start("value"), m.end("value")))
    t.replace(loose)
    t.replace(_random_edits(t.text, found))
    return t.text, {k: v for k, v in found.items() if v}, t.hidden_ranges()
