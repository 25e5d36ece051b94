"""What the pipeline reads from inbox items: a capture as sessions see it, an imported turn and
its conversation, an item's source; and which candidates are decided by exact keys."""

from __future__ import annotations

import logging

from mirix_app.agent.extract import sessions
from mirix_app.agent.managers import (
    UNSORTED,
    Candidate,
    source_for,
)
from mirix_app.agent.signals import Route, clean_lines
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.search import QUESTION_TAG
from mirix_app.memory.types import Memory, MemoryType
from mirix_app.safety.secrets import mask_secrets

log = logging.getLogger(__name__)


def session_capture(r: Route) -> sessions.Capture:
    """What sessions need of a routed capture: every line it showed (secrets masked)."""
    it = r.item
    return sessions.Capture(
        id=it.id,
        at=it.at,
        app=it.app or "",
        window=it.window or "",
        url=it.url,
        monitor=it.monitor,
        lines=clean_lines(mask_secrets(it.text or "")),
    )


def mgr_is_keyed(mgr: object, c: Candidate) -> bool:
    """True when the manager decides this candidate from exact keys (no search needed)."""
    if c.type in (MemoryType.EPISODIC, MemoryType.VAULT, MemoryType.CORE):
        return True
    if c.type is MemoryType.SEMANTIC:
        return c.fact is not None
    return bool(c.key)


def is_import(item: InboxItem) -> bool:
    """A turn of an imported conversation (it carries the message's id in its file)."""
    return item.kind == "chat" and bool((item.meta or {}).get("message_id"))


def conversation_of(item: InboxItem) -> str:
    return str((item.meta or {}).get("conversation") or "")


def source_for_item(item: InboxItem) -> tuple[str, str]:
    meta = item.meta or {}
    if meta.get("message_id"):
        return "conversation", str(meta["message_id"])
    return {"capture": "capture", "document": "file"}.get(item.kind, "chat"), item.id


def unsorted_memory(r: Route) -> Memory:
    """The item kept as it is, to be sorted later. Its title is built from what is known
    (the marker is the tag, never the title)."""
    it = r.item
    speaker = f"{r.speaker}: " if it.kind == "chat" and r.speaker != "user" else ""
    asked = "Asked: " if r.asked else ""
    if it.kind == "chat":
        summary = f"{asked}{speaker}{r.text[:300]}"
    elif it.kind == "document":
        summary = f"Added the file {r.document or it.window or 'document'}"
    else:
        summary = sessions.summary(sessions.subject_of(it.app, it.window, it.url), it.at, it.at)
    return Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": it.at,
            "actor": r.speaker,
            "event_type": r.event_type,
            "summary": summary,
            "details": r.text,
        },
        tags=[UNSORTED, QUESTION_TAG] if r.asked else [UNSORTED],
        sources=[source_for(r)],
        origin="agent",
    )
