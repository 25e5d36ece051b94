"""The rules' building blocks: what a candidate memory and a decision are, where an item came
from, and what content work may change (`may_delete`, `may_update`, `grounded`)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from mirix_app.agent.extract import sessions
from mirix_app.agent.signals import Route
from mirix_app.agent.statements import Fact
from mirix_app.memory.types import Memory, MemoryType, Source

log = logging.getLogger(__name__)


UNSORTED = "unsorted"
UNTRUSTED_KINDS = ("capture", "file", "conversation", "import")
MULTI_KEYS = {"likes", "dislikes", "hobbies", "hobby", "interests"}
EPISODE_CHARS = 4000
WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Notes:
    """What the model wrote about one item."""

    summary: str = ""
    topics: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Candidate:
    type: MemoryType
    fields: dict[str, Any]
    sources: list[Source]
    trusted: bool
    tags: list[str] = field(default_factory=list)
    key: str = ""  # identity for exact matching (a fact tag, a document title, an episode)
    fact: Fact | None = None
    tainted: bool = False  # made from text that reads as instructions to the agent
    asked: bool = False  # the record of a question the user asked: episodic, added, nothing else
    group: sessions.Group | None = None  # the activity session this episodic candidate writes

    def text(self) -> str:
        return (
            Memory(self.type, dict(self.fields)).search_text()
            if self.type != MemoryType.CORE
            else str(self.fields.get("value", ""))
        )


@dataclass
class Action:
    op: str  # add | update | merge | delete | noop
    candidate: Candidate
    target: str = ""
    other: str = ""
    fields: dict[str, Any] | None = None
    note: str = ""
    tainted: bool = False  # decided by a model whose prompt held instruction-like text
    # Decided by a model whose prompt showed memories made from content (screens, files,
    # imports): the decision may add, never change what the user made (indirect injection).
    saw_content: bool = False


@dataclass
class Applied:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "op target: reason"
    noop: int = 0


def source_for(route: Route) -> Source:
    it = route.item
    meta = it.meta or {}
    if meta.get("message_id"):
        return Source(
            kind="conversation",
            ref=str(meta["message_id"]),
            at=it.at,
            uri=str(meta.get("conversation") or "") or None,
        )
    if it.kind == "capture":
        return Source("capture", it.id, it.at, it.url, it.app, it.window)
    if it.kind == "document":
        return Source("file", it.id, it.at, str(meta.get("path") or it.url or "") or None)
    return Source("chat", it.id, it.at)


def words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if len(w) > 2 or w.isdigit()}


def grounded(claim: str, source: str, need: float = 0.6) -> bool:
    """Most content words of a model's claim appear in the input: not made up."""
    cw = words(claim)
    return bool(cw) and len(cw & words(source)) / len(cw) >= need


def made_from_content(m: Memory) -> bool:
    """Made by this work from content (a screen, a file, an import), not from the user's words."""
    return (
        m.origin == "agent"
        and bool(m.sources)
        and all(s.kind in UNTRUSTED_KINDS for s in m.sources)
    )


CHAT_FORGETS = "forgetting is an explicit action (the Memories page, `mirix forget`), not a message"


def may_delete(target: Memory, trusted: bool) -> str | None:
    """None if allowed, else why not."""
    if target.type is MemoryType.CORE:
        return "core blocks are rewritten, never deleted"
    if trusted:
        return None
    if target.origin != "agent":
        return f"created by {target.origin}, not by this work"
    if any(s.kind not in UNTRUSTED_KINDS for s in target.sources):
        return "made from the user's own words"
    return None


def may_update(target: Memory, trusted: bool) -> str | None:
    """None if allowed, else why not: content work may only change what content work made."""
    if trusted:
        return None
    if target.type is MemoryType.CORE:
        return "core needs the user's words"
    return may_delete(target, trusted)


TAINTED = "the input holds text that reads as instructions to the agent"
ASKED = "a question the user asked states nothing: it is kept as chat history only"
