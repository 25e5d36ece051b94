"""Test doubles kept out of the app: the scripted model (as simonw/llm keeps its MockModel in
tests). Production code cannot construct it: it is not a registered backend; the
`scripted_backend` fixture (tests/conftest.py) registers it for a test that needs the registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mirix_app.agent.models import ChatMessage, Model, ModelError


@dataclass
class Request:
    messages: list[ChatMessage]
    schema: dict[str, Any] | None
    max_tokens: int
    temperature: float | None = None
    stop: list[str] | None = None
    repeat_penalty: float | None = None

    @property
    def prompt(self) -> str:
        return "\n".join(m["content"] for m in self.messages)

    @property
    def task(self) -> str:
        """The schema's title (our prompts name each task there), or 'text'."""
        return str((self.schema or {}).get("title", "text"))


Reply = str | dict[str, Any] | list[Any] | Callable[[Request], Any]


class ScriptedModel(Model):
    """Replies from a script: a list consumed in order, or a function of the request.

    A reply may be a string (sent as is), a dict/list (sent as JSON) or a callable(Request).
    With `by_task`, replies are looked up by the schema title first ("extract", "decide", ...).
    Every request is kept in `requests` so tests can check what reached the prompt.
    """

    backend = "scripted"
    constrains_output = False

    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        by_task: dict[str, Reply | list[Reply]] | None = None,
        default: Reply | None = None,
        name: str = "scripted",
    ) -> None:
        super().__init__()
        self.replies: list[Reply] = list(replies or [])
        self.by_task: dict[str, list[Reply] | Reply] = dict(by_task or {})
        self.default = default
        self.requests: list[Request] = []
        self._name = name  # tests tell scripted models apart by it (e.g. capability caching)

    @property
    def name(self) -> str:
        return self._name

    def _next(self, req: Request) -> Any:
        entry = self.by_task.get(req.task)
        if isinstance(entry, list):
            if entry:
                return entry.pop(0)
        elif entry is not None:
            return entry
        if self.replies:
            return self.replies.pop(0)
        if self.default is not None:
            return self.default
        raise ModelError(f"the scripted model has no reply left for a {req.task!r} request")

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
        # The base class cuts the reply at `stop`, as a real backend would.
        req = Request(list(messages), schema, max_tokens, temperature, stop, repeat_penalty)
        self.requests.append(req)
        reply = self._next(req)
        if callable(reply):
            reply = reply(req)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        for i, word in enumerate(text.split(" ")):
            yield word if i == 0 else " " + word
