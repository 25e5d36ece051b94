"""Read conversation files (a generic message list, or LoCoMo) into episodic memories, no model.

Each message becomes one episodic memory whose source is the message's id in the file (LoCoMo: its
dia_id, e.g. "D1:3") with the message or session time. Re-ingesting a file adds nothing twice.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import normalize_time, now_iso, parse_time, to_iso
from mirix_app.memory.embed import Embedder
from mirix_app.memory.types import (
    Memory,
    MemoryType,
    Source,
    validate_fields,
    validate_sources,
    validate_tags,
)

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

MAX_FILE_BYTES = 200_000_000
CONTEXT_CHARS = 2000  # of each neighbouring turn kept in a message's details
CHUNK = 2000  # messages per transaction (and per embedding batch) in an import
CONTEXT_TURNS = 2  # turns on each side of a message kept as its context (same session)
CONTEXT_WEIGHT = 0.3  # of each neighbour's vector in a turn's vector
SESSION_GAP_HOURS = 4.0  # silence that starts a new session in a chat export
LINK_VECTOR_LINES = 3
EMBED_SLICE = 64  # texts per embed call in an import (the cancel check runs between them)


@dataclass
class Message:
    conversation: str  # "" for a single conversation
    id: str
    speaker: str
    text: str
    time: str | None
    caption: str | None = None
    session: str = ""  # a stretch of talk: LoCoMo's session_N, else set by a time gap


def parse_locomo_time(value: str) -> str:
    """'1:56 pm on 8 May, 2023' -> ISO UTC."""
    cleaned = re.sub(r"\s+", " ", value.strip())
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y"):
        try:
            return to_iso(datetime.strptime(cleaned, fmt))
        except ValueError:
            continue
    raise InvalidInput(f"unreadable session time {value[:60]!r}")


def load(path: Path) -> list[Message]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"{path} is {size:,} bytes; conversation files up to {MAX_FILE_BYTES:,} are read"
            )
        raw = path.read_bytes()
    except OSError as e:  # missing, a folder, no permission
        raise InvalidInput(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    hint = "expected a JSON list of messages or a LoCoMo file"
    try:
        data = json.loads(raw.decode("utf-8-sig"))  # -sig: a BOM from a Windows editor is fine
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {e.start})", hint) from None
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"{path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})", hint
        ) from None
    except RecursionError:
        raise InvalidInput(
            f"{path} is not a conversation: its JSON is nested too deeply", hint
        ) from None
    except ValueError as e:  # a number with thousands of digits
        raise InvalidInput(f"{path} is not valid JSON: {str(e)[:80]}", hint) from None
    return parse(data, str(path))


def parse(data: Any, name: str = "input") -> list[Message]:
    if isinstance(data, dict) and "conversation" in data:
        data = [data]
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data = data["messages"]
    if not isinstance(data, list):
        raise InvalidInput(f"{name}: expected a list of messages or LoCoMo conversations")
    if data and all(
        isinstance(d, dict) and "conversation" in d and not isinstance(d["conversation"], str)
        for d in data
    ):
        messages = list(_locomo(data, name))
    else:  # a generic message may name its conversation with a string
        messages = list(_generic(data, name))
    for m in messages:
        _check_text(m, name)
    return messages


def _check_text(msg: Message, name: str) -> None:
    """Text the database can hold: no lone surrogates (JSON escapes like \\ud800), no NUL."""
    for what, value in (
        ("conversation", msg.conversation),
        ("id", msg.id),
        ("speaker", msg.speaker),
        ("text", msg.text),
        ("caption", msg.caption or ""),
    ):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{name}: message {msg.id[:40]!r}: its {what} holds invalid UTF-8 (a lone surrogate)"
            ) from None
        if "\x00" in value:
            raise InvalidInput(f"{name}: message {msg.id[:40]!r}: its {what} holds a NUL character")


def _locomo(samples: list[dict[str, Any]], name: str) -> Iterator[Message]:
    for n, sample in enumerate(samples):
        conv = sample.get("conversation")
        if not isinstance(conv, dict):
            raise InvalidInput(f"{name}: conversation {n} is not an object")
        cid = str(sample.get("sample_id") or f"conv-{n}")
        sessions = sorted(
            (int(k.split("_")[1]), k)
            for k in conv
            if re.fullmatch(r"session_\d+", k) and isinstance(conv[k], list)
        )
        for num, key in sessions:
            when = conv.get(f"{key}_date_time")
            try:
                time = parse_locomo_time(when) if isinstance(when, str) else None
            except InvalidInput as e:
                raise InvalidInput(
                    f"{name}: {cid} {key}_date_time: {e.message}",
                    "LoCoMo times look like '1:56 pm on 8 May, 2023'",
                ) from None
            for i, turn in enumerate(conv[key]):
                if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
                    raise InvalidInput(f"{name}: {cid} {key} turn {i} has no text")
                yield Message(
                    conversation=cid,
                    id=str(turn.get("dia_id") or f"D{num}:{i + 1}"),
                    speaker=str(turn.get("speaker") or "unknown"),
                    text=turn["text"],
                    time=time,
                    caption=turn.get("blip_caption")
                    if isinstance(turn.get("blip_caption"), str)
                    else None,
                    session=key,
                )


def _generic(items: list[Any], name: str) -> Iterator[Message]:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"{name}: message {i} is not an object")
        text = item.get("text", item.get("content"))
        speaker = item.get("speaker", item.get("role", item.get("author")))
        if not isinstance(text, str):
            raise InvalidInput(f"{name}: message {i} has no 'text'")
        if speaker is not None and not isinstance(speaker, str):
            raise InvalidInput(f"{name}: message {i} 'speaker' must be a string")
        when = item.get("time", item.get("timestamp"))
        if when is not None:
            try:
                when = normalize_time(str(when))
            except ValueError:
                raise InvalidInput(
                    f"{name}: message {i} has an unreadable time {str(when)[:40]!r}",
                    "use ISO 8601, e.g. 2024-05-01T14:03:00Z",
                ) from None
        yield Message(
            conversation=str(item.get("conversation", "")),
            id=str(item.get("id", i + 1)),
            speaker=speaker or "unknown",
            text=text,
            time=when,
        )


def _line(msg: Message) -> str:
    text = msg.text.strip()
    if msg.caption:
        text = f"{text} [shared a photo: {msg.caption.strip()}]"
    return f"{msg.speaker}: {text}"


def to_memory(
    msg: Message,
    uri: str,
    before: Message | None = None,
    after: Message | None = None,
    *,
    context: list[Message] | None = None,
) -> Memory:
    """One message; its details hold the turns around it (`context`, else `before` and `after`),
    because a reply ("Yes, last Friday") means little alone. The memory cites only its own
    message."""
    at = msg.time or now_iso()
    lines = []
    near_ones = context if context is not None else [before, after]
    for near in near_ones:
        if near is not None:  # context only: a neighbour's whole text is its own memory
            line = _line(near)
            lines.append(line if len(line) <= CONTEXT_CHARS else line[:CONTEXT_CHARS] + "…")
    return Memory(
        type=MemoryType.EPISODIC,
        fields={
            "occurred_at": at,
            "actor": msg.speaker,
            "event_type": "conversation",
            "summary": _line(msg),
            "details": "\n".join(lines),
        },
        tags=[msg.conversation] if msg.conversation else [],
        sources=[Source(kind="conversation", ref=msg.id, at=at, uri=uri)],
        origin="import",
    )


def assign_sessions(messages: list[Message], gap_hours: float = SESSION_GAP_HOURS) -> None:
    """Messages with no session of their own (a chat export) get one per stretch of talk: a new
    session starts after `gap_hours` of silence, or with a new conversation."""
    last: dict[str, tuple[str, datetime | None]] = {}
    count: dict[str, int] = {}
    for m in messages:
        if m.session:
            continue
        when = parse_time(m.time) if m.time else None
        prev = last.get(m.conversation)
        if prev is None or (
            when and prev[1] and (when - prev[1]).total_seconds() > gap_hours * 3600
        ):
            count[m.conversation] = count.get(m.conversation, 0) + 1
            m.session = f"session_{count[m.conversation]}"
        else:
            m.session = prev[0]
        last[m.conversation] = (m.session, when or (prev[1] if prev else None))


def neighbours(messages: list[Message], i: int, n: int = CONTEXT_TURNS) -> list[int]:
    """Indexes of up to `n` turns on each side of message i in its session, nearest first."""
    m = messages[i]
    out: list[int] = []
    for d in range(1, n + 1):
        for j in (i - d, i + d):
            if 0 <= j < len(messages):
                o = messages[j]
                if o.conversation == m.conversation and o.session == m.session:
                    out.append(j)
    return out


@dataclass
class IngestReport:
    """What an import did so far (filled in as it goes, so an interrupted run can say it)."""

    added: int = 0
    skipped: int = 0
    total: int = 0  # new messages to write
    linked: int = 0  # session, profile and entity memories added or refreshed
    cancelled: bool = False
    seconds: float = 0.0


ProgressFn = Callable[[int, int, float], None]  # (done, total, seconds since start)


def ingest(
    core: MemoryCore,
    path: Path,
    *,
    conversation: str | None = None,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    links: bool = True,
    report: IngestReport | None = None,
    chunk: int = CHUNK,
) -> tuple[int, int]:
    """Store each message once; returns (added, skipped as already present). See
    `ingest_messages` for progress, cancel, links and chunk."""
    messages = load(path)
    if conversation:
        messages = [m for m in messages if m.conversation == conversation]
        if not messages:
            raise InvalidInput(f"{path} has no conversation {conversation!r}")
    report = report if report is not None else IngestReport()
    ingest_messages(
        core,
        messages,
        str(path.resolve()),
        name=str(path),
        progress=progress,
        cancel=cancel,
        links=links,
        report=report,
        chunk=chunk,
    )
    return report.added, report.skipped


def ingest_messages(
    core: MemoryCore,
    messages: list[Message],
    base: str,
    *,
    name: str = "input",
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
    links: bool = True,
    report: IngestReport | None = None,
    chunk: int = CHUNK,
) -> IngestReport:
    """Messages -> one episodic memory each, then (with `links`) the session, profile and
    entity memories that link them. Every message is checked before the first write, so a bad
    one changes nothing. Then `chunk` messages per transaction, embedded in bulk: a kill -9
    loses at most the chunk in flight, and a re-run skips what is stored (resumes). `cancel`
    is asked between chunks."""
    report = report if report is not None else IngestReport()
    t0 = time.perf_counter()
    uris = {
        m.conversation: f"{base}#{m.conversation}" if m.conversation else base for m in messages
    }
    seen: set[tuple[str, str]] = set()
    for uri in set(uris.values()):
        for ref in core.store.con.execute(
            "SELECT ref FROM sources WHERE kind='conversation' AND uri=?", (uri,)
        ):
            seen.add((uri, ref[0]))
    assign_sessions(messages)
    new: list[Memory] = []
    order: list[int] = []  # index in `messages` of each new memory
    limit = core.settings.storage.max_text_bytes
    for i, m in enumerate(messages):
        if (uris[m.conversation], m.id) in seen:
            continue
        near = [messages[j] for j in neighbours(messages, i)]
        memory = to_memory(m, uris[m.conversation], context=near)
        new.append(_checked(memory, m, name, limit))
        order.append(i)
    report.skipped += len(messages) - len(new)
    report.total = len(new)
    derived: list[tuple[str, Memory]] = []
    if links:
        from mirix_app.memory.importers.links import link_memories

        derived = link_memories(messages, uris)
    _write_bulk(core, new, _vector_plan(messages, order), report, progress, cancel, chunk, t0)
    if links and not report.cancelled and derived:
        report.linked += _upsert_links(core, derived)
    report.seconds = time.perf_counter() - t0
    return report


def bulk_embedder(core: MemoryCore) -> Any:
    """For imports: the core's model in a session of its own with both cores and wider
    batches (the shared one runs a single thread, kind to capture and OCR)."""
    global _BULK
    if type(core.embedder) is not Embedder:  # a test's or a custom embedder: use it as is
        return core.embedder
    with _BULK_LOCK:
        if _BULK is None:
            _BULK = Embedder(threads=2, batch_size=64)
        return _BULK


_BULK: Embedder | None = None
_BULK_LOCK = threading.Lock()


def _vector_plan(
    messages: list[Message], order: list[int]
) -> Callable[[Any, int, int, threading.Event], Any]:
    """How the vectors of new memories [a, b) are made: each message's own line is embedded once,
    and a turn's vector is its own plus CONTEXT_WEIGHT x those of its session neighbours,
    renormalised. This puts the context into the vector at a third of the cost of embedding the
    context text (replies are short: "Yes, last Friday")."""

    def vectors(embedder: Any, a: int, b: int, stop: threading.Event) -> Any:
        import numpy as np

        want: dict[int, None] = {}
        for i in order[a:b]:
            want[i] = None
            for j in neighbours(messages, i):
                want.setdefault(j, None)
        idx = list(want)
        # Chats repeat themselves ("ok", "haha", "see you"): each distinct line once.
        lines = [_line(messages[i]) for i in idx]
        # Sorted by length: a slice is one onnxruntime batch padded to its longest text, so
        # slices of mixed lengths spend most of their compute on padding (2-3x here).
        distinct = sorted(dict.fromkeys(lines), key=len)
        where = {t: n for n, t in enumerate(distinct)}
        parts = []
        for k in range(0, len(distinct), EMBED_SLICE):  # slices: a cancel is heard in seconds
            if stop.is_set():
                raise CancelledError
            parts.append(embedder.embed(distinct[k : k + EMBED_SLICE]))
        own = np.concatenate(parts)[[where[t] for t in lines]]
        pos = {i: n for n, i in enumerate(idx)}
        out = np.zeros((b - a, own.shape[1]), dtype=np.float32)
        for row, i in enumerate(order[a:b]):
            v = own[pos[i]].copy()
            for j in neighbours(messages, i):
                v += CONTEXT_WEIGHT * own[pos[j]]
            out[row] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

    return vectors


def _write_bulk(
    core: MemoryCore,
    memories: list[Memory],
    plan: Callable[[Any, int, int, threading.Event], Any],
    report: IngestReport,
    progress: ProgressFn | None,
    cancel: Callable[[], bool] | None,
    chunk: int,
    t0: float,
) -> None:
    if not memories:
        if progress:
            progress(0, 0, time.perf_counter() - t0)
        return
    embedder = bulk_embedder(core)
    spans = [(a, min(a + chunk, len(memories))) for a in range(0, len(memories), chunk)]
    # The next chunk is embedded (onnxruntime, GIL released) while this one is written.
    pool = ThreadPoolExecutor(1, thread_name_prefix="mirix-embed")
    stop = threading.Event()
    try:
        pending = pool.submit(plan, embedder, *spans[0], stop)
        for n, (a, b) in enumerate(spans):
            vectors = pending.result()
            if n + 1 < len(spans):
                pending = pool.submit(plan, embedder, *spans[n + 1], stop)
            core.add_bulk(memories[a:b], actor="import", vectors=vectors)
            report.added += b - a
            if progress:
                progress(report.added, report.total, time.perf_counter() - t0)
            if cancel is not None and n + 1 < len(spans) and cancel():
                report.cancelled = True
                break
    finally:
        stop.set()  # Ctrl-C or cancel: the embedding thread stops at its next slice
        pool.shutdown(wait=True, cancel_futures=True)


def _upsert_links(core: MemoryCore, derived: list[tuple[str, Memory]]) -> int:
    """Add each derived memory, or refresh the one made from the same key by an earlier run
    (its key, in the meta table: same file, same conversation, same session or name)."""
    changed = 0
    fresh: list[tuple[str, Memory]] = []
    with core.store.write() as con:
        for key, m in derived:
            row = con.execute(
                "SELECT mm.id, mm.deleted_at FROM meta JOIN memories mm ON mm.id = meta.value "
                "WHERE meta.key = ?",
                (key,),
            ).fetchone()
            if row is None:
                fresh.append((key, m))
                continue
            if row[1] is not None:  # the user forgot it: it stays forgotten
                continue
            old = core.store.get_in(con, row[0])
            if old.fields != m.fields or [s.to_dict() for s in old.sources] != [
                s.to_dict() for s in m.sources
            ]:
                core.store.update_in(
                    con, row[0], fields=m.fields, sources=m.sources, tags=m.tags, actor="import"
                )
                changed += 1
    if fresh:
        memories = [m for _, m in fresh]
        vectors = bulk_embedder(core).embed([link_text(m) for m in memories])
        with core.store.write() as con:
            queued = core.store.add_bulk_in(con, memories, actor="import")
            con.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)",
                [(key, m.id) for key, m in fresh],
            )
        core.apply_vectors(memories, vectors, queued)
    core.sync_vectors()
    return changed + len(fresh)


def link_text(m: Memory) -> str:
    """What a link memory's vector is made of: its head and first lines (a profile or an entity
    lists up to 40 lines; embedding them all costs ~10x and blurs the vector)."""
    return "\n".join([m.head_text(), *m.body_text().splitlines()[:LINK_VECTOR_LINES]])


def _checked(memory: Memory, msg: Message, path: Path | str, max_bytes: int) -> Memory:
    """Validate before any write, so the error names the file and the message (the store would
    refuse the same memory, but without saying where it came from)."""
    where = f"{msg.conversation} " if msg.conversation else ""
    try:
        validate_fields(memory.type, memory.fields, max_bytes=max_bytes)
        validate_tags(memory.tags)
        validate_sources([s.to_dict() for s in memory.sources])
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {where}message {msg.id[:40]!r}: {e.message}", e.hint) from None
    return memory
