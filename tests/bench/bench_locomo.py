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
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(tokens(d)) for d in docs]
        self.lens = [sum(c.values()) for c in self.docs]
        self.avg = sum(self.lens) / max(1, len(self.lens))
        df: Counter[str] = Counter()
        for c in self.docs:
            df.update(c.keys())
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


def recall(ranked_ids: list[list[str]], evidence: list[str], k: int) -> float:
    """First k distinct dialog ids, walking items in rank order, each item's ids in its order."""
    seen: list[str] = []
    for ids in ranked_ids:
        for d in ids:
            if d not in seen:
                seen.append(d)
        if len(seen) >= k:
            break
    top = set(seen[:k])
    ev = [e for e in evidence if e]
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


def run(data: Path, quick: bool) -> dict[str, dict[str, float]]:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.ingest import ingest
    from mirix_app.paths import Paths

    samples = json.loads(data.read_text())
    if quick:
        samples = samples[:1]
    systems = ("bm25 baseline (raw turns)", "mirix bm25", "mirix vector", "mirix hybrid")
    sums = {s: {f"r@{k}": 0.0 for k in KS} for s in systems}
    per_cat: dict[str, dict[int, list[float]]] = {s: {} for s in systems}
    n_q = 0
    timing = {"ingest_s": 0.0, "search_ms": []}  # type: dict
    for sample in samples:
        qs = questions(sample)
        if quick:
            qs = qs[:40]
        tr = turns(sample)
        baseline = PlainBM25([t for _, t in tr])
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MIRIX_HOME"] = tmp
            core = MemoryCore.open(Paths.under(Path(tmp)))
            t0 = time.perf_counter()
            single = Path(tmp) / "conv.json"
            single.write_text(json.dumps([sample]))
            ingest(core, single)
            timing["ingest_s"] += time.perf_counter() - t0
            for q in qs:
                n_q += 1
                base_ranked = [[tr[i][0]] for i in baseline.rank(q["q"])[:40]]
                results = {"bm25 baseline (raw turns)": base_ranked}
                for mode in ("bm25", "vector", "hybrid"):
                    t1 = time.perf_counter()
                    hits = core.search(q["q"], limit=40, mode=mode)
                    if mode == "hybrid":
                        timing["search_ms"].append((time.perf_counter() - t1) * 1000)
                    results[f"mirix {mode}"] = [
                        [s.ref for s in h.memory.sources if s.kind == "conversation"] for h in hits
                    ]
                for name, ranked in results.items():
                    for k in KS:
                        sums[name][f"r@{k}"] += recall(ranked, q["ev"], k)
                    per_cat[name].setdefault(q["cat"], []).append(recall(ranked, q["ev"], 10))
            core.close()
    out = {s: {k: v / n_q for k, v in sums[s].items()} for s in systems}
    for s in systems:
        for cat, vals in per_cat[s].items():
            out[s][f"cat{cat}@10"] = sum(vals) / len(vals)
    lat = sorted(timing["search_ms"])
    print(
        f"\nLoCoMo dev: {len(samples)} conversation(s), {n_q} questions (categories 1-4); "
        f"ingest {timing['ingest_s']:.1f} s; hybrid search p50 {lat[len(lat) // 2]:.1f} ms, "
        f"p95 {lat[int(len(lat) * 0.95)]:.1f} ms"
    )
    cols = [f"r@{k}" for k in KS] + [f"cat{c}@10" for c in (1, 2, 3, 4)]
    print(f"{'system':<28}" + "".join(f"{c:>10}" for c in cols))
    for s in systems:
        print(f"{s:<28}" + "".join(f"{out[s].get(c, float('nan')):>10.3f}" for c in cols))
    print(
        "(cat1 multi-hop, cat2 temporal, cat3 open-domain, cat4 single-hop; reference BM25 r@10 0.580)"
    )
    return out


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
