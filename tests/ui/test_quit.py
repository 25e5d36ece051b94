"""Quitting while the agent works (mirix_app/runtime.py, agent/pipeline.py, memory/core.py), with
real threads and a real MemoryCore: stop is prompt, nothing touches the core after it closed, and
a late user gets a clear MemoryClosed instead of a closed SQLCipher connection."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mirix_app.agent import capability
from mirix_app.agent.models import Cancelled, ChatMessage, Model, ModelStatus
from mirix_app.agent.pipeline import Pipeline
from mirix_app.errors import MemoryClosed
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.runtime import Loop, Runtime

WAIT = 10.0


class EndlessModel(Model):
    """A generation that ends only when cancelled (a token every 10 ms, at most a minute so a
    broken test cannot hang the suite)."""

    backend = "endless"

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.ended = threading.Event()

    @property
    def name(self) -> str:
        return "endless"

    def _stream(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        schema: dict[str, Any] | None,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> Iterator[str]:
        self.started.set()
        try:
            for _ in range(6000):
                time.sleep(0.01)
                yield " x"
        finally:
            self.ended.set()


def test_stop_ends_the_agent_loop_mid_generation_then_closes_the_core(
    paths: Any, caplog: pytest.LogCaptureFixture
) -> None:
    core = MemoryCore.open(paths)
    core.inbox_put(InboxItem(kind="chat", text="I moved to Lisbon last spring"))
    model = EndlessModel()
    pipeline = Pipeline(core, model, mode="summarize", want_notes=lambda r: True)
    rt = Runtime()
    rt.own("core", core.close)  # closed by stop(), after the loop ended
    rt.add_loop(Loop("mirix-agent", lambda c: pipeline.drain(should_stop=c.is_set)))
    assert model.started.wait(WAIT)  # the model call is under way
    caplog.set_level(logging.DEBUG)
    t0 = time.monotonic()
    assert rt.stop(5.0)
    took = time.monotonic() - t0
    assert took < 3.0, took
    assert model.ended.is_set()  # the generation stopped at a token, not at its end
    assert core.closed
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not bad, [r.getMessage() for r in bad]
    with MemoryCore.open(paths) as again:  # the cancelled batch left its item queued
        assert again.inbox_backlog() == 1


def test_a_late_user_of_a_closed_core_gets_memory_closed_not_a_traceback(
    core: Any, caplog: pytest.LogCaptureFixture
) -> None:
    core.close()
    core.close()  # idempotent
    with pytest.raises(MemoryClosed):
        core.inbox_backlog()
    with pytest.raises(MemoryClosed):
        core.inbox_take(5)
    # A loop or task that outlived the shutdown wait: "stopping", logged at debug only.
    caplog.set_level(logging.DEBUG)
    rt = Runtime()
    ended: list[tuple[bool, Any]] = []
    done = threading.Event()

    def end(ok: bool, value: Any) -> None:
        ended.append((ok, value))
        done.set()

    loop = rt.add_loop(Loop("late", lambda c: core.inbox_backlog(), interval=0.01))
    rt.submit(core.inbox_backlog, name="late task", on_end=end)
    assert done.wait(WAIT)
    assert not ended[0][0] and isinstance(ended[0][1], MemoryClosed)
    deadline = time.monotonic() + WAIT
    while loop.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not loop.running  # it ended itself on MemoryClosed
    assert loop.runs == 1
    assert rt.stop(2.0)
    bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not bad, [r.getMessage() for r in bad]


def test_the_capability_check_stops_at_a_token_when_the_runtime_closes() -> None:
    rt = Runtime()
    model = EndlessModel()
    ended: list[tuple[bool, Any]] = []
    done = threading.Event()

    def end(ok: bool, value: Any) -> None:
        ended.append((ok, value))
        done.set()

    rt.submit(
        lambda: capability.run_check(model, should_stop=rt.closing.is_set),
        name="capability",
        slow=True,
        on_end=end,
    )
    assert model.started.wait(WAIT)
    t0 = time.monotonic()
    assert rt.stop_tasks(5.0)  # what the runner does first on quit
    assert time.monotonic() - t0 < 3.0
    assert done.is_set() and isinstance(ended[0][1], Cancelled)
    rt.stop(1.0)


class LockedModel(EndlessModel):
    """Loaded, but its lock is held by another generation (the capability check)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def status(self) -> ModelStatus:
        return ModelStatus(self.backend, self.name, loaded=True)

    def load(self) -> None:
        with self.lock:  # as LlamaCppModel.load: waits for the generation under way
            pass


def test_a_batch_needing_no_model_call_does_not_wait_for_the_model_lock(core: Any) -> None:
    core.inbox_put(InboxItem(kind="chat", text="I moved to Lisbon last spring"))
    model = LockedModel()
    pipeline = Pipeline(core, model, mode="off")
    with model.lock:  # held for the whole batch: it would block forever on load()
        t0 = time.monotonic()
        assert pipeline.drain() == 1
    assert time.monotonic() - t0 < WAIT
    assert core.inbox_backlog() == 0
