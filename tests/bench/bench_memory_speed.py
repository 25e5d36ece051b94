"""Memory core speed: insert throughput, and search p50/p95 at 10k and 100k memories.

    .venv/bin/python tests/bench/bench_memory_speed.py [--quick] [--sizes 10000,100000]

Ours (FTS5 BM25, Chroma HNSW, hybrid = both fused) beside naive baselines measured in the same run
on the same data: a LIKE scan over the same SQLite rows (keyword) and a brute-force numpy cosine
over all vectors (vector). Insert: one memory per transaction vs `add_many` batches, with real
embeddings. For the 100k fill, texts are real LoCoMo turns plus random words, and their vectors are
real MiniLM embeddings of a 3,000-turn pool with noise (embedding 100k texts would take ~7 minutes
here and measures the embedder, not the store); queries are embedded for real on every search.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# Benchmarks use throw-away data dirs: a fixed passphrase instead of the OS keyring.
os.environ.setdefault("MIRIX_PASSPHRASE", "benchmark-only")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_data import locomo_path  # noqa: E402


def corpus() -> tuple[list[str], list[str]]:
    path = locomo_path()
    if path is None:
        raise SystemExit("LoCoMo data not found (texts for the fill): set MIRIX_LOCOMO")
    data = json.loads(path.read_text())
    turns, qs = [], []
    for s in data:
        conv = s["conversation"]
        for k, v in conv.items():
            if re.fullmatch(r"session_\d+", k):
                turns += [f"{t['speaker']}: {t['text']}" for t in v]
        qs += [q["question"] for q in s["qa"]]
    return turns, qs


class PoolEmbedder:
    """Real embeddings of a pool, reused with noise for bulk fill (see module doc)."""

    def __init__(self, real, pool: list[str]) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.pool = real.embed(pool)
        self.rng = np.random.default_rng(0)
        self.dimensions = real.dimensions

    def embed(self, texts: list[str]) -> np.ndarray:
        idx = self.rng.integers(0, len(self.pool), len(texts))
        v = self.pool[idx] + self.rng.normal(0, 0.02, (len(texts), self.pool.shape[1])).astype(
            np.float32
        )
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.real.embed_one(text)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def make_memory(i: int, turns: list[str], words: list[str], rng: random.Random):  # type: ignore[no-untyped-def]
    from mirix_app.memory.types import Memory, MemoryType, Source

    text = turns[i % len(turns)] + " " + " ".join(rng.sample(words, 4))
    kind = i % 10
    if kind < 6:
        t = MemoryType.EPISODIC
        day = 1 + i % 28
        fields = {"summary": text, "occurred_at": f"2024-{1 + i % 12:02d}-{day:02d}T10:00:00Z"}
    elif kind < 8:
        t, fields = MemoryType.SEMANTIC, {"name": text[:40], "summary": text}
    elif kind < 9:
        t, fields = MemoryType.RESOURCE, {"title": text[:40], "content": text}
    else:
        t, fields = MemoryType.PROCEDURAL, {"summary": text[:60], "steps": text.split(". ")}
    app = ("firefox", "code", "slack", "evince")[i % 4]
    return Memory(type=t, fields=fields, sources=[Source("capture", f"cap{i}", app=app)])


def bench_inserts(n: int, turns: list[str], words: list[str]) -> list[tuple[str, float]]:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths

    rng = random.Random(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        core = MemoryCore.open(Paths.under(Path(tmp)))
        t0 = time.perf_counter()
        for i in range(n):
            core.add(make_memory(i, turns, words, rng))
        one = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        batch = [make_memory(n + i, turns, words, rng) for i in range(n)]
        for k in range(0, n, 500):
            core.add_many(batch[k : k + 500])
        many = n / (time.perf_counter() - t0)
        core.close()
    rows.append(("one memory per transaction (baseline)", one))
    rows.append(("add_many, batches of 500 (ours)", many))
    return rows


def fill(core, start: int, n: int, turns: list[str], words: list[str]) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(start)
    for k in range(start, start + n, 2000):
        core.add_many(
            [make_memory(i, turns, words, rng) for i in range(k, min(start + n, k + 2000))]
        )


def bench_search(core, queries: list[str], size: int) -> list[tuple[str, float, float]]:  # type: ignore[no-untyped-def]
    from mirix_app.memory.store import fts_query

    out = []
    for mode in ("hybrid", "bm25", "vector"):
        core.search(queries[0], mode=mode)  # warm
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            core.search(q, mode=mode, limit=10)
            lat.append((time.perf_counter() - t0) * 1000)
        out.append((f"mirix {mode}", statistics.median(lat), pct(lat, 0.95)))

    # Baselines on the same rows: LIKE scan, brute-force cosine over every vector.
    con = core.store.con
    lat = []
    for q in queries[:50]:
        terms = [t.strip('"*') for t in (fts_query(q) or "").split(" OR ")][:4]
        if not terms:
            continue
        score = " + ".join("(fields LIKE ?)" for _ in terms)
        t0 = time.perf_counter()
        con.execute(
            f"SELECT id, {score} AS s FROM memories WHERE deleted_at IS NULL AND s > 0 "
            "ORDER BY s DESC LIMIT 10",
            [f"%{t}%" for t in terms],
        ).fetchall()
        lat.append((time.perf_counter() - t0) * 1000)
    out.append(("baseline LIKE scan, ranked", statistics.median(lat), pct(lat, 0.95)))

    from mirix_app.memory.types import MemoryType

    mats, ids = [], []
    for t in MemoryType:
        got = core.vectors.collection(t).get(include=["embeddings"])
        if len(got["ids"]):
            mats.append(np.asarray(got["embeddings"], dtype=np.float32))
            ids += got["ids"]
    matrix = np.vstack(mats)
    lat = []
    for q in queries[:100]:
        t0 = time.perf_counter()
        v = core.embedder.embed_one(q)
        top = np.argpartition(-(matrix @ v), 10)[:10]
        _ = [ids[i] for i in top]
        lat.append((time.perf_counter() - t0) * 1000)
    out.append(("baseline numpy brute-force cosine", statistics.median(lat), pct(lat, 0.95)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="1k inserts, 2k memories, 50 queries")
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()

    from mirix_app.memory.core import MemoryCore, shared_embedder
    from mirix_app.paths import Paths

    turns, questions = corpus()
    words = sorted({w for t in turns for w in re.findall(r"[a-z]{4,}", t.lower())})
    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",")]
    n_ins = 300 if args.quick else 2000
    queries = random.Random(3).sample(questions, 50 if args.quick else 200)

    print(f"\nInsert throughput (real embeddings, {n_ins} memories each)")
    print(f"{'method':<42}{'memories/s':>12}")
    for name, rate in bench_inserts(n_ins, turns, words):
        print(f"{name:<42}{rate:>12.0f}")

    real = shared_embedder()
    pool = PoolEmbedder(real, turns[:3000] if not args.quick else turns[:300])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        core = MemoryCore.open(Paths.under(Path(tmp)), embedder=pool)  # type: ignore[arg-type]
        have = 0
        for size in sizes:
            t0 = time.perf_counter()
            fill(core, have, size - have, turns, words)
            fill_s = time.perf_counter() - t0
            have = size
            st = core.stats()
            print(
                f"\n{size:,} memories (filled in {fill_s:.0f} s; database {st.db_bytes / 1e6:.0f} MB, "
                f"vectors {st.vector_bytes / 1e6:.0f} MB), {len(queries)} LoCoMo questions as queries"
            )
            print(f"{'search':<36}{'p50 ms':>10}{'p95 ms':>10}")
            for name, p50, p95 in bench_search(core, queries, size):
                print(f"{name:<36}{p50:>10.1f}{p95:>10.1f}")
                results.append((size, name, p50, p95))
        core.close()
    print("\ntarget: hybrid p95 <= 30 ms at 100k on 2 cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
