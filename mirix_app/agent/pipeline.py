"""Inbox -> memories, in batches.

Captures become activity sessions (agent/extract/sessions.py): the captures of a batch are grouped
by session and each session's one episodic memory grows by one update per batch, its title built
from app, window and time, never from the model. The model is asked at most one note per session
per batch (and one per chat message or document), only when its capability mode allows it (not
"off", see agent/capability.py), and never while a chat is waiting for it (`FOREGROUND`): then, and
when the inbox is behind, items are sorted by the deterministic signals alone, so the backlog stays
bounded. What the model writes is used only when grounded in the input and free of prompt
scaffolding.

One model call covers many items (constrained JSON, validated, retried). Model calls happen outside
any database write, so capture (which appends to the inbox) never waits for the model; each batch
is then written in one transaction together with marking its items done. If the model still fails
after its retries, a chat message or document is kept as an episodic memory tagged "unsorted"
(search finds it) and the item stays queued for a later try; a later success replaces the unsorted
memory. A capture needs no model: its session is made without the notes.

A model that cannot be used at all (its file missing or corrupt, its server not answering) is not
the items' fault: the batch stops before it writes anything, no attempt is counted against them,
and `drain` raises the model's error (ModelMissing / ModelUnavailable) saying what to do. The
items stay in the inbox and are processed once a working model is back.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mirix_app.agent.extract import apply as extract  # issue 12: events, entities, resources
from mirix_app.agent.extract import sessions
from mirix_app.agent.managers import (
    UNSORTED,
    Action,
    Applied,
    Candidate,
    EpisodicManager,
    Notes,
    apply,
    candidates,
    make_managers,
    session_candidate,
    source_for,
    turn_line,
)
from mirix_app.agent.models import (
    Cancelled,
    Model,
    ModelUnavailable,
)
from mirix_app.agent.old_questions import OLD_QUESTIONS_KEY, mark_old_questions
from mirix_app.agent.pipeline_items import (
    conversation_of,
    is_import,
    mgr_is_keyed,
    session_capture,
    source_for_item,
    unsorted_memory,
)
from mirix_app.agent.pipeline_notes import FOREGROUND, Foreground, ModelNotes
from mirix_app.agent.settings import AgentSettings
from mirix_app.agent.signals import LineMemory, Route, route
from mirix_app.errors import ModelMissing
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType
from mirix_app.safety.secrets import mask_secrets

log = logging.getLogger(__name__)

# Importers have always found these here.
__all__ = [
    "FOREGROUND",
    "OLD_QUESTIONS_KEY",
    "BatchResult",
    "Foreground",
    "Pipeline",
    "Progress",
    "is_import",
    "mark_old_questions",
]


@dataclass
class BatchResult:
    items: int = 0
    sorted: int = 0
    unsorted: int = 0
    applied: Applied = field(default_factory=Applied)
    seconds: float = 0.0
    model_calls: int = 0
    noted: int = 0  # items (or sessions) the model was asked to write notes for
    shed: bool = False  # captures were sorted without model notes to keep up
    yielded: bool = False  # the model gave way to a chat: items sorted without notes
    sessions: int = 0  # activity sessions this batch wrote (started or grown)


@dataclass
class Progress:
    done: int
    backlog: int
    last: BatchResult


@dataclass
class _Plan:
    """One batch on its way to the write: its routes and sessions, what the model noted (or
    failed on), the candidates of each item and session, and the decisions made before."""

    routes: list[Route]
    groups: list[sessions.Group]
    members: list[list[Route]]  # each group's routed captures
    group_asks: dict[int, Route] = field(default_factory=dict)  # group index -> model's input
    notes: dict[str, Notes] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # item id -> why the model failed
    plan: list[tuple[Route, list[Candidate]]] = field(default_factory=list)
    session_facts: list[list[Candidate]] = field(default_factory=list)
    pre: dict[int, list[Action]] = field(default_factory=dict)  # id(candidate) -> decisions

    def session_note(self, i: int) -> Notes | None:
        asked = self.group_asks.get(i)
        return self.notes.get(asked.item.id) if asked is not None else None


def _log_batch(res: BatchResult) -> None:
    log.info(
        "batch: %d item(s), %d sorted, %d unsorted, %d session(s), +%d ~%d -%d, %d refused, "
        "%d model call(s)%s, %.1fs",
        res.items,
        res.sorted,
        res.unsorted,
        res.sessions,
        len(res.applied.added),
        len(res.applied.updated),
        len(res.applied.deleted),
        len(res.applied.refused),
        res.model_calls,
        " (yielded to chat)" if res.yielded else "",
        res.seconds,
    )


class Pipeline(ModelNotes):
    def __init__(
        self,
        core: MemoryCore,
        model: Model | None,
        settings: AgentSettings | None = None,
        *,
        want_notes: Callable[[Route], bool] | None = None,
        mode: str | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        """`want_notes`, when given, replaces the settings' policy of which items (with text to
        note) get model notes: e.g. a benchmark asking the model about a fixed sample of turns.
        `mode` forces the model's capability mode (phrase | summarize | off); by default the
        model's cached capability check decides (unchecked: the model may write notes, which are
        guarded like any). `foreground` tells when a chat waits for the model (FOREGROUND)."""
        self.core = core
        self.model = model
        self.settings = settings or AgentSettings.from_settings(core.settings)
        self.want_notes = want_notes
        self.foreground = foreground or FOREGROUND
        self._mode = mode
        self._mode_read: tuple[float, str] | None = None
        s = self.settings
        self.managers = make_managers(
            core,
            model,
            use_model=s.decide_with_model,
            similarity=s.decide_similarity,
            merge_minutes=s.episode_merge_minutes,
            allow_model=self.model_allowed,
        )
        self.lines_seen = LineMemory()
        self.last_turn: dict[str, str] = {}  # conversation -> its last turn processed (a line)
        self._old_questions_checked = False

    # -- one batch ---------------------------------------------------------------------------------
    def process(
        self, items: list[InboxItem], should_stop: Callable[[], bool] | None = None
    ) -> BatchResult:
        start = time.perf_counter()
        res = BatchResult(items=len(items))
        if not items:
            return res
        if self.model is not None and not self.model.status().loaded:
            # A missing or corrupt model fails here, before any item is touched. Only when not
            # loaded: load() takes the model's lock, held by a generation under way (e.g. the
            # capability check), and a batch needing no model call must not wait for it.
            self.model.load()
        _check(should_stop)
        self._mark_old_questions()
        # Routing remembers lines and turns it has seen; a batch the model fails on is retried
        # later and must be routed as new again.
        seen, last_turn = pickle.dumps(self.lines_seen), dict(self.last_turn)  # ~5 ms when full
        try:
            return self._process(items, should_stop, res, start)
        except (Cancelled, ModelMissing, ModelUnavailable):
            self.lines_seen, self.last_turn = pickle.loads(seen), last_turn
            self._episodes().sessions.forget()  # read back from the store next time
            raise
        except BaseException:
            self._episodes().sessions.forget()
            raise

    def _episodes(self) -> EpisodicManager:
        episodes = self.managers[MemoryType.EPISODIC]
        assert isinstance(episodes, EpisodicManager)
        return episodes

    def _process(
        self,
        items: list[InboxItem],
        should_stop: Callable[[], bool] | None,
        res: BatchResult,
        start: float,
    ) -> BatchResult:
        routes = [
            route(it, max_chars=self.settings.capture_chars, lines_seen=self.lines_seen)
            for it in items
        ]
        self._link_turns(routes)
        episodes = self._episodes()
        captures = [r for r in routes if r.item.kind == "capture"]
        by_id = {r.item.id: r for r in captures}
        groups, opened, last = episodes.sessions.plan([session_capture(r) for r in captures])
        p = _Plan(routes, groups, [[by_id[c.id] for c in g.captures] for g in groups])
        _check(should_stop)
        self._ask_model(p, res, should_stop)
        self._candidates(p)
        # Similarity decisions (search + maybe the model) before the write; exact-key decisions
        # inside it, in order, so two items of one batch about the same thing meet.
        for c in [c for _, cands in p.plan for c in cands] + [
            c for f in p.session_facts for c in f
        ]:
            mgr = self.managers[c.type]
            if not mgr_is_keyed(mgr, c):
                _check(should_stop)  # a search, maybe a model call, per candidate
                p.pre[id(c)] = mgr.decide_similar(c)
        _check(should_stop)  # last point where stopping leaves the items queued, untouched
        unsorted_ids = [r.item.id for r in routes if r.item.id in p.failed]
        self._write(p, res, episodes)
        episodes.sessions.commit(opened, last)
        for item_id in unsorted_ids:
            self.core.inbox_retry_later(item_id, p.failed[item_id])
        res.sorted = len(p.plan) - len(unsorted_ids)
        res.unsorted = len(unsorted_ids)
        res.seconds = time.perf_counter() - start
        _log_batch(res)
        return res

    def _ask_model(
        self, p: _Plan, res: BatchResult, should_stop: Callable[[], bool] | None
    ) -> None:
        """One note per session (what it showed new) and one per other item, if the model may."""
        res.shed = self.core.inbox_backlog() > self.settings.notes_backlog_limit
        res.yielded = self.foreground.busy()
        allowed = self.model_allowed()
        asks = [
            r
            for r in p.routes
            if r.item.kind != "capture" and allowed and self.wants_notes(r, res.shed)
        ]
        for i, (g, rs) in enumerate(zip(p.groups, p.members, strict=True)):
            if allowed and self.wants_session_notes(g, rs, res.shed):
                p.group_asks[i] = self._session_route(i, g, rs)
        res.noted = len(asks) + len(p.group_asks)
        p.notes, p.failed, res.model_calls = self.notes(
            [*asks, *p.group_asks.values()], should_stop
        )
        res.yielded = res.yielded or self.foreground.busy()
        for sr in p.group_asks.values():
            p.failed.pop(sr.item.id, None)  # a session is made without notes just as well

    def _candidates(self, p: _Plan) -> None:
        for r in p.routes:
            if r.item.kind == "capture":
                cands = candidates(r, None, episode=False)  # its episode is its session's
            else:
                cands = candidates(r, p.notes.get(r.item.id))
                if r.item.id in p.failed:
                    # The deterministic part is still made; the event itself is kept unsorted.
                    cands = [c for c in cands if c.type is not MemoryType.EPISODIC]
            p.plan.append((r, cands))
        # The model's facts of a session cite every capture of it.
        for i, rs in enumerate(p.members):
            note = p.session_note(i)
            asked = p.group_asks.get(i)
            facts = candidates(asked, note, episode=False) if asked is not None and note else []
            for c in facts:
                c.sources = [source_for(r) for r in rs]
            p.session_facts.append(facts)

    def _write(self, p: _Plan, res: BatchResult, episodes: EpisodicManager) -> None:
        """The batch in one transaction, together with marking its items done."""
        failed = p.failed
        with self.core.batch(actor="agent") as b:
            for r, cands in p.plan:
                if r.item.id not in failed:
                    for old in self._unsorted_of(r.item):
                        b.trash(old)
                for c in cands:
                    actions = (
                        p.pre.get(id(c)) or self.managers[c.type].decide(c) or [Action("add", c)]
                    )
                    apply(b, actions, res.applied, episodes)
                extract.hook(b, r, res.applied)  # issue 12: model-free extraction (agent/extract)
            for i, (g, rs) in enumerate(zip(p.groups, p.members, strict=True)):
                cand = session_candidate(g, rs, p.session_note(i))
                apply(b, episodes.decide(cand), res.applied, episodes)
                for c in p.session_facts[i]:
                    apply(b, p.pre.get(id(c)) or [Action("add", c)], res.applied, episodes)
            res.sessions = len(p.groups)
            for r in p.routes:
                if r.item.id in failed and not self._unsorted_of(r.item):
                    b.add(unsorted_memory(r))
                    res.applied.added.append("unsorted")
            # A secret said in chat now lives sealed in the vault: the message's record keeps
            # only a mask, so the value is nowhere else in clear. One typed into a question is
            # not kept at all (a question makes no vault entry), so it is masked as well.
            masked = {
                r.item.id: mask_secrets(r.item.text)
                for r, cands in p.plan
                if r.secrets or any(c.type is MemoryType.VAULT for c in cands)
            }
            b.inbox_done([r.item.id for r, _ in p.plan if r.item.id not in failed], masked)

    def _mark_old_questions(self) -> None:
        """Once per data dir (a meta flag), before the first batch: see `mark_old_questions`."""
        if self._old_questions_checked:
            return
        self._old_questions_checked = True
        if self.core.meta(OLD_QUESTIONS_KEY):
            return
        mark_old_questions(self.core)
        self.core.set_meta(OLD_QUESTIONS_KEY, "1")

    def _link_turns(self, routes: list[Route]) -> None:
        """Give each imported conversation turn the turns before and after it as context (the
        next batch's first item is peeked at in the inbox), as the memory core's import does."""
        turns = [r for r in routes if is_import(r.item)]
        if not turns:
            return
        ids = {r.item.id for r in routes}
        ahead = [it for it in self.core.inbox_take(len(routes) + 1) if it.id not in ids][:1]
        seq = turns + [
            route(it, max_chars=self.settings.capture_chars) for it in ahead if is_import(it)
        ]
        for i, r in enumerate(turns):
            conv = conversation_of(r.item)
            after = seq[i + 1] if i + 1 < len(seq) else None
            r.context = [
                x
                for x in (
                    self.last_turn.get(conv),
                    turn_line(after) if after and conversation_of(after.item) == conv else None,
                )
                if x
            ]
            self.last_turn[conv] = turn_line(r)

    def _unsorted_of(self, item: InboxItem) -> list[str]:
        src = source_for_item(item)
        return [
            m.id
            for m in self.core.memories_from(src[0], src[1])
            if UNSORTED in m.tags and m.origin == "agent"
        ]

    def drain(
        self,
        *,
        limit: int | None = None,
        progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Process due inbox items until none is left (or `limit`); returns items processed."""
        done = 0
        while limit is None or done < limit:
            if should_stop is not None and should_stop():
                break
            n = (
                self.settings.batch_size
                if limit is None
                else min(self.settings.batch_size, limit - done)
            )
            items = self.core.inbox_take(n)
            if not items:
                break
            try:
                res = self.process(items, should_stop)
            except Cancelled:
                break
            except (ModelMissing, ModelUnavailable) as e:
                waiting = self.core.inbox_backlog()
                log.warning("processing stopped, %d item(s) wait: %s", waiting, e.message)
                note = f"{waiting} item(s) wait in the inbox and are processed once it works"
                raise type(e)(e.message, f"{e.hint}; {note}" if e.hint else note) from e
            done += len(items)
            if progress is not None:
                progress(Progress(done, self.core.inbox_backlog(), res))
        return done


def _check(should_stop: Callable[[], bool] | None) -> None:
    """Cancelled when the job is asked to stop (quit, new settings): checked between items and
    before database work, so a drain stops within a second or two; its items stay queued."""
    if should_stop is not None and should_stop():
        raise Cancelled("processing cancelled")
