"""The process the crash suite kills: capture, the agent and direct writes, all busy at once.

Run as a script (the test starts it in its own process group and SIGKILLs the group):

    crash_driver.py --run-dir DIR --trial N [--verify-only]

MIRIX_HOME (the data dir, shared by every trial) and DISPLAY (a Xvfb screen whose text keeps
changing) come from the environment. What it does:

1. opens the MemoryCore (which repairs the vector index from the SQLite outbox), then runs
   `check_vectors()` and appends one JSON line to DIR/report.jsonl (open and check times, what
   the check had to fix; a consistent store fixes nothing); every tenth trial (and with
   --verify-only, for every memory) it also compares the stored vectors of changed memories
   with the embedding of their current text;
2. starts the real capture service (its runtime loop, mss, tesseract, X11 window info, kept
   screenshots), an agent thread (Pipeline.process over inbox batches with a scripted model that
   sometimes fails, so the unsorted/retry path runs too) and a writer thread (new memories,
   updates, trashes, chat messages into the inbox) and prints `ready`;
3. appends `kind id [extra]` to DIR/acks.log and fsyncs it, each time only after the commit it
   reports returned: every acked line must survive any kill.

Kinds: cap (a capture row; extra = screenshot path or -), chat (an inbox row), done (an inbox item
the agent marked done), amem (a memory the agent added), mem (a memory written directly; extra =
its marker tag), upd (a direct update; extra = version and marker), trash (a direct trash).

Each thread's current phase (e.g. `batch>sqlite`, `cycle>ocr`, `open>sync`) is kept in
DIR/phases, a small shared-memory file that survives the kill, so the test can tell what the kill
interrupted (and aim a kill at a phase). With --verify-only it does step 1, removes orphaned
screenshots as a capture start does, reports what it found and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import mmap
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SLOTS = ("main", "capture", "agent", "writer")
SLOT_BYTES = 64


class PhaseBoard:
    """One fixed-size slot per thread in a shared file mapping: the phase stack, e.g. `a>b`."""

    def __init__(self, path: Path) -> None:
        size = len(SLOTS) * SLOT_BYTES
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, size)
            self.mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.local = threading.local()

    def register(self, slot: str) -> None:
        self.local.slot = SLOTS.index(slot)
        self.local.stack = []

    def _write(self) -> None:
        text = ">".join(self.local.stack).encode()[: SLOT_BYTES - 1]
        at = self.local.slot * SLOT_BYTES
        self.mm[at : at + SLOT_BYTES] = text.ljust(SLOT_BYTES, b"\0")

    def set(self, phase: str) -> None:
        """Replace the whole stack of this thread (top-level states: idle, ready, ...)."""
        if getattr(self.local, "slot", None) is not None:
            self.local.stack = [phase]
            self._write()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if getattr(self.local, "slot", None) is None:
            yield
            return
        self.local.stack.append(name)
        self._write()
        try:
            yield
        finally:
            self.local.stack.pop()
            self._write()


def read_phases(path: Path) -> dict[str, str]:
    """The phases a driver was in (what the test reads after the kill)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    out = {}
    for i, slot in enumerate(SLOTS):
        text = raw[i * SLOT_BYTES : (i + 1) * SLOT_BYTES].split(b"\0", 1)[0].decode()
        if text:
            out[slot] = text
    return out


class Acks:
    """Append-only acknowledgements, each on disk (fsync) before the call returns."""

    def __init__(self, path: Path, board: PhaseBoard) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.lock = threading.Lock()
        self.board = board

    def ack(self, kind: str, ident: str, extra: str = "") -> None:
        line = f"{kind} {ident} {extra}".rstrip() + "\n"
        with self.board.phase("ack"), self.lock:
            os.write(self.fd, line.encode())
            os.fsync(self.fd)


def instrument(cls: Any, name: str, label: str, board: PhaseBoard, *, slot: str = "") -> None:
    """Wrap a method so the calling thread's phase shows `label` while it runs (a method the
    product no longer has is left alone: the suite must not break on a rename)."""
    original = getattr(cls, name, None)
    if original is None:
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if slot and getattr(board.local, "slot", None) is None:
            board.register(slot)
        with board.phase(label):
            return original(*args, **kw)

    setattr(cls, name, wrapper)


def instrument_cm(cls: Any, name: str, label: str, board: PhaseBoard) -> None:
    """The same for a method returning a context manager (Store.write)."""
    original = getattr(cls, name, None)
    if original is None:
        return

    @contextlib.contextmanager
    def wrapper(*args: Any, **kw: Any) -> Iterator[Any]:
        with board.phase(label), original(*args, **kw) as value:
            yield value

    setattr(cls, name, wrapper)


_ITEM = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=^\[\d+\] |\n</data>)", re.M | re.S)


def scripted_model(rng: random.Random) -> Any:
    """Notes that repeat each item's last line (grounded) with a fact for walks; one reply in
    five is garbage (after the retries some items go the unsorted/retry-later way). Every reply
    takes a little time, as a model would."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests/
    from tests.fakes import Request, ScriptedModel

    def reply(req: Request) -> Any:
        time.sleep(rng.uniform(0.02, 0.12))
        if req.task != "extract" or rng.random() < 0.2:
            return "sorry, no JSON today"
        n = req.schema["properties"]["notes"]["minItems"] if req.schema else 0
        texts = [m.group(2).strip() for m in _ITEM.finditer(req.messages[-1]["content"])]
        notes = []
        for i in range(n):
            text = texts[i] if i < len(texts) else ""
            lines = [ln for ln in text.splitlines() if ln.strip()]
            last = lines[-1][:100] if lines else "item"
            facts = []
            if "walked" in last:
                facts = [{"name": " ".join(last.split()[:2])[:40], "summary": last[:120]}]
            topic = (last.split() or ["item"])[0].lower()[:30]
            notes.append({"summary": last[:120], "topics": [topic], "facts": facts})
        return {"notes": notes}

    return ScriptedModel(default=reply)


def stale_vectors(core: Any, limit: int) -> int:
    """Of the most recently changed live memories, how many have a vector that is not the
    embedding of their current text (check_vectors compares ids only)."""
    import numpy as np

    from mirix_app.memory.types import MemoryType

    rows = core.store.con.execute(
        "SELECT id, type FROM memories WHERE deleted_at IS NULL AND version > 1 "
        "ORDER BY updated_at DESC LIMIT ?",
        (limit,),
    ).fetchall()
    stale = 0
    for mtype in {t for _, t in rows}:
        ids = [i for i, t in rows if t == mtype]
        got = core.vectors.collection(MemoryType(mtype)).get(ids=ids, include=["embeddings"])
        stored = dict(zip(got["ids"], got["embeddings"], strict=True))
        found = core.store.get_many(ids)
        fresh = core.embedder.embed([found[i].search_text() for i in ids])
        for i, vec in zip(ids, fresh, strict=True):
            if i not in stored or float(np.dot(np.asarray(stored[i]), vec)) < 0.999:
                stale += 1
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--trial", type=int, required=True)
    ap.add_argument("--verify-only", action="store_true")
    args = ap.parse_args(argv)
    run_dir: Path = args.run_dir
    trial: int = args.trial
    board = PhaseBoard(run_dir / "phases")
    board.register("main")
    board.set("import")

    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.agent.settings import AgentSettings
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.ocr import OcrEngine
    from mirix_app.capture.screen import MssGrabber
    from mirix_app.capture.service import CaptureService
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.storage import ScreenshotStore
    from mirix_app.capture.windows import X11Adapter
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.memory.store import Store
    from mirix_app.paths import Paths

    instrument(MemoryCore, "sync_vectors", "sync", board)
    instrument(MemoryCore, "search", "search", board)
    instrument_cm(Store, "write", "sqlite", board)
    instrument(CaptureService, "tick", "cycle", board, slot="capture")
    instrument(MssGrabber, "grab_all", "grab", board)
    instrument(OcrEngine, "read", "ocr", board)
    instrument(ScreenshotStore, "seal", "screenshot", board)
    instrument(ScreenshotStore, "write", "screenshot", board)
    instrument(Pipeline, "process", "batch", board)
    instrument(Pipeline, "notes", "model", board)

    def report(**data: Any) -> None:
        line = json.dumps({"trial": trial, **data}) + "\n"
        fd = os.open(run_dir / "report.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    board.set("open")
    t0 = time.perf_counter()
    core = MemoryCore.open(Paths.default())  # repairs the vector index from the outbox
    open_s = time.perf_counter() - t0
    capture_settings = CaptureSettings(
        interval_seconds=0.3,
        idle_after_seconds=0,
        on_focus_change=False,
        skip_when_locked=False,
        keep_screenshots=True,
        screenshot_max_width=640,
        screenshot_quality=30,
    )
    if args.verify_only:
        t0 = time.perf_counter()
        fixed = core.check_vectors()
        check_s = time.perf_counter() - t0
        fixed["stale_vectors"] = stale_vectors(core, 10_000)
        capturer = Capturer(core, capture_settings, adapter=X11Adapter())
        capturer.startup()  # removes screenshots whose capture never reached the queue
        capturer.close()
        report(open_s=open_s, check_s=check_s, check=fixed, verify_only=True)
        core.close()
        return 0

    acks = Acks(run_dir / "acks.log", board)
    rng = random.Random(trial)
    service = CaptureService(core, capture_settings, adapter=X11Adapter())

    def on_capture(_state: Any, results: list[Any]) -> None:
        for r in results:  # called after the row was committed
            if r.kept and r.item is not None:
                acks.ack("cap", r.item.id, r.item.image or "-")

    service.add_listener(on_capture)
    # Capture only appends inbox rows, so it may start while the vectors are checked.
    service.start()
    board.set("check")
    t0 = time.perf_counter()
    fixed = core.check_vectors()
    check_s = time.perf_counter() - t0
    if trial % 10 == 9:  # the vectors' content too, now and then (embedding costs time)
        fixed["stale_vectors"] = stale_vectors(core, 30)
    report(open_s=open_s, check_s=check_s, check=fixed)

    def agent() -> None:
        board.register("agent")
        pipeline = Pipeline(
            core,
            scripted_model(random.Random(trial * 7 + 1)),
            AgentSettings(batch_size=6, items_per_call=3, decide_with_model=False),
        )
        while True:
            board.set("take")
            items = core.inbox.take(pipeline.settings.batch_size)
            if not items:
                board.set("idle")
                time.sleep(0.1)
                continue
            res = pipeline.process(items)
            for it in items:
                now = core.inbox.get(it.id)
                if now is not None and now.status == "done":
                    acks.ack("done", it.id)
            for mid in res.applied.added:
                if mid != "unsorted":
                    acks.ack("amem", mid)

    def writer() -> None:
        board.register("writer")
        mine: list[str] = []
        n = 0
        while True:
            n += 1
            marker = f"t{trial}n{n}"
            roll = rng.random()
            if roll < 0.15 and mine:
                mid = rng.choice(mine)
                m = core.update(mid, fields={"summary": f"Revised crash note {marker}"})
                acks.ack("upd", mid, f"{m.version} {marker}")
            elif roll < 0.25 and mine:
                mid = mine.pop(rng.randrange(len(mine)))
                core.trash(mid)
                acks.ack("trash", mid)
            elif roll < 0.4:
                item = core.inbox.put(
                    InboxItem(kind="chat", text=f"my favourite place is the {marker} river bank")
                )
                acks.ack("chat", item.id)
            else:
                m = core.new(
                    "semantic",
                    {"name": f"Crash note {marker}", "summary": f"Direct write {marker} of trial"},
                    tags=["crash-direct", f"crash:{marker}"],
                )
                mine.append(m.id)
                acks.ack("mem", m.id, marker)
            board.set("idle")
            time.sleep(rng.uniform(0.08, 0.3))

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as e:  # a dying worker must fail the trial, not go quiet
                print(f"worker failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                os._exit(3)

        return run

    for fn in (agent, writer):
        threading.Thread(target=guarded(fn), name=fn.__name__, daemon=True).start()
    board.set("ready")
    print("ready", flush=True)
    errors = 0
    while True:
        time.sleep(0.5)
        if service.state.errors > errors:  # e.g. a locked database: retried by the next cycle
            errors = service.state.errors
            print(f"capture error: {service.state.message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
