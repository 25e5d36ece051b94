"""Agent benchmarks: LoCoMo evidence recall through the agent vs the raw-message baseline, QA
accuracy (needs an OpenAI-compatible endpoint), model throughput, capture keep-up.

    .venv/bin/python tests/bench/bench_agent.py [--quick] [--conversations N] [--model FILE.gguf]
        [--model-sample N] [--skip speed|locomo]

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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_data import CANDIDATES, locomo_path  # noqa: E402

LOCOMO = locomo_path() or CANDIDATES[0]
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
KS = (5, 10, 20)


def turn_item(m: Any, uri: str) -> Any:
    """One conversation turn as the inbox item an import puts in the queue."""
    from mirix_app.memory.inbox import InboxItem

    return InboxItem(
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


def bench_locomo(model: Any, args: argparse.Namespace, tmp: Path) -> None:
    """Each conversation's turns go through the inbox and the pipeline (routing + the managers'
    add/update/merge decisions, sources = dia_ids). Model notes only for a fixed random sample of
    --model-sample turns per conversation (-1: every turn, the slow full path); the rest are
    sorted by the deterministic signals alone (AgentSettings.import_notes = False)."""
    import json

    from mirix_app.agent.chat import ChatAgent
    from mirix_app.agent.pipeline import Pipeline, Progress
    from mirix_app.agent.settings import AgentSettings
    from mirix_app.agent.signals import Route
    from mirix_app.memory import ingest

    data = json.loads(LOCOMO.read_text())[: args.conversations]
    messages = ingest.parse(data, str(LOCOMO))
    scores: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    ingest_rows = []
    search_s = {"agent": 0.0, "baseline": 0.0}
    n_questions = 0
    for sample in data:
        cid = sample["sample_id"]
        msgs = [m for m in messages if m.conversation == cid]
        if args.quick:
            msgs = [m for m in msgs if m.id.startswith("D1:")][:6]
        uri = f"{LOCOMO.resolve()}#{cid}"  # as mirix_app.memory.ingest names it
        kept = {m.id for m in msgs}
        qs = [
            q
            for q in sample["qa"]
            if q.get("category") in CATS and q.get("evidence") and set(q["evidence"]) <= kept
        ]
        if args.quick:
            qs = qs[:10]
        n_questions += len(qs)
        # The agent: every turn through the inbox and the pipeline.
        agent_core = open_core(tmp / f"agent-{cid}")
        for m in msgs:
            agent_core.inbox.put(turn_item(m, uri))
        if args.model_sample < 0:
            want = None  # every turn: the settings' default (import_notes = True)
            settings = AgentSettings()
        else:
            ids = [m.id for m in msgs]
            sampled = set(
                random.Random(f"{args.seed}:{cid}").sample(ids, min(len(ids), args.model_sample))
            )

            def want(r: Route, sampled: set[str] = sampled) -> bool:
                return str((r.item.meta or {}).get("message_id")) in sampled

            settings = AgentSettings(import_notes=False)
        stats = {"noted": 0, "calls": 0, "unsorted": 0}

        def count(p: Progress, stats: dict[str, int] = stats) -> None:
            stats["noted"] += p.last.noted
            stats["calls"] += p.last.model_calls
            stats["unsorted"] += p.last.unsorted

        start = time.perf_counter()
        Pipeline(agent_core, model, settings, want_notes=want).drain(progress=count)
        took = time.perf_counter() - start
        counts = agent_core.store.count()
        cites = [len(m.sources) for m in agent_core.browse(limit=100_000)]
        ingest_rows.append(
            [
                cid,
                len(msgs),
                stats["noted"],
                stats["calls"],
                stats["unsorted"],
                f"{took:.0f}s",
                f"{took / max(1, len(msgs)):.2f}s",
                counts["episodic"],
                counts["semantic"],
                sum(counts.values()),
                max(cites, default=0),
            ]
        )
        # The baseline: the memory core's import of the raw turns (each with its neighbours as
        # context, citing only itself), hybrid search.
        base_core = open_core(tmp / f"base-{cid}")
        if args.quick:
            base_core.add_many([ingest.to_memory(m, uri) for m in msgs], actor="import")
        else:
            ingest.ingest(base_core, LOCOMO, conversation=cid)
        chat = ChatAgent(agent_core, model)
        for q in qs:
            gold = set(q["evidence"])
            cat = CATS[q["category"]]
            for k in KS:
                t0 = time.perf_counter()
                got = dia_ids([r.memory for r in chat.retrieve(q["question"], limit=k)], k, uri)
                t1 = time.perf_counter()
                base = dia_ids([h.memory for h in base_core.search(q["question"], limit=k)], k, uri)
                search_s["agent"] += t1 - t0
                search_s["baseline"] += time.perf_counter() - t1
                scores[("agent", k)][cat].append(len(gold & set(got)) / len(gold))
                scores[("baseline", k)][cat].append(len(gold & set(base)) / len(gold))
        agent_core.close()
        base_core.close()
    sample_note = (
        "every turn" if args.model_sample < 0 else f"a fixed sample of {args.model_sample} turn(s)"
    )
    table(
        f"LoCoMo ingest through the agent (model notes for {sample_note} per conversation)",
        [
            "conversation",
            "turns",
            "model notes",
            "model calls",
            "unsorted",
            "wall",
            "per turn",
            "episodic",
            "semantic",
            "memories",
            "max sources",
        ],
        ingest_rows,
    )
    rows = []
    for cat in [*CATS.values(), "all"]:
        row: list[Any] = [cat]
        for k in KS:
            for name in ("agent", "baseline"):
                per = scores[(name, k)]
                vals = [v for vs in per.values() for v in vs] if cat == "all" else per.get(cat, [])
                row.append(sum(vals) / len(vals) if vals else "-")
        per = scores[("agent", KS[0])]
        row.append(sum(len(v) for v in per.values()) if cat == "all" else len(per.get(cat, [])))
        rows.append(row)
    header = ["category"]
    for k in KS:
        header += [f"agent @{k}", f"raw @{k}"]
    table(
        f"LoCoMo evidence recall@5, recall@10, recall@20 (dev, {len(data)} conversation(s); agent = ChatAgent.retrieve"
        " mapped through memory sources, raw = raw-message hybrid baseline; budget k dialog ids)",
        [*header, "questions"],
        rows,
    )
    per_q = max(1, n_questions * len(KS))
    print(
        f"retrieval time per query: agent {1000 * search_s['agent'] / per_q:.0f} ms, "
        f"baseline {1000 * search_s['baseline'] / per_q:.0f} ms"
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
    from mirix_app.agent.settings import AgentSettings

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
    # --quick: two captures and one structured-output try (a smoke test: on a busy 2-core box
    # one constrained call of a few notes takes tens of seconds).
    n_caps = 2 if args.quick else 60
    core = open_core(tmp / "speed")
    items = captures(n_caps)
    for it in items:
        core.inbox.put(it)
    pipe = Pipeline(core, model, AgentSettings(max_attempts=1) if args.quick else AgentSettings())
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
    ap.add_argument(
        "--model-sample",
        type=int,
        default=0,
        help="LoCoMo: model notes for this many random turns per conversation (default 0: "
        "deterministic sorting only; -1 = every turn, the slow full path)",
    )
    ap.add_argument("--seed", type=int, default=1, help="seed of the --model-sample draw")
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
