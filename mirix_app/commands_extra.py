"""Subcommands outside the memory/capture/agent packages: `mirix doctor`, `mirix mcp`."""

from __future__ import annotations

import argparse
import sys

from mirix_app.paths import Paths


def cmd_doctor(args: argparse.Namespace) -> int:
    from mirix_app.doctor import report, run_checks

    text, code = report(run_checks(Paths.default()))
    print(text)
    return code


def cmd_mcp(args: argparse.Namespace) -> int:
    from mirix_app.config import Settings
    from mirix_app.mcp_server import serve
    from mirix_app.memory.core import MemoryCore

    paths = Paths.default()
    mcp_settings = Settings.load(paths).extra.get("mcp", {})
    allow = bool(
        args.allow_writes
        or (isinstance(mcp_settings, dict) and mcp_settings.get("allow_writes") is True)
    )
    core = MemoryCore.open(paths)
    print(
        f"mirix MCP server on stdio ({'read-write' if allow else 'read-only'}); data: {paths.data}",
        file=sys.stderr,
    )
    serve(core, allow_writes=allow)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check what mirix needs and how to fix what is missing")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("mcp", help="serve the memory to other agents over MCP (stdio)")
    p.add_argument(
        "--allow-writes", action="store_true", help="let clients add memories (default: read-only)"
    )
    p.set_defaults(func=cmd_mcp)
