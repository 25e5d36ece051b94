"""Agent benchmarks: LoCoMo evidence recall through the agent vs the raw-message baseline, QA
accuracy (needs an OpenAI-compatible endpoint), model throughput, capture keep-up.

    .venv/bin/python tests/bench/bench_agent.py [--quick] [--conversations N] [--model FILE.gguf]

Not collected by pytest (tests/agent/test_bench_quick.py runs it with --quick).
Set MIRIX_BENCH_ENDPOINT (and MIRIX_BENCH_MODEL, MIRIX_API_KEY) for the judged QA accuracy.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
LOCOMO = ROOT.parent / "shared" / "bench" / "locomo" / "locomo_dev.json"
CATS = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in header]] + [
        [f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


def open_core(root: Path) -> Any:
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths

    return MemoryCore.open(Paths.under(root))


def dia_ids(memories: list[Any], k: int, uri: str) -> list[str]:
    """First k distinct dialog ids, walking memories in rank order and their sources in order."""
    out: list[str] = []
    for m in memories:
        for s in m.sources:
            if s.kind == "conversation" and s.uri == uri and s.ref not in out:
                out.append(s.ref)
                if len(out) >= k:
                    return out
    return out


# -- LoCoMo ------------------------------------------------------------------------------------------
def bench_locomo(model: Any, args: argparse.Namespace, tmp: Path) -> None:
    import json

    from mirix_app.agent.chat import ChatAgent
    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.memory import ingest
    from mirix_app.memory.inbox import InboxItem

    data = json.loads(LOCOMO.read_text())[: args.conversations]
    messages = ingest.parse(data, str(LOCOMO))
    k = 10
    scores: dict[str, dict[str, list[float]]] = {
        "agent": defaultdict(list),
        "baseline": defaultdict(list),
    }
    qa_rows: list[tuple[str, str, str]] = []
    ingest_rows = []
    for sample in data:
        cid = sample["sample_id"]
        msgs = [m for m in messages if m.conversation == cid]
        if args.quick:
            msgs = [m for m in msgs if m.id.startswith("D1:")][:6]
        uri = f"{LOCOMO}#{cid}"
        kept = {m.id for m in msgs}
        qs = [
            q
            for q in sample["qa"]
            if q.get("category") in CATS and q.get("evidence") and set(q["evidence"]) <= kept
        ]
        if args.quick:
            qs = qs[:10]
        # The agent: every turn through the inbox and the pipeline.
        agent_core = open_core(tmp / f"agent-{cid}")
        for m in msgs:
            agent_core.inbox.put(
                InboxItem(
                    kind="chat",
                    text=m.text,
                    at=m.time or "",
                    meta={
                        "speaker": m.speaker,
                        "message_id": m.id,
                        "conversation": uri,
                        **({"caption": m.caption} if m.caption else {}),
                    },
                )
            )
        start = time.perf_counter()
        pipe = Pipeline(agent_core, model)
        pipe.drain()
        took = time.perf_counter() - start
        counts = agent_core.store.count()
        ingest_rows.append(
            [
                cid,
                len(msgs),
                f"{took:.0f}s",
                f"{took / max(1, len(msgs)):.2f}s",
                counts["episodic"],
                counts["semantic"],
                sum(counts.values()),
            ]
        )
        # The baseline: raw turns, hybrid search.
        base_core = open_core(tmp / f"base-{cid}")
        base_core.add_many([ingest.to_memory(m, uri) for m in msgs], actor="import")
        chat = ChatAgent(agent_core, model)
        for q in qs:
            gold = set(q["evidence"])
            cat = CATS[q["category"]]
            got = dia_ids([r.memory for r in chat.retrieve(q["question"], limit=k)], k, uri)
            scores["agent"][cat].append(len(gold & set(got)) / len(gold))
            base = dia_ids([h.memory for h in base_core.search(q["question"], limit=k)], k, uri)
            scores["baseline"][cat].append(len(gold & set(base)) / len(gold))
            qa_rows.append((q["question"], str(q.get("answer", "")), cid))
        agent_core.close()
        base_core.close()
    table(
        "LoCoMo ingest through the agent",
        ["conversation", "turns", "wall", "per turn", "episodic", "semantic", "memories"],
        ingest_rows,
    )
    rows = []
    for cat in [*CATS.values(), "all"]:
        row: list[Any] = [cat]
        for name in ("agent", "baseline"):
            vals = (
                [v for c, vs in scores[name].items() for v in vs]
                if cat == "all"
                else scores[name].get(cat, [])
            )
            row.append(sum(vals) / len(vals) if vals else "-")
        row.append(
            len(scores["agent"].get(cat, []))
            if cat != "all"
            else sum(len(v) for v in scores["agent"].values())
        )
        rows.append(row)
    table(
        f"LoCoMo evidence recall@{k} (dev, {len(data)} conversation(s))",
        ["category", "agent retrieval", "raw-message baseline", "questions"],
        rows,
    )
    judge_qa(args, tmp)


def judge_qa(args: argparse.Namespace, tmp: Path) -> None:
    endpoint = os.environ.get("MIRIX_BENCH_ENDPOINT")
    if not endpoint:
        print(
            "\nQA accuracy: skipped (no OpenAI-compatible endpoint: set MIRIX_BENCH_ENDPOINT, e.g. http://localhost:11434/v1, and MIRIX_BENCH_MODEL)"
        )
        return
    import json

    from mirix_app.agent import prompts
    from mirix_app.agent.chat import ChatAgent
    from mirix_app.agent.models import ModelError, OpenAICompatModel
    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.memory import ingest
    from mirix_app.memory.inbox import InboxItem

    m = OpenAICompatModel(
        endpoint, os.environ.get("MIRIX_BENCH_MODEL", ""), api_key=os.environ.get("MIRIX_API_KEY")
    )
    data = json.loads(LOCOMO.read_text())[: args.conversations]
    right = total = 0
    for sample in data:
        cid = sample["sample_id"]
        uri = f"{LOCOMO}#{cid}"
        core = open_core(tmp / f"qa-{cid}")
        for msg in ingest.parse([sample]):
            core.inbox.put(
                InboxItem(
                    kind="chat",
                    text=msg.text,
                    at=msg.time or "",
                    meta={"speaker": msg.speaker, "message_id": msg.id, "conversation": uri},
                )
            )
        Pipeline(core, m).drain()
        chat = ChatAgent(core, m)
        for q in [q for q in sample["qa"] if q.get("category") in CATS][
            : 20 if args.quick else None
        ]:
            try:
                answer = chat.ask(q["question"], remember=False).text()
                verdict = m.structured(
                    [
                        {"role": "system", "content": prompts.JUDGE_SYSTEM},
                        {
                            "role": "user",
                            "content": f"Question: {q['question']}\nGold: {q['answer']}\nCandidate: {answer}",
                        },
                    ],
                    prompts.judge_schema(),
                    max_tokens=20,
                )
                right += bool(verdict["correct"])
            except ModelError:
                pass
            total += 1
        core.close()
    table(
        "LoCoMo QA accuracy (judged by the endpoint's model)",
        ["questions", "correct", "accuracy"],
        [[total, right, right / max(1, total)]],
    )


# -- throughput ----------------------------------------------------------------------------------------
APPS = [
    (
        "Thunderbird",
        "Inbox - Mail",
        "Inbox (12)\nFrom: Carol Diaz <carol@example.com>\nSubject: Q3 budget review moved to Thursday 14:00\nHi team, the budget review is moved to Thursday at 2 pm in room 4B.\nPlease bring the updated forecast spreadsheet.\nThanks, Carol",
    ),
    (
        "Code",
        "pipeline.py - mirix-app",
        "def process(self, items):\n    routes = [route(it) for it in items]\n    notes = self.notes(routes)\n    for r in routes:\n        cands = candidates(r, notes.get(r.item.id))\nEXPLORER\nmirix_app\nagent\nmemory\nPROBLEMS 0",
    ),
    (
        "Firefox",
        "How to configure SSH keys - GitHub Docs",
        "Generating a new SSH key\n1. Open Terminal.\n2. Paste the text below, replacing the email.\n3. ssh-keygen -t ed25519 -C your_email@example.com\n4. Add the key to the ssh-agent.\nDocs Pricing Sign in",
    ),
    (
        "Terminal",
        "bash",
        "$ git status\nOn branch main\nChanges not staged for commit:\nmodified: mirix_app/agent/chat.py\n$ pytest -q\n31 passed in 7.8s",
    ),
    (
        "Slack",
        "#design - Acme",
        "Maria Lopez 10:42 AM\nNew mockups for the onboarding flow are in Figma\nTom 10:44 AM\nLooks great, can we ship Friday?\nMessage #design",
    ),
    (
        "Calendar",
        "Week 23",
        "Monday 3 June\n09:30 Standup\n11:00 Dentist appointment\n14:00 1:1 with Alice\nTuesday 4 June\n10:00 Design review",
    ),
    (
        "evince",
        "annual-report-2023.pdf",
        "Annual Report 2023\nRevenue grew 12% to 4.1 million\nOperating margin 18%\nOutlook 2024: expansion to Spain and Portugal\nPage 3 of 40",
    ),
]


def captures(n: int, seed: int = 1) -> list[Any]:
    """Realistic captures: a user switching windows, screens often unchanged between captures."""
    from mirix_app.memory.inbox import InboxItem

    rng = random.Random(seed)
    out = []
    app = rng.choice(APPS)
    t0 = 1_717_400_000
    for i in range(n):
        if rng.random() < 0.3:
            app = rng.choice(APPS)
        name, window, text = app
        lines = text.splitlines()
        if rng.random() < 0.5:  # the screen changed a little (a new line, a scroll)
            lines = [
                *lines[rng.randrange(len(lines)) :],
                f"{rng.choice(['Updated', 'New', 'Edited'])} item {rng.randrange(1000)}",
            ]
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 5 * i))
        out.append(InboxItem(kind="capture", text="\n".join(lines), app=name, window=window, at=at))
    return out


def bench_speed(model: Any, args: argparse.Namespace, tmp: Path) -> None:
    from mirix_app.agent import prompts
    from mirix_app.agent.pipeline import Pipeline

    msgs = [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": "Describe a typical working day of a software engineer in a few sentences.",
        },
    ]
    n_tok = 16 if args.quick else 128
    rows = []
    if hasattr(model, "llm"):
        llm = model.llm
        llm.create_chat_completion(messages=msgs, max_tokens=8, temperature=0)  # warm up
        start = time.perf_counter()
        r = llm.create_chat_completion(messages=msgs, max_tokens=n_tok, temperature=0)
        dt = time.perf_counter() - start
        rows.append(
            [
                "raw llama-cpp-python",
                r["usage"]["completion_tokens"],
                f"{dt:.2f}s",
                r["usage"]["completion_tokens"] / dt,
            ]
        )
    before = model.usage.completion_tokens
    start = time.perf_counter()
    n = sum(1 for _ in model.stream(msgs, max_tokens=n_tok, temperature=0))
    dt = time.perf_counter() - start
    rows.append(["our wrapper, streamed", n, f"{dt:.2f}s", n / dt])
    start = time.perf_counter()
    before = model.usage.completion_tokens
    blocks = [f"screen | {a} | {w}\n{t[:300]}" for a, w, t in APPS[:3]]
    try:
        model.structured(
            prompts.extract_messages(blocks), prompts.extract_schema(3), max_tokens=n_tok * 3
        )
        ok = "valid"
    except Exception as e:  # the rate is what we measure here
        ok = type(e).__name__
    dt = time.perf_counter() - start
    n = model.usage.completion_tokens - before
    rows.append([f"our wrapper, JSON-schema constrained ({ok})", n, f"{dt:.2f}s", n / dt])
    table("Model throughput (same prompt, 2 threads)", ["path", "tokens", "wall", "tokens/s"], rows)

    # Wall time per batch of 20 captures, and keep-up over a simulated hour.
    n_caps = 4 if args.quick else 60
    core = open_core(tmp / "speed")
    items = captures(n_caps)
    for it in items:
        core.inbox.put(it)
    pipe = Pipeline(core, model)
    batch_times: list[tuple[int, float]] = []
    while True:
        got = core.inbox.take(20)
        if not got:
            break
        res = pipe.process(got)
        batch_times.append((len(got), res.seconds))
    per_item = sum(t for _, t in batch_times) / max(1, sum(n for n, _ in batch_times))
    rows = [[i + 1, n, f"{t:.1f}s", f"{t / n:.2f}s"] for i, (n, t) in enumerate(batch_times)]
    table(
        f"Pipeline wall time per batch (real model, {n_caps} realistic captures)",
        ["batch", "captures", "wall", "per capture"],
        rows,
    )
    counts = core.store.count()
    print(f"memories made: {sum(counts.values())} ({counts})")
    core.close()
    # The same captures when the agent is behind (load shedding: no model notes for screens).
    from mirix_app.agent.settings import AgentSettings

    core = open_core(tmp / "speed-shed")
    for it in captures(n_caps, seed=2):
        core.inbox.put(it)
    shed = Pipeline(core, model, AgentSettings(notes_backlog_limit=-1))
    start = time.perf_counter()
    shed.drain()
    per_shed = (time.perf_counter() - start) / n_caps
    core.close()
    limit = AgentSettings().notes_backlog_limit
    print(
        f"per capture: {per_item:.2f}s with model notes, {per_shed:.3f}s when shedding (queue > {limit})"
    )
    # Queue over an hour: one capture every 5 s; the agent takes batches of 20 as they wait.
    interval, hour = 5.0, 3600.0
    t = busy_until = 0.0
    queue = 0
    arrivals = int(hour / interval)
    marks = {600 * i: 0 for i in range(1, 7)}
    events = [i * interval for i in range(arrivals)]
    ai = 0
    rows = []
    while t <= hour:
        while ai < len(events) and events[ai] <= t:
            queue += 1
            ai += 1
        if t >= busy_until and queue:
            take = min(20, queue)
            cost = per_item if queue <= limit else per_shed
            queue -= take
            busy_until = t + take * cost
        for m in list(marks):
            if t >= m:
                rows.append([f"{m // 60:.0f} min", ai, queue])
                marks.pop(m)
        t += 1.0
    verdict = "keeps up" if rows and rows[-1][2] <= limit + 20 else "falls behind"
    table(
        f"Inbox backlog over a simulated hour (1 capture / {interval:.0f}s; measured {per_item:.2f}s per capture with notes, {per_shed:.3f}s shedding: {verdict})",
        ["time", "captured", "waiting"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--conversations", type=int, default=3)
    ap.add_argument("--model", help="a GGUF file (default: the shipped SmolLM2-135M-Instruct)")
    ap.add_argument("--skip", action="append", default=[], choices=["locomo", "speed"])
    args = ap.parse_args(argv)
    if args.quick:
        args.conversations = 1
    from mirix_app.agent.models import LlamaCppModel

    model = LlamaCppModel(args.model, n_ctx=4096, n_threads=2)
    start = time.perf_counter()
    model.load()
    print(f"model {model.name} loaded in {time.perf_counter() - start:.2f}s")
    with tempfile.TemporaryDirectory(prefix="mirix-bench-") as d:
        tmp = Path(d)
        os.environ["MIRIX_HOME"] = str(tmp / "home")
        if "speed" not in args.skip:
            bench_speed(model, args, tmp)
        if "locomo" not in args.skip:
            bench_locomo(model, args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
