"""Memory subcommands: add, search, show, edit, forget, trash, restore, undo, history; and
(data_commands.py) export, import, ingest, reindex, stats."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

from mirix_app.errors import InvalidInput
from mirix_app.memory import data_commands
from mirix_app.memory.clock import normalize_time, to_iso
from mirix_app.memory.data_commands import open_core
from mirix_app.memory.types import SCHEMAS, Memory, MemoryType, Source


def parse_when(value: str) -> str:
    """ISO date/time, or a relative age: 30m, 12h, 7d, 2w."""
    m = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {
            "m": timedelta(minutes=n),
            "h": timedelta(hours=n),
            "d": timedelta(days=n),
            "w": timedelta(weeks=n),
        }[unit]
        return to_iso(datetime.now(UTC) - delta)
    try:
        return normalize_time(value)
    except ValueError:
        raise InvalidInput(
            f"unreadable time {value!r}",
            "use ISO 8601 (2024-05-01, 2024-05-01T14:00) or an age like 12h, 7d",
        ) from None


def _types(values: list[str] | None) -> list[MemoryType] | None:
    if not values:
        return None
    return [MemoryType.parse(v) for item in values for v in item.split(",") if v.strip()]


def _filters(args: argparse.Namespace) -> Any:
    from mirix_app.memory.types import Filters

    return Filters(
        types=_types(args.type),
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until) if args.until else None,
        app=getattr(args, "app", None),
    )


def _add_filter_args(p: argparse.ArgumentParser, app: bool = True) -> None:
    p.add_argument(
        "-t",
        "--type",
        action="append",
        help="memory type(s): core, episodic, "
        "semantic, procedural, resource, vault (repeat or comma-separate)",
    )
    p.add_argument("--since", help="from this time (ISO, or an age: 12h, 7d)")
    p.add_argument("--until", help="before this time")
    if app:
        p.add_argument("--app", help="only memories whose sources come from this app")


def _field_pairs(mtype: MemoryType, pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    schema = SCHEMAS[mtype]
    for pair in pairs:
        if "=" not in pair:
            raise InvalidInput(
                f"expected FIELD=VALUE, got {pair!r}", f"{mtype.value} fields: {', '.join(schema)}"
            )
        key, value = pair.split("=", 1)
        key = key.strip()
        spec = schema.get(key)
        if spec is None:
            raise InvalidInput(
                f"{mtype.value} has no field {key!r}", f"{mtype.value} fields: {', '.join(schema)}"
            )
        if spec.kind == "list":
            out[key] = (
                json.loads(value)
                if value.startswith("[")
                else [s.strip() for s in value.split(";") if s.strip()]
            )
        elif spec.kind == "int":
            try:
                out[key] = int(value)
            except ValueError:
                raise InvalidInput(f"{key} must be a whole number") from None
        else:
            out[key] = value
    return out


def _sources(values: list[str] | None) -> list[Source]:
    out = []
    for v in values or []:
        kind, _, ref = v.partition(":")
        out.append(Source.from_dict({"kind": kind, "ref": ref}))
    return out


# -- commands ------------------------------------------------------------------------------------
def cmd_add(args: argparse.Namespace) -> int:
    mtype = MemoryType.parse(args.mtype)
    fields = json.loads(args.json) if args.json else {}
    if not isinstance(fields, dict):
        raise InvalidInput("--json must be an object of fields")
    fields.update(_field_pairs(mtype, args.fields))
    sources = _sources(args.source) or [Source(kind="manual", ref="cli", at=None)]
    core = open_core()
    m = core.new(mtype, fields, tags=args.tag, sources=sources, tree_path=args.path or "")
    print(m.id)
    return 0


def _print_hits(hits: list[Any]) -> None:
    if not hits:
        print("no matches")
        return
    width = shutil.get_terminal_size((110, 20)).columns
    for n, h in enumerate(hits, 1):
        m = h.memory
        text = " ".join(m.search_text().split())
        head = f"{n:>2}. {m.type.value:<10} {m.id}  {m.time[:16].replace('T', ' ')}  score {h.score:.4f}"
        print(head)
        print(
            textwrap.indent(
                textwrap.shorten(text, width=max(40, width - 6), placeholder=" ..."), "    "
            )
        )
        if m.sources:
            print(
                "    from: "
                + "; ".join(s.label() for s in m.sources[:3])
                + (" ..." if len(m.sources) > 3 else "")
            )


def cmd_search(args: argparse.Namespace) -> int:
    core = open_core()
    filters = _filters(args)
    queries = [q.rstrip("\n") for q in sys.stdin] if args.query == "-" else [args.query]
    for q in queries:
        hits = core.search(q, filters=filters, limit=args.limit, mode=args.mode)
        if args.json:
            print(
                json.dumps({"query": q, "items": [h.to_dict() for h in hits]}, ensure_ascii=False)
            )
            sys.stdout.flush()
        else:
            if len(queries) > 1:
                print(f"## {q}")
            _print_hits(hits)
    return 0


def _show(core: Any, m: Memory, *, reveal: bool) -> None:
    state = f"  (in the trash since {m.deleted_at})" if m.deleted_at else ""
    print(f"{m.id}  {m.type.value}  version {m.version}{state}")
    print(f"created {m.created_at}  updated {m.updated_at}  by {m.origin}")
    if m.tags or m.tree_path:
        print(f"tags: {', '.join(m.tags) or '-'}  path: {m.tree_path or '-'}")
    for key, value in m.fields.items():
        if key == "secret_value":
            value = core.reveal_secret(m.id) if reveal else "•••••• (mirix show --reveal)"
        if isinstance(value, list):
            print(f"{key}:")
            for i, v in enumerate(value, 1):
                print(f"  {i}. {v}")
        else:
            print(f"{key}: {value}")
    print("sources:")
    for s in m.sources or []:
        extra = "  ".join(x for x in (s.at or "", s.window or "") if x)
        print(f"  - {s.label()}  {extra}")
    if not m.sources:
        print("  (none)")


def cmd_show(args: argparse.Namespace) -> int:
    core = open_core()
    for mid in args.ids:
        m = core.get(mid)
        if args.json:
            d = m.to_dict()
            if m.type is MemoryType.VAULT:
                d["fields"]["secret_value"] = core.reveal_secret(mid) if args.reveal else None
            print(json.dumps(d, ensure_ascii=False))
        else:
            _show(core, m, reveal=args.reveal)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    core = open_core()
    for h in core.history(args.id):
        undone = f"  (undone by #{h.undone_by})" if h.undone_by else ""
        after = h.after.title if h.after else ""
        print(f"#{h.id:<5} {h.at}  {h.op:<8} by {h.actor:<8} {textwrap.shorten(after, 60)}{undone}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    core = open_core()
    m = core.get(args.id)
    fields = json.loads(args.json) if args.json else {}
    fields.update(_field_pairs(m.type, args.fields))
    changes: dict[str, Any] = {}
    if fields:
        changes["fields"] = fields
    if args.tag is not None:
        changes["tags"] = args.tag
    if args.path is not None:
        changes["tree_path"] = args.path
    if not changes:
        raise InvalidInput("nothing to change", "give FIELD=VALUE pairs, --tag or --path")
    m = core.update(args.id, **changes)
    print(f"{m.id} is now version {m.version}")
    return 0


def _confirm(what: str, n: int, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise InvalidInput(f"this would forget {n} {what}", "add --yes to confirm")
    return input(f"Forget {n} {what}? They go to the trash. [y/N] ").strip().lower() in ("y", "yes")


def cmd_forget(args: argparse.Namespace) -> int:
    core = open_core()
    ids: list[str] = list(args.ids)
    if args.query:
        hits = core.search(args.query, filters=_filters(args), limit=args.limit, mode="bm25")
        _print_hits(hits)
        ids += [h.memory.id for h in hits]
    elif args.since or args.until:
        ids += core.store.ids(_filters(args))
    elif not ids:
        raise InvalidInput("say what to forget", "give ids, --query TEXT, or --since/--until")
    if (args.query or args.since or args.until) and not _confirm("memories", len(ids), args.yes):
        print("nothing forgotten")
        return 1
    for mid in ids:
        core.trash(mid)
    print(
        f"moved {len(ids)} memor{'y' if len(ids) == 1 else 'ies'} to the trash "
        "(`mirix restore ID` brings one back)"
    )
    return 0


def cmd_trash(args: argparse.Namespace) -> int:
    core = open_core()
    if args.purge:
        ids = args.ids or core.store.ids(deleted=True)
        if not args.ids and not _confirm("items in the trash for good", len(ids), args.yes):
            return 1
        trashed = set(core.store.ids(deleted=True))
        live = [i for i in ids if i not in trashed]
        if live:
            raise InvalidInput(f"{live[0]} is not in the trash", "forget it first, then purge")
        print(f"purged {core.purge(ids)}")
        return 0
    items = core.store.browse(deleted=True, limit=args.limit)
    if not items:
        print("the trash is empty")
    for m in items:
        print(f"{m.id}  {m.type.value:<10} deleted {m.deleted_at}  {textwrap.shorten(m.title, 60)}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    core = open_core()
    for mid in args.ids:
        core.restore(mid)
        print(f"restored {mid}")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    core = open_core()
    m = core.undo(args.id)
    state = " (now in the trash)" if m.deleted_at else ""
    print(f"{m.id} reverted, now version {m.version}{state}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The memory commands, then the data ones (data_commands.py), in the order `--help` lists."""
    p = sub.add_parser("add", help="add a memory: mirix add semantic name=Alice summary='...'")
    p.add_argument("mtype", metavar="TYPE")
    p.add_argument("fields", nargs="*", metavar="FIELD=VALUE")
    p.add_argument("--json", help="fields as a JSON object")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--path", help="tree path, e.g. work/project-x")
    p.add_argument("--source", action="append", help="KIND:REF, e.g. file:/home/me/notes.md")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "search",
        help="hybrid search over all memory types ('-' reads queries from stdin, one per line)",
    )
    p.add_argument("query")
    _add_filter_args(p)
    p.add_argument("-n", "--limit", type=int, default=10)
    p.add_argument("--mode", choices=("hybrid", "bm25", "vector"), default="hybrid")
    p.add_argument("--json", action="store_true", help="JSON Lines: one object per query")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("show", help="show memories with their sources")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--reveal", action="store_true", help="show knowledge-vault values")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("history", help="every change to a memory")
    p.add_argument("id")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("edit", help="change fields, tags or path (same id, old version kept)")
    p.add_argument("id")
    p.add_argument("fields", nargs="*", metavar="FIELD=VALUE")
    p.add_argument("--json", help="fields as a JSON object")
    p.add_argument("--tag", action="append", help="replace the tags")
    p.add_argument("--path", help="new tree path")
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("forget", help="move memories to the trash: by id, --query or time range")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("-q", "--query", help="forget what this keyword search finds")
    _add_filter_args(p, app=True)
    p.add_argument("-n", "--limit", type=int, default=20)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("trash", help="list the trash; --purge deletes for good")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--purge", action="store_true")
    p.add_argument("-y", "--yes", action="store_true")
    p.add_argument("-n", "--limit", type=int, default=100)
    p.set_defaults(func=cmd_trash)

    p = sub.add_parser("restore", help="bring memories back from the trash")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("undo", help="revert the latest change to a memory")
    p.add_argument("id")
    p.set_defaults(func=cmd_undo)

    data_commands.register(sub)
