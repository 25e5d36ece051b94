"""Redaction of OCR text, before anything is stored.

OCR reads random strings imperfectly, so exact formats alone miss keys (see the layers below).
`redact_spans` also returns the ranges of the original text it hid, so the capturer can blank
the screen boxes of those words in a kept screenshot. Nothing here logs the text it looks at.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from mirix_app.safety.secrets import (
    MARKER,
    MASKED,
    PRIVATE_KEY,
    PRIVATE_KEY_LOOSE,
    TOKENS,
    card_numbers,
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
_EDGE = "\"'`()[]{}<>,;:."


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
_CAMEL_WORDS = re.compile(r"^(?:[A-Z][a-z]{2,}){3,}$")


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
        # CrashLoopBackOff, ImagePullBackOff: capitalised words run together
        return kinds == {1, 2} and rate >= 0.45 and not _CAMEL_WORDS.match(core)
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
    if len(first) < 4 or MASKED.match(first):
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

    sub("private_key", PRIVATE_KEY)
    sub("private_key", PRIVATE_KEY_LOOSE)
    for shape in TOKENS:
        sub(shape.kind, shape.pattern)

    cards = [(m.start(), m.end()) for m in card_numbers(t.text)]
    found["card"] += len(cards)
    t.replace(cards)

    labelled = []
    for m in _LABELLED.finditer(t.text):
        if MASKED.match(m.group("value").strip(_EDGE)):
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
