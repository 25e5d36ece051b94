"""The per-model capability check: scripted good and bad models, the private cache keyed by model
identity, `mirix model` / `mirix model check`; and the real SmolLM2 (slow)."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mirix_app.agent import capability
from mirix_app.agent.capability import (
    ITEMS,
    CapabilityResult,
    cached_mode,
    ensure_mode,
    has_fact,
    mode_for,
    run_check,
    save_result,
)
from mirix_app.agent.models import LlamaCppModel, OpenAICompatModel
from mirix_app.paths import Paths
from tests.fakes import Request, ScriptedModel

_DRAFT = re.compile(r"Draft answer:\n<data>\n(.*?)\n</data>", re.S)


def draft_of(prompt: str) -> str:
    m = _DRAFT.search(prompt)
    assert m, prompt
    return m.group(1)


def good(req: Request) -> str:
    """A faithful model: says the draft as an answer sentence."""
    return draft_of(req.prompt)


def looping(req: Request) -> str:
    return " ".join([draft_of(req.prompt)] * 5)


def inventing(req: Request) -> str:
    return "It is at 11:45 with Mr. Jones."


def test_items_are_sound() -> None:
    assert 18 <= len(ITEMS) <= 24 and len({i.id for i in ITEMS}) == len(ITEMS)
    for item in ITEMS:
        assert 1 <= len(item.evidence) <= 4 and item.expected
        # The draft itself passes its own item: the check asks for nothing the draft lacks.
        assert all(has_fact(item.draft, f) for f in item.expected), item.id
        assert all(any(has_fact(e, f) for e in item.evidence) for f in item.expected), item.id


def test_good_model_may_phrase() -> None:
    m = ScriptedModel(default=good, name="good")
    seen: list[tuple[int, int, int]] = []
    r = run_check(m, progress=lambda d, t, p: seen.append((d, t, p)))
    assert r.mode == "phrase" and r.passed == r.total == len(ITEMS) and r.score == 1.0
    assert seen[-1] == (len(ITEMS), len(ITEMS), len(ITEMS)) and len(seen) == len(ITEMS)
    assert len(m.requests) == len(ITEMS) and r.failures == []
    assert r.model_id == "scripted:good" and r.measured_at.endswith("Z")


@pytest.mark.parametrize("reply", [looping, inventing, "<data>", ""])
def test_bad_models_are_off(reply: Any) -> None:
    r = run_check(ScriptedModel(default=reply, name="bad"))
    assert r.mode == "off" and r.passed == 0 and len(r.failures) == len(ITEMS)


def test_half_good_model_may_only_summarize() -> None:
    replies = [good if i % 4 else inventing for i in range(len(ITEMS))]  # 3 of 4 good
    r = run_check(ScriptedModel(replies, name="mixed"))
    assert r.mode == "summarize" and 0.5 <= r.score < 0.85
    assert mode_for(0.85) == "phrase" and mode_for(0.5) == "summarize" and mode_for(0.49) == "off"


def test_an_answer_that_drops_the_fact_fails() -> None:
    # Verified (it says nothing false) but no longer answers: the item fails.
    r = run_check(ScriptedModel(default=lambda req: "Noted.", name="vague"))
    assert r.mode == "off"


def test_ensure_mode_caches_privately_and_a_hit_runs_nothing(paths: Paths) -> None:
    m = ScriptedModel(default=good, name="good")
    assert cached_mode(m, paths) is None
    first = ensure_mode(m, paths)
    assert first.mode == "phrase" and len(m.requests) == len(ITEMS)
    again = ensure_mode(m, paths)
    assert again == first and len(m.requests) == len(ITEMS)  # the cache answered
    assert cached_mode(m, paths) == first
    f = capability.cache_file(m, paths)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(f.parent.stat().st_mode) == 0o700
    assert not list(f.parent.glob("*.tmp"))
    ensure_mode(m, paths, force=True)
    assert len(m.requests) == 2 * len(ITEMS)
    # Another model (here: another name) has its own entry.
    assert cached_mode(ScriptedModel(default=good, name="other"), paths) is None


def test_broken_or_outdated_cache_is_ignored(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    m = ScriptedModel(default=good, name="good")
    ensure_mode(m, paths)
    f = capability.cache_file(m, paths)
    data = json.loads(f.read_text())
    f.write_text("{not json")
    assert cached_mode(m, paths) is None
    f.write_text(json.dumps({**data, "mode": "bogus"}))
    assert cached_mode(m, paths) is None
    f.write_text(json.dumps(data))
    assert cached_mode(m, paths) is not None
    monkeypatch.setattr(capability, "CHECK_VERSION", capability.CHECK_VERSION + 1)
    assert cached_mode(m, paths) is None  # new items or prompt: measure again


def _result(mode: str = "phrase", score: float = 0.9) -> CapabilityResult:
    return CapabilityResult("x", score, 18, 20, mode, 1.0, "2025-01-01T00:00:00Z")


def test_cache_is_keyed_by_the_model_file(paths: Paths, tmp_path: Path) -> None:
    gguf = tmp_path / "a.gguf"
    gguf.write_bytes(b"GGUF" + os.urandom(2000))
    m = LlamaCppModel(gguf)
    ident = m.identity()
    assert ident["path"] == str(gguf.resolve()) and ident["size"] == 2004
    save_result(m, paths, _result())
    assert cached_mode(LlamaCppModel(gguf), paths) is not None  # same file, new instance
    copy = tmp_path / "b.gguf"
    copy.write_bytes(gguf.read_bytes())
    assert cached_mode(LlamaCppModel(copy), paths) is None  # another path
    gguf.write_bytes(b"GGUF" + os.urandom(2000))  # replaced in place: same size, new content
    os.utime(gguf, ns=(ident["mtime_ns"], ident["mtime_ns"]))  # even with the old mtime
    assert cached_mode(LlamaCppModel(gguf), paths) is None
    gguf.unlink()
    assert cached_mode(LlamaCppModel(gguf), paths) is None  # missing file: None, no error


def test_cache_is_keyed_by_endpoint_and_model_name(paths: Paths) -> None:
    a = OpenAICompatModel("http://127.0.0.1:9/v1", "small")
    save_result(a, paths, _result())
    assert cached_mode(OpenAICompatModel("http://127.0.0.1:9/v1/", "small"), paths) is not None
    assert cached_mode(OpenAICompatModel("http://127.0.0.1:9/v1", "big"), paths) is None
    assert cached_mode(OpenAICompatModel("http://127.0.0.2:9/v1", "small"), paths) is None


def test_describe_lines() -> None:
    assert _result().describe() == "chat answers: phrased by the model (capability 0.90, 18/20)"
    assert _result("off", 0.15).describe() == (
        "extractive only: model failed the capability check (0.15)"
    )
    assert "summarize" in _result("summarize", 0.6).describe()


# -- the CLI against an OpenAI-compatible endpoint that answers with the draft -----------------------
class _DraftHandler(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []  # noqa: RUF012 - shared on purpose, reset by the fixture

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        text = draft_of(body["messages"][-1]["content"])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in text.split(" "):
            chunk = {"choices": [{"delta": {"content": word + " "}, "index": 0}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def draft_server() -> Iterator[str]:
    _DraftHandler.bodies = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _DraftHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_cli_model_check_and_status(
    draft_server: str, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    from mirix_app.cli import main

    assert main(["model", "set", "--endpoint", draft_server, "--name", "tiny"]) == 0
    capsys.readouterr()
    assert main(["model"]) == 0
    assert "not checked yet: run `mirix model check`" in capsys.readouterr().out
    assert main(["model", "check"]) == 0
    out = capsys.readouterr()
    assert f"chat answers: phrased by the model (capability 1.00, {len(ITEMS)}/{len(ITEMS)})" in (
        out.out
    )
    assert f"{len(ITEMS)}/{len(ITEMS)} items" in out.err  # the progress line
    body = _DraftHandler.bodies[-1]
    assert body["temperature"] == 0.0 and body["stop"] and len(body["stop"]) <= 4
    assert body["frequency_penalty"] > 0 and "repeat_penalty" not in body
    n = len(_DraftHandler.bodies)
    assert main(["model", "check"]) == 0  # cached: nothing sent
    assert "cached" in capsys.readouterr().out and len(_DraftHandler.bodies) == n
    assert main(["model"]) == 0
    assert "phrased by the model" in capsys.readouterr().out
    assert main(["model", "check", "--force"]) == 0
    assert len(_DraftHandler.bodies) == n + len(ITEMS)


# -- the real model (slow) ---------------------------------------------------------------------------
@pytest.mark.slow
def test_real_model_capability_is_measured_and_cached(paths: Paths) -> None:
    m = LlamaCppModel(n_ctx=2048, n_threads=1)
    try:
        r = ensure_mode(m, paths)
        print(
            f"\nSmolLM2 capability: {r.score:.2f} ({r.passed}/{r.total}) -> {r.mode} in "
            f"{r.seconds:.1f}s; failures: {r.failures}"
        )
        assert r.mode in ("phrase", "summarize", "off") and r.total == len(ITEMS)
        assert r.model_id.startswith("llama:") and r.model_id.endswith(".gguf")
        calls = m.usage.calls
        assert ensure_mode(m, paths) == r and m.usage.calls == calls  # cached
        assert cached_mode(LlamaCppModel(), paths) == r  # any instance on the same file
        # What the measurement showed on this machine (17/20): a drop would mean the prompt, the
        # guard or the verification got worse for small models.
        assert r.passed >= 14
    finally:
        m.close()
