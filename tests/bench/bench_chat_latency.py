"""Chat latency in the real window, and `mirix ask` from a shell with and without the app running.

    .venv/bin/python tests/bench/bench_chat_latency.py [--quick] [--size 10000] [--skip-cli]

Window: a store of `--size` memories (LoCoMo turns, filled like bench_memory_speed.py, plus a few
screen memories the questions are about), opened as the app opens it (Services.open: the vector
index in its helper process, the real AgentAdapter with the shipped SmolLM2, its capability check
cached first). Each question is typed into the Chat page and sent with Enter (QTest); the clock
stops when the answer text first shows in the transcript (the extractive answer), and when the
reply ends (a verified rephrasing, or the extractive answer kept). Baselines in the same run:
the same ChatAgent.ask(...).extractive called directly (no UI, no queue: the floor), and the
answer step as it was before evidence-first (the model answers from the retrieved memories,
unguarded, max_tokens 300: the user saw nothing useful until it ended).

Shell: `mirix ask --mode off|phrase` as new processes, start-up included: answered in the process
(`--local`, what a shell gets with no app running) and by the running app over its socket (a real
`mirix-app` started on the offscreen platform with the same data dir).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_agent import table  # noqa: E402

SCREENS = [
    (
        "Read 'Your Porto trip is confirmed' in Thunderbird",
        "From: Marta Silva <marta@lumentravel.pt>\nFlight TP1947 Lisbon to Porto\n"
        "Thursday 12 March, 07:45, gate A14\nBooking reference: QX7-22841",
    ),
    (
        "Read 'Shakshuka for two' in Firefox",
        "Ingredients\n2 tbsp olive oil\n1 onion\n4 eggs\n400 g chopped tomatoes\n1 tsp cumin",
    ),
    (
        "Read 'Dentist appointment' in Thunderbird",
        "Dr. Amara Okafor, Riverside Dental\nCheck-up on Tuesday 17 March at 15:30, room 2",
    ),
    (
        "Chatted in #billing-team in Slack",
        "Jonas Weber: the design review moved to Thursday 3 pm, room Aurora\n"
        "Priya: rate limit for the payments API is 120 requests per minute",
    ),
]
QUESTIONS = [
    "When is my flight to Porto and from which gate?",
    "How many eggs do I need for the shakshuka?",
    "Who is my dentist?",
    "Where is the design review?",
    "What is the rate limit of the payments API?",
    "What is my booking reference?",
    "When is the dentist check-up?",
    "Who moved the design review?",
]


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))] if s else float("nan")


def build_store(root: Path, size: int) -> None:
    from bench_ui import locomo_turns, prepare_store

    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.types import Memory, MemoryType
    from mirix_app.paths import Paths

    turns, _chat = locomo_turns()
    how = prepare_store(root, size, turns)
    with MemoryCore.open(Paths.under(root)) as core:
        for title, details in SCREENS:
            core.add(
                Memory(
                    MemoryType.EPISODIC,
                    {"summary": title, "details": details, "occurred_at": "2026-03-02T09:00:00Z"},
                )
            )
        n = sum(core.stats().live.values())
    print(f"store: {n:,} memories ({how})", file=sys.stderr)


def bench_window(root: Path, questions: list[str]) -> list[list[Any]]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mirix_app.agent import capability, prompts
    from mirix_app.agent.chat import ChatAgent
    from mirix_app.paths import Paths
    from mirix_app.ui.main_window import MainWindow
    from mirix_app.ui.services import Services
    from mirix_app.ui.workers import Runner

    app = QApplication.instance() or QApplication([])
    paths = Paths.under(root)
    svc = Services.open(paths)
    agent = svc.agent
    agent.load()
    model = agent.chat_model
    print(f"chat mode: {capability.cached_mode(model, paths)}", file=sys.stderr)
    runner = Runner()
    win = MainWindow(svc, runner)
    win.show()
    win.show_page("chat")
    view = win.chat

    def spin_until(pred: Any, timeout: float) -> float | None:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            app.processEvents()
            if pred():
                return time.perf_counter()
            time.sleep(0.001)
        return None

    first, final = [], []
    for q in ["warm-up question about Porto", *questions]:
        view.input.setFocus()
        QTest.keyClicks(view.input, q)
        t0 = time.perf_counter()
        QTest.keyClick(view.input, Qt.Key.Key_Return)
        if view.task is None:  # Enter may insert a newline in some builds: send explicitly
            view.send()
        turn = view.turns[-1]
        t1 = spin_until(lambda t=turn: bool(t.text.strip()), 30)
        t2 = spin_until(lambda: view.task is None, 120)
        if q.startswith("warm-up"):
            continue
        if t1 is not None:
            first.append((t1 - t0) * 1000)
        if t2 is not None:
            final.append((t2 - t0) * 1000)
    direct, generative = [], []
    chat = ChatAgent(svc.core, None, mode="off")
    for q in questions:
        t0 = time.perf_counter()
        chat.ask(q, remember=False)
        direct.append((time.perf_counter() - t0) * 1000)
    for q in questions:
        t0 = time.perf_counter()
        retrieved = chat.retrieve(q)
        context = [(r.memory.id, r.text) for r in retrieved[:6]]
        msgs = prompts.chat_messages([], context, q, [])
        "".join(model.stream(msgs, max_tokens=300))
        generative.append((time.perf_counter() - t0) * 1000)
    win._status_timer.stop()
    runner.shutdown()
    svc.close()
    return [
        ["window: Enter -> extractive answer shown", len(first), pct(first, 0.5), pct(first, 0.95)],
        ["window: Enter -> reply ended (verified)", len(final), pct(final, 0.5), pct(final, 0.95)],
        ["baseline: ChatAgent.ask, no UI", len(direct), pct(direct, 0.5), pct(direct, 0.95)],
        [
            "baseline: old answer step (model, unguarded)",
            len(generative),
            pct(generative, 0.5),
            pct(generative, 0.95),
        ],
    ]


def bench_cli(root: Path, questions: list[str]) -> list[list[Any]]:
    from mirix_app.instance import ask_running
    from mirix_app.paths import Paths

    env = {**os.environ, "MIRIX_HOME": str(root)}
    mirix = [sys.executable, "-m", "mirix_app.cli", "ask", "--no-remember", "--json"]

    def timed(extra: list[str]) -> list[float]:
        out = []
        for q in questions:
            t0 = time.perf_counter()
            r = subprocess.run(
                [*mirix, *extra, q], env=env, capture_output=True, text=True, timeout=180
            )
            out.append(time.perf_counter() - t0)
            if r.returncode != 0:
                raise SystemExit(f"mirix ask failed: {r.stderr[-400:]}")
        return out

    rows = []
    for mode in ("off", "phrase"):
        t = timed(["--local", "--mode", mode])
        rows.append([f"in the process (no app), --mode {mode}", len(t), pct(t, 0.5), pct(t, 0.95)])
    app = subprocess.Popen(
        [sys.executable, "-m", "mirix_app", "--no-tray", "--minimized"],
        env={**env, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        paths = Paths.under(root)
        deadline = time.time() + 180
        while time.time() < deadline:
            probe = ask_running(paths, {"question": "ping", "mode": "off", "remember": False})
            if probe is not None:
                break
            time.sleep(1)
        else:
            raise SystemExit("the app did not start answering within 180 s")
        for mode in ("off", "phrase"):
            t = timed(["--mode", mode])
            rows.append([f"by the running app, --mode {mode}", len(t), pct(t, 0.5), pct(t, 0.95)])
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="2,000 memories, 4 questions")
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args(argv)
    size, questions = (2_000, QUESTIONS[:4]) if args.quick else (args.size, QUESTIONS)
    with tempfile.TemporaryDirectory(prefix="mirix-bench-chat-") as d:
        root = Path(d) / "home"
        os.environ["MIRIX_HOME"] = str(root)
        build_store(root, size)
        rows = bench_window(root, questions)
        table(
            f"Chat in the window at {size:,} memories ({os.cpu_count()} cores, ms)",
            ["path", "questions", "p50", "p95"],
            rows,
        )
        if not args.skip_cli:
            cli = bench_cli(root, questions)
            table(
                f"`mirix ask` wall time, process start included ({size:,} memories, seconds)",
                ["path", "questions", "p50", "p95"],
                cli,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
