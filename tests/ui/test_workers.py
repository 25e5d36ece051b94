"""Responsiveness plumbing: signals that don't corrupt the interpreter, the vector index in its own
process (its GIL-holding Rust calls never freeze this one), searches ahead of queued reads, and one
status read in flight."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from mirix_app.memory.types import MemoryType
from mirix_app.runtime import BackgroundPriority
from mirix_app.ui.services import Services
from mirix_app.ui.workers import INTERACTIVE, Runner
from tests.tools import unavailable

TIMEOUT = 15_000


class _Emitter(QObject):
    sig = Signal(int, bool, object)


def test_emitting_signals_keeps_true_alive(qapp: Any) -> None:
    """PySide6 6.12.0 drops a reference to True on every `signal.emit()` made from Python; the
    app then dies with "bool_dealloc: deallocating True" after a few thousand emits (every worker
    result is one). pyproject excludes that release; this catches it if it comes back."""
    e = _Emitter()
    e.sig.connect(lambda *_: None)
    before = sys.getrefcount(True)
    for i in range(500):
        e.sig.emit(i, True, None)
    assert sys.getrefcount(True) >= before - 50


def test_app_services_keep_vectors_in_a_helper_process(paths: Any) -> None:
    svc = Services.open(paths, load_plugins=False)
    try:
        assert svc.core.vectors.settings.mode == "process"
        assert svc.settings.vectors.mode == "embedded"  # what the settings file says is unchanged
        m = svc.add(MemoryType.SEMANTIC, {"name": "octopus", "summary": "octopuses have 3 hearts"})
        hits = svc.search("how many hearts does an octopus have", mode="vector")
        assert hits and hits[0].memory.id == m.id
        helper = svc.core.vectors._helper
        assert helper is not None and helper._proc.is_alive()
        proc = helper._proc
    finally:
        svc.close()
    assert not proc.is_alive()  # quitting stops it


def test_a_vector_write_does_not_freeze_the_other_threads(paths: Any) -> None:
    """An upsert holds the GIL of the process that runs Chroma for its whole length; in the
    helper process, a thread of ours keeps ticking meanwhile (embedded: it would not tick)."""
    svc = Services.open(paths, load_plugins=False)
    try:
        vi = svc.core.vectors
        vi.warm_up()
        rng = np.random.default_rng(0)
        vecs = rng.standard_normal((3000, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ticks: list[float] = []
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                time.sleep(0.002)
                ticks.append(time.perf_counter())

        t = threading.Thread(target=tick)
        t.start()
        time.sleep(0.05)
        start = time.perf_counter()
        vi.upsert(MemoryType.EPISODIC, [f"v{i}" for i in range(len(vecs))], vecs)
        took = time.perf_counter() - start
        stop.set()
        t.join()
        during = [x for x in ticks if start < x < start + took]
        assert vi.count(MemoryType.EPISODIC) == len(vecs)
        if took < 0.2:
            pytest.skip(f"the upsert was too quick to tell ({took * 1000:.0f} ms)")
        # A 2 ms ticker with the GIL free gets hundreds of ticks; with it held, one or two.
        assert len(during) >= took / 0.002 * 0.1, (len(during), took)
    finally:
        svc.close()


def test_the_vector_helper_comes_back_after_it_dies(paths: Any) -> None:
    svc = Services.open(paths, load_plugins=False)
    try:
        svc.add(MemoryType.SEMANTIC, {"name": "tram", "summary": "tram 28 climbs to the castle"})
        helper = svc.core.vectors._helper
        assert helper is not None
        helper._proc.kill()
        helper._proc.join(5)
        from mirix_app.errors import StorageError

        with pytest.raises(StorageError):
            svc.core.vectors.count(MemoryType.SEMANTIC)
        assert svc.core.vectors.count(MemoryType.SEMANTIC) == 1  # a new helper, same index
    finally:
        svc.close()


def test_searches_start_before_queued_reads(qapp: Any, qtbot: Any) -> None:
    runner = Runner(fast_threads=1)
    try:
        gate = threading.Event()
        order: list[str] = []
        runner.submit(gate.wait, name="busy")
        for i in range(3):
            runner.submit(lambda i=i: order.append(f"read{i}"), name="read")
        runner.submit(lambda: order.append("search"), name="search", priority=INTERACTIVE)
        gate.set()
        qtbot.waitUntil(lambda: len(order) == 4, timeout=TIMEOUT)
        assert order[0] == "search"
    finally:
        runner.shutdown()


def test_one_status_read_in_flight(services: Any, window: Any, qtbot: Any) -> None:
    gate = threading.Event()
    calls: list[int] = []
    real = services.model_status

    def slow_status() -> Any:
        calls.append(1)
        gate.wait(10)
        return real()

    qtbot.waitUntil(lambda: window._status_task is None, timeout=TIMEOUT)
    services.model_status = slow_status  # type: ignore[method-assign]
    for _ in range(5):
        window.refresh_status()
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=TIMEOUT)
    time.sleep(0.1)
    assert len(calls) == 1  # the four other requests folded into one re-read
    gate.set()
    qtbot.waitUntil(lambda: len(calls) >= 2 and window._status_task is None, timeout=TIMEOUT)
    services.model_status = real  # type: ignore[method-assign]


@pytest.mark.skipif(not BackgroundPriority.supported(), reason="per-thread nice is Linux")
def test_native_compute_and_ocr_yield_the_cpu_python_threads_do_not() -> None:
    """Native threads that appear later (llama.cpp's OpenMP team) and OCR processes get a lower
    priority; Python threads, which may hold the GIL, keep the Qt thread's."""
    import ctypes
    import os
    import subprocess

    from mirix_app.runtime import BACKGROUND_NICE

    watcher = BackgroundPriority(programs=frozenset({"sleep"}))
    watcher.start()
    libc = ctypes.CDLL(None)
    native = ctypes.c_ulong()
    # a thread Python does not know, running libc's sleep(1): what an OpenMP worker looks like
    assert libc.pthread_create(ctypes.byref(native), None, libc.sleep, ctypes.c_void_p(3)) == 0
    py_done = threading.Event()
    py = threading.Thread(target=py_done.wait, args=(5,))
    py.start()
    child = subprocess.Popen(["sleep", "3"])
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
            child.pid in watcher.lowered and watcher.lowered - {child.pid}
        ):
            time.sleep(0.05)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == BACKGROUND_NICE
        assert watcher.lowered - {child.pid}, "the native thread was not lowered"
        assert py.native_id not in watcher.lowered
        assert os.getpriority(os.PRIO_PROCESS, py.native_id) == 0
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0
    finally:
        py_done.set()
        py.join()
        child.wait()
        watcher.stop()
        libc.pthread_join(native, None)


def test_startup_work_takes_startup_objects_out_of_the_gc(core: Any, qtbot: Any) -> None:
    import gc

    from mirix_app.ui.app import MirixApp

    app = MirixApp(Services(core), use_tray=False)
    qtbot.addWidget(app.window)
    gc.unfreeze()
    try:
        tasks = app.startup_work()
        qtbot.waitUntil(lambda: all(t.id not in app.runner._tasks for t in tasks), timeout=60_000)
        qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=TIMEOUT)
    finally:
        gc.unfreeze()
        app.runner.shutdown()
        app.window._status_timer.stop()


def test_worker_threads_keep_their_database_connection(services: Any, qtbot: Any) -> None:
    """Tasks run on long-lived Python threads, so the store's per-thread SQLite connection is
    reused (on QThreadPool every task got a fresh Python thread state: a new connection each,
    all kept open)."""
    runner = Runner()
    try:
        before = len(services.core.store._all)
        done: list[object] = []
        for i in range(40):
            runner.submit(services.counts, on_done=done.append)
            qtbot.waitUntil(lambda i=i: len(done) > i, timeout=TIMEOUT)
        opened = len(services.core.store._all) - before
        assert 1 <= opened <= runner.fast.threads
    finally:
        assert runner.shutdown()
    assert not any(t.is_alive() for t in runner.fast._threads)  # quitting ends the threads


def test_agent_runs_in_background_and_leaves_no_connections_open(
    services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's loop thread (whose OpenMP threads inherit it) runs at background priority.
    The job once started a new thread for every drain, each leaving its SQLite connection (and
    two file descriptors) open until the app quit; the runtime's loop is one long-lived thread
    with one connection, lowered once."""
    from mirix_app import runtime
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.ui import adapters

    lowered: list[str] = []
    monkeypatch.setattr(
        runtime,
        "lower_thread_priority",
        lambda nice=10: lowered.append(threading.current_thread().name),
    )
    try:
        agent = adapters.make_agent(services)
    except Exception as e:
        unavailable(f"the agent ({type(e).__name__}: {e})")
    before = len(services.core.store._all)
    try:
        for i in range(10):
            runs = agent.loop.runs
            services.core.inbox.put(InboxItem(kind="chat", text=f"note {i}: buy milk"))
            assert agent.process()
            deadline = time.monotonic() + 30
            while agent.loop.runs <= runs and time.monotonic() < deadline:
                time.sleep(0.01)
            assert agent.loop.runs > runs
        assert len(services.core.store._all) <= before + 1
        assert lowered == ["mirix-agent"]
    finally:
        services.runtime.stop()
