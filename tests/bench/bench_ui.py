"""UI responsiveness: the longest Qt event-loop stall while capture and the agent are busy, and the
keystroke-to-results time of quick search at 100k memories.

    .venv/bin/python tests/bench/bench_ui.py [--quick] [--window 60] [--size 100000] [--why] [--gil]
        [--phases idle,typing,capture,agent,busy,baselines]
    .venv/bin/python tests/bench/bench_ui.py --rss [--size 500] [--before /work/main]

--rss measures memory instead: resident memory summed over ALL the app's processes (the GUI
process, the vector helper, tesseract and any other child) when idle, capturing and answering,
with the model loaded at start and kept (eager, MIRIX_EAGER_MODEL=1) and loaded on first use and
unloaded when idle (lazy, [runtime] model_idle_minutes; shortened to 0.1 here so "idle" comes in
seconds), each in a fresh process on a copy of the same store, in the same run. `--before DIR`
adds a column for the code in another checkout (e.g. the main branch before the runtime).

Everything is real: a QApplication with the real MirixApp (main window, quick-search popup, workers,
runtime events), the real CaptureService (mss + tesseract) on an Xvfb screen whose text changes all
the time, the real agent (its runtime loop with the shipped SmolLM2 model) draining a backlog of LoCoMo
chat turns, and a store of real LoCoMo texts (100k: /tmp/mx100k is copied when it holds exactly
100k memories, else filled like bench_memory_speed.py; --quick: 5k).

Stalls: a 5 ms precise QTimer records every gap between ticks; stall = gap - 5 ms. Each phase is
compared with a baseline measured in the same run: the same work done ON the Qt thread (a capture
cycle in a timer slot, the search in the textChanged slot, one agent batch in a slot) - what a
blocking design would cost.

Keystrokes: realistic queries typed character by character with QTest.keyClicks and 80-150 ms
between keys; latency = key event to the popup's list filled for that text (or for a later text,
when the user typed on before this one's results came: "superseded"). Baseline: services.search
(the exact call the popup makes) timed synchronously for the same strings.

--why samples the Qt thread's Python stack whenever it has not ticked for 40 ms and prints where
the longest stalls were spent (a little extra load; off by default).

--gil runs a GIL probe: a Python thread sleeping 2 ms that, whenever it wakes 25 ms late, records
every thread's stack; the thread that held the GIL is the one not parked in a GIL-releasing wait.
Each stall over 50 ms is also checked against the reference process ("not OS" columns): a stall
the reference process shared is the OS starving everything, not this process holding its GIL.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# --rss --before runs its child on another checkout's code.
sys.path.insert(0, os.environ.get("MIRIX_BENCH_CODE") or str(ROOT))
sys.path.insert(0, str(HERE))

PREFILLED = Path("/tmp/mx100k")
TICK_MS = 5
TARGET_STALL_MS = 50.0
TARGET_KEY_MS = 100.0
PHASES = ("idle", "typing", "capture", "agent", "busy", "baselines")
# What people type into a quick search over the LoCoMo conversations the store is made of.
QUERIES = [
    "pottery class",
    "lgbtq support group",
    "adoption agency",
    "camping with the kids",
    "charity race",
    "painting a sunset",
    "moving back to sweden",
    "book recommendation",
]


# -- small helpers -------------------------------------------------------------------------------
def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[f"{c:.1f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed (apt-get install xvfb)")
    for n in range(57, 200):
        if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-s", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise SystemExit("Xvfb did not start")


class Screen:
    """Real windows on the Xvfb screen (tests/capture/qt_windows.py in its own process) whose text
    changes every ~0.8 s, so every capture cycle finds new text to OCR."""

    def __init__(self, display: str, texts: list[str]) -> None:
        import json

        self._json = json
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "capture" / "qt_windows.py"), "bench-notes"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.texts = texts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.send(
            cmd="open",
            id="w",
            title="notes.txt - gedit",
            lines=self._page(0),
            x=0,
            y=0,
            w=900,
            h=1000,
        )

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(self._json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError("the window helper died")

    def _page(self, k: int) -> list[str]:
        out: list[str] = []
        for t in self.texts[k * 7 % len(self.texts) :][:12]:
            out += [t[i : i + 80] for i in range(0, min(len(t), 160), 80)]
        return out[:30]

    def run(self) -> None:
        def loop() -> None:
            k = 1
            while not self._stop.wait(0.8):
                try:
                    self.send(cmd="lines", id="w", lines=self._page(k))
                except Exception:
                    return
                k += 1

        self._thread = threading.Thread(target=loop, name="screen-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()


PROBE = """
import array, sys, threading, time
out = sys.argv[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
buf = array.array("d")
last = time.perf_counter()
while not stop.is_set():
    time.sleep(0.005)
    now = time.perf_counter()
    buf.append(now)
    buf.append((now - last) * 1000 - 5)
    last = now
with open(out, "wb") as f:
    buf.tofile(f)
"""


class Probe:
    """The same 5 ms tick in a separate process (no GIL, no Qt): how long the OS alone kept a
    thread from running on this shared machine during each phase."""

    def __init__(self, tmp: Path) -> None:
        self.out = tmp / "probe.bin"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(self.out)], stdin=subprocess.PIPE
        )
        self.samples: list[tuple[float, float]] = []

    def stop(self) -> None:
        import array

        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        buf = array.array("d")
        with self.out.open("rb") as f:
            buf.frombytes(f.read())
        self.samples = list(zip(buf[0::2], buf[1::2], strict=True))

    def gaps(self, start: float, end: float) -> list[float]:
        return [max(0.0, g) for t, g in self.samples if start < t <= end]

    def overlapping(self, start: float, end: float) -> float:
        """The longest stall of the reference process that overlaps [start, end] (seconds)."""
        longest = 0.0
        for t, g in self.samples:
            if t - (g + TICK_MS) / 1000 < end and t > start:
                longest = max(longest, g)
        return longest


# -- the store -----------------------------------------------------------------------------------
def count_memories(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(con.execute("SELECT count(*) FROM memories").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def prepare_store(root: Path, size: int, turns: list[str]) -> str:
    """A store of `size` memories under `root`; returns how it was made."""
    if size == 100_000 and count_memories(PREFILLED / "data" / "memory.db") == size:
        t0 = time.perf_counter()
        shutil.copytree(PREFILLED, root, dirs_exist_ok=True)
        return f"copied {PREFILLED} in {time.perf_counter() - t0:.0f} s"
    import re

    from bench_memory_speed import PoolEmbedder, fill

    from mirix_app.memory.core import MemoryCore, shared_embedder
    from mirix_app.paths import Paths

    t0 = time.perf_counter()
    words = sorted({w for t in turns for w in re.findall(r"[a-z]{4,}", t.lower())})
    pool = PoolEmbedder(shared_embedder(), turns[: min(3000, max(300, size // 30))])
    core = MemoryCore.open(Paths.under(root), embedder=pool)
    fill(core, 0, size, turns, words)
    core.close()
    return f"filled in {time.perf_counter() - t0:.0f} s"


def locomo_turns() -> tuple[list[str], list[dict[str, Any]]]:
    import json

    from locomo_data import locomo_path

    path = locomo_path()
    if path is None:
        raise SystemExit("LoCoMo data not found (texts for the store): set MIRIX_LOCOMO")
    from mirix_app.memory import ingest

    data = json.loads(path.read_text())
    msgs = ingest.parse(data, str(path))
    turns = [f"{m.speaker}: {m.text}" for m in msgs]
    chat = [
        {
            "text": m.text,
            "at": m.time or "",
            "meta": {
                "speaker": m.speaker,
                "message_id": m.id,
                "conversation": f"{path}#{m.conversation}",
            },
        }
        for m in msgs
    ]
    return turns, chat


# -- measuring the event loop ----------------------------------------------------------------------
@dataclass
class Stalls:
    name: str
    design: str
    seconds: float = 0.0
    ticks: list[float] = field(default_factory=list)
    work: str = ""
    why: list[tuple[float, str]] = field(default_factory=list)

    def gaps(self) -> list[float]:
        t = self.ticks
        return [max(0.0, (b - a) * 1000 - TICK_MS) for a, b in itertools.pairwise(t)]

    def own(self, probe: Probe | None) -> list[float]:
        """Our stalls over the target that the reference process did not share (it was not
        stalled at least half as long at the same time): the ones the OS does not explain."""
        out = []
        for (a, b), g in zip(itertools.pairwise(self.ticks), self.gaps(), strict=True):
            if g > TARGET_STALL_MS and (probe is None or probe.overlapping(a, b) < g / 2):
                out.append(g)
        return out

    def row(self, probe: Probe | None = None) -> list[Any]:
        g = self.gaps()
        over = sum(1 for x in g if x > TARGET_STALL_MS)
        own = self.own(probe)
        pg = probe.gaps(self.ticks[0], self.ticks[-1]) if probe and self.ticks else []
        return [
            self.name,
            self.design,
            f"{self.seconds:.0f}",
            len(g),
            pct(g, 0.5),
            pct(g, 0.99),
            max(g) if g else float("nan"),
            f"{self.ticks[g.index(max(g))] - self.ticks[0]:.1f}" if g else "-",
            over,
            len(own),
            max(own, default=0.0),
            pct(pg, 0.99),
            max(pg) if pg else float("nan"),
            self.work,
        ]


class Ticker:
    """A 5 ms precise timer on the Qt thread; optionally a watchdog that samples the Qt thread's
    Python stack when it has not ticked for 40 ms (`--why`)."""

    def __init__(self, why: bool) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.current: Stalls | None = None
        self.last = time.perf_counter()
        self._why = why
        self._sampled: tuple[float, str] | None = None
        self._main = threading.main_thread().ident
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread_gaps: list[tuple[float, float]] = []  # the watchdog's own lateness (GIL + OS)
        if why:
            threading.Thread(target=self._watch, name="stall-watchdog", daemon=True).start()

    def _tick(self) -> None:
        now = time.perf_counter()
        cur = self.current
        if cur is not None:
            cur.ticks.append(now)
            if self._why:
                with self._lock:
                    s, self._sampled = self._sampled, None
                gap = (now - self.last) * 1000 - TICK_MS
                if s is not None and gap > 40:
                    cur.why.append((gap, s[1]))
        self.last = now

    def _watch(self) -> None:
        before = time.perf_counter()
        while not self._stop.wait(0.01):
            now = time.perf_counter()
            self.thread_gaps.append((now, (now - before) * 1000 - 10))
            before = now
            last = self.last
            if (time.perf_counter() - last) * 1000 > 40 and self.current is not None:
                with self._lock:
                    if self._sampled is not None and self._sampled[0] == last:
                        continue
                frame = sys._current_frames().get(self._main or 0)
                stack = traceback.format_stack(frame, limit=14) if frame else []
                text = "".join(stack[-10:])
                with self._lock:
                    self._sampled = (last, text)

    def begin(self, s: Stalls) -> None:
        self.current = s
        self.last = time.perf_counter()
        s.ticks.append(self.last)
        self.timer.start()

    def end(self) -> Stalls:
        self.timer.stop()
        s, self.current = self.current, None
        assert s is not None
        s.seconds = s.ticks[-1] - s.ticks[0] if s.ticks else 0.0
        return s

    def close(self) -> None:
        self._stop.set()
        self.timer.stop()


# Source-line fragments of calls a thread waits in (without the GIL).
WAITING = (
    ".wait(",
    "sleep(",
    ".acquire(",
    "select(",
    ".poll(",
    ".exec(",
    ".get(",
    "readline(",
    ".recv(",
    ".join(",
    "communicate(",
    "with self._lock",
    "with self.lock",
    "_wait_for_tstate_lock",
)


class GilProbe:
    """A Python thread that sleeps 2 ms in a loop (`--gil`). When it wakes more than 25 ms late,
    the GIL was held that long (or the OS starved the process: compare the OS columns); it then
    snapshots every other thread's Python stack. The thread that held the GIL drops it at its
    first eval-breaker check after the long call, so its innermost frame is that call."""

    LATE_MS = 25.0

    def __init__(self) -> None:
        self.events: list[tuple[float, float, dict[str, list[str]]]] = []  # (t, late ms, stacks)
        self.lateness: list[tuple[float, float]] = []
        # The cyclic garbage collector holds the GIL for a whole collection: time each one.
        self.collections: list[tuple[float, int, float]] = []  # (end, generation, ms)
        self._gc_start = 0.0
        gc.callbacks.append(self._gc)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gil-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.002)
            now = time.perf_counter()
            late = (now - t0) * 1000 - 2
            self.lateness.append((now, late))
            if late < self.LATE_MS:
                continue
            names = {t.ident: t.name for t in threading.enumerate()}
            stacks: dict[str, list[str]] = {}
            for tid, frame in sys._current_frames().items():
                if tid == me:
                    continue
                st = traceback.extract_stack(frame, limit=8)
                lines = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in st]
                if st:
                    lines[-1] += f" `{(st[-1].line or '').strip()[:60]}`"
                stacks[names.get(tid, str(tid))] = lines
            self.events.append((now, late, stacks))

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
        else:
            self.collections.append((now, info["generation"], (now - self._gc_start) * 1000))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)

    def report(self, stalls: list[Stalls]) -> None:
        from collections import Counter

        old = gc.get_objects(2)
        kinds = Counter(type(o).__qualname__ for o in old).most_common(6)
        print(
            f"\nGC: {gc.get_freeze_count()} objects frozen at start-up; {len(old)} in the oldest "
            f"generation now ({', '.join(f'{k} {n}' for k, n in kinds)})"
        )
        del old
        print("\nGIL probe (a Python thread sleeping 2 ms; late = GIL held or OS starvation)")
        for s in stalls:
            if not s.ticks:
                continue
            t0, t1 = s.ticks[0], s.ticks[-1]
            late = [g for t, g in self.lateness if t0 < t <= t1]
            events = [e for e in self.events if t0 < e[0] <= t1]
            gcs = [(g, ms) for t, g, ms in self.collections if t0 < t <= t1]
            full = [ms for g, ms in gcs if g == 2]
            print(
                f"  {s.name} / {s.design}: probe max late {max(late, default=0.0):.0f} ms, "
                f"{len(events)} times > {self.LATE_MS:.0f} ms; {len(gcs)} GC runs, longest "
                f"{max((ms for _, ms in gcs), default=0.0):.0f} ms, {len(full)} full "
                f"(longest {max(full, default=0.0):.0f} ms)"
            )
            for _, ms, stacks in sorted(events, key=lambda e: -e[1])[:3]:
                busy = {
                    n: st
                    for n, st in stacks.items()
                    if st and not any(w in st[-1] for w in WAITING)
                }
                print(f"    {ms:.0f} ms late; threads not in a wait:")
                for n, st in (busy or stacks).items():
                    print(f"      [{n}] " + " < ".join(reversed(st[-4:])))


def spin(seconds: float) -> None:
    """Run the Qt event loop for `seconds` (nested loop; every timer and queued signal runs)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def spin_until(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > deadline:
            return False
        spin(0.05)
    return True


# -- typing ----------------------------------------------------------------------------------------
@dataclass
class Keys:
    name: str
    latencies: list[float] = field(default_factory=list)
    own: int = 0
    superseded: int = 0
    missing: int = 0

    def row(self) -> list[Any]:
        lat = self.latencies
        return [
            self.name,
            len(lat) + self.missing,
            pct(lat, 0.5),
            pct(lat, 0.95),
            max(lat) if lat else float("nan"),
            f"{self.own}/{self.superseded}/{self.missing}",
        ]


class Typist:
    """Types queries into a line edit, one key event per character with 80-150 ms between
    keys, and matches each keystroke to the first results shown for its text or a later one."""

    def __init__(self, box: Any, rng: random.Random) -> None:
        self.box = box
        self.rng = rng
        self.keys: Keys | None = None
        self._pending: list[tuple[str, float]] = []  # (text after the key, time of the key)
        self._typed: list[str] = []

    def shown(self, text: str) -> None:
        """Call right after the list shows the results for `text` (on the Qt thread)."""
        now = time.perf_counter()
        if self.keys is None or text not in self._typed:
            return
        j = self._typed.index(text)
        keep = []
        for t, at in self._pending:
            i = self._typed.index(t)
            if i <= j:
                self.keys.latencies.append((now - at) * 1000)
                if i == j:
                    self.keys.own += 1
                else:
                    self.keys.superseded += 1
            else:
                keep.append((t, at))
        self._pending = keep

    def type_query(self, query: str, keys: Keys, *, settle: float = 2.0) -> None:
        from PySide6.QtTest import QTest

        self.keys = keys
        self.box.clear()
        spin(0.35)  # let the "" query (most recent) come and go; not measured
        self._pending, self._typed = [], []
        for ch in query:
            spin(self.rng.uniform(0.08, 0.15))
            text = self.box.text() + ch
            self._typed.append(text)
            self._pending.append((text, time.perf_counter()))
            QTest.keyClicks(self.box, ch)
        spin_until(lambda: not self._pending, settle)
        keys.missing += len(self._pending)
        self._pending = []
        self.keys = None


# -- --rss: memory across all processes ----------------------------------------------------------
RSS_PHASES = ("start", "idle", "capturing", "answering", "idle after work")
RSS_QUESTION = "What did Caroline say about the adoption agency?"


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def _kb(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def memory_now(pid: int | None = None) -> dict[str, float]:
    """MB of RSS and PSS over `pid` (this process) and all its descendants."""
    pid = pid or os.getpid()
    procs = [pid, *_descendants(pid)]
    rss = {p: _kb(f"/proc/{p}/status", "VmRSS:") / 1024 for p in procs}
    pss = {p: _kb(f"/proc/{p}/smaps_rollup", "Pss:") / 1024 for p in procs}
    gui = rss.get(pid, 0.0)
    return {
        "rss": sum(rss.values()),
        "pss": sum(pss.values()),
        "gui": gui,
        "children": sum(rss.values()) - gui,
        "procs": float(len(procs)),
    }


class MemorySampler:
    """Samples memory_now() every 0.2 s on a thread; `phase(name)` starts a new phase."""

    def __init__(self) -> None:
        self.samples: dict[str, list[dict[str, float]]] = {}
        self._name = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._thread.start()

    def phase(self, name: str) -> None:
        self.samples.setdefault(name, [])
        self._name = name

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            if self._name:
                self.samples[self._name].append(memory_now())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for name, xs in self.samples.items():
            if xs:
                end = xs[-1]
                out[name] = {
                    "max": max(x["rss"] for x in xs),
                    "end": end["rss"],
                    "pss_end": end["pss"],
                    "gui_end": end["gui"],
                    "children_end": end["children"],
                    "procs_max": max(x["procs"] for x in xs),
                }
        return out


def rss_child(mode: str, home: Path, interval: float, settle: float) -> int:
    """One fresh app process: start, idle, capture, answer, idle; prints one JSON line."""
    import json

    if mode == "eager":
        os.environ["MIRIX_EAGER_MODEL"] = "1"
    else:
        os.environ.pop("MIRIX_EAGER_MODEL", None)
    from PySide6.QtWidgets import QApplication

    from mirix_app.config import Settings
    from mirix_app.memory.clock import now_iso
    from mirix_app.paths import Paths
    from mirix_app.ui import theme
    from mirix_app.ui.app import MirixApp
    from mirix_app.ui.services import Services

    paths = Paths.under(home).ensure()
    st = Settings.load(paths)
    st.extra["capture"] = {
        "interval_seconds": interval,
        "idle_after_seconds": 0.0,  # Xvfb has no input: never "idle"
        "on_focus_change": False,
    }
    st.extra["ui"] = {"consent_at": now_iso()}
    if mode == "lazy":  # 6 s instead of minutes, so the idle state comes within the run
        st.extra["runtime"] = {
            "model_idle_minutes": 0.1,
            "embedder_idle_minutes": 0.1,
            "vectors_idle_minutes": 0.1,
        }
    st.save(paths)
    sampler = MemorySampler()
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    theme.apply(qapp)
    services = Services.open(paths)
    if services.capture is None or services.agent is None:
        raise SystemExit("capture or agent did not load (see the log)")
    app = MirixApp(services, use_tray=False)
    app.window.move(920, 40)  # beside the notes window capture reads (ours are excluded)
    app.window.show()
    notes: dict[str, str] = {}
    try:
        sampler.phase("start")
        startup = app.startup_work()
        spin_until(lambda: all(t.id not in app.runner._tasks for t in startup), 300)
        spin(3.0)
        sampler.phase("idle")
        spin(settle)
        notes["idle"] = f"model {services.model_status().state}"

        sampler.phase("capturing")
        app.start_capture()
        spin_until(lambda: services.capture_status().state == "recording", 30)
        spin(max(settle, 20.0))
        svc = services.capture.service
        notes["capturing"] = f"{svc.state.cycles} cycles, {svc.state.kept} kept"
        services.stop_capture()
        services.capture.service = None
        spin_until(lambda: services.backlog() == 0, 120)

        sampler.phase("answering")
        chunks: list[Any] = []
        done: list[str] = []
        app.runner.submit(
            services.chat,
            RSS_QUESTION,
            name="chat",
            emit=chunks.append,
            on_done=done.append,
            on_error=lambda e: done.append(f"error {e}"),
        )
        spin_until(lambda: bool(done), 300)
        spin(1.0)
        answer = done[0] if done else "(no answer)"
        notes["answering"] = f"chat mode {services.chat_mode()}, {len(answer)} chars"

        sampler.phase("idle after work")
        spin(settle)
        notes["idle after work"] = f"model {services.model_status().state}"
    finally:
        sampler.close()
        app.shutdown()
    print("RSS " + json.dumps({"mode": mode, "phases": sampler.summary(), "notes": notes}))
    return 0


def rss_main(args: argparse.Namespace) -> int:
    import json

    size = args.size or 500
    print(f"bench_ui --rss: {size:,} memories; at start: {load()}")
    xvfb, display = start_xvfb()
    tmp = Path(tempfile.mkdtemp(prefix="mirix-bench-rss-"))
    screen: Screen | None = None
    results: dict[str, dict[str, Any]] = {}
    try:
        turns, _chat = locomo_turns()
        made = prepare_store(tmp / "store", size, turns)
        log(f"store: {made}")
        screen = Screen(display, turns)  # the bench's own windows: not counted
        screen.run()
        runs: list[tuple[str, str | None]] = [("eager", None), ("lazy", None)]
        if args.before:
            runs.insert(0, ("before", args.before))
        for name, code in runs:
            home = tmp / name
            shutil.copytree(tmp / "store", home)
            env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM=args.platform)
            if code:
                env["MIRIX_BENCH_CODE"] = str(Path(code).resolve())
            child = "eager" if name == "before" else name
            cmd = [sys.executable, __file__, "--rss-child", child, "--rss-home", str(home)]
            cmd += ["--interval", str(args.interval), "--rss-settle", str(args.rss_settle)]
            log(f"run: {name}")
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            line = next((x for x in out.stdout.splitlines() if x.startswith("RSS ")), None)
            if line is None:
                print(out.stdout[-3000:], out.stderr[-3000:], sep="\n")
                raise SystemExit(f"the {name} run failed")
            results[name] = json.loads(line[4:])
    finally:
        if screen is not None:
            screen.close()
        xvfb.terminate()
        try:
            xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    names = list(results)
    rows: list[list[Any]] = []
    for ph in RSS_PHASES:
        row: list[Any] = [ph]
        for n in names:
            r = results[n]["phases"].get(ph)
            row += [f"{r['end']:.0f} / {r['max']:.0f}" if r else "-"]
            row += [f"{r['gui_end']:.0f} + {r['children_end']:.0f}" if r else "-"]
        rows.append(row)
    header = ["phase"]
    for n in names:
        header += [f"{n}: all MB end / max", f"{n}: GUI + children"]
    table(
        f"Resident memory over all the app's processes (RSS, MB) - {size:,} memories, "
        f"capture every {args.interval:g} s; goal idle <= 300 MB",
        header,
        rows,
    )
    for n in names:
        notes = results[n]["notes"]
        print(f"  {n}: " + "; ".join(f"{k}: {v}" for k, v in notes.items()))
        pss = {ph: v["pss_end"] for ph, v in results[n]["phases"].items()}
        print(f"  {n} PSS at end of phase: " + ", ".join(f"{k} {v:.0f}" for k, v in pss.items()))
    return 0


# -- the bench -------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="5k memories, short windows (< 2 min)")
    ap.add_argument("--size", type=int, help="memories in the store (default 100000; quick 5000)")
    ap.add_argument("--window", type=float, help="seconds per stall phase (default 60; quick 10)")
    ap.add_argument("--interval", type=float, default=1.5, help="capture interval, seconds")
    ap.add_argument("--platform", default="xcb", help="Qt platform for the app: xcb or offscreen")
    ap.add_argument(
        "--popup-debounce-ms", type=int, help="experiment: override the popup's 60 ms debounce"
    )
    ap.add_argument("--why", action="store_true", help="sample the Qt thread's stack on stalls")
    ap.add_argument(
        "--gil", action="store_true", help="GIL probe: which thread held the GIL when it was late"
    )
    ap.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated subset of {','.join(PHASES)} (default: all)",
    )
    ap.add_argument("--rss", action="store_true", help="memory over all processes (see above)")
    ap.add_argument("--before", help="--rss: also run this checkout's code (a 'before' column)")
    ap.add_argument("--rss-settle", type=float, default=15.0, help="--rss: seconds per idle phase")
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    ap.add_argument("--rss-home", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        return rss_child(args.rss_child, Path(args.rss_home), args.interval, args.rss_settle)
    if args.rss:
        return rss_main(args)
    os.environ["MIRIX_EAGER_MODEL"] = "1"  # stalls are measured with the model loaded, as before
    only = set(args.phases.split(","))
    if only - set(PHASES):
        raise SystemExit(f"unknown phase(s): {', '.join(sorted(only - set(PHASES)))}")
    size = args.size or (5000 if args.quick else 100_000)
    window = args.window or (10.0 if args.quick else 60.0)
    queries = QUERIES[:3] if args.quick else QUERIES
    started = time.perf_counter()
    print(f"bench_ui: {size:,} memories, {window:.0f} s windows; at start: {load()}")

    xvfb, display = start_xvfb()
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = args.platform
    tmp = Path(tempfile.mkdtemp(prefix="mirix-bench-ui-"))
    screen: Screen | None = None
    probe: Probe | None = None
    app: Any = None
    ticker: Ticker | None = None
    try:
        turns, chat = locomo_turns()
        made = prepare_store(tmp / "home", size, turns)
        log(f"store: {made}")
        screen = Screen(display, turns)

        from PySide6.QtWidgets import QApplication

        from mirix_app.config import Settings
        from mirix_app.memory.clock import now_iso
        from mirix_app.memory.inbox import InboxItem
        from mirix_app.paths import Paths
        from mirix_app.ui import theme
        from mirix_app.ui.app import MirixApp
        from mirix_app.ui.services import Services

        paths = Paths.under(tmp / "home").ensure()
        st = Settings.load(paths)
        st.extra["capture"] = {
            "interval_seconds": args.interval,
            "idle_after_seconds": 0.0,  # Xvfb has no input: never "idle"
            "on_focus_change": False,
        }
        st.extra["ui"] = {"consent_at": now_iso()}
        st.save(paths)

        qapp = QApplication.instance() or QApplication([sys.argv[0]])
        assert isinstance(qapp, QApplication)
        theme.apply(qapp)
        services = Services.open(paths)
        if services.capture is None or services.agent is None:
            raise SystemExit("capture or agent did not load (see the log)")
        app = MirixApp(services, use_tray=False)
        app.window.move(920, 40)
        app.window.show()
        # The app's own start-up work, in its workers: embedder and vector index warm-up, model
        # load (then gc.freeze); capture is started by the phases below.
        startup = app.startup_work()
        real_process = services.process_inbox
        services.process_inbox = lambda: False  # type: ignore[method-assign]  # agent off until (c)
        services.agent.auto = False  # nor woken by capture
        spin_until(
            lambda: (
                all(t.id not in app.runner._tasks for t in startup)
                and services.model_status().state == "ready"
            ),
            300,
        )
        spin(1.0)
        log(
            f"app up: model {services.model_status().state}, {app.runner.busy} tasks running, "
            f"{gc.get_freeze_count()} objects frozen out of the GC"
        )

        ticker = Ticker(args.why)
        gil = GilProbe() if args.gil else None
        probe = Probe(tmp)
        rng = random.Random(7)
        stalls: list[Stalls] = []
        keys: list[Keys] = []
        if args.popup_debounce_ms is not None:
            app.popup.controller.debounce._timer.setInterval(args.popup_debounce_ms)
        debounce_ms = app.popup.controller.debounce._timer.interval()
        typist = Typist(app.popup.box, rng)
        app.popup.controller.results.connect(lambda hits, q, ms: typist.shown(q.text))

        def phase(key: str, name: str, design: str, body: Callable[[], str]) -> Stalls | None:
            if key not in only:
                return None
            s = Stalls(name, design)
            log(f"phase: {name} ({design})")
            ticker.begin(s)
            s.work = body()
            ticker.end()
            stalls.append(s)
            return s

        def backlog() -> int:
            return int(services.backlog())

        def agent_job() -> Any:
            return services.agent.job

        def agent_busy() -> bool:
            return bool(services.agent.loop.busy)

        def stop_agent() -> None:
            services.agent.auto = False
            services.agent._interrupt.set()  # the drain under way stops within a token
            spin_until(lambda: not agent_busy(), 60)
            services.agent._interrupt.clear()

        def seed_chat(n: int) -> None:
            start = rng.randrange(0, len(chat) - n)
            for c in chat[start : start + n]:
                services.core.inbox.put(
                    InboxItem(kind="chat", text=c["text"], at=c["at"], meta=c["meta"])
                )

        # Keystroke baseline first, with nothing else running: the raw search the popup calls.
        raw = Keys("services.search called directly (raw latency, no UI)")
        for q in queries if "typing" in only else []:
            for i in range(1, len(q) + 1):
                t0 = time.perf_counter()
                services.search(q[:i], limit=12)
                raw.latencies.append((time.perf_counter() - t0) * 1000)
                raw.own += 1
        keys.append(raw)

        # (a) idle, with the popup typed into (keystroke latency, idle)
        def idle_phase() -> str:
            spin(min(window, 15.0))
            return "window open, status timer"

        phase("idle", "idle", "ours", idle_phase)
        app.popup.popup()
        popup_idle = Keys("quick search popup (ours), app idle")

        def type_all() -> str:
            for q in queries:
                typist.type_query(q, popup_idle)
            return f"{len(popup_idle.latencies) + popup_idle.missing} keystrokes"

        if phase("typing", "typing in quick search", "ours", type_all):
            keys.append(popup_idle)
        app.popup.hide()

        # (b) capture running at a short interval on a changing screen
        screen.run()

        def capture_phase(seconds: float) -> Callable[[], str]:
            def body() -> str:
                app.start_capture()
                spin_until(lambda: services.capture_status().state == "recording", 30)
                svc = services.capture.service
                c0, k0 = svc.state.cycles, svc.state.kept
                spin(seconds)
                return f"{svc.state.cycles - c0} cycles, {svc.state.kept - k0} kept (OCR)"

            return body

        phase(
            "capture",
            f"capture every {args.interval:g} s",
            "ours (workers)",
            capture_phase(window),
        )
        services.stop_capture()
        # CaptureService.stop() closes its X connection and the adapter would restart that same
        # (closed) service: drop it so the next start makes a fresh one (see the report).
        services.capture.service = None

        # (c) the agent draining a backlog with the real model
        seed_chat(40 if args.quick else 160)
        services.process_inbox = real_process  # type: ignore[method-assign]
        services.agent.auto = True

        def agent_phase() -> str:
            b0 = backlog()
            app.runner.submit(services.process_inbox, name="process inbox", slow=True)
            spin(window)
            return f"backlog {b0} -> {backlog()}, agent draining: {agent_busy()}"

        phase("agent", "agent draining the inbox", "ours (workers)", agent_phase)

        # (d) capture + agent + search-as-you-type in the popup
        popup_busy = Keys("quick search popup (ours), capture + agent busy")

        def all_phase() -> str:
            b0 = backlog()
            app.start_capture()
            spin_until(lambda: services.capture_status().state == "recording", 30)
            if not agent_busy():
                app.runner.submit(services.process_inbox, name="process inbox", slow=True)
            svc = services.capture.service
            c0 = svc.state.cycles
            app.popup.popup()
            end = time.perf_counter() + window
            k = 0
            while time.perf_counter() < end:
                typist.type_query(queries[k % len(queries)], popup_busy)
                k += 1
            app.popup.hide()
            return (
                f"{svc.state.cycles - c0} capture cycles, backlog {b0} -> {backlog()}, "
                f"{len(popup_busy.latencies) + popup_busy.missing} keystrokes"
            )

        if phase("busy", "capture + agent + typing", "ours (workers)", all_phase):
            keys.append(popup_busy)
        services.stop_capture()
        stop_agent()
        services.process_inbox = lambda: False  # type: ignore[method-assign]

        # Baselines: the same work on the Qt thread.
        from PySide6.QtCore import QTimer

        blocking_cap = services.capture._make()

        def capture_on_qt() -> str:
            timer = QTimer()
            timer.setInterval(int(args.interval * 1000))
            timer.timeout.connect(blocking_cap.tick)
            timer.start()
            spin(max(window / 2, 6.0))
            timer.stop()
            return f"{blocking_cap.state.cycles} cycles, {blocking_cap.state.kept} kept"

        phase("baselines", "capture cycle in a timer slot", "baseline (Qt thread)", capture_on_qt)
        blocking_cap.stop()
        screen.close()
        screen = None

        from PySide6.QtWidgets import QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

        naive = QWidget()
        lay = QVBoxLayout(naive)
        box, lst = QLineEdit(), QListWidget()
        lay.addWidget(box)
        lay.addWidget(lst)
        naive.resize(620, 420)
        naive.show()
        slot_keys = Keys("search in the textChanged slot (blocking baseline)")
        slot_typist = Typist(box, rng)

        def blocking_search(text: str) -> None:
            lst.clear()
            for h in services.search(text, limit=12):
                lst.addItem(QListWidgetItem(h.memory.title.replace("\n", " ")[:90]))
            slot_typist.shown(text)

        box.textChanged.connect(blocking_search)

        def slot_phase() -> str:
            for q in queries:
                slot_typist.type_query(q, slot_keys)
            return f"{len(slot_keys.latencies)} keystrokes"

        if phase("baselines", "search in the textChanged slot", "baseline (Qt thread)", slot_phase):
            keys.append(slot_keys)
        naive.close()

        seed_chat(5)
        pipeline = agent_job().pipeline

        def agent_on_qt() -> str:
            spin(0.5)
            t0 = time.perf_counter()
            n = pipeline.drain(limit=1 if args.quick else 5)
            took = time.perf_counter() - t0
            spin(0.5)
            return f"{n} items in one slot call ({took:.1f} s)"

        phase("baselines", "one agent batch in a slot", "baseline (Qt thread)", agent_on_qt)

        # -- report ------------------------------------------------------------------------------
        probe.stop()
        print(f"at end: {load()}")
        table(
            f"Qt event-loop stalls ({TICK_MS} ms precise timer; stall = gap - {TICK_MS} ms; "
            f"target max < {TARGET_STALL_MS:.0f} ms) - {size:,} memories, platform {args.platform}",
            [
                "phase",
                "design",
                "s",
                "ticks",
                "p50 ms",
                "p99 ms",
                "max ms",
                "max at s",
                ">50ms",
                ">50 not OS",
                "max not OS",
                "OS p99",
                "OS max",
                "work done",
            ],
            [s.row(probe) for s in stalls],
        )
        table(
            f"Quick search: keystroke -> results shown, {size:,} memories, "
            f"{len(queries)} queries typed at 80-150 ms/key, popup debounce {debounce_ms} ms "
            f"(target < {TARGET_KEY_MS:.0f} ms)",
            ["path", "keys", "p50 ms", "p95 ms", "max ms", "own/superseded/missing"],
            [k.row() for k in keys],
        )
        if gil is not None:
            gil.close()
            gil.report(stalls)
            conns = len(getattr(services.core.store, "_all", []))
            print(f"  SQLite connections the store holds open: {conns}")
            lowered = getattr(getattr(services, "_priority", None), "lowered", set())
            print(
                f"  threads/processes given background priority (tesseract, model): {len(lowered)}"
            )
        if args.why:
            print(
                "\nA Python thread in this process (needs the GIL) ticking every 10 ms, max late:"
            )
            for s in stalls:
                tg = [g for t, g in ticker.thread_gaps if s.ticks[0] < t <= s.ticks[-1]]
                print(f"  {s.name} / {s.design}: {max(tg, default=0.0):.0f} ms")
            print(
                "\nWhere the Qt thread was during the longest stalls (Python stack, innermost last)"
            )
            for s in stalls:
                for gap, stack in sorted(s.why, key=lambda x: -x[0])[:2]:
                    print(f"\n--- {s.name} / {s.design}: {gap:.0f} ms\n{stack}")
        print(
            "OS p99/max: the same 5 ms tick in a separate process over the same window (no GIL, "
            "no Qt): what the shared machine alone costs. '>50 not OS' / 'max not OS': our stalls "
            "over 50 ms during which that process was not stalled at least half as long."
        )
        ours = [s for s in stalls if s.design.startswith("ours")]
        worst = max((max(s.gaps(), default=0.0) for s in ours), default=0.0)
        unexplained = max((max(s.own(probe), default=0.0) for s in ours), default=0.0)
        print(
            f"\nours: worst stall {worst:.0f} ms, worst not shared by the reference process "
            f"{unexplained:.0f} ms (target < {TARGET_STALL_MS:.0f}); quick search "
            f"p95 idle {pct(popup_idle.latencies, 0.95):.0f} ms, busy "
            f"{pct(popup_busy.latencies, 0.95):.0f} ms (target < {TARGET_KEY_MS:.0f}); "
            f"store {made}; total {time.perf_counter() - started:.0f} s"
        )
        return 0
    finally:
        if ticker is not None:
            ticker.close()
        if probe is not None and probe.proc.poll() is None:
            probe.proc.kill()
            probe.proc.wait()
        if screen is not None:
            screen.close()
        if app is not None:
            app.shutdown()
        xvfb.terminate()
        try:
            xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
