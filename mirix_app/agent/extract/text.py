"""Shared helpers of the extractors: bounded, cleaned lines of screen or message text."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 20_000  # extraction reads at most this much of one item (the item itself is kept whole)
MAX_LINES = 400
MAX_LINE = 400

_WS = re.compile(r"[ \t\u00a0]+")
STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "your",
        "you",
        "my",
        "our",
        "we",
        "i",
        "me",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "its",
        "as",
        "if",
        "so",
        "but",
        "not",
        "no",
        "yes",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "please",
        "all",
        "any",
        "more",
        "new",
    ]
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@dataclass
class Lines:
    lines: list[str]
    truncated: bool  # the text was longer than the extractors read


def lines_of(text: str) -> Lines:
    """Lines with spaces collapsed and near-empty (noise) lines dropped; bounded in size."""
    truncated = len(text) > MAX_CHARS
    out: list[str] = []
    for raw in text[:MAX_CHARS].splitlines():
        line = _WS.sub(" ", raw).strip()
        if sum(ch.isalnum() for ch in line) < 2:
            continue
        out.append(line[:MAX_LINE])
        if len(out) >= MAX_LINES:
            truncated = True
            break
    return Lines(out, truncated)


def content_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in STOP and len(w) > 2]


def plausible(line: str) -> bool:
    """Reads as words, not OCR garbage: most tokens are made of letters/digits."""
    toks = line.split()
    if not toks:
        return False
    good = sum(
        1
        for t in toks
        if re.fullmatch(r"[\w@#&%$€£.,:;!?()'\"/+*=<>~-]+", t)
        and sum(c.isalnum() for c in t) >= max(1, len(t) // 2)
    )
    return good / len(toks) >= 0.6
