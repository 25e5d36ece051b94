"""CJK text for keyword search: runs of Chinese, Japanese or Korean characters as pairs."""

from __future__ import annotations

import re

# Chinese and Japanese are written without spaces and Korean joins words to their particles,
# so unicode61 keeps a whole run ("東京駅で会議") as one token and a word inside it is never
# found. Runs are indexed and searched as overlapping pairs of characters as well (the usual
# CJK bigrams): "会議" then finds "東京駅で会議".
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]{2,}")


def cjk_pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def index_text(text: str) -> str:
    """The text FTS5 indexes: as given, plus the character pairs of each CJK run."""
    runs = _CJK_RUN.findall(text)
    if not runs:
        return text
    return text + "\n" + " ".join(p for run in runs for p in cjk_pairs(run))


def split_cjk(word: str) -> list[str]:
    """A search word with each CJK run in it as its pairs ("room会議室" -> room, 会議, 議室)."""
    out: list[str] = []
    last = 0
    for m in _CJK_RUN.finditer(word):
        if m.start() > last:
            out.append(word[last : m.start()])
        out.extend(cjk_pairs(m.group()))
        last = m.end()
    if last < len(word) or not out:
        out.append(word[last:])
    return out
