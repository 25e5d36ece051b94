"""`OpenAICompatModel`: any OpenAI-compatible /chat/completions endpoint (Ollama, LM Studio,
llama-server, OpenAI) over httpx, with SSE streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mirix_app.agent.models.base import Model
from mirix_app.agent.models.registry import register
from mirix_app.agent.models.types import (
    ChatMessage,
    ModelError,
    ModelStatus,
    ModelUnavailable,
)
from mirix_app.errors import InvalidInput

if TYPE_CHECKING:
    from mirix_app.agent.settings import ModelSettings


# -- OpenAI-compatible HTTP ------------------------------------------------------------------------
@register
class OpenAICompatModel(Model):
    """POST {base_url}/chat/completions with stream=true; SSE `data:` lines until `[DONE]`."""

    backend = "openai"
    constrains_output = True

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self._json_schema_ok = True  # some servers reject response_format json_schema

    @classmethod
    def settings_key(cls, ms: ModelSettings) -> tuple[Any, ...]:
        if not ms.endpoint:
            raise InvalidInput(
                "model.backend is openai but no endpoint is set",
                "mirix model set --endpoint http://localhost:11434/v1 --name MODEL",
            )
        return (cls.backend, ms.endpoint, ms.model)

    @classmethod
    def from_settings(cls, ms: ModelSettings) -> Model:
        from mirix_app.agent.settings import get_api_key

        return cls(ms.endpoint, ms.model, api_key=get_api_key(ms.endpoint), timeout=ms.timeout)

    @property
    def name(self) -> str:
        return self.model or "default"

    def status(self) -> ModelStatus:
        return ModelStatus(self.backend, self.name, True, self.base_url)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "base_url": self.base_url, "model": self.model}

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def _body(
        self,
        messages: list[ChatMessage],
        max_tokens: int,
        temperature: float,
        schema: dict[str, Any] | None,
        stop: list[str] | None,
        repeat_penalty: float | None,
    ) -> dict[str, Any]:
        """The /chat/completions request: stops cut to what OpenAI takes, penalties as its
        fields, the schema as json_schema (or json_object where the server refused that)."""
        body: dict[str, Any] = {
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        if self.model:
            body["model"] = self.model
        if stop:
            body["stop"] = list(stop)[:HTTP_MAX_STOPS]  # the rest is enforced on the text
        body.update(http_penalties(repeat_penalty))
        if schema is not None:
            if self._json_schema_ok:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": schema},
                }
            else:
                body["response_format"] = {"type": "json_object"}
        return body

    def _read(self, r: Any) -> Iterator[str]:
        """The text of a reply: SSE `data:` events until `[DONE]`, or one plain JSON completion
        from a server that does not stream."""
        ctype = r.headers.get("content-type", "")
        if "text/event-stream" not in ctype:
            try:
                data = json.loads(r.read().decode("utf-8", "replace"))
            except (ValueError, RecursionError):
                data = None
            content = _content(data, "message")
            if content is None:
                raise ModelError(
                    f"{self.base_url} did not answer with a chat completion",
                    "is this an OpenAI-compatible endpoint (…/v1)? check with: mirix model",
                )
            if content:
                yield content
            return
        for line in r.iter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                event = json.loads(payload)
            except (ValueError, RecursionError):
                continue  # a keep-alive or a broken event: the validation decides
            piece = _content(event, "delta")
            if piece:
                yield piece

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
        import httpx

        body = self._body(messages, max_tokens, temperature, schema, stop, repeat_penalty)
        url = f"{self.base_url}/chat/completions"
        try:
            with (
                httpx.Client(timeout=self.timeout) as client,
                client.stream("POST", url, json=body, headers=self._headers()) as r,
            ):
                if r.status_code == 400 and schema is not None and self._json_schema_ok:
                    # Retry once without json_schema (older servers); validation still applies.
                    self._json_schema_ok = False
                    r.read()
                    yield from self._stream(
                        messages,
                        max_tokens=max_tokens,
                        temperature=temperature,
                        schema=schema,
                        stop=stop,
                        repeat_penalty=repeat_penalty,
                    )
                    return
                if r.status_code in (401, 403):
                    raise ModelError(
                        f"{self.base_url} refused the request ({r.status_code})",
                        "set the API key: mirix model set --endpoint URL --api-key",
                    )
                if r.status_code >= 400:
                    r.read()
                    raise ModelError(f"{self.base_url} answered {r.status_code}: {r.text[:200]}")
                yield from self._read(r)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            # Nothing answers: not this request's fault, so queued work waits for the server.
            raise ModelUnavailable(
                f"cannot reach the model endpoint {self.base_url}: {type(e).__name__}",
                "is the server running? check with: mirix model",
            ) from e
        except httpx.HTTPError as e:
            raise ModelError(
                f"cannot reach the model endpoint {self.base_url}: {type(e).__name__}",
                "is the server running? check with: mirix model",
            ) from e


# OpenAI accepts at most 4 stop strings (a 400 otherwise).
HTTP_MAX_STOPS = 4


def http_penalties(repeat_penalty: float | None) -> dict[str, float]:
    """A llama.cpp-style repeat penalty as the standard OpenAI fields (-2..2; 0 = none).

    OpenAI itself refuses an unknown `repeat_penalty` field, so only these two go over HTTP:
    1.3 becomes frequency 0.6 (grows with each repeat) and presence 0.3 (once per token).
    """
    if repeat_penalty is None or repeat_penalty <= 1.0:
        return {}
    extra = repeat_penalty - 1.0
    return {
        "frequency_penalty": round(min(2.0, 2.0 * extra), 3),
        "presence_penalty": round(min(2.0, extra), 3),
    }


def _content(reply: Any, key: str) -> str | None:
    """choices[0][key].content of a (streamed) chat completion: "" when it is empty, None when
    the reply does not have that shape at all."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    if not isinstance(choices, list):
        return None
    if not choices:
        return ""
    part = choices[0].get(key) if isinstance(choices[0], dict) else None
    if not isinstance(part, dict):
        return None
    content = part.get("content")
    return content if isinstance(content, str) else "" if content is None else None
