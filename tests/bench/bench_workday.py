"""A simulated work day through real capture and the real pipeline, beside today's pipeline.

    .venv/bin/python tests/bench/bench_workday.py [--quick] [--interval 3] [--baseline REF]
        [--threads 1] [--json OUT.json] [--no-wm]

The day (workday_data.py: 61 screens over 10 apps, 09:00-13:00, with revisits, typing, a meeting
invite, a password manager and the app's own windows) is shown screen by screen as real Qt windows
on a private Xvfb (with openbox when installed), and the app's own screens by the real mirix GUI
(workday_gui.py). Each screen is captured through the real CaptureService (mss, change detection,
tesseract, redaction, X11 window context); the capture's time is set to the screen's time of day
(the only patch: `mirix_app.capture.capturer.now_iso`). Our capture excludes our own windows; the
capture as it was (CaptureService(exclude_own=False)) reads the own screens too, and its items are
what today's pipeline gets.

Then each pipeline sorts its captures in its own process (workday_replay.py): the captures arrive
one every `--interval` seconds (capture every 3 s), the pipeline drains the inbox in a thread as the
app's job does, a chat asks a question every 20 s with the same model (SmolLM2-135M, the shipped
one). Ours runs this tree; today's runs `--baseline` (default: the commit before issue 12) checked
out with `git archive` into a temp dir. Printed: memories per type and per 100 captures, episodic
sessions per hour of the day, captures and memories of our own windows, the backlog over time,
chat latency while the pipeline works.

Not collected by pytest (tests/bench/test_bench_workday_quick.py runs it with --quick).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_screen_qa import has_fact, table, wm_ready  # noqa: E402
from workday_data import QUESTIONS, apps, frames  # noqa: E402

from tests.capture.conftest import QtWindows, start_xvfb  # noqa: E402

BASELINE = "8c2a5ce"  # the commit before issue 12: today's capture and pipeline
DAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
WINDOW = {"x": 20, "y": 20, "w": 1860, "h": 1000}
# Text only our own windows show (the main window, quick search, tray menu).
OWN_MARKERS = re.compile(
    r"(?i)waiting to be remembered|inbox empty|search your memory|quick search|pause capture|"
    r"open mirix|everything the assistant remembers|not capturing|\bmirix\b"
)


# -- the screen ------------------------------------------------------------------------------------
@contextlib.contextmanager
def x_screen(use_wm: bool) -> Iterator[tuple[str, str]]:
    xvfb, display = start_xvfb(1920, 1080)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    wm = None
    name = "none"
    try:
        if use_wm and shutil.which("openbox"):
            wm = subprocess.Popen(
                ["openbox", "--sm-disable"],
                env={**os.environ, "DISPLAY": display},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            name = "openbox" if wm_ready(display) else "openbox (not ready)"
        yield display, name
    finally:
        if wm is not None:
            wm.terminate()
            wm.wait(10)
        xvfb.terminate()
        xvfb.wait(10)
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


class Gui:
    """The real mirix GUI in its own process (workday_gui.py)."""

    def __init__(self, display: str, home: Path) -> None:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "MIRIX_HOME": str(home),
            "PYTHONPATH": str(ROOT),
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "workday_gui.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"the GUI did not start ({self.proc.poll()})"

    def send(self, cmd: str) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok", "the GUI died"

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin
                self.proc.stdin.close()
                self.proc.wait(15)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def capture_day(core: Any, display: str, gui: Gui, day: list[dict[str, Any]]) -> dict[str, Any]:
    """Show every screen and capture it: ours (own windows excluded) for every screen, and the
    capture as it was (own windows read) for the screens of our own windows."""
    import mirix_app.capture.capturer as capturer_mod
    from mirix_app.capture.service import CaptureService
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter
    from mirix_app.memory.clock import to_iso

    settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False)
    ours = CaptureService(core, settings, adapter=X11Adapter())
    real_now = capturer_mod.now_iso
    ours_items: list[Any] = []
    old_items: list[Any] = []
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    shown: tuple[int, str] | None = None
    t_all = time.perf_counter()
    try:
        with QtWindows(display) as win:
            for fr in day:
                s, f = fr["s"], fr["f"]
                at = to_iso(DAY + timedelta(minutes=fr["minute"]))
                if s.get("own"):
                    if shown is not None and shown[0] >= 0:
                        win.close_all()
                    gui.send(f)
                    shown = (-1, "mirix")
                else:
                    if shown is not None and shown[0] == -1:
                        gui.send("hide")
                    title = s.get("dirty_title") if s.get("dirty_title") and fr["frame"] else None
                    title = title or s["title"]
                    if shown is None or shown[0] != fr["scene"]:
                        win.close_all()
                        win.open("w", title, f, **WINDOW, app=s["app"], font="sans")
                    else:
                        if title != shown[1]:
                            win.send(cmd="title", id="w", title=title)
                        win.lines("w", f)
                    shown = (fr["scene"], title)
                time.sleep(0.3)  # the WM maps and focuses it
                capturer_mod.now_iso = lambda at=at: at  # type: ignore[misc]
                t = time.perf_counter()
                ours._retry_at = 0.0  # every screen is tried, whatever the last one did
                results = ours.tick()
                if ours.state.status == "error":  # a failed cycle: count it, try again at once
                    errors.append(ours.state.message)
                    ours._retry_at = 0.0
                    results = ours.tick()
                got = [r.item for r in results if r.kept and r.item is not None]
                ms = (time.perf_counter() - t) * 1000
                ours_items += got
                if s.get("own"):
                    # The capture as it was: a fresh one (no earlier frame) reads the whole screen.
                    old = CaptureService(core, settings, exclude_own=False, adapter=X11Adapter())
                    try:
                        old_items += [r.item for r in old.tick() if r.kept and r.item is not None]
                    finally:
                        old.capturer.close()
                else:
                    old_items += got
                capturer_mod.now_iso = real_now
                rows.append(
                    {
                        "minute": fr["minute"],
                        "app": "mirix" if s.get("own") else s["app"],
                        "kept": len(got),
                        "reason": ",".join(r.reason for r in results),
                        "ms": round(ms),
                        "words": sum(int(i.meta.get("words", 0)) for i in got),
                    }
                )
    finally:
        capturer_mod.now_iso = real_now
        ours.capturer.close()
    return {
        "ours": ours_items,
        "old": old_items,
        "rows": rows,
        "errors": errors,
        "seconds": time.perf_counter() - t_all,
    }


# -- the pipelines ---------------------------------------------------------------------------------
def baseline_tree(ref: str, dest: Path) -> Path:
    """`ref`'s mirix_app, checked out into `dest` (PYTHONPATH for today's pipeline)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", ref, "mirix_app"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def capability_mode(threads: int) -> str:
    """The shipped model's capability mode, as the app finds it (cached across bench runs)."""
    from mirix_app.agent import capability
    from mirix_app.agent.models import LlamaCppModel
    from mirix_app.paths import Paths

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = Paths.under(base / "mirix-bench-capability")
    model = LlamaCppModel(None, n_ctx=4096, n_threads=threads)
    cached = capability.cached_mode(model, cache)
    if cached is not None:
        return cached.mode
    model.load()
    try:
        return capability.ensure_mode(model, cache).mode
    finally:
        model.close()


def replay(
    name: str, pythonpath: Path, items: list[Any], tmp: Path, args: argparse.Namespace, mode: str
) -> dict[str, Any]:
    items_file = tmp / f"{name}-items.json"
    items_file.write_text(json.dumps([asdict(i) for i in items]))
    q_file = tmp / "questions.json"
    q_file.write_text(json.dumps(QUESTIONS[: args.questions]))
    out = tmp / f"{name}-out.json"
    cmd = [
        sys.executable,
        str(HERE / "workday_replay.py"),
        "--items", str(items_file),
        "--questions", str(q_file),
        "--home", str(tmp / f"{name}-home"),
        "--out", str(out),
        "--interval", str(args.interval),
        "--chat-every", str(args.chat_every),
        "--threads", str(args.threads),
        "--mode", mode,
        "--drain-timeout", str(args.drain_timeout),
        "--finish-timeout", str(args.finish_timeout),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "MIRIX_HOME": str(tmp / f"{name}-home")}
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} pipeline failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(out.read_text())
    data["wall_seconds"] = time.perf_counter() - t
    return data


# -- report ----------------------------------------------------------------------------------------
def own_items(items: list[Any]) -> int:
    return sum(
        1
        for i in items
        if (i.app or "").lower() == "mirix" or OWN_MARKERS.search(f"{i.window or ''}\n{i.text}")
    )


def own_memories(mems: list[dict[str, Any]]) -> int:
    def text(m: dict[str, Any]) -> str:
        return json.dumps(m["fields"], ensure_ascii=False)

    return sum(1 for m in mems if OWN_MARKERS.search(text(m)))


def from_captures(m: dict[str, Any]) -> bool:
    return any(s["kind"] == "capture" for s in m["sources"])


def sessions_of(mems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Episodic memories of activity (what the day's screens made, events at their own time
    excluded): ours carry the session tag; today's are its per-window episodes."""
    out = []
    for m in mems:
        if m["type"] != "episodic" or not from_captures(m):
            continue
        if "extracted" in m["tags"] or m["fields"].get("event_type") in ("event", "scheduled"):
            continue
        out.append(m)
    return out


def report(
    day: list[dict[str, Any]], caps: dict[str, Any], runs: dict[str, dict[str, Any]], hours: float
) -> None:
    names = list(runs)
    n_caps = {"ours": len(caps["ours"]), "today": len(caps["old"])}
    rows: list[list[Any]] = []
    types = ["episodic", "semantic", "procedural", "resource", "vault", "core"]
    rows.append(["screens shown", *[len(day)] * len(names)])
    rows.append(["captures kept", *[n_caps[n] for n in names]])
    rows.append(["captures of our own windows", *[own_items(caps[k]) for k in ("ours", "old")]])
    rows.append(["(memories below: once every capture was processed)", "", ""])
    for t in types:
        rows.append([f"{t} memories", *[runs[n]["counts"].get(t, 0) for n in names]])
    total = {n: sum(runs[n]["counts"].values()) for n in names}
    rows.append(["memories, all types", *[total[n] for n in names]])
    rows.append(
        ["memories per 100 captures", *[f"{100 * total[n] / max(1, n_caps[n]):.0f}" for n in names]]
    )
    sess = {n: sessions_of(runs[n]["memories"]) for n in names}
    rows.append(["episodic sessions (activity)", *[len(sess[n]) for n in names]])
    rows.append(["episodic sessions per hour", *[f"{len(sess[n]) / hours:.1f}" for n in names]])
    rows.append(
        [
            "memories holding our own windows' text",
            *[own_memories(runs[n]["memories"]) for n in names],
        ]
    )
    scaffold = re.compile(r"(?i)^\s*\d+\.\s*screen\b|screen\s*\||\bunsorted\s*:|```")
    rows.append(
        [
            "titles with prompt scaffolding",
            *[
                sum(1 for m in runs[n]["memories"] if scaffold.search(str(m["fields"].get("summary", "")) + str(m["fields"].get("title", ""))))
                for n in names
            ],
        ]
    )  # fmt: skip
    rows.append(["model calls (notes, decisions, chat)", *[runs[n]["model_calls"] for n in names]])
    rows.append(["max backlog", *[max(s["backlog"] for s in runs[n]["samples"]) for n in names]])
    rows.append(["backlog when capture ended", *[runs[n]["samples"][-1]["backlog"] for n in names]])
    rows.append(
        [
            "drained after capture ended (s)",
            *[
                f"{runs[n]['drained_seconds'] - runs[n]['capture_seconds']:.0f}"
                + ("" if runs[n]["backlog_end"] == 0 else " (gave up)")
                for n in names
            ],
        ]
    )
    rows.append(["backlog at the end of that wait", *[runs[n]["backlog_end"] for n in names]])
    rows.append(["  of which put off for a later try", *[runs[n]["waiting_retry"] for n in names]])
    rows.append(
        [
            "then: the rest finished, no chat (s)",
            *[
                f"{runs[n]['finish_seconds']:.0f}"
                + (f" ({runs[n]['backlog_after_finish']} left)" if runs[n]["backlog_after_finish"] else "")
                for n in names
            ],
        ]
    )  # fmt: skip
    rows.append(
        [
            "memories tagged unsorted",
            *[sum("unsorted" in m["tags"] for m in runs[n]["memories"]) for n in names],
        ]
    )
    for n in names:
        lat = [a["seconds"] for a in runs[n]["answers"]]
        runs[n]["lat"] = lat
    rows.append(
        [
            "chat answer, median / max (s)",
            *[
                f"{statistics.median(runs[n]['lat']):.1f} / {max(runs[n]['lat']):.1f}"
                if runs[n]["lat"]
                else "-"
                for n in names
            ],
        ]
    )
    rows.append(
        [
            "chat answers holding the fact",
            *[
                f"{sum(all(has_fact(a['text'], f) for f in a['expect']) for a in runs[n]['answers'])}"
                f"/{len(runs[n]['answers'])}"
                for n in names
            ],
        ]
    )
    table(
        f"Work day ({len(day)} screens over {len(apps())} apps, {hours:.1f} h): ours vs today's pipeline",
        ["", "ours", f"today's ({BASELINE_USED})"],
        rows,
    )
    # Backlog over time.
    step = max(1, len(runs[names[0]]["samples"]) // 12)
    b_rows = []
    for i in range(0, len(runs[names[0]]["samples"]), step):
        row: list[Any] = [runs[names[0]]["samples"][i]["put"]]
        for n in names:
            s = runs[n]["samples"]
            row.append(s[i]["backlog"] if i < len(s) else "-")
        b_rows.append(row)
    b_rows.append(["end", *[runs[n]["backlog_end"] for n in names]])
    table(
        f"Backlog over time (a capture every {ARGS.interval:g} s, a chat question every "
        f"{ARGS.chat_every:g} s)",
        ["captures put", "ours", "today's"],
        b_rows,
    )
    print("\nOur sessions:")
    for m in sorted(sess["ours"], key=lambda m: m["fields"]["occurred_at"]):
        print(f"  - {m['fields']['summary']}  ({len(m['sources'])} captures)")
    print("\nToday's episodic titles (first 25):")
    for m in sorted(sess["today"], key=lambda m: m["fields"]["occurred_at"])[:25]:
        print(f"  - {str(m['fields']['summary'])[:100]}")


BASELINE_USED = BASELINE
ARGS: argparse.Namespace


def main() -> int:
    global BASELINE_USED, ARGS
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="five scenes (19 screens)")
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between captures")
    ap.add_argument("--chat-every", type=float, default=20.0, help="seconds between questions")
    ap.add_argument("--questions", type=int, default=len(QUESTIONS))
    ap.add_argument(
        "--drain-timeout", type=float, default=240.0, help="wait this long for an empty inbox"
    )
    ap.add_argument(
        "--finish-timeout",
        type=float,
        default=600.0,
        help="then this long to finish the rest (no chat), before memories are counted",
    )
    ap.add_argument("--baseline", default=BASELINE, help="git ref of today's pipeline")
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    ap.add_argument("--no-wm", action="store_true")
    ap.add_argument("--json", help="write the raw results here")
    ARGS = args = ap.parse_args()
    BASELINE_USED = args.baseline
    if not (shutil.which("tesseract") and shutil.which("Xvfb")):
        print("needs tesseract and Xvfb (apt-get install tesseract-ocr xvfb)", file=sys.stderr)
        return 2
    day = frames(args.quick)
    hours = (day[-1]["minute"] - day[0]["minute"] + 1) / 60
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mirix-bench-workday-") as tmp_s:
        tmp = Path(tmp_s)
        os.environ["MIRIX_HOME"] = str(tmp / "capture-home")
        from mirix_app.memory.core import MemoryCore
        from mirix_app.paths import Paths

        print(
            f"work day bench ({'quick' if args.quick else 'full'}): {len(day)} screens, "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        t = time.perf_counter()
        mode = capability_mode(args.threads)
        timings["capability mode of the shipped model"] = time.perf_counter() - t
        print(f"capability mode of the shipped model: {mode}", flush=True)
        core = MemoryCore.open(Paths.under(tmp / "capture-home"))
        try:
            with x_screen(not args.no_wm) as (display, wm):
                gui = Gui(display, tmp / "gui-home")
                try:
                    caps = capture_day(core, display, gui, day)
                finally:
                    gui.close()
        finally:
            core.close()
        timings["capture (both ways)"] = caps["seconds"]
        reasons: dict[str, int] = {}
        for r in caps["rows"]:
            reasons[r["reason"] or "-"] = reasons.get(r["reason"] or "-", 0) + 1
        print(
            f"captured: ours {len(caps['ours'])}, as it was {len(caps['old'])} "
            f"(wm {wm}, {caps['seconds']:.0f} s); ours per screen: "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
            + (f"; {len(caps['errors'])} failed cycle(s) retried" if caps["errors"] else ""),
            flush=True,
        )
        base = baseline_tree(args.baseline, tmp / "baseline")
        runs: dict[str, dict[str, Any]] = {}
        for name, path, items, m in (
            ("ours", ROOT, caps["ours"], mode),
            ("today", base, caps["old"], ""),
        ):
            print(f"pipeline: {name} ...", flush=True)
            runs[name] = replay(name, path, items, tmp, args, m)
            timings[f"pipeline {name} (replay + drain)"] = runs[name]["wall_seconds"]
            for e in runs[name]["errors"][:3]:
                print(f"  error: {e}")
        report(day, caps, runs, hours)
        table("Stage timings", ["stage", "seconds"], [[k, f"{v:.0f}"] for k, v in timings.items()])
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "rows": caps["rows"],
                        "capture_errors": caps["errors"],
                        "captures": {k: len(caps[k]) for k in ("ours", "old")},
                        "own_captures": {k: own_items(caps[k]) for k in ("ours", "old")},
                        "runs": {
                            n: {k: v for k, v in r.items() if k != "memories"}
                            | {"sessions": len(sessions_of(r["memories"]))}
                            for n, r in runs.items()
                        },
                        "hours": hours,
                        "timings": timings,
                    },
                    indent=1,
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
