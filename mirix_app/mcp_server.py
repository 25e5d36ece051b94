"""`mirix mcp`: the memory over the Model Context Protocol (stdio), for other agents.

Read-only unless the user enables writes (`mirix mcp --allow-writes` or `[mcp] allow_writes = true`).
Knowledge-vault values never leave through it: vault entries show their caption only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import normalize_time, to_iso
from mirix_app.memory.types import Filters, Memory, MemoryType, Source

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mirix_app.memory.core import MemoryCore

MAX_LIMIT = 50
HIDDEN = "[hidden: knowledge-vault values are not shared over MCP]"


def public(m: Memory) -> dict[str, Any]:
    """A memory as other agents see it: no vault secret."""
    d = m.to_dict()
    if m.type is MemoryType.VAULT:
        d["fields"] = {**d["fields"], "secret_value": HIDDEN}
    return d


def _time(value: str | None, what: str) -> str | None:
    if not value:
        return None
    try:
        return normalize_time(value)
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO 8601 time, got {value[:40]!r}") from None


def build_server(core: MemoryCore, *, allow_writes: bool = False) -> MCPServer:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(
        name="mirix",
        instructions="Personal memory of the user (what they saw, said and saved). Search before "
        "answering questions about their past; cite memory ids. Read-only unless writes are enabled.",
    )

    _read_tools(server, core)
    if allow_writes:
        _write_tools(server, core)
    return server


def _read_tools(server: MCPServer, core: MemoryCore) -> None:
    """search_memories, get_memory, recent_activity: what any client may do."""

    @server.tool(
        description="Hybrid keyword + meaning search over the user's memories. types: any "
        "of core, episodic, semantic, procedural, resource, vault. since/until: ISO times. "
        "app: only memories captured from this application."
    )
    def search_memories(
        query: str,
        types: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        app: str | None = None,
        limit: int = 10,
    ) -> list[dict[str, Any]]:
        filters = Filters(
            types=[MemoryType.parse(t) for t in types] if types else None,
            since=_time(since, "since"),
            until=_time(until, "until"),
            app=app,
        )
        hits = core.search(query, filters=filters, limit=max(1, min(limit, MAX_LIMIT)))
        return [{**h.to_dict(), "title": h.memory.title} for h in hits]

    @server.tool(description="One memory by id, with all its fields, history count and sources.")
    def get_memory(memory_id: str) -> dict[str, Any]:
        m = core.get(memory_id)
        if m.deleted_at:
            raise InvalidInput(f"{memory_id} is in the trash")
        return {**public(m), "changes": len(core.history(memory_id))}

    @server.tool(
        description="What the user did recently: episodic memories and captured screens "
        "(app, window, time) of the last `hours`."
    )
    def recent_activity(hours: float = 24, limit: int = 30) -> dict[str, Any]:
        since = to_iso(datetime.now(UTC) - timedelta(hours=max(0.0, hours)))
        limit = max(1, min(limit, MAX_LIMIT))
        events = core.browse(Filters(types=[MemoryType.EPISODIC], since=since), limit=limit)
        captures = core.inbox_recent(limit=limit, kind="capture", since=since)
        return {
            "since": since,
            "events": [
                {
                    "id": m.id,
                    "time": m.time,
                    "summary": m.fields["summary"],
                    "sources": [s.to_dict() for s in m.sources],
                }
                for m in events
            ],
            "screens": [
                {"id": c.id, "time": c.at, "app": c.app, "window": c.window, "url": c.url}
                for c in captures
            ],
        }


def _write_tools(server: MCPServer, core: MemoryCore) -> None:
    """add_memory: only when the user enabled writes."""

    @server.tool(
        description="Add a memory (writes are enabled by the user). type: core, "
        "episodic, semantic, procedural or resource; fields: that type's fields."
    )
    def add_memory(
        type: str, fields: dict[str, Any], tags: list[str] | None = None, source: str = "mcp"
    ) -> dict[str, Any]:
        mtype = MemoryType.parse(type)
        if mtype is MemoryType.VAULT:
            raise InvalidInput("knowledge-vault entries cannot be added over MCP")
        m = Memory.from_dict(
            {"type": mtype.value, "fields": fields, "tags": tags or [], "origin": "mcp"}
        )
        m.sources = [Source(kind="agent", ref=source[:200], at=to_iso(datetime.now(UTC)))]
        return public(core.add(m, actor="mcp"))


def serve(core: MemoryCore, *, allow_writes: bool = False) -> None:
    build_server(core, allow_writes=allow_writes).run("stdio")
