"""Scale: a simulated month of screen captures, sorted into memories, then searched.

    .venv/bin/python tests/bench/bench_scale.py [--days 30] [--quick]

A month of work days (9:00-18:00, a capture every 7-18 s while the screen changes, a few hours on
weekend days) gives ~52k captures. Each capture is what the capture service queues: app, window
title, and the screen's OCR text, where consecutive captures of one window share most lines (real
LoCoMo turns play the changing content). The real agent pipeline sorts them without a model (the
deterministic path the app takes when it is behind), so episodes merge and facts are kept as they
would be. Vectors come from real MiniLM embeddings of a pool of texts plus noise (as in
bench_memory_speed.py: embedding every text would measure the embedder, not the store); queries are
embedded for real. Printed: the month's size on disk and search latency, beside a LIKE scan over
the same rows (the baseline), with the memory core's targets.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Benchmarks use throw-away data dirs: a fixed passphrase instead of the OS keyring.
os.environ.setdefault("MIRIX_PASSPHRASE", "benchmark-only")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_memory_speed import PoolEmbedder, corpus, pct  # noqa: E402

APPS = [
    ("firefox", ["{} - Mozilla Firefox", "Flights to {} - Mozilla Firefox", "{} | Docs"]),
    ("code", ["{}.py - project - Visual Studio Code", "README.md - {} - Visual Studio Code"]),
    ("gnome-terminal", ["{}@laptop: ~/src", "ssh build-{}"]),
    ("slack", ["{} | Team chat", "#{} | Team chat"]),
    ("thunderbird", ["Inbox - {} - Thunderbird", "Re: {} - Thunderbird"]),
    ("libreoffice", ["{} report.odt - LibreOffice Writer", "{} budget.ods - LibreOffice Calc"]),
]
TARGET_P95_MS = 30.0  # memory core target (hybrid at 100k memories)


def simulated_month(
    turns: list[str], days: int, seed: int = 7
) -> Iterator[tuple[datetime, str, str, str]]:
    """(time, app, window, screen text) for every capture the service would keep."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
    words = sorted({w.strip(".,!?").lower() for t in turns[:3000] for w in t.split()[1:]} - {""})
    for d in range(days):
        day = start + timedelta(days=d)
        weekend = day.weekday() >= 5
        t = day + timedelta(hours=10 if weekend else 9)
        end = t + timedelta(hours=3 if weekend else 9)
        lines: list[str] = []
        app, window = "", ""
        while t < end:
            if not lines or rng.random() < 0.06:
                app, titles = rng.choice(APPS)
                window = rng.choice(titles).format(rng.choice(words).capitalize())
                lines = [rng.choice(turns) for _ in range(rng.randint(15, 35))]
            lines += [rng.choice(turns) for _ in range(rng.randint(1, 3))]
            lines = lines[-40:]
            yield t, app, window, "\n".join(lines)
            t += timedelta(seconds=rng.uniform(7, 18))
            if rng.random() < 0.0015:
                t += timedelta(minutes=rng.uniform(10, 60))  # a meeting, lunch: the screen idles


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="2 days, 40 queries (a smoke run)")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    days, nq = (2, 40) if args.quick else (args.days, args.queries)

    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.memory.core import MemoryCore, shared_embedder
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.memory.store import fts_query
    from mirix_app.memory.types import Filters
    from mirix_app.paths import Paths

    turns, questions = corpus()
    real = shared_embedder()
    pool = PoolEmbedder(real, turns[:3000])
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths.under(Path(tmp))
        core = MemoryCore.open(paths, embedder=pool)
        t0 = time.perf_counter()
        n_caps = 0
        batch: list[InboxItem] = []
        apps_seen: set[str] = set()
        for at, app, window, text in simulated_month(turns, days):
            iso = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            batch.append(InboxItem(kind="capture", text=text, at=iso, app=app, window=window))
            apps_seen.add(app)
            if len(batch) == 2000:
                with core.store.write() as con:
                    for it in batch:
                        core.inbox.put_in(con, it)
                n_caps += len(batch)
                batch.clear()
        with core.store.write() as con:
            for it in batch:
                core.inbox.put_in(con, it)
        n_caps += len(batch)
        queue_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pipe = Pipeline(core, None)
        pipe.settings.notes_backlog_limit = 0  # behind by a month: the deterministic path
        done = pipe.drain()
        sort_s = time.perf_counter() - t0
        core.store.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stats = core.stats()
        n_mem = sum(stats.live.values())
        db_mb = sum(p.stat().st_size for p in paths.data.glob("memory.db*")) / 1e6
        vec_mb = dir_bytes(paths.vectors) / 1e6

        queries = rng.sample(questions, min(nq, len(questions)))
        lat: dict[str, list[float]] = {"hybrid": [], "bm25": [], "vector": [], "filtered": []}
        core.search(queries[0])  # warm
        for q in queries:
            for mode in ("hybrid", "bm25", "vector"):
                t = time.perf_counter()
                core.search(q, mode=mode, limit=10)
                lat[mode].append((time.perf_counter() - t) * 1000)
            f = Filters(app=rng.choice(sorted(apps_seen)))
            t = time.perf_counter()
            core.search(q, filters=f, limit=10)
            lat["filtered"].append((time.perf_counter() - t) * 1000)
        like: list[float] = []
        con = core.store.con
        for q in queries[: max(10, nq // 4)]:
            terms = [x.strip('"*') for x in (fts_query(q) or "").split(" OR ")][:4]
            score = " + ".join("(fields LIKE ?)" for _ in terms) or "0"
            t = time.perf_counter()
            con.execute(  # naive keyword search: rank every row by how many terms it holds
                f"SELECT id FROM memories WHERE deleted_at IS NULL ORDER BY {score} DESC LIMIT 10",
                [f"%{x}%" for x in terms],
            ).fetchall()
            like.append((time.perf_counter() - t) * 1000)
        core.close()

    print(
        f"\nsimulated month: {days} days, {n_caps} captures queued in {queue_s:.1f} s, "
        f"{done} sorted in {sort_s:.0f} s ({done / max(sort_s, 1e-9):.0f} captures/s)"
    )
    print(f"memories made: {n_mem} " + ", ".join(f"{k} {v}" for k, v in stats.live.items() if v))
    print(
        f"on disk: memory.db {db_mb:.1f} MB (captures + memories + history + FTS), "
        f"vectors {vec_mb:.1f} MB; {db_mb * 1e6 / max(n_caps, 1) / 1e3:.1f} kB per capture\n"
    )
    print(
        f"{'search (limit 10), ' + str(len(queries)) + ' queries':44} {'p50 ms':>8} {'p95 ms':>8}"
    )
    for mode in ("hybrid", "bm25", "vector", "filtered"):
        name = "mirix hybrid + app filter" if mode == "filtered" else f"mirix {mode}"
        print(f"{name:44} {statistics.median(lat[mode]):8.1f} {pct(lat[mode], 0.95):8.1f}")
    print(
        f"{'baseline LIKE scan, ranked (same rows)':44} {statistics.median(like):8.1f} "
        f"{pct(like, 0.95):8.1f}"
    )
    print(f"\ntarget: hybrid p95 <= {TARGET_P95_MS:.0f} ms (memory core, 100k memories)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
