"""The [model] and [agent] settings, kept in `Settings.extra`, and the API key in the OS keyring.

Two roles: the chat model answers, the agent model sorts captures in the background. Both default
to `[model]`; a `[model.chat]` or `[model.agent]` table, when present, is that role's whole model
(a GGUF or an endpoint; n_ctx, n_threads and timeout come from `[model]` unless it sets them).

An API key is never written to settings.toml. Where no keyring backend exists (a headless box),
`set_api_key` raises KeyringUnavailable with what to do instead: the key can come from the
MIRIX_API_KEY environment variable for the session, which is read but never stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from mirix_app.config import Settings, check_value
from mirix_app.errors import InvalidInput, MirixError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "mirix-app-model"
API_KEY_ENV = "MIRIX_API_KEY"
BACKEND_NAMES = ("llama", "openai")
ROLES = ("chat", "agent")
BOTH = "both"
# What a role table inherits from [model] unless it sets it.
_INHERITED = ("n_ctx", "n_threads", "timeout")


class KeyringUnavailable(MirixError):
    """No OS keyring backend: keys cannot be stored safely."""


@dataclass
class ModelSettings:
    backend: str = "llama"  # llama | openai
    path: str = ""  # a GGUF file; "" = the shipped SmolLM2-135M-Instruct
    n_ctx: int = 4096
    n_threads: int = 2
    endpoint: str = ""  # e.g. http://localhost:11434/v1 (Ollama), http://localhost:8080/v1
    model: str = ""  # model name for the endpoint
    timeout: float = 120.0
    # Addresses the user added for server discovery (besides the well-known ports on 127.0.0.1).
    servers: list[str] = field(default_factory=list)
    discovered_at: str = ""  # when the first-run look for local servers ran ("" = not yet)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelSettings:
        """[model] itself: both roles' model unless a role table overrides it."""
        raw = settings.extra.get("model", {})
        if isinstance(raw, dict):
            raw = {k: v for k, v in raw.items() if not (k in ROLES and isinstance(v, dict))}
        return _read(cls, raw, "model", settings.source)

    @classmethod
    def for_role(cls, settings: Settings, role: str) -> ModelSettings:
        """The model of `role` (chat | agent): its [model.<role>] table, else [model]."""
        if role not in ROLES:
            raise InvalidInput(f"unknown model role {role!r}", f"one of {', '.join(ROLES)}")
        base = cls.from_settings(settings)
        raw = settings.extra.get("model", {})
        sub = raw.get(role) if isinstance(raw, dict) else None
        if not isinstance(sub, dict) or not sub:
            return base
        merged = {k: getattr(base, k) for k in _INHERITED}
        merged.update(sub)
        out: ModelSettings = _read(cls, merged, f"model.{role}", settings.source)
        out.servers, out.discovered_at = base.servers, base.discovered_at
        return out

    def save_into(self, settings: Settings) -> None:
        """Write [model], keeping any role tables."""
        old = settings.extra.get("model", {})
        keep = (
            {k: v for k, v in old.items() if k in ROLES and isinstance(v, dict)}
            if isinstance(old, dict)
            else {}
        )
        settings.extra["model"] = {**dataclasses.asdict(self), **keep}

    def model_fields(self) -> dict[str, Any]:
        """What chooses the model (for a role table): no discovery bookkeeping."""
        d = dataclasses.asdict(self)
        d.pop("servers", None)
        d.pop("discovered_at", None)
        return d

    def same_model(self, other: ModelSettings) -> bool:
        return self.model_fields() == other.model_fields()

    def describe(self) -> str:
        if self.backend == "openai":
            return f"endpoint {self.endpoint} model {self.model or '(server default)'}"
        return f"GGUF {self.path or '(default) SmolLM2-135M-Instruct Q4_1'}"


def role_overrides(settings: Settings) -> dict[str, dict[str, Any]]:
    """The role tables present in [model] (empty when both roles use [model])."""
    raw = settings.extra.get("model", {})
    if not isinstance(raw, dict):
        return {}
    return {r: dict(raw[r]) for r in ROLES if isinstance(raw.get(r), dict) and raw[r]}


def set_role_model(settings: Settings, role: str, ms: ModelSettings) -> None:
    """Use `ms` for `role` (chat | agent | both), in `settings.extra` (the caller saves).

    "both" writes [model] and drops the role tables; a role writes its own table, or drops it
    when `ms` is the [model] model anyway."""
    if role not in (*ROLES, BOTH):
        raise InvalidInput(f"unknown model role {role!r}", "one of chat, agent, both")
    base = ModelSettings.from_settings(settings)
    raw = settings.extra.get("model", {})
    raw = dict(raw) if isinstance(raw, dict) else {}
    if role == BOTH:
        fresh = dataclasses.replace(ms, servers=base.servers, discovered_at=base.discovered_at)
        settings.extra["model"] = dataclasses.asdict(fresh)
        return
    if ms.same_model(base):
        raw.pop(role, None)
    else:
        raw[role] = ms.model_fields()
    settings.extra["model"] = raw
    ModelSettings.for_role(settings, role)  # validates what was written


@dataclass
class AgentSettings:
    batch_size: int = 20  # inbox items taken and written per transaction
    items_per_call: int = 5  # items per model call (a small model degrades on long lists)
    max_attempts: int = 2  # structured-output tries per batch before the unsorted fallback
    # Above this many waiting items, captures are sorted by the deterministic signals alone (no
    # model notes) so the agent keeps up with capture; chat and documents always get notes.
    notes_backlog_limit: int = 40
    # Imported conversation turns (items with a message id, e.g. a LoCoMo or chat-log import) get
    # model notes; False sorts them by the deterministic signals alone (a big import then costs
    # no model time). The user's own chat and documents always get notes.
    import_notes: bool = True
    capture_chars: int = 600  # OCR text per capture kept for the prompt after trimming
    decide_with_model: bool = True  # ask the model add/update/merge/delete on close matches
    decide_similarity: float = 0.75  # ... when a candidate's vector similarity reaches this
    episode_merge_minutes: int = 10  # consecutive captures of one window join one episode

    @classmethod
    def from_settings(cls, settings: Settings) -> AgentSettings:
        return _read(cls, settings.extra.get("agent", {}), "agent", settings.source)


# Lower bounds of numeric settings (NaN and infinity are refused by `check_value`).
_MINIMUM: dict[str, float] = {
    "model.n_ctx": 256,
    "model.n_threads": 1,
    "model.timeout": 0.1,
    "model.chat.n_ctx": 256,
    "model.chat.n_threads": 1,
    "model.chat.timeout": 0.1,
    "model.agent.n_ctx": 256,
    "model.agent.n_threads": 1,
    "model.agent.timeout": 0.1,
    "agent.batch_size": 1,
    "agent.items_per_call": 1,
    "agent.max_attempts": 1,
    "agent.notes_backlog_limit": 0,
    "agent.capture_chars": 0,
    "agent.decide_similarity": -1.0,
    "agent.episode_merge_minutes": 0,
}


def _read(cls: Any, raw: Any, section: str, source: str = "settings") -> Any:
    """`source` (the settings file) goes into every error, with the key at fault."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{source}: [{section}] must be a table")
    if section == "model":
        for role in ROLES:  # a role table is read by ModelSettings.for_role
            if role in raw and not isinstance(raw[role], dict):
                raise InvalidInput(f"{source}: model.{role} must be a table")
        raw = {k: v for k, v in raw.items() if k not in ROLES}
    out = cls()
    for key, value in raw.items():
        setattr(out, key, check_value(out, section, key, value, source))
        low = _MINIMUM.get(f"{section}.{key}")
        if low is not None and value < low:
            raise InvalidInput(f"{source}: {section}.{key} must be at least {low:g}")
    if section == "agent" and out.decide_similarity > 1:
        raise InvalidInput(f"{source}: agent.decide_similarity must be between -1 and 1")
    if section.startswith("model") and out.backend not in BACKEND_NAMES:
        raise InvalidInput(
            f"{source}: {section}.backend must be one of {', '.join(BACKEND_NAMES)}",
            "llama = a GGUF file on this machine; openai = an OpenAI-compatible endpoint",
        )
    return out


# -- API key ---------------------------------------------------------------------------------------
def _keyring_usable() -> bool:
    import keyring
    from keyring.backends import fail

    try:
        backend = keyring.get_keyring()
    except Exception as e:
        log.debug("keyring backend unusable (%s): API keys cannot be stored", type(e).__name__)
        return False
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0


def set_api_key(endpoint: str, key: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    hint = (
        f"no OS keyring is available here, so the key is not stored; set {API_KEY_ENV} in the "
        "environment of the app instead (it is read, never written to disk)"
    )
    if not _keyring_usable():
        raise KeyringUnavailable("cannot store the API key: no keyring backend", hint)
    try:
        keyring.set_password(KEYRING_SERVICE, endpoint, key)
    except KeyringError as e:
        raise KeyringUnavailable(f"cannot store the API key: {type(e).__name__}", hint) from e


def get_api_key(endpoint: str) -> str | None:
    """The environment variable first (explicit for this session), then the keyring."""
    env = os.environ.get(API_KEY_ENV)
    if env:
        return env
    if not endpoint or not _keyring_usable():
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, endpoint)
    except KeyringError:
        return None


def delete_api_key(endpoint: str) -> None:
    if not _keyring_usable():
        return
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    with contextlib.suppress(PasswordDeleteError, KeyringError):
        keyring.delete_password(KEYRING_SERVICE, endpoint)


def make_role_models(settings: Settings) -> dict[str, Any]:
    """{"chat": model, "agent": model}: one shared instance when both roles use one model."""
    return {role: make_model(ModelSettings.for_role(settings, role)) for role in ROLES}


def make_model(ms: ModelSettings, *, shared: bool = True) -> Any:
    """The configured model (not loaded yet). One instance per configuration when `shared`.

    The backend registry builds it (each backend reads its own fields from `ms`)."""
    from mirix_app.agent import models

    cls = models.backends().get(ms.backend)
    if cls is None:
        raise InvalidInput(
            f"unknown model backend {ms.backend!r}", f"one of {', '.join(BACKEND_NAMES)}"
        )
    key = cls.settings_key(ms)  # checks `ms` now, not on first use

    def factory() -> models.Model:
        return cls.from_settings(ms)

    return models.shared_model(key, factory) if shared else factory()
