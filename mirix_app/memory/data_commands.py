"""Data subcommands: export, import (mirix JSON Lines, chat exports, notes, PDF), ingest,
reindex, stats."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.types import MemoryType


def open_core() -> Any:
    from mirix_app.memory.core import MemoryCore

    return MemoryCore.open()


def cmd_export(args: argparse.Namespace) -> int:
    from mirix_app.memory.transfer import export_lines

    core = open_core()
    if args.file in (None, "-"):
        for line in export_lines(core, reveal_secrets=args.reveal_secrets):
            sys.stdout.write(line + "\n")
        return 0
    path = Path(args.file)
    tmp = path.with_name(path.name + ".part")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for line in export_lines(core, reveal_secrets=args.reveal_secrets):
            f.write(line + "\n")
            n += 1
    tmp.replace(path)
    print(f"exported {n} memories to {path}", file=sys.stderr)
    return 0


IMPORT_FORMATS = ("auto", "mirix", "chatgpt", "whatsapp", "telegram", "notes", "pdf")


class _Progress:
    """One status line on stderr, redrawn at most 4 times a second: done/total, rows/s, ETA."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int, seconds: float) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self.last < 0.25:
            return
        self.last = now
        rate = done / seconds if seconds > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        line = f"{self.what} {done:,}/{total:,}  {rate:,.0f}/s  ETA {eta:,.0f} s"
        print(f"\r{line:<70}", end="", file=sys.stderr, flush=True)
        self.shown = True

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)
            self.shown = False


def _run_ingest(core: Any, args: argparse.Namespace, read: Any) -> int:
    """Ingest with a progress line; Ctrl-C stops after the chunk in flight (stored chunks stay,
    a re-run resumes where this one stopped, adding nothing twice)."""
    from mirix_app.memory.ingest import IngestReport

    report = IngestReport()
    bar = _Progress("messages")
    try:
        read(core, bar, report)
    except KeyboardInterrupt:
        bar.end()
        print(
            f"cancelled: {report.added:,} messages stored, the rest not; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    bar.end()
    rate = report.added / report.seconds if report.seconds > 0 else 0.0
    links = f", {report.linked} session/profile/entity memories" if report.linked else ""
    print(
        f"ingested {report.added} messages ({report.skipped} already present){links} "
        f"in {report.seconds:.1f} s ({rate:,.0f}/s)"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from mirix_app.memory.importers import chats, documents
    from mirix_app.memory.transfer import import_memories, parse_lines

    fmt = args.format
    path = Path(args.file)
    if fmt == "auto" and args.file != "-":
        if path.is_dir():
            fmt = "notes"
        elif path.suffix.lower() == ".pdf":
            fmt = "pdf"
        elif path.suffix.lower() in documents.NOTE_SUFFIXES and path.suffix.lower() != ".txt":
            fmt = "notes"
        else:
            fmt = (chats.detect(path) if path.is_file() else None) or "mirix"
    if fmt in chats.READERS:
        messages = chats.READERS[fmt](path)
        from mirix_app.memory.ingest import ingest_messages

        def read(core: Any, bar: Any, report: Any) -> None:
            ingest_messages(
                core, messages, str(path.resolve()), name=str(path), progress=bar, report=report
            )

        return _run_ingest(open_core(), args, read)
    if fmt in ("notes", "pdf"):
        if fmt == "pdf":
            docs = documents.pdf(path)
        else:
            docs = documents.notes(path) if path.is_dir() else documents.note(path)
        r = documents.import_docs(open_core(), docs)
        print(
            f"imported {len(docs)} document part(s) as resources: {r.added} added, "
            f"{r.refreshed} refreshed, {r.unchanged} unchanged"
        )
        return 0
    if args.file == "-":
        memories = parse_lines(sys.stdin.buffer, "stdin")
    else:
        try:
            with open(args.file, "rb") as f:
                memories = parse_lines(f, args.file)
        except OSError as e:
            raise InvalidInput(f"cannot read {args.file}: {e.strerror}") from None
    report = import_memories(open_core(), memories)
    print(
        f"imported: {report.added} added, {report.replaced} replaced, {report.unchanged} unchanged"
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from mirix_app.memory.ingest import ingest

    path = Path(args.file)

    def read(core: Any, bar: Any, report: Any) -> None:
        ingest(
            core,
            path,
            conversation=args.conversation,
            progress=bar,
            links=not args.no_links,
            report=report,
        )

    return _run_ingest(open_core(), args, read)


def cmd_reindex(args: argparse.Namespace) -> int:
    core = open_core()

    def progress(done: int, total: int) -> None:
        print(f"\rembedding {done}/{total}", end="", file=sys.stderr, flush=True)

    total = core.reindex(progress)
    print(f"\rrebuilt the vector index: {total} memories", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    core = open_core()
    s = core.stats()
    backlog = core.inbox.backlog()
    if args.json:
        print(
            json.dumps(
                {
                    "live": s.live,
                    "trash": s.trashed,
                    "pending_vectors": s.pending_vectors,
                    "inbox_backlog": backlog,
                    "db_bytes": s.db_bytes,
                    "vector_bytes": s.vector_bytes,
                }
            )
        )
        return 0
    print(f"{'type':<12}{'memories':>10}{'in trash':>10}")
    for t in MemoryType:
        print(f"{t.value:<12}{s.live[t.value]:>10}{s.trashed[t.value]:>10}")
    print(f"{'total':<12}{sum(s.live.values()):>10}{sum(s.trashed.values()):>10}")
    print(
        f"database {s.db_bytes / 1e6:.1f} MB, vectors {s.vector_bytes / 1e6:.1f} MB, "
        f"inbox backlog {backlog}, vectors pending {s.pending_vectors}"
    )
    print(f"data folder: {core.paths.data}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write all memories as JSON Lines")
    p.add_argument("file", nargs="?", help="output file (default: stdout)")
    p.add_argument(
        "--reveal-secrets",
        action="store_true",
        help="write knowledge-vault values in clear (default: sealed with your key)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import",
        help="read memories from `mirix export` JSON Lines (all or nothing), or a chat export "
        "(ChatGPT conversations.json, WhatsApp .txt, Telegram result.json), a folder of notes, "
        "a PDF",
    )
    p.add_argument("file", help="the file or folder, or - for JSON Lines on stdin")
    p.add_argument(
        "--format", choices=IMPORT_FORMATS, default="auto", help="default: from the file itself"
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("ingest", help="store a conversation file's messages as episodic memories")
    p.add_argument("file", help="JSON list of {speaker, text, time} or a LoCoMo file")
    p.add_argument("--conversation", help="only this conversation (LoCoMo sample_id)")
    p.add_argument(
        "--no-links",
        action="store_true",
        help="do not make session, speaker-profile and entity memories",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("reindex", help="rebuild the vector index from the database")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("stats", help="counts per type, sizes, backlogs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
