"""Hybrid retrieval: BM25 (FTS5) and vector similarity fused by reciprocal rank, plus recency."""

from __future__ import annotations

import math
import re
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from mirix_app.config import SearchSettings
from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import parse_time
from mirix_app.memory.types import Filters, MemoryType, SearchHit

if TYPE_CHECKING:
    import numpy as np

    from mirix_app.memory.store import Store

MODES = ("hybrid", "bm25", "vector")
# A question the user asked in chat is kept as history, but it holds the very words of what it
# asks about ("When is my flight to Porto?"), so it would outrank the evidence. Question records
# rank after every other match, their fused score cut by at least this factor. The agent marks them
# with the tag and the event type; a chat record of the user's whose summary ends in "?" is one
# made by an older version.
QUESTION_TAG = "chat-question"
QUESTION_EVENT = "question"
QUESTION_FACTOR = 0.05
FUSION_ALPHA = 1.0  # weight of cosine similarity beside BM25 scaled to its best match
# Link memories (importers/links.py): see expand_links.
LINK_TAG = "linked"
LINK_KINDS = frozenset({"session", "profile", "entity"})
SPEAKER_BOOST = 0.5
LINK_FACTOR = 0.5
EXPAND_FROM = 10  # best candidates whose links are followed
EXPAND_FACTOR = 0.5
EXPAND_TURNS = 10
# "+m.type": keeps SQLite from scanning the (type, ts) index over every episodic row (an import
# makes most rows episodic) instead of looking the candidates up by id: 61 ms -> <1 ms per search
# at 20k conversation turns.
_QUESTION_SQL = (
    "SELECT m.id FROM memories m WHERE m.id IN ({marks}) AND +m.type = 'episodic' AND ("
    "json_extract(m.fields, '$.event_type') = ? "
    "OR EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?) "
    "OR (coalesce(json_extract(m.fields, '$.actor'), 'user') = 'user' "
    "AND rtrim(json_extract(m.fields, '$.summary')) LIKE '%?' "
    "AND EXISTS (SELECT 1 FROM sources s WHERE s.memory_id = m.id AND s.kind = 'chat')))"
)


class _Vectors(Protocol):
    def query(
        self, vector: np.ndarray, types: list[MemoryType], n: int
    ) -> list[tuple[str, float]]: ...


class _Embedder(Protocol):
    def embed_one(self, text: str) -> np.ndarray: ...


class Searchable(Protocol):
    """What search needs of a memory: its store, vector index and embedder (MemoryCore has
    them). A Protocol, so this module does not import core.py, which imports it."""

    @property
    def store(self) -> Store: ...
    @property
    def vectors(self) -> _Vectors: ...
    @property
    def embedder(self) -> _Embedder: ...
    def sync_vectors(self) -> int: ...


def search(
    core: Searchable,
    query: str,
    *,
    filters: Filters | None = None,
    limit: int = 10,
    mode: str = "hybrid",
    prefix: bool = False,
    settings: SearchSettings | None = None,
    sync: bool = True,
    pool: Executor | None = None,
    expand: bool = True,
) -> list[SearchHit]:
    """`sync=False` skips applying pending vector changes first (every write applies its own
    right after it commits; an interactive search need not wait for another thread's).
    The vector half (embed + nearest neighbours) runs in `pool` (else a shared one-thread
    pool) while this thread runs BM25; both release the GIL, so on two cores the search takes
    the longer of the two.
    With `expand`, hits reach what links them (see `expand_links`)."""
    if mode not in MODES:
        raise InvalidInput(f"unknown search mode {mode!r}", f"use one of {', '.join(MODES)}")
    if limit <= 0:
        return []
    settings = settings or SearchSettings()
    filters = filters or Filters()
    types = list(filters.types or MemoryType)
    filters = Filters(types=types, since=filters.since, until=filters.until, app=filters.app)
    if not query.strip():
        return [SearchHit(m, 0.0) for m in core.store.browse(filters, limit=limit)]

    # Filters are applied in SQLite; vectors are over-fetched so enough survive them.
    n = max(limit * 4, 40) if not filters.narrows_rows else max(limit * 20, 400)
    bm: list[tuple[str, float]] = []
    raw: list[tuple[str, float]] = []
    if mode in ("hybrid", "vector") and sync:
        core.sync_vectors()

    def nearest() -> list[tuple[str, float]]:
        return core.vectors.query(core.embedder.embed_one(query), types, n)

    if pool is None and mode == "hybrid":
        pool = _shared_pool()
    pending = pool.submit(nearest) if pool is not None and mode == "hybrid" else None
    if mode in ("hybrid", "bm25"):
        # bm25 applies the filters after ranking; only vectors need the wider net.
        bm = core.store.bm25(query, filters, limit=max(limit * 4, 40), prefix=prefix)
    if pending is not None:
        raw = pending.result()
    elif mode in ("hybrid", "vector"):
        raw = nearest()
    # One lookup gives both what passes the filters and each candidate's time (for recency).
    times = core.store.times(list(dict.fromkeys([i for i, _ in bm] + [i for i, _ in raw])), filters)
    vec = [(i, s) for i, s in raw if i in times and s >= settings.min_similarity]

    # Fusion: BM25 scaled to the best match (1.0) plus FUSION_ALPHA x cosine similarity. On the
    # LoCoMo dev split this beat reciprocal-rank fusion by 0.03-0.05 recall@10: RRF throws away
    # how much better the best matches are than the rest.
    fused: dict[str, float] = {}
    bm_rank = _ranks(bm)
    vec_rank = _ranks(vec)
    sims = dict(vec)
    top_bm = max((sc for _, sc in bm), default=0.0)
    for mid, sc in bm:
        fused[mid] = fused.get(mid, 0.0) + (sc / top_bm if top_bm > 0 else 0.0)
    alpha = FUSION_ALPHA if mode == "hybrid" else 1.0
    for mid, sim in vec:
        fused[mid] = fused.get(mid, 0.0) + alpha * sim
    links: dict[str, float] = {}
    if expand and fused:
        links = expand_links(core, query, fused)
        reached = [mid for mid in fused if mid not in times]
        if reached:  # turns reached through a link pass the same filters as the rest
            more = core.store.times(reached, filters)
            times.update(more)
            for mid in reached:
                if mid not in more:
                    del fused[mid]
                    links.pop(mid, None)

    recency: dict[str, float] = {}
    if settings.recency_weight > 0 and fused:
        now = datetime.now(UTC)
        top = 1.0
        for mid in fused:
            if mid not in times:  # trashed between the two index reads
                continue
            age_days = max(0.0, (now - parse_time(times[mid])).total_seconds() / 86400)
            recency[mid] = (
                settings.recency_weight
                * top
                * math.pow(0.5, age_days / settings.recency_half_life_days)
            )
            fused[mid] += recency[mid]

    asked = question_ids(core, list(fused))
    if asked:
        # Scaled so the best question stays below the weakest other candidate: scores keep
        # the order, and questions keep theirs among themselves.
        floor = min((v for mid, v in fused.items() if mid not in asked), default=math.inf)
        top_q = max(fused[mid] for mid in asked)
        scale = QUESTION_FACTOR * min(1.0, floor / top_q)
        for mid in asked:
            fused[mid] *= scale
    best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    found = core.store.get_many([mid for mid, _ in best])
    hits: list[SearchHit] = []
    for mid, score in best:
        if mid not in found:
            continue
        hits.append(
            SearchHit(
                memory=found[mid],
                score=score,
                bm25_rank=bm_rank.get(mid),
                vector_rank=vec_rank.get(mid),
                similarity=sims.get(mid),
                parts={"recency": recency.get(mid, 0.0)}
                | ({"question": QUESTION_FACTOR} if mid in asked else {})
                | ({"link": links[mid]} if mid in links else {}),
            )
        )
    return hits


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _shared_pool() -> Executor:
    """For callers without a pool of their own (CLI, MCP, agent): one worker thread shared by
    all, so the query's embedding and nearest neighbours (~15 ms at 100k) overlap BM25
    (~15 ms) instead of following it."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(1, thread_name_prefix="mirix-search")
        return _POOL


def expand_links(core: Searchable, query: str, fused: dict[str, float]) -> dict[str, float]:
    """From the hits to the memories that link conversation turns (importers/links.py), in place
    on `fused`; returns what it added per id.

    - A person the query names (a speaker with a profile memory): their own turns among the
      candidates gain SPEAKER_BOOST; what people say about themselves is what questions about
      them ask.
    - An entity or session memory among the best candidates pulls in the turns it cites, at
      EXPAND_FACTOR of its own score, so one question reaches turns in other sessions.
    - Link memories themselves rank at LINK_FACTOR: they cite several turns, and the turns
      are the evidence (credit goes to what a returned memory cites)."""
    added: dict[str, float] = {}
    ids = list(fused)
    info = _link_info(core, ids)
    names = _speaker_names(core)
    words = {w.lower() for w in re.findall(r"\w+", query)}
    named = {full for first, full in names if first in words}
    if named:
        for mid in ids:
            actor = info.get(mid, ("", ""))[0]
            if actor in named:
                fused[mid] += SPEAKER_BOOST
                added[mid] = added.get(mid, 0.0) + SPEAKER_BOOST
    best = sorted(ids, key=lambda i: -fused[i])[:EXPAND_FROM]
    parents = [mid for mid in best if info.get(mid, ("", ""))[1]]
    for mid in parents:
        score = fused[mid]
        fused[mid] = score * LINK_FACTOR
        added[mid] = added.get(mid, 0.0) + score * (LINK_FACTOR - 1)
        if info[mid][1] != "entity":
            # A session cites its own few turns, enough to rank itself; a profile's turns are
            # already lifted by the speaker boost. Only entities reach across sessions.
            continue
        for turn in _cited_turns(core, mid)[:EXPAND_TURNS]:
            gain = score * EXPAND_FACTOR
            if turn not in fused:
                fused[turn] = gain
                added[turn] = gain
            elif fused[turn] < gain:
                added[turn] = added.get(turn, 0.0) + gain - fused[turn]
                fused[turn] = gain
    return added


_NAMES_CACHE: dict[int, tuple[float, list[tuple[str, str]]]] = {}


def _speaker_names(core: Searchable) -> list[tuple[str, str]]:
    """(lower-case first name, full name) of every speaker with a profile memory; cached for a
    minute per store (one range scan over the meta table's primary key)."""
    key = id(core.store)
    now = time.monotonic()
    hit = _NAMES_CACHE.get(key)
    if hit and now - hit[0] < 60:
        return hit[1]
    rows = core.store.con.execute(
        "SELECT meta.key FROM meta JOIN memories m ON m.id = meta.value "
        "WHERE meta.key >= 'link:profile:' AND meta.key < 'link:profile;' "
        "AND m.deleted_at IS NULL"
    ).fetchall()
    names = []
    for (key_text,) in rows:  # link:profile:<conversation>:<speaker>@<uri>
        full = key_text.split("@", 1)[0].split(":", 3)[-1]
        if full:
            names.append((full.split()[0].lower(), full))
    _NAMES_CACHE[key] = (now, names)
    return names


def _link_info(core: Searchable, ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (actor, link kind or "") for the candidates, in one lookup."""
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = core.store.con.execute(
            "SELECT m.id, coalesce(json_extract(m.fields, '$.actor'), ''), "
            "(SELECT group_concat(value, ' ') FROM json_each(m.tags)) FROM memories m "
            "WHERE m.id IN (" + ",".join("?" * len(chunk)) + ")",
            chunk,
        ).fetchall()
        for mid, actor, tags in rows:
            tagset = set((tags or "").split())
            kind = next(iter(LINK_KINDS & tagset), "") if LINK_TAG in tagset else ""
            out[mid] = (str(actor), kind)
    return out


def _cited_turns(core: Searchable, link_id: str) -> list[str]:
    """The turn memories a link memory cites, in its order (the same file and message id)."""
    rows = core.store.con.execute(
        "SELECT t.memory_id FROM sources l JOIN sources t ON t.kind = 'conversation' "
        "AND t.ref = l.ref AND t.uri IS l.uri AND t.memory_id != l.memory_id "
        "JOIN memories m ON m.id = t.memory_id AND m.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = 'linked') "
        "WHERE l.memory_id = ? AND l.kind = 'conversation' ORDER BY l.pos",
        (link_id,),
    ).fetchall()
    return list(dict.fromkeys(r[0] for r in rows))


def question_ids(core: Searchable, ids: list[str]) -> set[str]:
    """Those of `ids` that are the record of a question the user asked in chat (one indexed
    lookup over the fused candidates, well under a millisecond)."""
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        sql = _QUESTION_SQL.format(marks=",".join("?" * len(chunk)))
        rows = core.store.con.execute(sql, (*chunk, QUESTION_EVENT, QUESTION_TAG)).fetchall()
        out.update(r[0] for r in rows)
    return out


def _ranks(scored: list[tuple[str, float]]) -> dict[str, int]:
    """Competition ranking (1, 2, 2, 4): equal scores share a rank, so ties stay ties."""
    out: dict[str, int] = {}
    prev: float | None = None
    rank = 0
    for pos, (mid, score) in enumerate(scored, 1):
        if prev is None or abs(score - prev) > 1e-9 * max(1.0, abs(score)):
            rank = pos
        prev = score
        out[mid] = rank
    return out
