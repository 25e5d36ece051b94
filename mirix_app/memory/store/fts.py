"""Keyword search: BM25 over FTS5, with pruning of very common terms in large stores."""

from __future__ import annotations

import math
import re
import time
from typing import Any

from mirix_app.memory.db import sqlite as sqlite3
from mirix_app.memory.store.cjk import split_cjk
from mirix_app.memory.store.connection import Connections, chunks, storage_error
from mirix_app.memory.store.queries import filter_sql
from mirix_app.memory.types import STOP_WORDS, Filters

# FTS5 column weights: head (names, summaries, titles) counts more than body and tags.
BM25_WEIGHTS = (1.0, 0.75, 0.5)
# Above PRUNE_MIN_DOCS memories, terms found in more than PRUNE_DF_RATIO of them only rescore
# candidates found by the other terms (PRUNE_FACTOR x limit of them); see Store.bm25.
PRUNE_MIN_DOCS = 20_000
PRUNE_DF_RATIO = 0.05
PRUNE_FACTOR = 5
PRUNE_RAREST_SPAN = 1.5  # all terms common: those this close to the rarest are the selective
_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_terms(text: str, *, prefix: bool = False) -> list[str]:
    """A user's words as quoted FTS5 terms (no FTS syntax reaches MATCH)."""
    words = [p for w in _TOKEN.findall(text) for p in split_cjk(w.lower())]
    terms = [w for w in words if w not in STOP_WORDS] or words
    quoted = [f'"{t}"' for t in dict.fromkeys(terms)]
    if quoted and prefix and text and not text[-1].isspace():
        last = f'"{words[-1]}"'
        quoted = [q for q in quoted if q != last] + [f"{last}*"]
    return quoted


def fts_query(text: str, *, prefix: bool = False) -> str | None:
    terms = fts_terms(text, prefix=prefix)
    return " OR ".join(terms) if terms else None


class Fts(Connections):
    """BM25 ranking over memory_fts (live memories only: the trash is not indexed)."""

    # (memories counted, when): refreshed at most once a minute for the pruning decision.
    _doc_count: tuple[int, float] = (0, -1e9)
    _df: dict[str, int]  # term -> memories holding it, set with _doc_count

    def bm25(
        self, query: str, filters: Filters | None = None, *, limit: int = 50, prefix: bool = False
    ) -> list[tuple[str, float]]:
        """Keyword ranking: (id, score) with higher = better."""
        terms = fts_terms(query, prefix=prefix)
        if not terms:
            return []
        where, args = filter_sql(filters)
        try:
            pruned = self._selective_terms(terms)
            if pruned is not None:
                return self._bm25_pruned(pruned, where, args, limit)
            return self._bm25_exact(" OR ".join(terms), where, args, limit)
        except sqlite3.Error as e:
            raise storage_error(e, self.path) from e

    def _bm25_exact(
        self, match: str, where: str, args: list[Any], limit: int
    ) -> list[tuple[str, float]]:
        return [(mid, score) for _, mid, score in self._ranked(match, where, args, limit)]

    def _ranked(
        self, match: str, where: str, args: list[Any], limit: int, *, ids: bool = True
    ) -> list[tuple[int, str, float]]:
        """(seq, id, score) of the best `limit` matches that pass the filters. With
        `ids=False` and no filter the id is "" (looked up later for the few kept: each lookup
        decrypts a page, ~3 ms for 200 at 100k memories)."""
        w = ",".join(str(x) for x in BM25_WEIGHTS)
        if not where:
            # Trashed rows are not in the index, so an unfiltered search ranks in FTS5 alone and
            # looks up only the winners (a join would visit every match).
            top = self.con.execute(
                f"SELECT rowid, bm25(memory_fts, {w}) AS s FROM memory_fts "
                "WHERE memory_fts MATCH ? ORDER BY s LIMIT ?",
                (match, limit),
            ).fetchall()
            if not ids:
                return [(seq, "", -score) for seq, score in top]
            found = self._ids_for_seqs([r[0] for r in top])
            return [(seq, found[seq], -score) for seq, score in top if seq in found]
        # Filtered: rank in FTS5 alone, then keep the best that pass the filters. Joining first
        # would test the filter on every match (5x slower at 20k long memories). Only when too
        # few of the top rows pass (a narrow filter) is the join worth its cost.
        wide = max(limit * 10, 400)
        top = self.con.execute(
            f"SELECT rowid, bm25(memory_fts, {w}) AS s FROM memory_fts "
            "WHERE memory_fts MATCH ? ORDER BY s LIMIT ?",
            (match, wide),
        ).fetchall()
        passing: dict[int, str] = {}
        for chunk in chunks([r[0] for r in top], 500):
            passing.update(
                self.con.execute(
                    f"SELECT m.seq, m.id FROM memories m WHERE m.seq IN "
                    f"({','.join('?' * len(chunk))}) AND m.deleted_at IS NULL{where}",
                    (*chunk, *args),
                ).fetchall()
            )
        kept = [(seq, passing[seq], -score) for seq, score in top if seq in passing][:limit]
        if len(kept) >= limit or len(top) < wide:
            return kept
        rows = self.con.execute(
            f"SELECT m.seq, m.id, bm25(memory_fts, {w}) AS s FROM memory_fts "
            "JOIN memories m ON m.seq = memory_fts.rowid "
            f"WHERE memory_fts MATCH ? AND m.deleted_at IS NULL{where} ORDER BY s LIMIT ?",
            (match, *args, limit),
        ).fetchall()
        return [(seq, mid, -score) for seq, mid, score in rows]

    def _ids_for_seqs(self, seqs: list[int]) -> dict[int, str]:
        if not seqs:
            return {}
        return dict(
            self.con.execute(
                f"SELECT seq, id FROM memories WHERE seq IN ({','.join('?' * len(seqs))})", seqs
            ).fetchall()
        )

    def _bm25_pruned(
        self,
        pruned: tuple[list[str], list[tuple[str, int]]],
        where: str,
        args: list[Any],
        limit: int,
    ) -> list[tuple[str, float]]:
        """Large store, some very common query terms: rank candidates found by the selective
        terms (exact FTS5 BM25, short doclists), then add the common terms' BM25 part computed
        on the candidates' text. Rows matching only common words are not candidates; they would
        rank at the bottom anyway."""
        selective, common = pruned
        ranked = self._ranked(" OR ".join(selective), where, args, limit * PRUNE_FACTOR, ids=False)
        if not ranked:
            return []
        # Candidates are keyed by seq (= FTS5 rowid): their text comes straight from FTS5, and
        # only the `limit` kept are looked up in memories.
        seq_id = {seq: mid for seq, mid, _ in ranked}
        rows = self.con.execute(
            "SELECT rowid, head, body, tags FROM memory_fts "
            f"WHERE rowid IN ({','.join('?' * len(seq_id))})",
            list(seq_id),
        ).fetchall()
        base = [(seq, score) for seq, _, score in ranked]
        texts = {seq: (h or "", b or "", t or "") for seq, h, b, t in rows}
        total = self._doc_count[0]
        lengths = {seq: sum(len(_TOKEN.findall(c)) for c in cols) for seq, cols in texts.items()}
        avg = max(1.0, sum(lengths.values()) / max(1, len(lengths)))
        k1, b = 1.2, 0.75
        patterns = [
            (
                re.compile(r"\b" + re.escape(t.strip('"*')), re.IGNORECASE),
                math.log((total - df + 0.5) / (df + 0.5)) if total > 2 * df else 1e-6,
            )
            for t, df in common
        ]
        scored = []
        for seq, score in base:
            cols = texts.get(seq)
            if cols is None:
                continue
            norm = k1 * (1 - b + b * lengths[seq] / avg)
            for pattern, idf in patterns:
                tf = sum(
                    w * len(pattern.findall(c)) for w, c in zip(BM25_WEIGHTS, cols, strict=True)
                )
                if tf:
                    score += idf * tf * (k1 + 1) / (tf + norm)
            scored.append((seq, score))
        scored.sort(key=lambda x: -x[1])
        kept = scored[:limit]
        if any(not seq_id[seq] for seq, _ in kept):
            found = self._ids_for_seqs([seq for seq, _ in kept])
            seq_id = {seq: found.get(seq, "") for seq, _ in kept}
        return [(seq_id[seq], score) for seq, score in kept if seq_id[seq]]

    def _selective_terms(self, terms: list[str]) -> tuple[list[str], list[tuple[str, int]]] | None:
        """In a large store: (selective terms, [(common term, doc frequency)]), or None when
        pruning would not help (small store, no common term, or a single term).

        When every term is common ("Jon's dance moves": jon, s, dance, make in 8-50% of 100k
        memories), the rarest ones play the selective part (within PRUNE_RAREST_SPAN of the
        rarest's frequency): ranking the union of their doclists exactly took 40-50 ms."""
        now = time.monotonic()
        if now - self._doc_count[1] > 60:
            n = int(self.con.execute("SELECT count(*) FROM memories").fetchone()[0])
            # Frequencies move with the store: kept while it grew or shrank by under 1%.
            if abs(n - self._doc_count[0]) > 0.01 * max(n, 1) or not hasattr(self, "_df"):
                self._df = {}
            self._doc_count = (n, now)
        total = self._doc_count[0]
        if total < PRUNE_MIN_DOCS or len(terms) < 2:
            return None
        limit = total * PRUNE_DF_RATIO
        freq: list[tuple[str, int]] = []
        for t in terms:
            df = self._df.get(t)
            if df is None:  # counting a common term's doclist costs 1-5 ms at 100k memories
                df = int(
                    self.con.execute(
                        "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH ?", (t,)
                    ).fetchone()[0]
                )
                if len(self._df) > 5000:
                    self._df.clear()
                self._df[t] = df
            freq.append((t, df))
        selective = [t for t, df in freq if df <= limit]
        if not selective:
            rarest = min(df for _, df in freq)
            selective = [t for t, df in freq if df <= PRUNE_RAREST_SPAN * rarest]
        chosen = set(selective)
        common = [(t, df) for t, df in freq if t not in chosen]
        return (selective, common) if selective and common else None
