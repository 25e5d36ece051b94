"""One pipeline run of bench_workday.py, in its own process: whichever `mirix_app` is first on
PYTHONPATH (this tree, or today's pipeline checked out from git) sorts the day's captures.

    python workday_replay.py --items ITEMS.json --home DIR --out OUT.json [--interval 3]
        [--mode phrase] [--threads 1] [--chat-every 20]

The captures (made once, by real capture on Xvfb) are put into a fresh inbox one every
`--interval` seconds, as capture would; meanwhile the pipeline drains the inbox in a thread (as
the app's processing job does) and a chat thread asks a question every `--chat-every` seconds
with the same model. The backlog is sampled at every put. Only APIs both versions have are used;
the chat marks itself as foreground where the pipeline knows how to yield (FOREGROUND).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", required=True)
    ap.add_argument("--questions", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=3.0)
    ap.add_argument("--chat-every", type=float, default=20.0)
    ap.add_argument("--mode", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--finish-timeout",
        type=float,
        default=600.0,
        help="then, with no chat and no capture, seconds to finish what is left (retries due "
        "at once), so both pipelines' memories are compared over every capture",
    )
    ap.add_argument(
        "--drain-timeout",
        type=float,
        default=240.0,
        help="seconds after the last capture to wait for an empty inbox (items the pipeline put "
        "off for a later try count as backlog)",
    )
    args = ap.parse_args()

    from mirix_app.agent import pipeline as pl
    from mirix_app.agent.chat import ChatAgent
    from mirix_app.agent.models import LlamaCppModel
    from mirix_app.agent.settings import AgentSettings
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.paths import Paths

    items = [InboxItem(**d) for d in json.loads(Path(args.items).read_text())]
    questions = json.loads(Path(args.questions).read_text())
    core = MemoryCore.open(Paths.under(Path(args.home)))
    model = LlamaCppModel(args.model, n_ctx=4096, n_threads=args.threads)
    model.load()
    kw: dict[str, Any] = {}
    if args.mode and "mode" in inspect.signature(pl.Pipeline).parameters:
        kw["mode"] = args.mode
    pipe = pl.Pipeline(core, model, AgentSettings(), **kw)
    fg = getattr(pl, "FOREGROUND", None)
    produced = threading.Event()
    stop = threading.Event()
    batches: list[dict[str, Any]] = []
    errors: list[str] = []
    t0 = time.perf_counter()

    def drain() -> None:
        while not stop.is_set():
            try:
                n = pipe.drain(
                    should_stop=stop.is_set,
                    progress=lambda p: batches.append(
                        {
                            "t": round(time.perf_counter() - t0, 2),
                            "items": p.last.items,
                            "seconds": round(p.last.seconds, 2),
                            "model_calls": p.last.model_calls,
                            "noted": p.last.noted,
                            "backlog": p.backlog,
                        }
                    ),
                )
            except Exception as e:  # reported, the run goes on
                errors.append(f"{type(e).__name__}: {e}")
                time.sleep(1)
                continue
            if n == 0:
                if produced.is_set() and core.inbox.backlog() == 0:
                    return
                time.sleep(0.3)
        core.store.release_thread()

    answers: list[dict[str, Any]] = []

    def chat() -> None:
        i = 0
        next_at = args.chat_every / 2
        while not produced.is_set() and i < len(questions):
            if time.perf_counter() - t0 < next_at:
                time.sleep(0.2)
                continue
            q, expect = questions[i]
            i += 1
            next_at += args.chat_every
            ctx = fg.chat() if fg is not None else contextlib.nullcontext()
            t = time.perf_counter()
            try:
                with ctx:
                    text = ChatAgent(core, model).ask(q, remember=False).text()
            except Exception as e:
                text = f"(error: {type(e).__name__})"
            answers.append(
                {
                    "q": q,
                    "expect": expect,
                    "text": text,
                    "seconds": round(time.perf_counter() - t, 2),
                }
            )
        core.store.release_thread()

    worker = threading.Thread(target=drain, name="drain")
    chatter = threading.Thread(target=chat, name="chat")
    worker.start()
    chatter.start()
    samples: list[dict[str, Any]] = []
    for n, it in enumerate(items, 1):
        due = t0 + (n - 1) * args.interval
        while time.perf_counter() < due:
            time.sleep(0.05)
        core.inbox.put(it)
        samples.append(
            {"t": round(time.perf_counter() - t0, 2), "put": n, "backlog": core.inbox.backlog()}
        )
    produced.set()
    captured_at = time.perf_counter() - t0
    chatter.join()
    worker.join(timeout=max(1.0, t0 + captured_at + args.drain_timeout - time.perf_counter()))
    stop.set()
    worker.join()
    drained_at = time.perf_counter() - t0
    backlog_end = core.inbox.backlog()
    realtime_counts = dict(core.stats().live)
    # Finish: whatever is left (items put off for a later try made due now), no chat meanwhile.
    t_finish = time.perf_counter()
    while core.inbox.backlog() and time.perf_counter() - t_finish < args.finish_timeout:
        with core.store.write() as con:
            con.execute("UPDATE inbox SET next_try_at=NULL WHERE status='pending'")
        left = time.perf_counter() - t_finish
        try:
            pipe.drain(should_stop=lambda: time.perf_counter() - t_finish > args.finish_timeout)
        except Exception as e:
            errors.append(f"finish: {type(e).__name__}: {e}")
            break
        if time.perf_counter() - t_finish - left < 0.5 and core.inbox.backlog():
            time.sleep(0.5)
    finish_seconds = time.perf_counter() - t_finish
    mems = [m.to_dict() for m in core.browse(limit=100000)]
    out = {
        "realtime_counts": realtime_counts,
        "finish_seconds": round(finish_seconds, 1),
        "backlog_after_finish": core.inbox.backlog(),
        "counts": dict(core.stats().live),
        "memories": mems,
        "samples": samples,
        "batches": batches,
        "answers": answers,
        "errors": errors,
        "capture_seconds": round(captured_at, 1),
        "drained_seconds": round(drained_at, 1),
        "model_calls": model.usage.calls,
        "model_seconds": round(model.usage.seconds, 1),
        "backlog_end": backlog_end,
        "waiting_retry": int(
            core.store.con.execute(
                "SELECT count(*) FROM inbox WHERE status='pending' AND attempts > 0"
            ).fetchone()[0]
        ),
        "failed_items": int(
            core.store.con.execute("SELECT count(*) FROM inbox WHERE status='failed'").fetchone()[0]
        ),
    }
    core.close()
    Path(args.out).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
