"""Read conversation files (a generic message list, or LoCoMo) into episodic memories, no model.

Each message becomes one episodic memory whose source is the message's id in the file (LoCoMo: its
dia_id, e.g. "D1:3") with the message or session time. Re-ingesting a file adds nothing twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import normalize_time, now_iso, to_iso
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


@dataclass
class Message:
    conversation: str  # "" for a single conversation
    id: str
    speaker: str
    text: str
    time: str | None
    caption: str | None = None


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
    msg: Message, uri: str, before: Message | None = None, after: Message | None = None
) -> Memory:
    """One message; its details hold the turns before and after it, because a reply ("Yes, last
    Friday") means little alone. The memory cites only its own message."""
    at = msg.time or now_iso()
    context = []
    for near in (before, after):
        if near is not None:  # context only: a neighbour's whole text is its own memory
            line = _line(near)
            context.append(line if len(line) <= CONTEXT_CHARS else line[:CONTEXT_CHARS] + "…")
    return Memory(
        type=MemoryType.EPISODIC,
        fields={
            "occurred_at": at,
            "actor": msg.speaker,
            "event_type": "conversation",
            "summary": _line(msg),
            "details": "\n".join(context),
        },
        tags=[msg.conversation] if msg.conversation else [],
        sources=[Source(kind="conversation", ref=msg.id, at=at, uri=uri)],
        origin="import",
    )


def ingest(core: MemoryCore, path: Path, *, conversation: str | None = None) -> tuple[int, int]:
    """Store each message once; returns (added, skipped as already present)."""
    messages = load(path)
    if conversation:
        messages = [m for m in messages if m.conversation == conversation]
        if not messages:
            raise InvalidInput(f"{path} has no conversation {conversation!r}")
    base = str(path.resolve())
    uris = {
        m.conversation: f"{base}#{m.conversation}" if m.conversation else base for m in messages
    }
    seen: set[tuple[str, str]] = set()
    for uri in set(uris.values()):
        for ref in core.store.con.execute(
            "SELECT ref FROM sources WHERE kind='conversation' AND uri=?", (uri,)
        ):
            seen.add((uri, ref[0]))
    new = []
    limit = core.settings.storage.max_text_bytes
    for i, m in enumerate(messages):
        if (uris[m.conversation], m.id) in seen:
            continue
        before = messages[i - 1] if i and messages[i - 1].conversation == m.conversation else None
        after = messages[i + 1] if i + 1 < len(messages) else None
        if after is not None and after.conversation != m.conversation:
            after = None
        new.append(_checked(to_memory(m, uris[m.conversation], before, after), m, path, limit))
    core.add_many(new, actor="import")
    return len(new), len(messages) - len(new)


def _checked(memory: Memory, msg: Message, path: Path, max_bytes: int) -> Memory:
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
