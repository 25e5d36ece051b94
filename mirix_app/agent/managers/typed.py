"""The six type managers: each retrieves similar stored memories through the memory core and
decides add / update / merge / delete / noop: exact keys first, the model only on close calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from mirix_app.agent import prompts
from mirix_app.agent.extract import sessions
from mirix_app.agent.managers.rules import (
    MULTI_KEYS,
    WORD,
    Action,
    Candidate,
    grounded,
    made_from_content,
    words,
)
from mirix_app.agent.models import Model, ModelError, StructuredOutputError
from mirix_app.memory.clock import parse_time
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.types import DEFAULT_CORE_LIMIT, Filters, Memory, MemoryType, Source
from mirix_app.safety import injection

log = logging.getLogger(__name__)


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
        norm = sorted(set(WORD.findall(cand.text().lower())))
        for m, _ in close:
            if sorted(set(WORD.findall(m.search_text().lower()))) == norm:
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
