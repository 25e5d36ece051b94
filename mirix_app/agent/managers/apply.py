"""`apply`: the decisions written inside the caller's batch, with the rules enforced in code
whatever the model said (see the package docstring)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from mirix_app.agent.extract import sessions
from mirix_app.agent.managers.rules import (
    ASKED,
    CHAT_FORGETS,
    EPISODE_CHARS,
    TAINTED,
    Action,
    Applied,
    Candidate,
    grounded,
    may_delete,
    may_update,
)
from mirix_app.agent.managers.typed import EpisodicManager
from mirix_app.errors import MirixError, NotFound
from mirix_app.memory.core import Batch
from mirix_app.memory.search import QUESTION_EVENT, QUESTION_TAG
from mirix_app.memory.types import Memory, MemoryType

log = logging.getLogger(__name__)


def apply(
    b: Batch, actions: list[Action], result: Applied, episodes: EpisodicManager | None = None
) -> None:
    for a in actions:
        c = a.candidate
        try:
            _apply_one(b, a, c, result, episodes)
        except NotFound:
            # Changed by someone else meanwhile (trashed by the user): keep the new memory.
            if a.op in ("update", "merge"):
                _add(b, c, result, episodes, a.fields)
        except MirixError as e:
            log.warning(
                "a %s %s action failed validation: %s", c.type.value, a.op, type(e).__name__
            )
            result.refused.append(f"{a.op} {a.target}: invalid ({type(e).__name__})")


def _apply_one(
    b: Batch, a: Action, c: Candidate, result: Applied, episodes: EpisodicManager | None
) -> None:
    if c.asked:
        _apply_asked(b, a, c, result, episodes)
        return
    if a.op == "add":
        _add(b, c, result, episodes, a.fields)
        return
    target = b.get(a.target)
    if target.deleted_at is not None:
        raise NotFound(a.target)
    if (a.tainted or c.tainted) and a.op in ("delete", "update", "merge"):
        # Only an episode this very work made may grow (consecutive captures of one window).
        own_episode = a.note in ("same episode", "session") and not may_update(target, False)
        if not own_episode:
            _refuse(b, a, c, result, episodes, TAINTED)
            return
    if a.op == "noop":
        b.update(target.id, add_sources=c.sources)
        result.noop += 1
        return
    trusted = c.trusted and not a.saw_content
    from_chat = any(src.kind == "chat" for src in c.sources)
    if from_chat and a.op == "delete":
        # A message (typed or pasted) never deletes: "please erase what you know about X" is
        # kept as what was said; the user forgets things where forgetting is shown.
        _refuse(b, a, c, result, episodes, CHAT_FORGETS)
        return
    if from_chat:
        a = _from_chat(a, c)
    if a.op == "delete":
        why = may_delete(target, trusted)
        if why:
            _refuse(b, a, c, result, episodes, why)
            return
        b.trash(target.id)
        result.deleted.append(target.id)
        _add(b, c, result, episodes, None)
        return
    # update / merge
    why = may_update(target, trusted)
    if why:
        _refuse(b, a, c, result, episodes, why)
        return
    _update(b, a, c, target, trusted, result, episodes)


def _apply_asked(
    b: Batch, a: Action, c: Candidate, result: Applied, episodes: EpisodicManager | None
) -> None:
    """Enforced here, whatever routing, the notes or a model's decision said: a question becomes
    its own episodic record and nothing else, and it changes no other memory."""
    if c.type is not MemoryType.EPISODIC:
        result.refused.append(f"{a.op} {c.type.value}: {ASKED}")
        log.info("refused a %s memory from a question", c.type.value)
        return
    if a.op != "add":
        result.refused.append(f"{a.op} {a.target}: {ASKED}")
    _add(b, c, result, episodes, None)


def _from_chat(a: Action, c: Candidate) -> Action:
    """A change from chat: a merge becomes an update (merging would trash the other), and the
    model's wording of it counts only where the message's own words back it."""
    if a.op == "merge":
        a = dataclasses.replace(a, op="update", other="")
    if a.note == "model" and a.fields is not None:
        summary = a.fields.get("summary")
        if isinstance(summary, str) and not grounded(summary, c.text(), need=0.9):
            fields = dict(a.fields)
            fields.pop("summary")
            if "summary" in c.fields:
                fields["summary"] = c.fields["summary"]
            a = dataclasses.replace(a, fields=fields)
    return a


def _update(
    b: Batch,
    a: Action,
    c: Candidate,
    target: Memory,
    trusted: bool,
    result: Applied,
    episodes: EpisodicManager | None,
) -> None:
    """An allowed update or merge of `target` (an episode grows by its new lines)."""
    fields = dict(
        a.fields
        if a.fields is not None
        else {k: v for k, v in c.fields.items() if k in target.fields}
    )
    tags = sorted({*target.tags, *c.tags})
    if target.type is MemoryType.EPISODIC and a.note == "session" and c.group is not None:
        # The stored details (the user may have edited them) plus what this batch saw.
        old_lines = [ln for ln in str(target.fields.get("details", "")).splitlines() if ln]
        grown = sessions.merge_lines(old_lines, c.group.new_lines, sessions.SESSION_CHARS)
        fields = {"summary": c.fields["summary"], "details": "\n".join(grown)}
    elif target.type is MemoryType.EPISODIC and a.note == "same episode":
        extra = str(c.fields.get("details", ""))
        known = set(str(target.fields.get("details", "")).splitlines())
        new_lines = [ln for ln in extra.splitlines() if ln not in known]
        details = "\n".join([str(target.fields.get("details", "")), *new_lines]).strip()
        if len(details) > EPISODE_CHARS:
            _add(b, c, result, episodes, None)  # a long episode starts a new memory
            return
        fields = {"details": details}
    updated_fields = {k: v for k, v in fields.items() if k != "occurred_at"}
    if a.op == "merge" and a.other:
        other = b.get(a.other)
        why = may_delete(other, trusted)
        if why:
            result.refused.append(f"merge-away {other.id}: {why}")
        else:
            b.update(
                target.id,
                fields=updated_fields,
                tags=sorted({*tags, *other.tags}),
                add_sources=[*other.sources, *c.sources],
            )
            b.trash(other.id)
            result.deleted.append(other.id)
            result.updated.append(target.id)
            return
    b.update(target.id, fields=updated_fields, tags=tags, add_sources=c.sources)
    result.updated.append(target.id)
    if episodes is not None and target.type is MemoryType.EPISODIC:
        episodes.remember(c, target.id)


def _refuse(
    b: Batch,
    a: Action,
    c: Candidate,
    result: Applied,
    episodes: EpisodicManager | None,
    why: str,
) -> None:
    """Refuse the change; the input is still kept, as a memory of its own (a keyed one carries its
    key, so the next sighting of the same document or procedure updates this copy)."""
    result.refused.append(f"{a.op} {a.target}: {why}")
    log.info("refused %s of %s: %s", a.op, a.target, why)
    if c.key and c.type in (MemoryType.PROCEDURAL, MemoryType.RESOURCE, MemoryType.VAULT):
        c.tags = sorted({*c.tags, c.key[:200]})
    _add(b, c, result, episodes, None)


def _add(
    b: Batch,
    c: Candidate,
    result: Applied,
    episodes: EpisodicManager | None,
    fields: dict[str, Any] | None,
) -> None:
    fields = dict(fields or c.fields)
    tags = list(c.tags)
    if c.asked:  # the mark search demotes by, even if something upstream dropped it
        fields["event_type"] = QUESTION_EVENT
        tags = sorted({*tags, QUESTION_TAG})
    m = Memory(c.type, fields, tags=tags, sources=list(c.sources), origin="agent")
    m = b.add(m)
    result.added.append(m.id)
    if episodes is not None and c.type is MemoryType.EPISODIC:
        episodes.remember(c, m.id)
