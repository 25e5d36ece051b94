"""Fuzz, model outputs: what a small or broken model (or a broken server) sends back — broken JSON,
objects that violate the schema, huge outputs, wrong ids, text that is not valid UTF-8, deep
nesting — for each structured request: extraction notes, add/update/merge decisions, core-block
rewrites, and OpenAI-compatible HTTP replies.

The parser answers every one with StructuredOutputError (a ModelError). The pipeline answers with
its documented fallback: no exception escapes, the input is kept as an unsorted episodic memory
(search finds it) and stays in the inbox for a later try, and nothing else in the store changes.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import httpx
import pytest

from mirix_app.agent import prompts
from mirix_app.agent.managers import UNSORTED, Candidate, CoreManager, make_managers
from mirix_app.agent.models import (
    ModelError,
    OpenAICompatModel,
    StructuredOutputError,
    parse_structured,
)
from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.transfer import export_lines
from mirix_app.memory.types import MemoryType, Source
from tests.fakes import ScriptedModel

from .fuzz_data import (
    Case,
    Outcomes,
    decide_output_cases,
    http_reply_cases,
    model_output_cases,
    rewrite_output_cases,
)

TEXT = "Reading about lighthouse maintenance and the harbour schedule"


def snapshot(core: Any) -> list[str]:
    return list(export_lines(core))


def test_parser_refuses_every_bad_reply() -> None:
    out = Outcomes()
    schemas = {
        "extract": prompts.extract_schema(1),
        "decide": prompts.decide_schema(["sem_01AAAAAAAAAAAAAAAAAAAAAAAA"]),
        "rewrite": prompts.rewrite_schema(40),
    }
    cases = (
        model_output_cases()
        + decide_output_cases(["sem_01AAAAAAAAAAAAAAAAAAAAAAAA"])
        + rewrite_output_cases(40)
    )
    for case in cases:
        got = out.check(case, partial(parse_structured, case.data, schemas[case.kind]))
        if isinstance(got, Exception) and not isinstance(got, StructuredOutputError):
            out.problem(case, f"{type(got).__name__}, not StructuredOutputError")
    out.assert_clean()


def test_pipeline_keeps_the_input_and_changes_nothing_else(core: Any) -> None:
    settings = AgentSettings(max_attempts=2, notes_backlog_limit=1_000_000)
    out = Outcomes()
    for n, case in enumerate(model_output_cases()):
        before = snapshot(core)
        model = ScriptedModel(default=case.data)
        item = core.inbox.put(InboxItem(kind="chat", text=f"{TEXT} #{n}", meta={"role": "user"}))
        pipeline = Pipeline(core, model, settings)
        res = out.check(Case(case.name, case.data, "any"), partial(pipeline.process, [item]))
        if isinstance(res, BaseException):
            continue
        kept = core.inbox.get(item.id)
        if res.unsorted != 1 or kept.status != "pending" or not kept.last_error:
            out.problem(case, f"not kept for a retry: {res} {kept.status} {kept.last_error!r}")
        if len(model.requests) != settings.max_attempts:
            out.problem(case, f"{len(model.requests)} model call(s), not one and its retry")
        after = snapshot(core)
        new = [line for line in after if line not in before]
        if [line for line in before if line not in after] or len(new) != 1:
            out.problem(case, f"the store changed beyond one unsorted memory: {len(new)} new")
            continue
        m = json.loads(new[0])
        if (
            m["type"] != "episodic"
            or UNSORTED not in m["tags"]
            or f"#{n}" not in m["fields"]["details"]
        ):
            out.problem(case, f"the new memory is not the item kept unsorted: {new[0][:200]}")
    out.assert_clean()
    assert len(snapshot(core)) == len(model_output_cases())


def test_bad_decisions_fall_back_to_add(core: Any) -> None:
    stored = core.new(
        MemoryType.SEMANTIC, {"name": "lighthouse", "summary": "The lighthouse needs paint"}
    )
    before = snapshot(core)
    out = Outcomes()
    for case in decide_output_cases([stored.id]):
        model = ScriptedModel(default=case.data)
        mgr = make_managers(core, model, use_model=True, similarity=0.0, merge_minutes=10)[
            MemoryType.SEMANTIC
        ]
        cand = Candidate(
            MemoryType.SEMANTIC,
            {
                "name": "lighthouse",
                "summary": "The lighthouse needs red paint",
                "details": "",
                "source": "chat",
            },
            [Source("chat", "c1")],
            True,
        )
        action = out.check(
            Case(case.name, case.data, "any"), partial(mgr.ask_model, cand, [stored])
        )
        if not isinstance(action, BaseException) and action.note != "model failed":  # op "add"
            out.problem(
                case, f"acted on a bad decision: {action.op} {action.target} ({action.note})"
            )
    out.assert_clean()
    assert snapshot(core) == before


def test_bad_rewrites_fall_back_to_moving_old_lines(core: Any) -> None:
    out = Outcomes()
    lines = [f"fact{i}: value number {i}" for i in range(8)]
    limit = 100
    for case in rewrite_output_cases(limit):
        mgr = make_managers(
            core, ScriptedModel(default=case.data), use_model=True, similarity=0.5, merge_minutes=10
        )[MemoryType.CORE]
        assert isinstance(mgr, CoreManager)
        got = out.check(
            Case(case.name, case.data, "any"), partial(mgr.fit, "human", list(lines), limit)
        )
        if isinstance(got, BaseException):
            continue
        text, moved = got
        if not moved or len(text) > limit or lines[-1] not in text:
            out.problem(case, f"a bad rewrite was used: {text[:80]!r}")
    out.assert_clean()


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """httpx.Client talks to a handler instead of the network; `reply` is what it answers."""
    state: dict[str, Any] = {"reply": (200, "application/json", b"{}")}

    def handler(request: httpx.Request) -> httpx.Response:
        status, ctype, body = state["reply"]
        return httpx.Response(status, headers={"content-type": ctype}, content=body)

    real = httpx.Client

    def client(*a: Any, **kw: Any) -> httpx.Client:
        return real(*a, transport=httpx.MockTransport(handler), **kw)

    monkeypatch.setattr(httpx, "Client", client)
    return state


def test_broken_server_replies_are_model_errors(fake_server: dict[str, Any]) -> None:
    out = Outcomes()
    for case in http_reply_cases():
        fake_server["reply"] = case.data
        model = OpenAICompatModel("http://model.invalid/v1", "m")
        ask = partial(model.structured, prompts.extract_messages(["x"]), prompts.extract_schema(1))
        got = out.check(case, ask)
        if isinstance(got, Exception) and not isinstance(got, ModelError):
            out.problem(case, f"{type(got).__name__}, not a ModelError")
    out.assert_clean()
