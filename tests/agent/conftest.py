"""Helpers for agent tests: scripted replies shaped like our prompts' schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.memory.inbox import InboxItem
from tests.fakes import Request, ScriptedModel

_ITEM = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=^\[\d+\] |\n</data>)", re.M | re.S)


def items_in(req: Request) -> list[str]:
    """The item texts of an extraction prompt, in order."""
    return [m.group(2).strip() for m in _ITEM.finditer(req.messages[-1]["content"])]


def echo_notes(facts: dict[str, tuple[str, str]] | None = None) -> Callable[[Request], Any]:
    """Notes that repeat each item's first line (grounded), plus scripted facts by keyword."""

    def reply(req: Request) -> Any:
        n = req.schema["properties"]["notes"]["minItems"] if req.schema else 0
        notes = []
        for text in items_in(req)[:n]:
            first = text.splitlines()[0][:100] if text else "item"
            fs = [
                {"name": name, "summary": sentence}
                for key, (name, sentence) in (facts or {}).items()
                if key.lower() in text.lower()
            ][:1]
            notes.append({"summary": first, "topics": [first.split()[0].lower()], "facts": fs})
        while len(notes) < n:
            notes.append({"summary": "item", "topics": ["item"], "facts": []})
        return {"notes": notes}

    return reply


@pytest.fixture
def settings() -> AgentSettings:
    return AgentSettings(decide_similarity=0.3)


def run(
    core: Any, model: ScriptedModel | None, items: list[InboxItem], s: AgentSettings | None = None
) -> Any:
    for it in items:
        core.inbox.put(it)
    p = Pipeline(core, model, s or AgentSettings(decide_similarity=0.3))
    return p, p.process(core.inbox.take(50))
