"""Model-free extraction into typed memories: plan (pure) and apply (inside the pipeline's batch).

`extract_memories(item)` reads one inbox item (a capture, a message, a document) and plans memory
operations, each with a stable key:
- every dated item -> an episodic memory at the item's own time ("event" or "scheduled"), keyed by
  its time; a later sighting of the same moment with a shared word updates it (new source);
- every person or organisation -> one semantic entity memory (key "entity:person/jonas berg")
  that gathers facts across captures; its sources cite every capture a fact came from;
- the document, page, file or mail on screen (and links in the text) -> one resource memory
  (key "resource:<type>/<url or path or title>") with its title, app, locator and first lines,
  refreshed on every revisit;
- key facts ("Booking reference: K7Q2ZP") -> kept on that resource, else on the chat partner or
  the mail's sender.
`apply_extracted(batch, ...)` writes the plan through the batch (the same transaction that marks
the item done: a crash loses nothing, a retry duplicates nothing). It only updates memories that
extraction made (tag "extracted") or a resource the pipeline made from the same document; an item
whose text reads as instructions to the agent may only add.
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mirix_app.agent.extract.entities import ORG, PERSON, Entity, find_entities
from mirix_app.agent.extract.events import Events, find_events
from mirix_app.agent.extract.facts import KeyFact, find_facts
from mirix_app.agent.extract.resources import Resource, find_resources
from mirix_app.agent.extract.text import content_words
from mirix_app.memory.clock import parse_time, to_iso
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Memory, MemoryType, Source
from mirix_app.safety.secrets import mask_secrets

if TYPE_CHECKING:
    from mirix_app.agent.managers import Applied
    from mirix_app.agent.signals import Route
    from mirix_app.memory.core import Batch

log = logging.getLogger(__name__)

# Off with MIRIX_EXTRACT=0 (benchmarks compare the pipeline with and without it).
ENABLED = os.environ.get("MIRIX_EXTRACT", "1") != "0"
MARK = "extracted"
MAX_FACT_LINES = 60
MAX_RESOURCE_FACTS = 40


@dataclass
class Planned:
    """One memory to add, or to merge into the memory that carries `key`."""

    type: MemoryType
    key: str
    fields: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # facts to merge on an update
    match_words: set[str] = field(default_factory=set)  # events: a shared word means the same one
    also_keys: list[str] = field(default_factory=list)  # another memory of the same thing


@dataclass
class Extraction:
    planned: list[Planned]
    events: Events
    entities: list[Entity]
    resources: list[Resource]
    facts: list[KeyFact]


def _ref(item: InboxItem) -> datetime:
    try:
        return parse_time(item.at).astimezone()
    except (ValueError, TypeError):
        return datetime.now().astimezone()


def extract_memories(item: InboxItem, source: Source | None = None) -> Extraction:
    """Planned memory operations for one inbox item (pure: reads nothing, writes nothing)."""
    text = mask_secrets(item.text or "")
    ref = _ref(item)
    app, window = item.app or "", item.window or ""
    if item.kind == "chat":
        meta = item.meta or {}
        app = app or str(meta.get("conversation") or "")
        if meta.get("speaker"):  # an imported turn: who said it belongs to what it says
            text = f"{meta['speaker']}: {text}"
    events = find_events(text, ref, app)
    entities = find_entities(text, app, window) if item.kind != "chat" else []
    resources = find_resources(text, app, window, item.url) if item.kind == "capture" else []
    facts = find_facts(text) if item.kind != "chat" else []
    where = " — ".join(x for x in (app, window) if x) or item.kind
    # The memory's sources cite the captures; its text carries no ids or capture times, which
    # an extractive answer would otherwise quote as if they were facts.
    plan: list[Planned] = []
    for ev in events.events:
        when_iso = to_iso(ev.when)
        minute = when_iso[:16]
        until = (
            f" until {ev.end.strftime('%H:%M' if ev.end.date() == ev.when.date() else '%d %b %Y')}"
            if ev.end
            else ""
        )
        summary = f"{ev.value}{until}: {ev.summary}"[:600]
        details = "\n".join(
            [
                f"When: {ev.value}{until}" + (" (all day)" if ev.precision == "day" else ""),
                f"Seen in {where}",
                f"Line: {ev.line[:300]}",
            ]
        )
        plan.append(
            Planned(
                MemoryType.EPISODIC,
                f"event-at:{minute}",
                {
                    "occurred_at": when_iso,
                    "actor": "user",
                    "event_type": ev.kind(ref),
                    "summary": summary,
                    "details": details,
                },
                tags=[MARK, f"time:{ev.precision}"],
                lines=[f"Also: {ev.summary[:240]} (seen in {where})"],
                match_words={w for w in content_words(ev.summary) if len(w) >= 4},
            )
        )
    main = next((r for r in resources if r.resource_type != "link"), None)
    fact_lines = [f.line() for f in facts]
    for r in resources:
        lines = fact_lines if r is main else []
        kind = r.resource_type.capitalize()
        if r.locator.startswith("mail:"):
            sender = r.locator[5:].split("|")[0]
            summary = f"{kind} in {r.app or 'a mail app'}" + (f" from {sender}" if sender else "")
        else:
            host = re.sub(r"^[a-z]+://", "", r.locator).split("/")[0] if "/" in r.locator else ""
            summary = f"{kind} in {r.app or 'an app'}" + (f" ({host})" if host else "")
        # The locator is body text: its words ("rotate+the+vpn") must not outrank the page.
        where_line = (
            f"{'URL' if '://' in r.locator else 'Path'}: {r.locator}"
            if r.locator and not r.locator.startswith("mail:")
            else ""
        )
        content = "\n".join([*([where_line] if where_line else []), *r.first_lines])
        if lines:
            content += "\n\nKey facts:\n" + "\n".join(f"- {ln}" for ln in lines)
        plan.append(
            Planned(
                MemoryType.RESOURCE,
                r.key,
                {
                    "title": r.title[:300],
                    "summary": summary[:500],
                    "resource_type": r.resource_type,
                    "content": content[:4000],
                },
                tags=[MARK],
                lines=lines,
            )
        )
    # Facts with no resource to hold them belong to the chat partner or the mail's sender.
    holder: Entity | None = None
    if main is None and facts:
        people = [
            e for e in entities if any(f.startswith(("direct chat", "sent ")) for f in e.facts)
        ]
        holder = people[0] if len(people) == 1 else None
    for e in entities:
        # Each line says whom it is about: an answer quotes a line, not the memory's name.
        facts_here = [f"{e.name} — {f}" for f in e.facts]
        if e is holder:
            facts_here += [f"{e.name} — {ln} (in {where})" for ln in fact_lines]
        kind = "person" if e.kind == PERSON else "organisation" if e.kind == ORG else e.kind
        head = (
            f"{e.name} ({kind}"
            + (f", {e.org}" if e.org else "")
            + (f", {e.email}" if e.email else "")
            + ")"
        )
        plan.append(
            Planned(
                MemoryType.SEMANTIC,
                e.key,
                {
                    "name": e.name[:200],
                    "summary": _entity_summary(head, e.facts),
                    "details": "\n".join(f"- {f}" for f in facts_here),
                    "source": "extracted",
                },
                tags=[MARK],
                lines=facts_here,
            )
        )
    return Extraction(plan, events, entities, resources, facts)


def _entity_summary(head: str, facts: list[str]) -> str:
    bits: list[str] = []
    for f in facts:
        f = re.sub(r"\s*\[[^\]]*\]$", "", f)
        if f.startswith(("in ", "mentioned in ")):
            f = f.split(": ", 1)[0]  # where they spoke; what they said stays in the details
        if f not in bits:
            bits.append(f)
    text = head + (" — " + "; ".join(bits[:4]) if bits else "")
    return text[:600]


# -- apply -----------------------------------------------------------------------------------------
def _merge_lines(old: str, new: list[str], cap: int) -> tuple[str, bool]:
    have = [ln for ln in old.splitlines() if ln.strip()]
    bare = {re.sub(r"\s*\[[^\]]*\]$", "", ln) for ln in have}
    changed = False
    for ln in new:
        item = ln if ln.startswith("- ") else f"- {ln}"
        if re.sub(r"\s*\[[^\]]*\]$", "", item) in bare:
            continue
        have.append(item)
        bare.add(re.sub(r"\s*\[[^\]]*\]$", "", item))
        changed = True
    return "\n".join(have[-cap:]), changed


def _ours(m: Memory) -> bool:
    return m.origin == "agent" and all(
        s.kind in ("capture", "file", "conversation", "import", "chat", "agent") for s in m.sources
    )


def apply_extracted(
    b: Batch,
    item: InboxItem,
    source: Source,
    applied: Applied | None = None,
    *,
    document_key: str = "",
    add_only: bool = False,
) -> Extraction:
    """Write what `extract_memories` plans for `item` inside batch `b`."""
    ex = extract_memories(item, source)
    for p in ex.planned:
        try:
            _apply_one(b, p, source, applied, document_key, add_only)
        except Exception as e:  # one bad memory must not lose the batch's other work
            log.warning(
                "extraction: a %s memory was not written (%s)", p.type.value, type(e).__name__
            )
            if applied is not None:
                applied.refused.append(f"extract {p.type.value}: {type(e).__name__}")
    if ex.events.rejected:
        log.info("extraction: %d impossible date(s) left unresolved", len(ex.events.rejected))
    return ex


def _apply_one(
    b: Batch,
    p: Planned,
    source: Source,
    applied: Applied | None,
    document_key: str,
    add_only: bool,
) -> None:
    target: Memory | None = None
    if p.type is MemoryType.EPISODIC:
        for m in b.tagged(p.type, p.key):
            words = {w for w in content_words(str(m.fields.get("summary", ""))) if len(w) >= 4}
            if MARK in m.tags and (words & p.match_words or not p.match_words):
                target = m
                break
    else:
        found = b.tagged(p.type, p.key, limit=1)
        target = found[0] if found else None
        if target is None and p.type is MemoryType.RESOURCE and document_key:
            doc = b.tagged(p.type, document_key[:200], limit=1)
            target = doc[0] if doc else None
    if target is not None and (add_only or not _ours(target)):
        return  # not ours to change: the item is still kept by the pipeline as an event
    if target is None:
        m = Memory(
            p.type, dict(p.fields), tags=sorted({*p.tags, p.key}), sources=[source], origin="agent"
        )
        m = b.add(m)
        if applied is not None:
            applied.added.append(m.id)
        return
    fields: dict[str, Any] = {}
    if p.type is MemoryType.EPISODIC:
        details, changed = _merge_lines(str(target.fields.get("details", "")), p.lines, 30)
        if changed:
            fields["details"] = details
    elif p.type is MemoryType.SEMANTIC:
        details, changed = _merge_lines(
            str(target.fields.get("details", "")), p.lines, MAX_FACT_LINES
        )
        if changed:
            fields["details"] = details
            head = str(p.fields["summary"]).split(" — ")[0]
            name = str(p.fields["name"])
            facts = [
                ln[2:].removeprefix(f"{name} — ")
                for ln in details.splitlines()
                if ln.startswith("- ")
            ]
            fields["summary"] = _entity_summary(head, facts)
    else:
        old = str(target.fields.get("content", ""))
        old_facts = (
            old.split("\n\nKey facts:\n", 1)[1].splitlines() if "\n\nKey facts:\n" in old else []
        )
        merged, _ = _merge_lines("\n".join(old_facts), p.lines, MAX_RESOURCE_FACTS)
        content = str(p.fields["content"]).split("\n\nKey facts:\n", 1)[0]
        if merged:
            content += "\n\nKey facts:\n" + merged
        for k, v in {**p.fields, "content": content[:4000]}.items():
            if v and target.fields.get(k) != v:
                fields[k] = v
    b.update(
        target.id, fields=fields, tags=sorted({*target.tags, *p.tags, p.key}), add_sources=[source]
    )
    if applied is not None:
        applied.updated.append(target.id)


def hook(b: Batch, r: Route, applied: Applied | None = None) -> None:
    """What the pipeline calls for each routed item, inside its batch."""
    if not ENABLED or r.asked or r.item.kind not in ("capture", "chat", "document"):
        return
    from mirix_app.agent.managers import source_for

    lately = _seen_lately(r.item)
    if r.stale and lately:
        return  # the same screen again: nothing new to extract (a revisit later still counts)
    doc = f"doc:{r.document.lower()}" if r.document else ""
    apply_extracted(b, r.item, source_for(r), applied, document_key=doc, add_only=bool(r.injected))


_LATELY: OrderedDict[str, datetime] = OrderedDict()  # app|window -> when it was last extracted
LATELY_MINUTES = 10


def _seen_lately(item: InboxItem) -> bool:
    """Whether this app and window were extracted within the last minutes (then a capture that
    shows nothing new is skipped; a revisit after a while updates its resource again)."""
    key = f"{item.app}|{item.window}".lower()
    at = _ref(item)
    last = _LATELY.get(key)
    _LATELY[key] = at
    _LATELY.move_to_end(key)
    while len(_LATELY) > 256:
        _LATELY.popitem(last=False)
    return last is not None and abs((at - last).total_seconds()) < LATELY_MINUTES * 60
