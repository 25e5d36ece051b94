"""Import speed: `mirix ingest` of a year of chat (50,000 messages) beside the path it replaced.

    .venv/bin/python tests/bench/bench_import.py [--quick] [--messages 50000] [--baseline 2000]

The chat is made up: texts are LoCoMo dev-split turns (recombined, with a counter so no two are
equal), two to four speakers, one message every few minutes in evening sessions over a year, as a
generic JSON message list. "ours" runs the real CLI in a subprocess (`mirix ingest FILE`, process
start and the session/profile/entity memories included). "today's" is the previous path in the
same run: every message as one memory through `add_many` in one transaction, then the outbox
synced by re-embedding each memory's whole text 256 at a time with the app's one-thread embedder;
it runs on `--baseline` messages and its rate is extrapolated (at ~30 turns/s 50k would take ~30
minutes). A second `mirix ingest` of the same file shows the resume/no-duplicate path.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("MIRIX_PASSPHRASE", "benchmark-only")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_data import locomo_path  # noqa: E402


def make_chat(n: int, seed: int = 7) -> list[dict[str, str]]:
    path = locomo_path()
    if path is None:
        raise SystemExit("LoCoMo data not found (texts for the chat): set MIRIX_LOCOMO")
    texts = []
    for s in json.loads(path.read_text()):
        for k, v in s["conversation"].items():
            if re.fullmatch(r"session_\d+", k):
                texts += [t["text"] for t in v]
    rng = random.Random(seed)
    people = ["Ana", "Ben", "Chloe", "Dev"]
    t = datetime(2024, 1, 1, 19, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        if i % 40 == 0:  # a new evening session
            t = t.replace(hour=19, minute=0) + timedelta(days=rng.choice((0, 1, 1, 2)))
        t += timedelta(minutes=rng.randint(1, 6))
        out.append(
            {
                "id": f"msg-{i}",
                "speaker": people[rng.randrange(2 if i % 3 else 4)],
                "text": f"{rng.choice(texts)} (#{i})",
                "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return out


def ours(file: Path, home: Path) -> tuple[float, str, str]:
    env = {**os.environ, "MIRIX_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "mirix_app.cli", "ingest", str(file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(r.stderr[-2000:])
    progress = r.stderr.strip().split("\r")[-1].strip() if r.stderr.strip() else ""
    return dt, r.stdout.strip(), progress


class StandInEmbedder:
    """Hash-seeded unit vectors at no cost: what the write path (SQLite rows, FTS, history,
    outbox, Chroma) alone sustains, whatever the embedder's speed on the day."""

    model_id, dimensions = "stand-in", 384

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        out = np.empty((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            v = np.random.default_rng(zlib.crc32(t.encode())).normal(size=384)
            out[i] = v / np.linalg.norm(v)
        return out

    def embed_one(self, text: str) -> Any:
        return self.embed([text])[0]


def write_path(file: Path, home: Path) -> float:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.ingest import ingest
    from mirix_app.paths import Paths

    core = MemoryCore(Paths.under(home), embedder=StandInEmbedder())  # type: ignore[arg-type]
    t0 = time.perf_counter()
    ingest(core, file)
    dt = time.perf_counter() - t0
    core.close()
    return dt


def todays(messages: list[dict[str, str]], home: Path) -> float:
    """The path before issue 13: one add_many, then sync_vectors re-embedding whole texts."""
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.ingest import parse, to_memory
    from mirix_app.paths import Paths

    msgs = parse(messages)
    core = MemoryCore.open(Paths.under(home))
    core.embedder.load()
    t0 = time.perf_counter()
    uri = str(home / "chat.json")
    mems = [
        to_memory(m, uri, msgs[i - 1] if i else None, msgs[i + 1] if i + 1 < len(msgs) else None)
        for i, m in enumerate(msgs)
    ]
    core.add_many(mems, actor="import")
    dt = time.perf_counter() - t0
    core.close()
    return dt


def search_at_scale(home: Path, size: int, n_queries: int) -> list[tuple[str, float, float]]:
    """Top the imported store up to `size` memories (bench_memory_speed's filler: LoCoMo turns
    plus random words, pooled real vectors) and time hybrid search with and without the link
    expansion, on dev-split questions with our speakers' names in them."""
    import statistics

    from bench_memory_speed import PoolEmbedder, corpus, fill, pct

    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.embed import Embedder
    from mirix_app.memory.search import search
    from mirix_app.paths import Paths

    turns, qs = corpus()
    words = sorted({w for t in turns for w in re.findall(r"[a-z]{4,}", t.lower())})
    real = Embedder()
    core = MemoryCore(Paths.under(home), embedder=PoolEmbedder(real, turns[:3000]))
    have = sum(core.store.count().values())
    if size > have:
        fill(core, 10_000_000, size - have, turns, words)
    total = sum(core.store.count().values())
    names = {"Caroline": "Ana", "Melanie": "Ben", "Gina": "Chloe", "Jon": "Dev"}
    rng = random.Random(3)
    queries = []
    for q in rng.sample(qs, min(n_queries, len(qs))):
        for a, b in names.items():
            q = q.replace(a, b)
        queries.append(q)
    rows = []
    for expand in (True, False):
        search(core, queries[0], expand=expand)
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            search(core, q, limit=10, expand=expand, settings=core.settings.search)
            lat.append((time.perf_counter() - t0) * 1000)
        label = f"hybrid search at {total:,} memories, expansion {'on' if expand else 'off'}"
        rows.append((label, statistics.median(lat), pct(lat, 0.95)))
    core.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--baseline", type=int, default=2_000, help="messages for today's path")
    ap.add_argument("--quick", action="store_true", help="3,000 messages, baseline on 300")
    ap.add_argument(
        "--scale",
        type=int,
        default=100_000,
        help="then fill the store to this many memories and time search (0: skip)",
    )
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument(
        "--no-real",
        action="store_true",
        help="skip the CLI run with the real embedder (write path, baseline and search only)",
    )
    args = ap.parse_args()
    n, nb = (3_000, 300) if args.quick else (args.messages, args.baseline)
    chat = make_chat(n)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "chat.json"
        file.write_text(json.dumps(chat))
        home = Path(tmp) / "ours"
        dt = dt2 = 0.0
        out = out2 = progress = ""
        if not args.no_real:
            dt, out, progress = ours(file, home)
            dt2, out2, _ = ours(file, home)
        standin = Path(tmp) / "write-path"
        dt_w = write_path(file, standin)
        base = todays(chat[:nb], Path(tmp) / "today")
        scale = args.scale if not args.quick else 0
        speed = search_at_scale(standin, scale, args.queries) if scale else []
    load = os.getloadavg()[0]
    print(f"\nimport of {n:,} chat messages (generic JSON), 2 cores, load average {load:.1f}")
    print(f"{'path':<58}{'messages':>10}{'seconds':>10}{'turns/s':>10}")
    if dt:
        label = "ours: mirix ingest (CLI, bulk, links included)"
        print(f"{label:<58}{n:>10,}{dt:>10.1f}{n / dt:>10.0f}")
        label = "ours again (resume: all present, nothing added)"
        print(f"{label:<58}{n:>10,}{dt2:>10.1f}{'-':>10}")
    label = "ours, write path only (stand-in embedder, links incl.)"
    print(f"{label:<58}{n:>10,}{dt_w:>10.1f}{n / dt_w:>10.0f}")
    label = "today's: add_many + sync_vectors (baseline)"
    print(f"{label:<58}{nb:>10,}{base:>10.1f}{nb / base:>10.0f}")
    print(f"today's path extrapolated to {n:,}: {n / (nb / base):,.0f} s")
    if dt:
        print(f"ours {(n / dt) / (nb / base):.1f}x faster than today's")
        print(f"CLI said: {out}")
        print(f"last progress line: {progress}")
        print(f"re-run said: {out2}")
    if speed:
        print(f"\n{'search (limit 10)':<62}{'p50 ms':>9}{'p95 ms':>9}")
        for label, p50, p95 in speed:
            print(f"{label:<62}{p50:>9.1f}{p95:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
