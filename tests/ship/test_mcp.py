"""`mirix mcp` answers the official SDK's own client over stdio; vault values never leave."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
import pytest

from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Source
from mirix_app.paths import Paths


def _seed(paths: Paths) -> dict[str, str]:
    core = MemoryCore.open(paths)
    ids = {
        "sem": core.new(
            "semantic",
            {"name": "Alice", "summary": "Alice is my manager"},
            sources=[Source("chat", "msg-1", at="2024-05-01T10:00:00Z")],
        ).id,
        "vault": core.new(
            "vault",
            {
                "entry_type": "api_key",
                "secret_value": "sk-NEVER-LEAK-77",
                "caption": "Stripe key",
                "sensitivity": "high",
            },
        ).id,
        "epi": core.new(
            "episodic",
            {"summary": "Reviewed the Q3 roadmap"},
            sources=[Source("capture", "cap-1", app="firefox")],
        ).id,
    }
    core.inbox.put(InboxItem("capture", text="roadmap", app="firefox", window="Roadmap - Docs"))
    core.close()
    return ids


async def _session(args: list[str], fn: Any) -> Any:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mirix_app.cli", "mcp", *args], env=dict(os.environ)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await fn(session)


def _payload(result: Any) -> Any:
    assert not result.is_error, result
    if result.structured_content is not None:
        sc = result.structured_content
        return sc.get("result", sc) if isinstance(sc, dict) else sc
    return json.loads(result.content[0].text)


@pytest.mark.slow
def test_sdk_client_searches_gets_and_lists(paths: Paths) -> None:
    ids = _seed(paths)

    async def go(session: Any) -> dict[str, Any]:
        tools = {t.name for t in (await session.list_tools()).tools}
        found = _payload(await session.call_tool("search_memories", {"query": "who is my manager"}))
        vault = _payload(
            await session.call_tool("search_memories", {"query": "Stripe key", "types": ["vault"]})
        )
        got = _payload(await session.call_tool("get_memory", {"memory_id": ids["vault"]}))
        recent = _payload(await session.call_tool("recent_activity", {"hours": 24}))
        add = await session.call_tool(
            "add_memory", {"type": "semantic", "fields": {"name": "x", "summary": "y"}}
        )
        return {
            "tools": tools,
            "found": found,
            "vault": vault,
            "got": got,
            "recent": recent,
            "add": add,
        }

    out = anyio.run(_session, [], go)
    assert out["tools"] == {"search_memories", "get_memory", "recent_activity"}  # read-only
    assert out["found"][0]["id"] == ids["sem"]
    assert out["found"][0]["sources"][0]["ref"] == "msg-1"
    assert out["vault"][0]["id"] == ids["vault"]
    assert "sk-NEVER-LEAK-77" not in json.dumps(
        [out[k] for k in ("found", "vault", "got", "recent")]
    )
    assert out["got"]["fields"]["secret_value"].startswith("[hidden")
    assert [e["id"] for e in out["recent"]["events"]] == [ids["epi"]]
    assert out["recent"]["screens"][0]["window"] == "Roadmap - Docs"
    assert out["add"].is_error  # no such tool when read-only
    core = MemoryCore.open(paths)
    assert core.store.count()["semantic"] == 1


@pytest.mark.slow
def test_writes_only_when_enabled(paths: Paths) -> None:
    _seed(paths)

    async def go(session: Any) -> Any:
        ok = _payload(
            await session.call_tool(
                "add_memory",
                {"type": "semantic", "fields": {"name": "Bob", "summary": "Bob joined"}},
            )
        )
        vault = await session.call_tool(
            "add_memory",
            {"type": "vault", "fields": {"entry_type": "pin", "secret_value": "1", "caption": "c"}},
        )
        return ok, vault

    ok, vault = anyio.run(_session, ["--allow-writes"], go)
    assert ok["origin"] == "mcp" and ok["sources"][0]["kind"] == "agent"
    assert vault.is_error
    core = MemoryCore.open(paths)
    assert core.get(ok["id"]).fields["name"] == "Bob"
    assert core.store.count()["vault"] == 1
