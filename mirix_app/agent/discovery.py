"""Find OpenAI-compatible model servers on this machine: Ollama, LM Studio, llama-server /
llama-cpp-python and vLLM on their usual ports of 127.0.0.1, plus addresses the user added.

Only 127.0.0.1 (an IP literal: no name look-up, no "localhost" that a hosts file could point
elsewhere) is probed unless the user typed another address. Requests go straight to the address
(`trust_env=False`: an HTTP(S)_PROXY in the environment is never used). Nothing runs at import;
`discover` blocks for at most about `timeout` seconds (the probes run in parallel), so the UI
calls it from a worker thread. No Qt here.

A server's models come from GET /v1/models (`{"data": [{"id": ...}]}`), and for Ollama from
GET /api/tags (`{"models": [{"name": ...}]}`), which also lists models /v1/models may omit.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mirix_app.errors import InvalidInput

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT = 1.0
MAX_MODELS = 200  # a server listing more is cut (the UI is a list, not a catalogue)


@dataclass(frozen=True)
class ServerKind:
    kind: str  # ollama | lmstudio | llama-server | vllm | custom
    label: str
    port: int
    tags_path: str = ""  # Ollama's own model list


WELL_KNOWN: tuple[ServerKind, ...] = (
    ServerKind("ollama", "Ollama", 11434, "/api/tags"),
    ServerKind("lmstudio", "LM Studio", 1234),
    ServerKind("llama-server", "llama-server / llama-cpp-python", 8080),
    ServerKind("vllm", "vLLM", 8000),
)


@dataclass
class Server:
    """One address that was probed. `found` when it answered like a model server."""

    kind: str
    label: str
    root: str  # http://127.0.0.1:11434
    models: list[str] = field(default_factory=list)
    error: str = ""  # why it is not usable ("" when found)
    user_added: bool = False
    seconds: float = 0.0

    @property
    def base_url(self) -> str:
        """What OpenAICompatModel takes (…/v1)."""
        return self.root + "/v1"

    @property
    def found(self) -> bool:
        return not self.error

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "base_url": self.base_url,
            "models": list(self.models),
            "error": self.error,
            "user_added": self.user_added,
        }


def normalize_address(text: str) -> str:
    """A user's address as a root URL: "host:port", "http://host:port/v1" -> "http://host:port".

    InvalidInput when it is not an http(s) address with a host."""
    raw = text.strip()
    if not raw:
        raise InvalidInput("empty server address", "e.g. 127.0.0.1:8081 or http://box:11434")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"not a server address: {text.strip()[:80]!r}",
            "e.g. 127.0.0.1:8081 or http://box:11434",
        )
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"bad port in {text.strip()[:80]!r}") from None
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{path}"


def candidates(
    extra: list[str] | tuple[str, ...] = (),
    known: tuple[ServerKind, ...] = WELL_KNOWN,
) -> list[tuple[ServerKind, str, bool]]:
    """(kind, root URL, user_added) for every address to probe: the well-known ports on
    127.0.0.1, then the user's addresses (a bad one is skipped; duplicates once)."""
    out: list[tuple[ServerKind, str, bool]] = []
    seen: set[str] = set()
    for k in known:
        root = f"http://{LOOPBACK}:{k.port}"
        if root not in seen:
            seen.add(root)
            out.append((k, root, False))
    for text in extra:
        try:
            root = normalize_address(text)
        except InvalidInput:
            continue
        if root in seen:
            continue
        seen.add(root)
        port = urlsplit(root).port
        kind = next((k for k in known if k.port == port), None)
        label = f"{kind.label} at {root}" if kind else root
        out.append(
            (
                ServerKind(
                    kind.kind if kind else "custom",
                    label,
                    port or 0,
                    kind.tags_path if kind else "/api/tags",
                ),
                root,
                True,
            )
        )
    return out


def _get_json(client: Any, url: str) -> Any:
    r = client.get(url, headers={"Accept": "application/json"})
    if r.status_code != 200:
        raise _NotAServer(f"{url} answered {r.status_code}")
    try:
        return json.loads(r.content.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        raise _NotAServer(f"{url} did not answer JSON") from None


class _NotAServer(Exception):
    pass


def _names(data: Any, list_key: str, name_key: str) -> list[str]:
    items = data.get(list_key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _NotAServer(f"no {list_key!r} list in the reply")
    names: list[str] = []
    for item in items[:MAX_MODELS]:
        name = item.get(name_key) if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip() and name not in names:
            names.append(name.strip()[:200])
    return names


def probe(
    kind: ServerKind,
    root: str,
    *,
    user_added: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    api_key: str | None = None,
) -> Server:
    """Ask one address for its models. Never raises: a closed port or a non-server is an
    unfound Server with the reason."""
    import httpx

    start = time.perf_counter()
    server = Server(kind.kind, kind.label, root, user_added=user_added)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.Client(
            timeout=httpx.Timeout(timeout, connect=timeout),
            trust_env=False,  # never through a proxy from the environment
            follow_redirects=False,
            headers=headers,
        ) as client:
            models: list[str] = []
            errors: list[str] = []
            try:
                models = _names(_get_json(client, root + "/v1/models"), "data", "id")
            except _NotAServer as e:
                errors.append(str(e))
            if kind.tags_path:
                try:
                    for name in _names(_get_json(client, root + kind.tags_path), "models", "name"):
                        if name not in models:
                            models.append(name)
                    errors.clear()
                except _NotAServer as e:
                    errors.append(str(e))
            if errors and not models:
                server.error = errors[0]
            server.models = models[:MAX_MODELS]
    except httpx.ConnectError:
        server.error = "nothing listening"
    except httpx.TimeoutException:
        server.error = "no answer in time"
    except httpx.HTTPError as e:
        server.error = f"not a model server ({type(e).__name__})"
    server.seconds = round(time.perf_counter() - start, 3)
    return server


def discover(
    extra: list[str] | tuple[str, ...] = (),
    *,
    known: tuple[ServerKind, ...] = WELL_KNOWN,
    timeout: float = DEFAULT_TIMEOUT,
    include_missing: bool = False,
) -> list[Server]:
    """Probe every candidate in parallel; the servers that answered (all, with `include_missing`),
    in candidate order."""
    todo = candidates(extra, known)
    if not todo:
        return []
    with ThreadPoolExecutor(min(8, len(todo)), thread_name_prefix="mirix-discover") as pool:
        found = list(pool.map(lambda c: probe(c[0], c[1], user_added=c[2], timeout=timeout), todo))
    return found if include_missing else [s for s in found if s.found]
