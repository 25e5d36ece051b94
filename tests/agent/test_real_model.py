"""The real default model (SmolLM2-135M-Instruct Q4_1) through llama-cpp-python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mirix_app.agent import prompts
from mirix_app.agent.models import LlamaCppModel, default_gguf_path
from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType
from tests.tools import unavailable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model() -> Any:
    m = LlamaCppModel(n_ctx=2048, n_threads=2)
    m.load()
    yield m
    m.close()


def test_default_model_ships_in_a_package() -> None:
    p = default_gguf_path()
    assert p.suffix == ".gguf" and p.stat().st_size > 50_000_000


def test_load_and_stream(model: Any) -> None:
    assert model.status().loaded and model.load_seconds < 10
    pieces = list(model.stream([{"role": "user", "content": "Name a fruit."}], max_tokens=12))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_schema_constrained_output_is_valid(model: Any) -> None:
    schema = prompts.decide_schema(["sem_01ABC"])
    msgs = prompts.decide_messages(
        "semantic", "Bob is my manager", [("sem_01ABC", "Alice is my manager")]
    )
    for _ in range(2):
        out = model.structured(msgs, schema, max_tokens=120)
        assert out["action"] in ("add", "update", "merge", "delete", "noop")
        assert out["target"] in ("sem_01ABC", "")


def test_end_to_end_sort(core: Any, model: Any) -> None:
    items = [
        InboxItem(kind="chat", text="Alice is my manager", meta={"role": "user"}),
        InboxItem(
            kind="capture",
            app="Terminal",
            window="bash",
            text="Deploy\n1. git pull\n2. make deploy",
        ),
        InboxItem(kind="chat", text="my wifi password is hunter22-xyz", meta={"role": "user"}),
    ]
    for it in items:
        core.inbox.put(it)
    p = Pipeline(core, model, AgentSettings(items_per_call=3))
    res = p.process(core.inbox.take(10))
    assert res.items == 3 and res.model_calls >= 1
    counts = core.store.count()
    assert counts["semantic"] >= 1 and counts["procedural"] == 1 and counts["vault"] == 1
    assert counts["episodic"] == 3  # sorted or kept unsorted: nothing dropped
    assert all("hunter22" not in m.search_text() for m in core.browse(limit=50))
    sem = core.browse(limit=50)
    assert any(m.type is MemoryType.SEMANTIC and "Alice" in m.fields["summary"] for m in sem)


def test_bench_quick_runs() -> None:
    bench = Path(__file__).resolve().parents[1] / "bench"
    sys.path.insert(0, str(bench))
    from locomo_data import locomo_path

    if locomo_path() is None:
        unavailable("the LoCoMo dev split", "set MIRIX_LOCOMO")
    script = bench / "bench_agent.py"
    out = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=420
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for title in ("Model throughput", "per batch", "simulated hour", "recall@10", "QA accuracy"):
        assert title in out.stdout
