"""Answer quality and latency: LoCoMo QA on the dev split, every answering system in one run.

    .venv/bin/python tests/bench/bench_answers.py [--quick] [--model-sample N] [--model FILE.gguf]
        [--skip-latency] [--latency-only] [--compare-with DIR]

Systems (same memories, same retrieval):
  (a) generative   today's path before evidence-first: the retrieved memories in a prompt, the
                   shipped model answers unguarded (max_tokens 300)
  (b) top hit      the top retrieved memory's text is the answer
  (c) evidence     evidence-first, no model (the extractive answer's words)
  (d) evidence+LLM evidence-first, the model rephrases; a rephrasing is used only once verified
  (e) --model      (d) with another GGUF, when given

Metrics per category: token F1 as in the LoCoMo paper (lower-case, punctuation and articles
dropped) and "short hit": the normalized gold answer inside an answer of at most 30 words.
The model systems run on a seeded sample of questions (--model-sample per conversation); the
table gives (b) and (c) on that sample too, so the rows compare like with like.

Latency: `mirix ask` as a user runs it (a new process each time, start-up included) on 2 cores,
extractive and with model phrasing forced on: p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_agent import table  # noqa: E402
from locomo_data import CANDIDATES, locomo_path  # noqa: E402

LOCOMO = locomo_path() or CANDIDATES[0]
CATS = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
_CITE = re.compile(r"\[(?:cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26}\]")


# -- metrics ------------------------------------------------------------------------------------
def normalize(text: str) -> list[str]:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the|and)\b", " ", text)
    return text.split()


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred), normalize(str(gold))
    if not p or not g:
        return float(p == g)
    common = Counter(p) & Counter(g)
    n = sum(common.values())
    if not n:
        return 0.0
    precision, recall = n / len(p), n / len(g)
    return 2 * precision * recall / (precision + recall)


def short_hit(pred: str, gold: str) -> bool:
    p, g = normalize(pred), normalize(str(gold))
    if not g or len(pred.split()) > 30:
        return False
    return f" {' '.join(g)} " in f" {' '.join(p)} "


def clean(answer: str) -> str:
    """An answer's words: citations out, first line (the headline) only."""
    first = answer.strip().splitlines()[0] if answer.strip() else ""
    return " ".join(_CITE.sub("", first).split())


# -- systems ----------------------------------------------------------------------------------------
def generative(chat: Any, model: Any, question: str) -> str:
    """The answer step as it was: memories in the prompt, the model speaks unguarded."""
    from mirix_app.agent import prompts

    retrieved = chat.retrieve(question)
    context, budget = [], 3500
    for r in retrieved:
        if budget - len(r.text) < 0 and context:
            break
        context.append((r.memory.id, r.text))
        budget -= len(r.text)
    msgs = prompts.chat_messages(chat.core_blocks(), context, question, [])
    return "".join(model.stream(msgs, max_tokens=300))


def top_hit(chat: Any, question: str) -> str:
    retrieved = chat.retrieve(question)
    return retrieved[0].memory.title if retrieved else ""


def run_locomo(args: argparse.Namespace, tmp: Path) -> None:
    from mirix_app.agent.chat import ChatAgent
    from mirix_app.agent.models import LlamaCppModel
    from mirix_app.memory import ingest
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths

    data = json.loads(LOCOMO.read_text())[: args.conversations]
    models: dict[str, Any] = {"SmolLM2-135M": LlamaCppModel(n_threads=2)}
    if args.model:
        models[Path(args.model).stem] = LlamaCppModel(args.model, n_threads=2)
    for m in models.values():
        m.load()
    rng = random.Random(args.seed)
    scores: dict[str, dict[int, list[tuple[float, bool]]]] = defaultdict(lambda: defaultdict(list))
    phrased = Counter()
    seconds: dict[str, list[float]] = defaultdict(list)
    for sample in data:
        cid = sample["sample_id"]
        core = MemoryCore.open(Paths.under(tmp / cid))
        t0 = time.perf_counter()
        ingest.ingest(core, LOCOMO, conversation=cid)
        print(f"{cid}: ingested in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        qs = [q for q in sample["qa"] if q.get("category") in CATS and "answer" in q]
        if args.quick:
            qs = qs[:20]
        sampled = {id(q) for q in rng.sample(qs, min(len(qs), args.model_sample))}
        extractive = ChatAgent(core, None, mode="off")
        for q in qs:
            question, gold, cat = q["question"], str(q["answer"]), q["category"]
            t = time.perf_counter()
            reply = extractive.ask(question, remember=False)
            reply.text()
            seconds["evidence"].append(time.perf_counter() - t)
            systems = {
                "(b) top hit": top_hit(extractive, question),
                "(c) evidence": reply.extractive.short,
            }
            if id(q) in sampled:
                for label, text in list(systems.items()):
                    systems[f"{label} [sample]"] = text
                smol = models["SmolLM2-135M"]
                t = time.perf_counter()
                systems["(a) generative SmolLM2 [sample]"] = generative(extractive, smol, question)
                seconds["generative"].append(time.perf_counter() - t)
                for name, model in models.items():
                    tag = "(d)" if name == "SmolLM2-135M" else "(e)"
                    chat = ChatAgent(core, model, mode="phrase")
                    t = time.perf_counter()
                    r = chat.ask(question, remember=False)
                    final = r.text()
                    seconds[f"{tag} {name}"].append(time.perf_counter() - t)
                    phrased[f"{tag} {name}"] += r.phrased
                    phrased[f"{tag} {name} n"] += 1
                    systems[f"{tag} evidence+{name} [sample]"] = (
                        clean(final) if r.phrased else r.extractive.short
                    )
            for label, text in systems.items():
                text = clean(text) if not label.startswith("(c)") else text
                scores[label][cat].append((f1(text, gold), short_hit(text, gold)))
        core.close()
    rows = []
    for label in sorted(scores, key=lambda s: (s.endswith("[sample]"), s)):
        by_cat = scores[label]
        allv = [v for c in by_cat.values() for v in c]
        row: list[Any] = [label, len(allv)]
        for c in CATS:
            vals = by_cat.get(c, [])
            row.append(sum(f for f, _ in vals) / len(vals) if vals else "-")
        row.append(sum(f for f, _ in allv) / len(allv))
        row.append(sum(h for _, h in allv) / len(allv))
        rows.append(row)
    table(
        f"LoCoMo QA, dev split ({len(data)} conversation(s)): token F1 per category, overall F1, "
        "short hit (gold inside an answer of <= 30 words)",
        ["system", "questions", *CATS.values(), "F1", "short hit"],
        rows,
    )
    for key in [k for k in phrased if not k.endswith(" n")]:
        print(f"{key}: rephrasing verified and used for {phrased[key]}/{phrased[key + ' n']}")
    lat = [
        [name, len(v), statistics.median(v) * 1000, _p95(v) * 1000] for name, v in seconds.items()
    ]
    table("Answer time in process (ms)", ["system", "n", "p50", "p95"], lat)


def _p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def run_latency(args: argparse.Namespace, tmp: Path) -> None:
    """`mirix ask` in a new process per question, as from a shell."""
    from mirix_app.memory import ingest
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths

    data = json.loads(LOCOMO.read_text())
    cid = data[0]["sample_id"]
    home = tmp / "latency-home"
    env = dict(os.environ, MIRIX_HOME=str(home))
    with MemoryCore(Paths.under(home)) as core:
        ingest.ingest(core, LOCOMO, conversation=cid)
    questions = [q["question"] for q in data[0]["qa"] if q.get("category") in CATS]
    questions = random.Random(args.seed).sample(questions, 5 if args.quick else 15)
    load_before = os.getloadavg()[0]  # before the runs; after includes their own load
    checkouts = [("ours", ROOT)]
    if args.compare_with:
        checkouts.append(("baseline", Path(args.compare_with).resolve()))
    ask = [sys.executable, "-m", "mirix_app.cli", "ask", "--no-remember", "--json", "--local"]
    rows = []
    for label, mode in (("extractive (no model)", "off"), ("with SmolLM2 phrasing", "phrase")):
        # Each checkout's own code, same store, same questions; interleaved per question so a
        # change in the machine's load falls on both.
        times: dict[str, list[float]] = {name: [] for name, _ in checkouts}
        for question in questions:
            for name, checkout in checkouts:
                t = time.perf_counter()
                r = subprocess.run(
                    [*ask, "--mode", mode, question],
                    env=dict(env, PYTHONPATH=str(checkout)),
                    cwd=checkout,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                times[name].append(time.perf_counter() - t)
                if r.returncode != 0:
                    raise SystemExit(f"mirix ask ({name}) failed: {r.stderr[-500:]}")
        for name, v in times.items():
            rows.append([label, name, len(v), statistics.median(v), _p95(v)])
    table(
        f"`mirix ask` wall time, process start included ({os.cpu_count()} cores, {cid}, "
        f"load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, seconds)",
        ["path", "code", "questions", "p50", "p95"],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 conversation, 20 questions")
    ap.add_argument("--conversations", type=int, default=3)
    ap.add_argument("--model-sample", type=int, default=20, help="questions per conversation")
    ap.add_argument("--model", help="another GGUF to evaluate as system (e)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--latency-only", action="store_true", help="skip LoCoMo QA")
    ap.add_argument(
        "--compare-with",
        metavar="DIR",
        help="another checkout (git worktree add /tmp/base main) timed beside this one",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.conversations, args.model_sample = 1, 5
    with tempfile.TemporaryDirectory(prefix="mirix-bench-answers-") as d:
        os.environ["MIRIX_HOME"] = str(Path(d) / "home")
        if not args.latency_only:
            run_locomo(args, Path(d))
        if not args.skip_latency:
            run_latency(args, Path(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
