"""LoCoMo evidence recall@5/10/20 of the memory core's search, beside a plain BM25 over raw turns.

    .venv/bin/python tests/bench/bench_locomo.py [--quick] [--data PATH]

Each conversation is ingested with `mirix_app.memory.ingest` (one episodic memory per turn, no
model) into a fresh data dir; each question of categories 1-4 is searched; retrieved memories are
mapped back to dialog ids through their sources (first k distinct ids), as the split's README says.
The baseline (plain Okapi BM25, k1=1.2, b=0.75, English stop words removed, each turn
"speaker: text caption") is computed in the same run; its reference figure is recall@10 0.580.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# Benchmarks use throw-away data dirs: a fixed passphrase instead of the OS keyring.
os.environ.setdefault("MIRIX_PASSPHRASE", "benchmark-only")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_data import locomo_path  # noqa: E402

DEFAULT_DATA = locomo_path()
KS = (5, 10, 20)

# scikit-learn's English stop-word list (the usual "English stop words").
SKLEARN_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "across",
        "after",
        "afterwards",
        "again",
        "against",
        "all",
        "almost",
        "alone",
        "along",
        "already",
        "also",
        "although",
        "always",
        "am",
        "among",
        "amongst",
        "amoungst",
        "amount",
        "an",
        "and",
        "another",
        "any",
        "anyhow",
        "anyone",
        "anything",
        "anyway",
        "anywhere",
        "are",
        "around",
        "as",
        "at",
        "back",
        "be",
        "became",
        "because",
        "become",
        "becomes",
        "becoming",
        "been",
        "before",
        "beforehand",
        "behind",
        "being",
        "below",
        "beside",
        "besides",
        "between",
        "beyond",
        "bill",
        "both",
        "bottom",
        "but",
        "by",
        "call",
        "can",
        "cannot",
        "cant",
        "co",
        "con",
        "could",
        "couldnt",
        "cry",
        "de",
        "describe",
        "detail",
        "do",
        "done",
        "down",
        "due",
        "during",
        "each",
        "eg",
        "eight",
        "either",
        "eleven",
        "else",
        "elsewhere",
        "empty",
        "enough",
        "etc",
        "even",
        "ever",
        "every",
        "everyone",
        "everything",
        "everywhere",
        "except",
        "few",
        "fifteen",
        "fifty",
        "fill",
        "find",
        "fire",
        "first",
        "five",
        "for",
        "former",
        "formerly",
        "forty",
        "found",
        "four",
        "from",
        "front",
        "full",
        "further",
        "get",
        "give",
        "go",
        "had",
        "has",
        "hasnt",
        "have",
        "he",
        "hence",
        "her",
        "here",
        "hereafter",
        "hereby",
        "herein",
        "hereupon",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "hundred",
        "i",
        "ie",
        "if",
        "in",
        "inc",
        "indeed",
        "interest",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "keep",
        "last",
        "latter",
        "latterly",
        "least",
        "less",
        "ltd",
        "made",
        "many",
        "may",
        "me",
        "meanwhile",
        "might",
        "mill",
        "mine",
        "more",
        "moreover",
        "most",
        "mostly",
        "move",
        "much",
        "must",
        "my",
        "myself",
        "name",
        "namely",
        "neither",
        "never",
        "nevertheless",
        "next",
        "nine",
        "no",
        "nobody",
        "none",
        "noone",
        "nor",
        "not",
        "nothing",
        "now",
        "nowhere",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "part",
        "per",
        "perhaps",
        "please",
        "put",
        "rather",
        "re",
        "same",
        "see",
        "seem",
        "seemed",
        "seeming",
        "seems",
        "serious",
        "several",
        "she",
        "should",
        "show",
        "side",
        "since",
        "sincere",
        "six",
        "sixty",
        "so",
        "some",
        "somehow",
        "someone",
        "something",
        "sometime",
        "sometimes",
        "somewhere",
        "still",
        "such",
        "system",
        "take",
        "ten",
        "than",
        "that",
        "the",
        "their",
        "them",
        "themselves",
        "then",
        "thence",
        "there",
        "thereafter",
        "thereby",
        "therefore",
        "therein",
        "thereupon",
        "these",
        "they",
        "thick",
        "thin",
        "third",
        "this",
        "those",
        "though",
        "three",
        "through",
        "throughout",
        "thru",
        "thus",
        "to",
        "together",
        "too",
        "top",
        "toward",
        "towards",
        "twelve",
        "twenty",
        "two",
        "un",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "via",
        "was",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "whence",
        "whenever",
        "where",
        "whereafter",
        "whereas",
        "whereby",
        "wherein",
        "whereupon",
        "wherever",
        "whether",
        "which",
        "while",
        "whither",
        "who",
        "whoever",
        "whole",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text.lower()) if w not in SKLEARN_STOP]


class PlainBM25:
    """Okapi BM25 over raw turns. With `neighbours`, each turn's term counts also hold those of
    the `neighbours` turns on each side in the same session, times `weight` (its length too)."""

    def __init__(
        self,
        docs: list[str],
        k1: float = 1.2,
        b: float = 0.75,
        *,
        sessions: list[str] | None = None,
        neighbours: int = 0,
        weight: float = 0.5,
    ) -> None:
        own = [Counter(tokens(d)) for d in docs]
        self.docs: list[dict[str, float]] = []
        for i, c in enumerate(own):
            doc: dict[str, float] = dict(c)
            for j in range(i - neighbours, i + neighbours + 1):
                if j == i or not 0 <= j < len(own):
                    continue
                if sessions is not None and sessions[j] != sessions[i]:
                    continue
                for t, n in own[j].items():
                    doc[t] = doc.get(t, 0.0) + weight * n
            self.docs.append(doc)
        self.lens = [sum(c.values()) for c in self.docs]
        self.avg = sum(self.lens) / max(1, len(self.lens))
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def rank(self, query: str) -> list[int]:
        q = set(tokens(query))
        scores = []
        for i, c in enumerate(self.docs):
            s = 0.0
            for t in q:
                tf = c.get(t)
                if tf:
                    norm = tf + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg)
                    s += self.idf[t] * tf * (self.k1 + 1) / norm
            if s > 0:
                scores.append((s, i))
        scores.sort(key=lambda x: -x[0])
        return [i for _, i in scores]


class Dense:
    """Dense only: the int8 MiniLM embedder over the raw turns, cosine, brute force."""

    def __init__(self, embedder: Any, docs: list[str]) -> None:
        self.embedder = embedder
        self.vecs = embedder.embed(docs)

    def rank(self, query: str) -> list[int]:
        sims = self.vecs @ self.embedder.embed_one(query)
        return [int(i) for i in np.argsort(-sims, kind="stable")]


def first_ids(ranked_ids: list[list[str]], k: int) -> list[str]:
    """First k distinct dialog ids, walking items in rank order, each item's ids in its order."""
    seen: dict[str, None] = {}
    for ids in ranked_ids:
        for d in ids:
            seen.setdefault(d, None)
        if len(seen) >= k:
            break
    return list(seen)[:k]


def recall(ranked_ids: list[list[str]], evidence: list[str], k: int) -> float:
    top = set(first_ids(ranked_ids, k))
    ev = [e for e in evidence if e]
    return sum(1 for e in ev if e in top) / len(ev) if ev else 0.0


def session_of(dia_id: str) -> str:
    return dia_id.split(":")[0]


def session_recall(ranked_ids: list[list[str]], evidence: list[str], k: int) -> float:
    """Is the session that holds the evidence retrieved? The first k distinct sessions of the
    walked dialog ids (items in rank order), against the evidence's distinct sessions."""
    sessions: dict[str, None] = {}
    for ids in ranked_ids:
        for d in ids:
            sessions.setdefault(session_of(d), None)
        if len(sessions) >= k:
            break
    top = set(list(sessions)[:k])
    ev = {session_of(e) for e in evidence if e}
    return sum(1 for e in ev if e in top) / len(ev) if ev else 0.0


def questions(sample: dict) -> list[dict]:
    out = []
    for qa in sample["qa"]:
        if qa.get("category") in (1, 2, 3, 4) and qa.get("evidence"):
            ev = [
                e.strip()
                for item in qa["evidence"]
                for e in re.split(r"[;,]\s*", item)
                if e.strip()
            ]
            out.append({"q": qa["question"], "ev": ev, "cat": qa["category"]})
    return out


def turns(sample: dict) -> list[tuple[str, str]]:
    conv = sample["conversation"]
    out = []
    keys = sorted((int(k.split("_")[1]), k) for k in conv if re.fullmatch(r"session_\d+", k))
    for _, k in keys:
        for t in conv[k]:
            cap = t.get("blip_caption") or ""
            out.append((t["dia_id"], f"{t['speaker']}: {t['text']} {cap}".strip()))
    return out


BASELINE = "bm25 baseline (raw turns)"
NEIGHBOURS = "bm25 + neighbours ±2 @0.5"
DENSE = "dense only (MiniLM)"
OURS = "mirix hybrid"
SYSTEMS = (BASELINE, NEIGHBOURS, DENSE, "mirix bm25", "mirix vector", OURS)
CATS = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def run(data: Path, quick: bool) -> dict[str, dict[str, float]]:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.ingest import ingest
    from mirix_app.paths import Paths

    samples = json.loads(data.read_text())
    if quick:
        samples = samples[:1]
    # per system: metric -> list of per-question values, and per category
    vals: dict[str, dict[str, list[float]]] = {s: {} for s in SYSTEMS}
    n_q = 0
    timing: dict[str, Any] = {"ingest_s": 0.0, "turns": 0, "search_ms": []}
    for sample in samples:
        qs = questions(sample)
        if quick:
            qs = qs[:40]
        tr = turns(sample)
        docs = [t for _, t in tr]
        sess = [session_of(d) for d, _ in tr]
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MIRIX_HOME"] = tmp
            core = MemoryCore.open(Paths.under(Path(tmp)))
            rankers = {
                BASELINE: PlainBM25(docs),
                NEIGHBOURS: PlainBM25(docs, sessions=sess, neighbours=2, weight=0.5),
                DENSE: Dense(core.embedder, docs),
            }
            t0 = time.perf_counter()
            single = Path(tmp) / "conv.json"
            single.write_text(json.dumps([sample]))
            ingest(core, single)
            timing["ingest_s"] += time.perf_counter() - t0
            timing["turns"] += len(tr)
            for q in qs:
                n_q += 1
                results = {
                    name: [[tr[i][0]] for i in r.rank(q["q"])[:40]] for name, r in rankers.items()
                }
                for mode in ("bm25", "vector", "hybrid"):
                    t1 = time.perf_counter()
                    hits = core.search(q["q"], limit=40, mode=mode)
                    if mode == "hybrid":
                        timing["search_ms"].append((time.perf_counter() - t1) * 1000)
                    results[f"mirix {mode}"] = [
                        [s.ref for s in h.memory.sources if s.kind == "conversation"] for h in hits
                    ]
                for name, ranked in results.items():
                    v = vals[name]
                    for k in KS:
                        r = recall(ranked, q["ev"], k)
                        v.setdefault(f"r@{k}", []).append(r)
                        v.setdefault(f"cat{q['cat']}@{k}", []).append(r)
                    v.setdefault("sess@10", []).append(session_recall(ranked, q["ev"], 10))
            core.close()
    out = {s: {m: sum(x) / len(x) for m, x in vals[s].items()} for s in SYSTEMS}
    lat = sorted(timing["search_ms"])
    print(
        f"\nLoCoMo dev: {len(samples)} conversation(s), {n_q} questions (categories 1-4); "
        f"ingest {timing['ingest_s']:.1f} s ({timing['turns'] / timing['ingest_s']:.0f} turns/s); "
        f"hybrid search p50 {lat[len(lat) // 2]:.1f} ms, p95 {lat[int(len(lat) * 0.95)]:.1f} ms"
    )
    for c, name in CATS.items():
        n = len(vals[OURS].get(f"cat{c}@10", []))
        print(f"\n{name} (category {c}, {n} questions)")
        table(out, [f"cat{c}@{k}" for k in KS])
    print(
        "\nsession-level: sess@10 = share of the evidence's sessions among the first 10 distinct "
        "sessions retrieved"
    )
    table(out, ["sess@10"])
    # Last, and in this column order: tests/memory/test_bench_smoke.py reads r@10 from it.
    print("\nall categories")
    table(out, [f"r@{k}" for k in KS] + [f"cat{c}@10" for c in CATS])
    print(
        "(cat1 multi-hop, cat2 temporal, cat3 open-domain, cat4 single-hop; "
        "reference BM25 r@10 0.580)"
    )
    return out


def table(out: dict[str, dict[str, float]], cols: list[str]) -> None:
    print(f"{'system':<28}" + "".join(f"{c:>10}" for c in cols))
    for s in SYSTEMS:
        print(f"{s:<28}" + "".join(f"{out[s].get(c, float('nan')):>10.3f}" for c in cols))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="one conversation, 40 questions")
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="locomo_dev.json (or $MIRIX_LOCOMO)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.data is None or not args.data.exists():
        print("LoCoMo data not found: pass --data or set MIRIX_LOCOMO", file=sys.stderr)
        return 2
    out = run(args.data, args.quick)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
