"""The runtime (mirix_app/runtime.py), with real threads: cancel, stop, events, priorities, loops,
and the idle unloading of models. Waits are on events and conditions, never a sleep that decides
the outcome."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mirix_app.agent.model_lifecycle import ModelLifecycle
from mirix_app.runtime import (
    INTERACTIVE,
    Cancel,
    Cancelled,
    Event,
    Loop,
    Runtime,
    RuntimeSettings,
    lower_thread_priority,
    malloc_trim,
)
from tests.tools import unavailable

WAIT = 10.0


class Recorder:
    """Collects events; `wait_for(kind, name)` blocks until one like it came."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, ev: Event) -> None:
        with self._cond:
            self.events.append(ev)
            self._cond.notify_all()

    def wait_for(self, kind: str, name: str | None = None, timeout: float = WAIT) -> Event:
        def found() -> Event | None:
            for ev in self.events:
                if ev.kind == kind and (name is None or ev.name == name):
                    return ev
            return None

        with self._cond:
            assert self._cond.wait_for(lambda: found() is not None, timeout), (kind, name)
            ev = found()
            assert ev is not None
            return ev

    def kinds(self, name: str) -> list[str]:
        with self._cond:
            return [e.kind for e in self.events if e.name == name]


def test_tasks_run_and_publish_their_start_and_end() -> None:
    rt = Runtime()
    rec = Recorder()
    rt.events.subscribe(rec)
    ended: list[tuple[bool, Any]] = []
    done = threading.Event()

    def end(ok: bool, value: Any) -> None:
        ended.append((ok, value))
        done.set()

    rt.submit(lambda: 42, name="answer", on_end=end)
    assert done.wait(WAIT)
    assert ended == [(True, 42)]
    rec.wait_for("job.finished", "answer")
    assert rec.kinds("answer") == ["job.started", "job.finished"]

    done.clear()

    def boom() -> None:
        raise ValueError("no")

    rt.submit(boom, name="boom", slow=True, on_end=end)
    assert done.wait(WAIT)
    assert ended[-1][0] is False and isinstance(ended[-1][1], ValueError)
    assert rec.wait_for("job.failed", "boom").data["pool"] == "slow"
    assert rt.stop()


def test_a_broken_subscriber_does_not_stop_the_others() -> None:
    rt = Runtime()
    rec = Recorder()

    def broken(ev: Event) -> None:
        raise RuntimeError("subscriber bug")

    rt.events.subscribe(broken)
    unsubscribe = rt.events.subscribe(rec)
    rt.events.publish("capture", "capture", status="recording")
    assert rec.wait_for("capture").data == {"status": "recording"}
    unsubscribe()
    rt.events.publish("capture", "capture", status="paused")
    assert len(rec.events) == 1
    rt.stop()


def test_cancel_reaches_a_running_task_and_queued_ones_never_run() -> None:
    rt = Runtime(fast_threads=1)
    started, ran_second = threading.Event(), threading.Event()
    results: list[tuple[str, bool, Any]] = []
    ends = threading.Semaphore(0)

    def long(cancel: Cancel) -> str:
        started.set()
        assert cancel.wait(WAIT)  # woken by the cancel, not by a timeout
        cancel.check()
        return "not reached"

    token = Cancel()

    def record(name: str) -> Any:
        def end(ok: bool, value: Any) -> None:
            results.append((name, ok, value))
            ends.release()

        return end

    rt.submit(lambda: long(token), name="long", cancel=token, on_end=record("long"))
    assert started.wait(WAIT)
    queued = rt.submit(ran_second.set, name="queued", on_end=record("queued"))
    queued.cancel.cancel()
    token.cancel()
    assert ends.acquire(timeout=WAIT) and ends.acquire(timeout=WAIT)
    assert not ran_second.is_set()
    by_name = {name: (ok, value) for name, ok, value in results}
    assert by_name["long"][0] is False and isinstance(by_name["long"][1], Cancelled)
    assert by_name["queued"][0] is False and isinstance(by_name["queued"][1], Cancelled)
    assert rt.stop()


def test_interactive_work_starts_before_queued_background_work() -> None:
    rt = Runtime(fast_threads=1)
    gate, order, all_done = threading.Event(), [], threading.Event()
    rt.submit(lambda: gate.wait(WAIT), name="busy")
    for i in range(3):
        rt.submit(lambda i=i: order.append(f"bg{i}"), name=f"bg{i}")
    rt.submit(lambda: order.append("search"), name="search", priority=INTERACTIVE)
    rt.submit(all_done.set, name="last", priority=-1)
    gate.set()
    assert all_done.wait(WAIT)
    assert order == ["search", "bg0", "bg1", "bg2"]
    assert rt.stop()


def test_stop_cancels_everything_ends_every_thread_and_closes_what_it_owns() -> None:
    rt = Runtime()
    rec = Recorder()
    rt.events.subscribe(rec)
    closed: list[str] = []
    running = threading.Event()
    rt.own("vector helper", lambda: closed.append("vector helper"))
    rt.own("model", lambda: closed.append("model"))

    def broken_close() -> None:
        raise OSError("already gone")

    rt.own("broken", broken_close)

    def task(cancel: Cancel) -> None:
        running.set()
        cancel.wait(WAIT)
        cancel.check()

    token = Cancel()
    rt.submit(lambda: task(token), name="long", slow=True, cancel=token)
    cycles = threading.Semaphore(0)
    loop = rt.add_loop(Loop("mirix-test-loop", lambda c: cycles.release(), interval=None))
    assert running.wait(WAIT)
    assert cycles.acquire(timeout=WAIT)  # the loop ran its first cycle
    threads = list(rt.fast._threads) + list(rt.slow._threads)
    assert rt.stop() is False  # one closer failed: reported, the others still closed
    assert closed == ["model", "vector helper"]  # reverse order of owning
    assert not loop.running
    assert not any(t.is_alive() for t in threads)
    assert rec.wait_for("runtime.stopped").data == {"ok": False}
    rec.wait_for("loop.stopped", "mirix-test-loop")
    # After stop nothing runs any more.
    late = rt.submit(lambda: closed.append("late"), name="late")
    assert late.cancel.cancelled
    assert rt.stop() is True  # twice is fine
    assert "late" not in closed


def test_a_loop_runs_when_woken_and_folds_wakes_that_come_while_it_works() -> None:
    entered, release = threading.Event(), threading.Event()
    ran = threading.Semaphore(0)
    calls: list[int] = []

    def work(cancel: Cancel) -> None:
        calls.append(1)
        if len(calls) == 1:
            entered.set()
            release.wait(WAIT)
        ran.release()

    loop = Loop("mirix-test-wake", work, interval=None, first_run=False)
    loop.start()
    loop.wake()
    assert entered.wait(WAIT)
    for _ in range(5):  # while it works: one more run, not five
        loop.wake()
    release.set()
    assert ran.acquire(timeout=WAIT) and ran.acquire(timeout=WAIT)
    assert loop.stop()
    assert len(calls) == 2


def test_a_failing_cycle_does_not_end_the_loop() -> None:
    ran = threading.Semaphore(0)
    calls: list[int] = []

    def work(cancel: Cancel) -> None:
        calls.append(1)
        ran.release()
        if len(calls) == 1:
            raise RuntimeError("one bad cycle")

    loop = Loop("mirix-test-fail", work, interval=None)
    loop.start()
    assert ran.acquire(timeout=WAIT)
    loop.wake()
    assert ran.acquire(timeout=WAIT)
    assert loop.stop()
    assert len(calls) == 2


def test_stop_cancels_a_cycle_under_way() -> None:
    inside = threading.Event()
    seen: list[bool] = []

    def work(cancel: Cancel) -> None:
        inside.set()
        seen.append(cancel.wait(WAIT))

    stopped_hook: list[int] = []
    loop = Loop("mirix-test-stop", work, interval=3600, on_stop=lambda: stopped_hook.append(1))
    loop.start()
    assert inside.wait(WAIT)
    assert loop.stop(WAIT)
    assert seen == [True] and stopped_hook == [1]


@pytest.mark.skipif(not hasattr(__import__("os"), "getpriority"), reason="POSIX priorities")
def test_a_background_loop_and_pool_lower_their_own_threads_only() -> None:
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice is Linux")
    prio: dict[str, int] = {}
    got = threading.Semaphore(0)

    def record(name: str) -> None:
        prio[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        got.release()

    loop = Loop("mirix-test-nice", lambda c: record("loop"), interval=None, nice=10)
    loop.start()
    assert got.acquire(timeout=WAIT)
    rt = Runtime()
    rt.submit(lambda: record("fast"))
    assert got.acquire(timeout=WAIT)
    assert loop.stop() and rt.stop()
    assert prio["loop"] == 10
    assert prio["fast"] == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert lower_thread_priority() is False  # never the main thread


class FakeModel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loaded = True
        self.unloads = 0

    def unload(self) -> bool:
        if not self.loaded:
            return False
        self.loaded = False
        self.unloads += 1
        return True


def test_models_unload_after_their_idle_time_never_while_in_use() -> None:
    now = [0.0]
    model = FakeModel("tiny.gguf")
    told: list[list[str]] = []
    life = ModelLifecycle(
        lambda: [model],  # type: ignore[list-item]
        300,
        clock=lambda: now[0],
        on_unload=told.append,
    )
    now[0] = 299
    assert life.unload_if_idle() == []
    with life.using():
        now[0] = 10_000
        assert life.unload_if_idle() == []  # a chat is streaming: stays
    assert life.unload_if_idle() == []  # just used
    now[0] += 300
    assert life.unload_if_idle() == ["tiny.gguf"]
    assert told == [["tiny.gguf"]] and model.unloads == 1
    assert life.unload_if_idle() == []  # nothing loaded any more
    eager = ModelLifecycle(lambda: [model], 0, clock=lambda: now[0])  # type: ignore[list-item]
    model.loaded = True
    now[0] += 10**6
    assert eager.unload_if_idle() == [] and model.loaded


def test_runtime_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from mirix_app.config import Settings
    from mirix_app.errors import InvalidInput

    monkeypatch.delenv("MIRIX_EAGER_MODEL", raising=False)
    assert RuntimeSettings.from_settings(None) == RuntimeSettings()
    s = Settings(extra={"runtime": {"model_idle_minutes": 2, "eager_model": False}})
    assert RuntimeSettings.from_settings(s).model_idle_minutes == 2.0
    monkeypatch.setenv("MIRIX_EAGER_MODEL", "1")
    assert RuntimeSettings.from_settings(s).eager_model is True
    for bad in ({"model_idle_minutes": -1}, {"eager_model": "yes"}, {"idle": 1}):
        with pytest.raises(InvalidInput):
            RuntimeSettings.from_settings(Settings(extra={"runtime": bad}))


def test_the_embedder_unloads_when_idle_and_loads_again_on_use() -> None:
    from mirix_app.memory.embed import Embedder

    e = Embedder()
    try:
        first = e.embed_one("the quarterly report")
    except Exception as err:  # the model packages are not installed
        unavailable(f"the embedder ({type(err).__name__}: {err})")
    assert e.loaded
    assert not e.unload_if_idle(3600)  # just used
    assert e.unload_if_idle(0) and not e.loaded
    again = e.embed_one("the quarterly report")
    assert e.loaded
    assert float(first @ again) > 0.999
    malloc_trim()  # harmless wherever it runs


def test_capture_service_runs_on_the_runtime_and_stops_with_it(core: Any) -> None:
    """The capture cycle is a runtime loop: it runs now, on a trigger, and ends with the
    runtime (no scheduler thread left behind)."""
    from mirix_app.capture.service import JOB_ID, CaptureService
    from mirix_app.capture.settings import CaptureSettings

    ticks = threading.Semaphore(0)

    class Capturer:
        rules = None

        def __init__(self) -> None:
            self.adapter = Adapter()
            self.closed = False
            self.held: list[Any] = []

        def capture(self, should_stop: Any) -> list[Any]:
            ticks.release()
            return []

        def close(self) -> None:
            self.closed = True

    class Adapter:
        def locked(self) -> bool:
            return False

        def idle_seconds(self) -> float:
            return 0.0

        def watch_focus(self, cb: Any) -> None:
            return None

    rt = Runtime()
    capturer = Capturer()
    settings = CaptureSettings(interval_seconds=3600)
    svc = CaptureService(
        core,
        settings,
        capturer=capturer,  # type: ignore[arg-type]
        exclude_own=False,
        runtime=rt,
    )
    svc.start()
    assert ticks.acquire(timeout=WAIT)  # the first cycle runs at once
    assert JOB_ID in rt.loops
    svc._last_focus_trigger = -1.0
    svc.trigger()
    assert ticks.acquire(timeout=WAIT)  # a focus change runs one now, not in an hour
    rt.own("capture", svc.stop)
    assert rt.stop()
    assert capturer.closed and not svc.running
    assert str(svc.state.status) == "stopped"


def test_the_vector_helper_stops_when_idle_and_the_next_search_starts_it(tmp_path: Any) -> None:
    import numpy as np

    from mirix_app.config import VectorSettings
    from mirix_app.memory.embed import Embedder
    from mirix_app.memory.types import MemoryType
    from mirix_app.memory.vectors import VectorIndex

    index = VectorIndex(VectorSettings(mode="process"), tmp_path / "vectors", Embedder())
    try:
        v = np.zeros(384, dtype=np.float32)
        v[0] = 1.0
        mtype = next(iter(MemoryType))
        index.upsert(mtype, ["m1"], v[None, :])
        first = index.remote
        assert first is not None
        assert not index.release_if_idle(3600)  # just used
        old = index.remote
        assert index.release_if_idle(0)
        assert old is not None and old.dead
        assert index.query(v, [mtype], 1)[0][0] == "m1"  # a new helper, same index on disk
        assert index.remote is not old
        # A caller holding the released helper is served by the new one.
        assert index._rcall(old, "count", mtype) == 1
    finally:
        index.close()


def test_new_inbox_rows_from_capture_wake_the_agent_no_timer(services: Any) -> None:
    """Capture keeping something wakes the agent's loop, which drains the inbox and says so;
    an adapter that does not drain on its own (auto off) is not woken."""
    from types import SimpleNamespace

    from mirix_app.memory.inbox import InboxItem
    from mirix_app.ui import adapters

    try:
        services.agent = agent = adapters.make_agent(services)
        capture = adapters.make_capture(services)
    except Exception as e:
        unavailable(f"the agent or capture ({type(e).__name__}: {e})")
    rec = Recorder()
    services.runtime.events.subscribe(rec)
    try:
        agent.auto = False
        capture._announce(SimpleNamespace(status="recording"), [SimpleNamespace(kept=True)])
        assert rec.wait_for("capture").data == {"status": "recording"}
        assert not agent.loop.running  # not woken
        agent.auto = True
        services.core.inbox.put(InboxItem(kind="chat", text="remind me to call the dentist"))
        capture._announce(SimpleNamespace(status="recording"), [SimpleNamespace(kept=True)])
        rec.wait_for("agent.finished", agent.LOOP, timeout=180)  # may load the model first
        assert services.core.inbox.backlog() == 0
    finally:
        assert services.runtime.stop()
    assert not agent.loop.running
