"""Hybrid search: fusion of keyword and vector rankings, filters, recency, no model needed."""

from __future__ import annotations

import itertools
import subprocess
import sys

from mirix_app.memory.core import MemoryCore
from mirix_app.memory.store import fts_query
from mirix_app.memory.types import Filters, MemoryType, Source


def _fill(core: MemoryCore) -> dict[str, str]:
    ids = {}
    ids["kw"] = core.new(
        "semantic",
        {"name": "Zyxel router", "summary": "The Zyxel router admin page is at 192.168.1.1"},
    ).id
    ids["para"] = core.new(
        "episodic",
        {
            "occurred_at": "2024-03-01T09:00:00Z",
            "summary": "Went jogging in the park before breakfast",
        },
    ).id
    ids["proc"] = core.new(
        "procedural",
        {"summary": "Reset the Zyxel router", "steps": ["hold reset 10 s", "log in as admin"]},
    ).id
    ids["other"] = core.new(
        "resource", {"title": "Tax form 2023", "content": "Income statement"}
    ).id
    return ids


def test_keyword_and_meaning_both_reach_the_fused_list(core: MemoryCore) -> None:
    ids = _fill(core)
    kw = [h.memory.id for h in core.search("Zyxel", mode="bm25")]
    assert set(kw) == {ids["kw"], ids["proc"]}
    # No shared word: only the vector side can find the run in the park.
    assert ids["para"] not in [
        h.memory.id for h in core.search("morning run outdoors exercise", mode="bm25")
    ]
    vec = [h.memory.id for h in core.search("morning run outdoors exercise", mode="vector")]
    assert vec[0] == ids["para"]
    hybrid = core.search("Zyxel morning run exercise", limit=4)
    got = [h.memory.id for h in hybrid]
    assert ids["para"] in got and ids["kw"] in got
    top = hybrid[0]
    assert top.bm25_rank is not None and top.vector_rank is not None  # fused from both
    assert all(a.score >= b.score for a, b in itertools.pairwise(hybrid))


def test_type_filter_and_subset(core: MemoryCore) -> None:
    ids = _fill(core)
    hits = core.search("Zyxel router", filters=Filters(types=[MemoryType.PROCEDURAL]))
    assert [h.memory.id for h in hits] == [ids["proc"]]
    hits = core.search(
        "Zyxel router", filters=Filters(types=[MemoryType.SEMANTIC, MemoryType.RESOURCE])
    )
    assert {h.memory.type for h in hits} <= {MemoryType.SEMANTIC, MemoryType.RESOURCE}


def test_time_range_filter(core: MemoryCore) -> None:
    old = core.new(
        "episodic", {"occurred_at": "2020-01-05T10:00:00Z", "summary": "Dentist appointment"}
    ).id
    new = core.new(
        "episodic", {"occurred_at": "2024-06-05T10:00:00Z", "summary": "Dentist checkup"}
    ).id
    f = Filters(since="2024-01-01T00:00:00Z")
    for mode in ("hybrid", "bm25", "vector"):
        assert [h.memory.id for h in core.search("dentist", filters=f, mode=mode)] == [new]
    f = Filters(until="2021-01-01T00:00:00Z")
    assert [h.memory.id for h in core.search("dentist", filters=f)] == [old]


def test_app_filter_uses_sources(core: MemoryCore) -> None:
    a = core.new(
        "episodic",
        {"summary": "Read the invoice"},
        sources=[Source("capture", "c1", app="Firefox")],
    ).id
    core.new(
        "episodic",
        {"summary": "Read the invoice again"},
        sources=[Source("capture", "c2", app="evince")],
    )
    hits = core.search("invoice", filters=Filters(app="firefox"))
    assert [h.memory.id for h in hits] == [a]


def test_recency_breaks_ties(core: MemoryCore) -> None:
    old = core.new(
        "episodic", {"occurred_at": "2019-01-01T00:00:00Z", "summary": "standup meeting notes"}
    ).id
    recent = core.new("episodic", {"summary": "standup meeting notes"}).id  # occurred now
    hits = core.search("standup meeting notes", limit=2)
    assert [h.memory.id for h in hits] == [recent, old]
    assert hits[0].parts["recency"] > hits[1].parts["recency"]


def test_trashed_memories_are_not_found_and_come_back(core: MemoryCore) -> None:
    ids = _fill(core)
    core.trash(ids["kw"])
    for mode in ("hybrid", "bm25", "vector"):
        assert ids["kw"] not in [h.memory.id for h in core.search("Zyxel router admin", mode=mode)]
    core.restore(ids["kw"])
    assert ids["kw"] in [h.memory.id for h in core.search("Zyxel router admin", mode="vector")]


def test_results_carry_scores_and_sources(core: MemoryCore) -> None:
    core.new(
        "semantic",
        {"name": "Alice", "summary": "Alice is my manager"},
        sources=[Source("chat", "msg-7", at="2024-01-01T00:00:00Z")],
    )
    d = core.search("who is my manager")[0].to_dict()
    assert d["type"] == "semantic" and d["score"] > 0
    assert d["sources"] == [{"kind": "chat", "ref": "msg-7", "at": "2024-01-01T00:00:00.000Z"}]


def test_search_needs_no_language_model(core: MemoryCore) -> None:
    _fill(core)
    # A fresh process, so other tests' model imports cannot hide an import made by search.
    code = (
        "import sys; from mirix_app.memory.core import MemoryCore; "
        "hits = MemoryCore.open().search('router'); "
        "assert hits and 'llama_cpp' not in sys.modules and 'mirix_app.agent' not in sys.modules"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_user_text_cannot_inject_fts_syntax(core: MemoryCore) -> None:
    _fill(core)
    for q in ['"unbalanced', "NEAR(a b)", "router*", "a OR", "-router", "col:router", "^x", "()"]:
        core.search(q, mode="bm25")  # must not raise
    assert fts_query("the of and") == '"the" OR "of" OR "and"'
    assert fts_query("rout", prefix=True) == '"rout"*'


def test_prefix_search_for_as_you_type(core: MemoryCore) -> None:
    ids = _fill(core)
    assert ids["kw"] in [h.memory.id for h in core.search("Zyx", mode="bm25", prefix=True)]


def test_empty_query_lists_newest(core: MemoryCore) -> None:
    _fill(core)
    hits = core.search("", limit=2)
    assert len(hits) == 2


def test_bm25_pruning_when_every_term_is_common(core: MemoryCore, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A large store (thresholds lowered here) whose query words are all common: the rarest
    words pick the candidates, the rest rescore them, and the memory holding every word wins,
    as in the exact ranking."""
    from mirix_app.memory.store import fts

    for i in range(30):
        words = ["alpha"] + (["bravo"] if i % 2 else []) + (["charlie"] if i % 3 == 0 else [])
        core.new("semantic", {"name": f"note {i}", "summary": " ".join(words) + f" filler{i}"})
    best = core.new("semantic", {"name": "all", "summary": "alpha bravo charlie together"}).id
    exact = core.store.bm25("alpha bravo charlie", limit=5)
    monkeypatch.setattr(fts, "PRUNE_MIN_DOCS", 10)
    monkeypatch.setattr(fts, "PRUNE_DF_RATIO", 0.01)  # every term is now common
    monkeypatch.setattr(core.store, "_doc_count", (0, -1e9))
    assert core.store._selective_terms(fts.fts_terms("alpha bravo charlie")) is not None
    pruned = core.store.bm25("alpha bravo charlie", limit=5)
    assert exact[0][0] == best
    assert pruned[0][0] == best
