"""The meta manager and the six type managers.

The meta manager turns routed inbox items (plus the model's notes) into candidate memories for the
types that should change. Each type manager retrieves similar stored memories through the memory
core and decides add / update / merge / delete / noop: exact keys first (a fact's subject, a
document's title, a window's episode), the model only on close calls. `apply` then writes the
decisions inside the caller's batch and enforces the rules in code, whatever the model said:
- work from screens, files and imported conversations (content) may add memories, and may update,
  merge or delete only memories that content work made; never core blocks, never what the user
  made or said;
- an item whose text reads as instructions to an AI (injection.instruction_like), or a model decision
  taken on a prompt that showed such text, may only add: no update, merge or delete at all, even
  when the item is a message the user typed (pasted text is not the user's request);
- the user's own words may change anything but core blocks, which are rewritten, never deleted,
  and a rewrite may only shorten, never drop or invent a line;
- a question the user asked (statements.asked_by_user) is chat history only: one episodic memory,
  marked as a question (event_type "question", tag "chat-question", which search ranks below the
  evidence), added and never changing anything; whatever else is made of it is refused.
Vault values never reach a prompt.

Captures make activity sessions (agent/extract/sessions.py): the pipeline groups a batch's
captures by session, and the episodic manager grows the session's one memory (`session_candidate`)
or starts a new one linked to the last one of the same app and window.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mirix_app.agent import prompts
from mirix_app.agent.extract import sessions
from mirix_app.agent.models import Model, ModelError, StructuredOutputError
from mirix_app.agent.signals import Route
from mirix_app.agent.statements import Fact, stated
from mirix_app.errors import MirixError, NotFound
from mirix_app.memory.clock import parse_time
from mirix_app.memory.core import Batch, MemoryCore
from mirix_app.memory.search import QUESTION_EVENT, QUESTION_TAG
from mirix_app.memory.types import DEFAULT_CORE_LIMIT, Filters, Memory, MemoryType, Source
from mirix_app.safety import injection

log = logging.getLogger(__name__)

UNSORTED = "unsorted"
UNTRUSTED_KINDS = ("capture", "file", "conversation", "import")
MULTI_KEYS = {"likes", "dislikes", "hobbies", "hobby", "interests"}
EPISODE_CHARS = 4000
_WORD = re.compile(r"[a-z0-9]+")


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
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 or w.isdigit()}


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


# -- meta manager ----------------------------------------------------------------------------------
def turn_line(route: Route) -> str:
    """A chat message as one line: "speaker: text [shared a photo: caption]"."""
    line = f"{route.speaker}: {route.text}" if route.speaker != "user" else route.text
    caption = (route.item.meta or {}).get("caption")
    if caption:
        line += f" [shared a photo: {str(caption)[:200]}]"
    return line


def candidates(route: Route, notes: Notes | None, *, episode: bool = True) -> list[Candidate]:
    """Candidate memories for every type the signals (and the notes) call for. `episode=False`
    leaves out the item's episodic memory (a capture's is its activity session, made by
    `session_candidate`)."""
    it = route.item
    src = source_for(route)
    out: list[Candidate] = []
    topics = [t.strip() for t in (notes.topics if notes else []) if t.strip()][:3]
    topic_tags = [f"topic:{t.lower()[:40]}" for t in topics]
    speaker = route.speaker
    if route.asked:
        line = turn_line(route)
        summary = f"Asked: {line if len(line) <= 300 else line[:299] + '…'}"
        details = "\n".join([*([line] if len(line) > 300 else []), *route.context])
        key = ""
    elif it.kind == "chat":
        line = turn_line(route)
        summary = line if len(line) <= 300 or not notes or not notes.summary else notes.summary
        # The neighbouring turns are searchable context; the memory still cites only its own turn.
        details = "\n".join([*([] if summary == line else [line]), *route.context])
        key = ""
    else:
        where = " — ".join(x for x in (it.app, it.window) if x)
        summary = (notes.summary if notes and notes.summary else "") or (
            f"Viewed {where}" if where else "Screen capture"
        )
        details = "\n".join(x for x in (where, route.text) if x)
        key = (
            f"episode:{(it.app or '').lower()}|{(it.window or '').lower()}"
            if it.kind == "capture"
            else ""
        )
    if episode:
        out.append(
            Candidate(
                MemoryType.EPISODIC,
                {
                    "occurred_at": it.at,
                    "actor": speaker,
                    "event_type": route.event_type,
                    "summary": summary[:2000],
                    "details": details,
                },
                [src],
                route.trusted,
                tags=[QUESTION_TAG] if route.asked else topic_tags,
                key=key,
                asked=route.asked,
            )
        )
    # Of a question only what its other sentences state is kept ("My dentist is Dr. Okafor. When
    # is my appointment?"): a secret or steps asked about are not the user's to store.
    said = stated(it.text or "") if route.asked else None
    for s in route.secrets:
        if said is not None and s.value not in said:
            continue
        what = s.what or it.window or it.app or "an account"
        out.append(
            Candidate(
                MemoryType.VAULT,
                {
                    "entry_type": s.kind,
                    "source": it.app or it.kind,
                    "sensitivity": "high",
                    "secret_value": s.value,
                    "caption": f"{s.kind} for {what}"[:300],
                },
                [src],
                route.trusted,
                key=f"vault:{s.kind}|{what.lower()}",
            )
        )
    if route.steps and not route.asked:
        title = (notes.summary if notes and notes.summary else "") or it.window or "Steps"
        out.append(
            Candidate(
                MemoryType.PROCEDURAL,
                {"entry_type": "workflow", "summary": title[:300], "steps": route.steps},
                [src],
                route.trusted,
                tags=topic_tags,
                key="steps:" + "|".join(s.lower() for s in route.steps[:3]),
            )
        )
    if route.document:
        out.append(
            Candidate(
                MemoryType.RESOURCE,
                {
                    "title": route.document[:300],
                    "summary": (notes.summary if notes else "")[:300],
                    "resource_type": "document",
                    "content": route.text,
                },
                [src],
                route.trusted,
                tags=topic_tags,
                key=f"doc:{route.document.lower()}",
            )
        )
    for f in route.facts:
        if f.core and route.trusted:
            out.append(
                Candidate(
                    MemoryType.CORE,
                    {"label": "human", "value": f"{f.key}: {f.value}"},
                    [src],
                    True,
                    fact=f,
                    key="core:human",
                )
            )
        else:
            out.append(
                Candidate(
                    MemoryType.SEMANTIC,
                    {"name": f.name, "summary": f.sentence, "details": "", "source": it.kind},
                    [src],
                    route.trusted,
                    tags=[f.tag],
                    key=f.tag,
                    fact=f,
                )
            )
    keyed = {c.fields.get("name", "").lower() for c in out if c.type is MemoryType.SEMANTIC}
    raw = it.text or ""
    # The model's facts: not over the user's own stated facts, not from a question (it states
    # nothing), not from text that holds instructions.
    model_facts = notes is not None and not (route.facts or route.question or route.injected)
    for name, sentence in notes.facts if notes and model_facts else []:
        # Only facts the input states (the model may not invent), never over a secret.
        if name.lower() in keyed or not grounded(f"{name} {sentence}", raw, need=0.8):
            continue
        if prompts.quote_data(sentence) != sentence or any(
            s.value in sentence for s in route.secrets
        ):
            continue
        out.append(
            Candidate(
                MemoryType.SEMANTIC,
                {"name": name[:200], "summary": sentence[:500], "details": "", "source": it.kind},
                [src],
                route.trusted,
                tags=topic_tags,
            )
        )
    for c in out:
        c.tainted = bool(route.injected)
    return out


def session_candidate(
    group: sessions.Group, routes: list[Route], notes: Notes | None = None
) -> Candidate:
    """The episodic memory of an activity session: its title built from app, window and time
    (never the model's words), the distinct lines seen as details, every capture as a source.
    The model's topics (already grounded) become tags; a revisit and a continued part carry the
    earlier session's id as a tag."""
    st = group.state
    tags = [sessions.SESSION_TAG, sessions.key_tag(group.key)]
    if st.typing:
        tags.append(sessions.TYPED_TAG)
    if group.after is not None and group.after.memory_id:
        link = sessions.CONTINUES_TAG if group.part else sessions.REVISIT_TAG
        tags.append(link + group.after.memory_id)
    if notes is not None:
        tags += [f"topic:{t.lower()[:40]}" for t in notes.topics[:3] if t.strip()]
    return Candidate(
        MemoryType.EPISODIC,
        {
            "occurred_at": st.start,
            "actor": "user",
            "event_type": sessions.SESSION_EVENT,
            "summary": st.title()[:2000],
            "details": "\n".join(st.lines),
        },
        [source_for(r) for r in routes],
        False,
        tags=tags,
        key=sessions.key_tag(group.key),
        tainted=any(r.injected for r in routes),
        group=group,
    )


# -- type managers -------------------------------------------------------------------------------
class TypeManager:
    mtype: MemoryType

    def __init__(
        self,
        core: MemoryCore,
        model: Model | None,
        *,
        use_model: bool,
        similarity: float,
        allow_model: Callable[[], bool] | None = None,
    ) -> None:
        """`allow_model()` says whether the model may be asked now (its capability mode allows
        it and no chat is waiting for it)."""
        self.core, self.model = core, model
        self.use_model, self.similarity = use_model, similarity
        self.allow_model = allow_model or (lambda: True)

    def model_ok(self) -> bool:
        return self.use_model and self.model is not None and self.allow_model()

    def by_tag(self, tag: str) -> Memory | None:
        found = self.core.tagged(self.mtype, tag, limit=1)
        return found[0] if found else None

    def similar(self, cand: Candidate, limit: int = 5) -> list[tuple[Memory, float]]:
        text = cand.text()
        if not text.strip():
            return []
        hits = self.core.search(text[:500], filters=Filters(types=[self.mtype]), limit=limit)
        return [(h.memory, h.similarity or 0.0) for h in hits]

    def decide(self, cand: Candidate) -> list[Action] | None:
        """Deterministic decision from exact keys (run inside the write, so it sees earlier writes
        of the same batch), or None when the candidate needs a similarity search."""
        return None

    def decide_similar(self, cand: Candidate) -> list[Action]:
        """Search similar memories and decide (outside the write: may call the model)."""
        close = self.similar(cand)
        norm = sorted(set(_WORD.findall(cand.text().lower())))
        for m, _ in close:
            if sorted(set(_WORD.findall(m.search_text().lower()))) == norm:
                return [Action("noop", cand, target=m.id, note="same text")]
        near = [(m, s) for m, s in close if s >= self.similarity]
        if near and self.model_ok():
            return [self.ask_model(cand, [m for m, _ in near[:3]])]
        return [Action("add", cand)]

    def decide_keyed(self, cand: Candidate) -> list[Action]:
        """One memory per key (a tag): update the stored one with what changed, or add this one
        carrying the key."""
        tag = cand.key[:200]
        old = self.by_tag(tag)
        if old is not None:
            fields = {k: v for k, v in cand.fields.items() if v and old.fields.get(k) != v}
            if not fields:
                return [Action("noop", cand, target=old.id, note="same key")]
            return [Action("update", cand, target=old.id, fields=fields, note="same key")]
        cand.tags = [*cand.tags, tag]
        return [Action("add", cand)]

    def ask_model(self, cand: Candidate, near: list[Memory]) -> Action:
        assert self.model is not None
        ids = [m.id for m in near]
        new = cand.text()[:600]
        stored = [(m.id, m.search_text()[:300]) for m in near]
        msgs = prompts.decide_messages(self.mtype.value, new, stored)
        # A stored memory may hold instructions too (indirect injection): the model read them,
        # so its decision is only taken as "add".
        tainted = any(injection.instruction_like(t) for t in [new, *(t for _, t in stored)])
        try:
            out = self.model.structured(
                msgs,
                prompts.decide_schema(ids),
                max_tokens=160,
                should_stop=lambda: not self.allow_model(),  # a chat started: give way
            )
        except (StructuredOutputError, ModelError) as e:  # Cancelled included: then "add"
            log.info("decision fell back to add (%s)", type(e).__name__)
            return Action("add", cand, note="model failed")
        action = self._action(cand, near, out)
        action.tainted = tainted
        action.saw_content = any(made_from_content(m) for m in near)
        return action

    def _action(self, cand: Candidate, near: list[Memory], out: dict[str, Any]) -> Action:
        ids = [m.id for m in near]
        op, target, other = out["action"], out["target"], out["other"]
        summary = str(out.get("summary") or "").strip()
        if op == "add" or (op != "add" and target not in ids):
            return Action("add", cand, note="model: add")
        if op == "merge" and (other not in ids or other == target):
            op = "update"
        fields = self.merged_fields(cand, next(m for m in near if m.id == target), summary)
        return Action(
            op,
            cand,
            target=target,
            other=other if op == "merge" else "",
            fields=fields,
            note="model",
        )

    def merged_fields(self, cand: Candidate, target: Memory, summary: str) -> dict[str, Any]:
        """Fields for an update of `target` by `cand` (the model's summary when it is usable)."""
        f = {k: v for k, v in cand.fields.items() if k in target.fields}
        if (
            summary
            and "summary" in target.fields
            and grounded(summary, cand.text() + " " + target.search_text())
        ):
            f["summary"] = summary
        return f


class EpisodicManager(TypeManager):
    mtype = MemoryType.EPISODIC

    def __init__(self, *a: Any, merge_minutes: int = 10, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.merge_minutes = merge_minutes
        self.recent: dict[str, tuple[str, str]] = {}  # episode key -> (memory id, last time)
        # Open activity sessions; after a restart read back from the stored session memories.
        self.sessions = sessions.Tracker(
            lookup=self._stored_session,
            latest=self._latest_session,
            switch_gap=timedelta(minutes=merge_minutes),
        )

    def decide(self, cand: Candidate) -> list[Action]:
        g = cand.group
        if g is not None:  # an activity session: grow its memory, or start one
            if g.grows and g.state.memory_id:
                return [Action("update", cand, target=g.state.memory_id, note="session")]
            return [Action("add", cand, note="session")]
        if cand.key and cand.key in self.recent:
            # Consecutive items of one episode key join one memory.
            mid, last = self.recent[cand.key]
            gap = parse_time(cand.fields["occurred_at"]) - parse_time(last)
            if timedelta(0) <= gap <= timedelta(minutes=self.merge_minutes):
                return [Action("update", cand, target=mid, note="same episode")]
        return [Action("add", cand)]

    def decide_similar(self, cand: Candidate) -> list[Action]:
        return [Action("add", cand)]

    def remember(self, cand: Candidate, memory_id: str) -> None:
        """A session or episode memory was written: later candidates of it find it."""
        if cand.group is not None:
            cand.group.state.memory_id = memory_id
        elif cand.key:
            self.recent[cand.key] = (memory_id, str(cand.fields["occurred_at"]))

    # -- sessions after a restart -------------------------------------------------------------
    def _session_ids(self, tag: str, limit: int) -> list[str]:
        return self.core.tagged_ids(MemoryType.EPISODIC, tag, limit=limit, by_time=True)

    def _state_of(self, m: Memory, key: str | None = None) -> sessions.SessionState | None:
        caps = [s for s in m.sources if s.kind == "capture"]
        if not caps or m.origin != "agent":
            return None
        start, end = sessions.span([(s.kind, s.at) for s in caps], str(m.fields["occurred_at"]))
        last = max(caps, key=lambda s: parse_time(s.at) if s.at else parse_time(start))
        if key is None:
            key = sessions.session_key(last.app, last.window, last.uri) or "|"
        return sessions.SessionState(
            key=key,
            start=start,
            end=end,
            app=last.app or "",
            window=last.window or "",
            url=last.uri,
            memory_id=m.id,
            lines=[ln for ln in str(m.fields.get("details", "")).splitlines() if ln],
            captures=len(caps),
            typing=sessions.TYPED_TAG in m.tags,
        )

    def _stored_session(self, key: str) -> sessions.SessionState | None:
        ids = self._session_ids(sessions.key_tag(key), 1)
        return self._state_of(self.core.get(ids[0]), key) if ids else None

    def _latest_session(self) -> sessions.SessionState | None:
        ids = self._session_ids(sessions.SESSION_TAG, 1)
        return self._state_of(self.core.get(ids[0])) if ids else None


class SemanticManager(TypeManager):
    mtype = MemoryType.SEMANTIC

    def decide(self, cand: Candidate) -> list[Action] | None:
        if cand.fact is not None:
            old = self.by_tag(cand.key)
            if old is None:
                return [Action("add", cand, note="new fact")]
            f = cand.fact
            if f.value.lower() in old.search_text().lower():
                return [Action("noop", cand, target=old.id, note="known fact")]
            if f.key.lower() in MULTI_KEYS:
                summary = f"{old.fields['summary'].rstrip('.')}, {f.value}."
                return [
                    Action(
                        "update",
                        cand,
                        target=old.id,
                        fields={"summary": summary[:2000]},
                        note="another value",
                    )
                ]
            details = f"Previously: {old.fields['summary']}"
            return [
                Action(
                    "update",
                    cand,
                    target=old.id,
                    fields={"summary": cand.fields["summary"], "details": details[:2000]},
                    note="contradiction: newer fact wins",
                )
            ]
        return None


class KeyedManager(TypeManager):
    """Procedural and resource: the same key (steps, document title) updates one memory."""

    def decide(self, cand: Candidate) -> list[Action] | None:
        return self.decide_keyed(cand) if cand.key else None


class ProceduralManager(KeyedManager):
    mtype = MemoryType.PROCEDURAL


class ResourceManager(KeyedManager):
    mtype = MemoryType.RESOURCE


class VaultManager(TypeManager):
    mtype = MemoryType.VAULT

    def decide(self, cand: Candidate) -> list[Action]:
        tag = cand.key[:200]
        old = self.by_tag(tag)
        if old is not None:
            current = self.core.secrets.open(str(old.fields["secret_value"]))
            if current == cand.fields["secret_value"]:
                return [Action("noop", cand, target=old.id, note="same secret")]
            return [
                Action(
                    "update",
                    cand,
                    target=old.id,
                    fields={"secret_value": cand.fields["secret_value"]},
                    note="new value",
                )
            ]
        cand.tags = [tag]
        return [Action("add", cand)]  # the model never sees or judges secrets


class CoreManager(TypeManager):
    """The human block: one `key: value` line per fact, rewritten (never cut) to fit its limit."""

    mtype = MemoryType.CORE

    def block(self, label: str) -> Memory | None:
        for m in self.core.browse(Filters(types=[MemoryType.CORE]), limit=50):
            if m.fields.get("label") == label:
                return m
        return None

    def decide(self, cand: Candidate) -> list[Action]:
        assert cand.fact is not None
        f = cand.fact
        label = str(cand.fields["label"])
        old = self.block(label)
        line = f"{f.key}: {f.value}"
        if old is None:
            return [Action("add", cand, fields={"label": label, "value": line})]
        lines = [ln for ln in str(old.fields["value"]).splitlines() if ln.strip()]
        if f.key in MULTI_KEYS:
            if any(ln.lower() == line.lower() for ln in lines):
                return [Action("noop", cand, target=old.id)]
            lines.append(line)
        else:
            lines = [ln for ln in lines if not ln.lower().startswith(f"{f.key.lower()}:")] + [line]
        value = "\n".join(lines)
        limit = int(old.fields.get("limit") or DEFAULT_CORE_LIMIT)
        actions: list[Action] = []
        if len(value) > limit:
            value, moved = self.fit(label, lines, limit)
            for ln in moved:
                k = ln.partition(":")[0]
                actions.append(
                    Action(
                        "add",
                        Candidate(
                            MemoryType.SEMANTIC,
                            {
                                "name": f"my {k.strip()}"[:200],
                                "summary": ln.strip()[:2000],
                                "details": f"moved out of core block {label}",
                                "source": "core",
                            },
                            [*cand.sources, Source("agent", old.id)],
                            True,
                        ),
                        note="moved out of core to fit",
                    )
                )
        actions.insert(
            0, Action("update", cand, target=old.id, fields={"value": value}, note="core fact")
        )
        return actions

    def fit(self, label: str, lines: list[str], limit: int) -> tuple[str, list[str]]:
        """Rewrite shorter with the model; if that fails, move the oldest lines to semantic memory."""
        value = "\n".join(lines)
        if self.model is not None and self.allow_model():
            try:
                out = self.model.structured(
                    prompts.rewrite_messages(label, value, limit),
                    prompts.rewrite_schema(limit),
                    max_tokens=min(1024, limit // 2),
                )
                text = str(out["value"]).strip()
                if 0 < len(text) <= limit and faithful_rewrite(lines, text):
                    return text, []
            except (StructuredOutputError, ModelError):
                pass
        moved: list[str] = []
        while len("\n".join(lines)) > limit and len(lines) > 1:
            moved.append(lines.pop(0))
        return "\n".join(lines), moved


def faithful_rewrite(lines: list[str], text: str) -> bool:
    """A rewrite of a core block only shortens it: the newest line is all there, every other line
    mostly there, and nothing is said that the block did not say."""
    if not lines or not grounded(lines[-1], text, need=0.99):
        return False
    if not all(grounded(ln, text, need=0.6) for ln in lines if words(ln)):
        return False
    return grounded(text, "\n".join(lines), need=0.9)


def make_managers(
    core: MemoryCore,
    model: Model | None,
    *,
    use_model: bool,
    similarity: float,
    merge_minutes: int,
    allow_model: Callable[[], bool] | None = None,
) -> dict[MemoryType, TypeManager]:
    kw: dict[str, Any] = {
        "use_model": use_model,
        "similarity": similarity,
        "allow_model": allow_model,
    }
    return {
        MemoryType.EPISODIC: EpisodicManager(core, model, merge_minutes=merge_minutes, **kw),
        MemoryType.SEMANTIC: SemanticManager(core, model, **kw),
        MemoryType.PROCEDURAL: ProceduralManager(core, model, **kw),
        MemoryType.RESOURCE: ResourceManager(core, model, **kw),
        MemoryType.VAULT: VaultManager(core, model, **kw),
        MemoryType.CORE: CoreManager(core, model, **kw),
    }


# -- apply (with the rules) ------------------------------------------------------------------------
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
        # Enforced here, whatever routing, the notes or a model's decision said: a question becomes
        # its own episodic record and nothing else, and it changes no other memory.
        if c.type is not MemoryType.EPISODIC:
            result.refused.append(f"{a.op} {c.type.value}: {ASKED}")
            log.info("refused a %s memory from a question", c.type.value)
            return
        if a.op != "add":
            result.refused.append(f"{a.op} {a.target}: {ASKED}")
        _add(b, c, result, episodes, None)
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
    if from_chat and a.op == "merge":
        a = dataclasses.replace(a, op="update", other="")  # merging would trash the other
    if from_chat and a.note == "model" and a.fields is not None:
        # The model's wording of a change from chat: only the message's own words count.
        summary = a.fields.get("summary")
        if isinstance(summary, str) and not grounded(summary, c.text(), need=0.9):
            fields = dict(a.fields)
            fields.pop("summary")
            if "summary" in c.fields:
                fields["summary"] = c.fields["summary"]
            a = dataclasses.replace(a, fields=fields)
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
