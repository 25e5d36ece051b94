"""Chat exports people have, read into ingest Messages (no write here): ChatGPT's
conversations.json, WhatsApp's "Export chat" text, Telegram Desktop's result.json.

Every reader checks the whole file and raises InvalidInput naming the file and the place, so a
malformed export changes nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import to_iso
from mirix_app.memory.ingest import MAX_FILE_BYTES, Message, _check_text

FORMATS = ("chatgpt", "whatsapp", "telegram")


def read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"{path} is {size:,} bytes; exports up to {MAX_FILE_BYTES:,} are read"
            )
        return path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def read_text(path: Path) -> str:
    raw = read_bytes(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {e.start})") from None


def read_json(path: Path, hint: str) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(
            f"{path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})", hint
        ) from None
    except (RecursionError, ValueError) as e:
        raise InvalidInput(f"{path} is not valid JSON: {type(e).__name__}", hint) from None


def _checked(msgs: list[Message], name: str) -> list[Message]:
    for m in msgs:
        _check_text(m, name)
    if not msgs:
        raise InvalidInput(f"{name} holds no messages")
    return msgs


# -- ChatGPT -----------------------------------------------------------------------------------
def chatgpt(path: Path) -> list[Message]:
    """conversations.json from ChatGPT's data export: a list of conversations, each a `mapping`
    of message nodes. One conversation per chat, its messages in time order (the branch the
    export marks current, else every node by time)."""
    hint = "expected ChatGPT's conversations.json (Settings > Data controls > Export)"
    data = read_json(path, hint)
    if not isinstance(data, list):
        raise InvalidInput(f"{path}: expected a list of conversations", hint)
    out: list[Message] = []
    for n, conv in enumerate(data):
        if not isinstance(conv, dict) or not isinstance(conv.get("mapping"), dict):
            raise InvalidInput(f"{path}: conversation {n} has no 'mapping' of messages", hint)
        cid = str(conv.get("conversation_id") or conv.get("id") or f"chat-{n + 1}")
        title = conv.get("title") if isinstance(conv.get("title"), str) else ""
        nodes = conv["mapping"]
        chain = _current_branch(nodes, conv.get("current_node"))
        for key in chain:
            node = nodes.get(key)
            if not isinstance(node, dict):
                raise InvalidInput(
                    f"{path}: conversation {cid}: node {str(key)[:40]!r} is not an object"
                )
            msg = node.get("message")
            if msg is None:
                continue
            if not isinstance(msg, dict):
                raise InvalidInput(f"{path}: conversation {cid}: node {key!r} has a bad message")
            role = (
                (msg.get("author") or {}).get("role")
                if isinstance(msg.get("author"), dict)
                else None
            )
            if role not in ("user", "assistant"):
                continue  # system and tool messages are scaffolding
            text = _chatgpt_text(msg.get("content"), path, cid, str(key))
            if not text.strip():
                continue
            when = msg.get("create_time")
            at = (
                _epoch(when, path, f"conversation {cid} message {key}")
                if when is not None
                else None
            )
            out.append(
                Message(
                    conversation=f"chatgpt-{cid}",
                    id=str(msg.get("id") or key),
                    speaker="me" if role == "user" else "ChatGPT",
                    text=text,
                    time=at,
                    session=title or cid,
                )
            )
    return _checked(out, str(path))


def _current_branch(nodes: dict[str, Any], current: Any) -> list[str]:
    if isinstance(current, str) and current in nodes:
        chain, seen = [], set()
        key: Any = current
        while isinstance(key, str) and key in nodes and key not in seen:
            seen.add(key)
            chain.append(key)
            node = nodes[key]
            key = node.get("parent") if isinstance(node, dict) else None
        return list(reversed(chain))

    def when(k: str) -> float:
        node = nodes[k]
        msg = node.get("message") if isinstance(node, dict) else None
        t = msg.get("create_time") if isinstance(msg, dict) else None
        return float(t) if isinstance(t, int | float) else 0.0

    return sorted(nodes, key=when)


def _chatgpt_text(content: Any, path: Path, cid: str, key: str) -> str:
    if content is None:
        return ""
    if not isinstance(content, dict):
        raise InvalidInput(f"{path}: conversation {cid} message {key}: 'content' is not an object")
    parts = content.get("parts")
    if parts is None:
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if not isinstance(parts, list):
        raise InvalidInput(f"{path}: conversation {cid} message {key}: 'parts' is not a list")
    return "\n".join(p for p in parts if isinstance(p, str))  # images etc. are objects


def _epoch(value: Any, path: Path, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{path}: {where}: create_time must be a number of seconds")
    try:
        return to_iso(datetime.fromtimestamp(float(value), UTC))
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"{path}: {where}: create_time {value!r} is out of range") from None


# -- WhatsApp ----------------------------------------------------------------------------------
# "12/31/23, 9:41 PM - Ana: text" (Android), "[31.12.23, 21:41:05] Ana: text" (iOS), with
# day-first or month-first dates and 12- or 24-hour times.
_WA = re.compile(
    r"^\u200e?\[?(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4}),?\s+"
    r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?[AaPp]\.?\s?[Mm]\.?)?)\]?\s*(?:-\s)?\s*"
    r"(?P<rest>.*)$"
)


def whatsapp(path: Path) -> list[Message]:
    """WhatsApp's 'Export chat' (without media) text file. Lines that do not start with a
    date continue the message before them; system lines (no "Name: ") are skipped."""
    text = read_text(path)
    raw: list[tuple[str, str, str, int]] = []  # date, time, "Name: text", line number
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _WA.match(line)
        if m:
            raw.append((m.group("date"), m.group("time"), m.group("rest"), lineno))
        elif raw:
            d, t, rest, ln = raw[-1]
            raw[-1] = (d, t, rest + "\n" + line, ln)
        elif line.strip():
            raise InvalidInput(
                f"{path}:{lineno}: not a WhatsApp chat export (a message line starts with its "
                "date and time, e.g. '12/31/23, 9:41 PM - Ana: ...')"
            )
    if not raw:
        raise InvalidInput(f"{path} holds no WhatsApp messages")
    order = _date_order([d for d, _, _, _ in raw])
    name = path.stem.removeprefix("WhatsApp Chat with ").strip() or path.stem
    out: list[Message] = []
    for d, t, rest, lineno in raw:
        speaker, sep, body = rest.partition(": ")
        if not sep or not speaker.strip():
            continue  # "Messages are end-to-end encrypted", "Ana joined"
        out.append(
            Message(
                conversation=f"whatsapp-{name}",
                id=f"L{lineno}",
                speaker=speaker.strip().lstrip("\u200e"),
                text=body,
                time=_wa_time(d, t, order, path, lineno),
            )
        )
    return _checked(out, str(path))


def _date_order(dates: list[str]) -> str:
    """'dmy', 'mdy' or 'ymd': a first field over 12 means day-first, a second over 12
    month-first; with no such date, day-first unless the separator is '/' (US phones)."""
    fields = [re.split(r"[./-]", d) for d in dates]
    if any(len(f[0]) == 4 for f in fields):
        return "ymd"
    if any(int(f[0]) > 12 for f in fields):
        return "dmy"
    if any(int(f[1]) > 12 for f in fields):
        return "mdy"
    return "mdy" if "/" in dates[0] else "dmy"


def _wa_time(d: str, t: str, order: str, path: Path, lineno: int) -> str:
    parts = [int(p) for p in re.split(r"[./-]", d)]
    if order == "ymd":
        y, mo, day = parts
    elif order == "dmy":
        day, mo, y = parts
    else:
        mo, day, y = parts
    if y < 100:
        y += 2000
    clock = t.replace(".", ":").upper().replace(" ", "")
    pm = clock.endswith(("PM", "P:M:"))
    am = clock.endswith(("AM", "A:M:"))
    clock = re.sub(r"[APM:]+$", "", clock) if (am or pm) else clock
    hms = [int(x) for x in clock.split(":") if x]
    h, mi, s = [*hms, 0][:3] if len(hms) >= 2 else (0, 0, 0)
    if pm and h < 12:
        h += 12
    if am and h == 12:
        h = 0
    try:
        # Exports carry the phone's local time without a zone: kept as given (read as UTC).
        return to_iso(datetime(y, mo, day, h, mi, s, tzinfo=UTC))
    except ValueError:
        raise InvalidInput(f"{path}:{lineno}: impossible date or time {d} {t}") from None


# -- Telegram ----------------------------------------------------------------------------------
def telegram(path: Path) -> list[Message]:
    """Telegram Desktop's 'Export chat history' in the machine-readable JSON format
    (result.json): one chat, or a full export with `chats.list`."""
    hint = "export with Telegram Desktop, format 'Machine-readable JSON'"
    data = read_json(path, hint)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a Telegram export object", hint)
    chats = data.get("chats", {}).get("list") if isinstance(data.get("chats"), dict) else None
    if chats is None:
        chats = [data]
    if not isinstance(chats, list):
        raise InvalidInput(f"{path}: 'chats.list' is not a list", hint)
    out: list[Message] = []
    for n, chat in enumerate(chats):
        if not isinstance(chat, dict) or not isinstance(chat.get("messages"), list):
            raise InvalidInput(f"{path}: chat {n} has no 'messages' list", hint)
        cid = str(chat.get("id") or chat.get("name") or n)
        for i, msg in enumerate(chat["messages"]):
            if not isinstance(msg, dict):
                raise InvalidInput(f"{path}: chat {cid} message {i} is not an object")
            if msg.get("type", "message") != "message":
                continue  # service messages: joins, pins, calls
            text = _telegram_text(msg.get("text", ""), path, cid, i)
            if not text.strip():
                continue
            when = msg.get("date_unixtime")
            if when is not None:
                try:
                    at: str | None = to_iso(datetime.fromtimestamp(int(when), UTC))
                except (TypeError, ValueError, OverflowError, OSError):
                    raise InvalidInput(
                        f"{path}: chat {cid} message {i}: bad date_unixtime"
                    ) from None
            elif isinstance(msg.get("date"), str):
                try:
                    at = to_iso(datetime.fromisoformat(msg["date"]))
                except ValueError:
                    raise InvalidInput(f"{path}: chat {cid} message {i}: bad date") from None
            else:
                at = None
            out.append(
                Message(
                    conversation=f"telegram-{cid}",
                    id=str(msg.get("id", i)),
                    speaker=str(msg.get("from") or msg.get("actor") or "unknown"),
                    text=text,
                    time=at,
                )
            )
    return _checked(out, str(path))


def _telegram_text(value: Any, path: Path, cid: str, i: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # entities: strings and {"type": "link", "text": ...}
        parts = []
        for p in value:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            else:
                raise InvalidInput(f"{path}: chat {cid} message {i}: unreadable text part")
        return "".join(parts)
    raise InvalidInput(f"{path}: chat {cid} message {i}: 'text' is neither text nor a list")


def detect(path: Path) -> str | None:
    """Which chat export a file is, from its name and first bytes; None if none of these."""
    if path.suffix.lower() == ".txt":
        head = read_bytes(path)[:4000].decode("utf-8-sig", "replace")
        first = next((ln for ln in head.splitlines() if ln.strip()), "")
        return "whatsapp" if _WA.match(first) else None
    if path.suffix.lower() != ".json":
        return None
    head = read_bytes(path)[:20000].decode("utf-8-sig", "replace").lstrip()
    if head.startswith("[") and '"mapping"' in head:
        return "chatgpt"
    if (
        head.startswith("{")
        and '"messages"' in head
        and ('"date_unixtime"' in head or '"personal_chat"' in head or '"chats"' in head)
    ):
        return "telegram"
    return None


READERS = {"chatgpt": chatgpt, "whatsapp": whatsapp, "telegram": telegram}
