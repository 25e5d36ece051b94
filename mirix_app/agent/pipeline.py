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

import contextlib
import logging
import pickle
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mirix_app.agent import prompts
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
    grounded,
    make_managers,
    session_candidate,
    source_for,
    turn_line,
)
from mirix_app.agent.models import (
    Cancelled,
    Model,
    ModelError,
    ModelUnavailable,
    StructuredOutputError,
)
from mirix_app.agent.settings import AgentSettings
from mirix_app.agent.signals import LineMemory, Route, clean_lines, route, trim_text
from mirix_app.agent.statements import asked_by_user, stated, unquoted, user_facts
from mirix_app.errors import ModelMissing
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.search import QUESTION_EVENT, QUESTION_TAG
from mirix_app.memory.types import Memory, MemoryType
from mirix_app.safety.secrets import mask_secrets

log = logging.getLogger(__name__)

PROMPT_BUDGET_CHARS = 5000  # per model call (~1300 tokens of items), under n_ctx with the output
OUTPUT_TOKENS_PER_ITEM = 80  # the schema's lengths bound a note to about this


def degenerate(text: str) -> bool:
    """Repetitive filler ("1.1.1.1...") that a small model produces under a grammar."""
    if len(text) < 24:
        return False
    return len(zlib.compress(text.encode())) / len(text) < 0.45 or len(set(text.split())) < 3


# Our markers and the prompt's block heads: never a topic, whatever the model says.
OUR_WORDS = {UNSORTED, "screen", "document", "message", "item", "notes", "session", "data"}


def usable_notes(entry: dict[str, Any], source: str) -> Notes:
    """Keep only what the input supports: a small model's garbage must not replace real text, and
    the prompt's scaffolding ("1. Screen -", "Unsorted:", fences) is never memory text."""
    summary = " ".join(str(entry.get("summary", "")).split())
    if (
        degenerate(summary)
        or prompts.scaffolding(summary)
        or not grounded(summary, source, need=0.5)
    ):
        summary = ""
    topics = []
    for t in entry.get("topics", []):
        t = " ".join(str(t).split())
        if (
            t
            and t.lower() not in OUR_WORDS
            and not degenerate(t)
            and not prompts.scaffolding(t)
            and grounded(t, source, need=1.0)
            and t.lower() not in topics
        ):
            topics.append(t.lower())
    facts = [
        (name, sentence)
        for name, sentence in (
            (str(f["name"]).strip(), str(f["summary"]).strip()) for f in entry.get("facts", [])
        )
        if not degenerate(sentence) and not prompts.scaffolding(f"{name}\n{sentence}")
    ]
    return Notes(summary=summary, topics=topics, facts=facts)


class Foreground:
    """Chats in progress. While one runs, the pipeline's model work yields to it: no model note
    or decision starts, and one under way stops within a token (its items are then sorted by the
    deterministic signals). Chat code wraps its model use in `FOREGROUND.chat()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0

    @contextlib.contextmanager
    def chat(self) -> Iterator[None]:
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1

    def busy(self) -> bool:
        return self._active > 0


FOREGROUND = Foreground()
MODE_RECHECK_SECONDS = 30.0  # how long the cached capability mode is trusted before a re-read


OLD_QUESTIONS_KEY = "agent.old_questions_marked"  # meta: the one-time pass below has run


def mark_old_questions(core: MemoryCore) -> tuple[int, int]:
    """What older versions made of the user's chat questions: each question's episodic record is
    marked (search then ranks it below the evidence) and the facts, steps and resources made from
    questions alone are trashed (undoable: they are in the trash and their history). A fact that a
    statement in the same message still gives is kept; vault entries and core blocks are left to
    the user. Returns (marked, trashed)."""
    refs = core.source_refs("chat")
    asked: dict[str, set[str]] = {}  # question item id -> fact tags its statements still give
    for ref in refs:
        it = core.inbox_get(ref)
        if it is not None and asked_by_user(it):
            said = user_facts(stated(unquoted(mask_secrets(it.text))))
            asked[ref] = {f.tag for f in said}
    marked = trashed = 0
    if not asked:
        return 0, 0
    with core.batch(actor="agent") as b:
        seen: set[str] = set()
        for ref, kept in asked.items():
            for mid in core.memory_ids_from("chat", ref):
                if mid in seen:
                    continue
                seen.add(mid)
                m = b.get(mid)
                if m.deleted_at is not None or m.origin != "agent":
                    continue
                if m.type is MemoryType.EPISODIC:
                    if QUESTION_TAG not in m.tags:
                        b.update(
                            mid,
                            fields={"event_type": QUESTION_EVENT},
                            tags=sorted({*m.tags, QUESTION_TAG}),
                        )
                        marked += 1
                    continue
                if m.type not in (MemoryType.SEMANTIC, MemoryType.PROCEDURAL, MemoryType.RESOURCE):
                    continue
                only_questions = all(s.kind == "chat" and s.ref in asked for s in m.sources)
                if only_questions and not kept & set(m.tags):
                    b.trash(mid)
                    trashed += 1
    if marked or trashed:
        log.info("older questions: %d record(s) marked, %d memory(ies) trashed", marked, trashed)
    return marked, trashed


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


class Pipeline:
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

    # -- the model's part ---------------------------------------------------------------------------
    def model_mode(self) -> str:
        """The model's capability mode: phrase | summarize | off | unchecked (cached check, re-read
        every MODE_RECHECK_SECONDS; it runs nothing)."""
        if self._mode is not None:
            return self._mode
        if self.model is None:
            return "off"
        now = time.monotonic()
        if self._mode_read is None or now - self._mode_read[0] > MODE_RECHECK_SECONDS:
            from mirix_app.agent import capability

            try:
                result = capability.cached_mode(self.model, self.core.paths)
            except Exception as e:  # never let the check's cache stop the pipeline
                log.debug("chat mode: capability cache unreadable (%s)", type(e).__name__)
                result = None
            self._mode_read = (now, result.mode if result is not None else "unchecked")
        return self._mode_read[1]

    def model_allowed(self) -> bool:
        """Whether the model may be asked now: its capability mode is not "off" and no chat is
        waiting for it."""
        return self.model is not None and self.model_mode() != "off" and not self.foreground.busy()

    # -- model notes -------------------------------------------------------------------------------
    def wants_notes(self, r: Route, shed: bool) -> bool:
        """Whether the model writes notes for this item; the rest is sorted by the deterministic
        signals alone (routing + managers, the same code path, just no summary/topics/facts)."""
        it = r.item
        if not r.text or (it.kind == "capture" and r.stale):
            return False  # screens with nothing new join their episode without a model call
        if self.want_notes is not None:
            return self.want_notes(r)
        if r.asked:
            return False  # a question's record is its own words; the model has nothing to add
        if shed and it.kind == "capture":
            return False  # behind capture: screens get deterministic notes only
        return self.settings.import_notes or not is_import(it)

    def _block(self, r: Route) -> str:
        it = r.item
        if it.kind == "capture":
            head = " | ".join(x for x in ("screen", it.app, it.window) if x)
        elif it.kind == "document":
            head = f"document | {r.document}"
        else:
            head = f"message from {r.speaker}"
        return prompts.quote_data(f"{head}\n{r.text}")

    def _chunks(self, routes: list[Route]) -> list[list[Route]]:
        chunks: list[list[Route]] = []
        size = 0
        for r in routes:
            n = len(r.text) + 60
            if (
                chunks
                and size + n <= PROMPT_BUDGET_CHARS
                and len(chunks[-1]) < self.settings.items_per_call
            ):
                chunks[-1].append(r)
                size += n
            else:
                chunks.append([r])
                size = n
        return chunks

    def notes(
        self, routes: list[Route], should_stop: Callable[[], bool] | None = None
    ) -> tuple[dict[str, Notes], dict[str, str], int]:
        """Model notes per item id; items the model failed on (id -> error); calls made."""
        out: dict[str, Notes] = {}
        failed: dict[str, str] = {}
        calls = 0
        if self.model is None:
            return out, {r.item.id: "no model" for r in routes}, 0

        def stop() -> bool:
            return (should_stop is not None and should_stop()) or self.foreground.busy()

        for chunk in self._chunks(routes):
            if self.foreground.busy():
                break  # a chat waits: the rest is sorted without notes (no failure)
            todo = chunk
            error = ""
            for _ in range(max(1, self.settings.max_attempts)):
                if not todo:
                    break
                blocks = [self._block(r) for r in todo]
                calls += 1
                try:
                    data = self.model.structured(
                        prompts.extract_messages(blocks),
                        prompts.extract_schema(len(todo)),
                        max_tokens=min(1600, 30 + OUTPUT_TOKENS_PER_ITEM * len(todo)),
                        should_stop=stop,
                    )
                except Cancelled:
                    if should_stop is not None and should_stop():
                        raise  # the job was cancelled: the batch stops, its items stay queued
                    todo = []  # a chat started: these items go without notes
                    break
                except (ModelMissing, ModelUnavailable):
                    raise  # not these items' fault: the batch stops, they stay queued
                except (StructuredOutputError, ModelError) as e:
                    error = f"{type(e).__name__}: {e.message[:200]}"
                    log.info("model notes failed for %d item(s): %s", len(todo), type(e).__name__)
                    continue
                for r, entry in zip(todo, data["notes"], strict=False):
                    out[r.item.id] = usable_notes(entry, r.item.text or "")
                todo = todo[len(data["notes"]) :]
                error = "the model left out this item"
            for r in todo:
                failed[r.item.id] = error
        return out, failed, calls

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
        members = [[by_id[c.id] for c in g.captures] for g in groups]
        _check(should_stop)
        res.shed = self.core.inbox_backlog() > self.settings.notes_backlog_limit
        res.yielded = self.foreground.busy()
        allowed = self.model_allowed()
        # One note per session (what it showed new) and one per other item, if the model may.
        asks = [
            r
            for r in routes
            if r.item.kind != "capture" and allowed and self.wants_notes(r, res.shed)
        ]
        group_asks: dict[int, Route] = {}
        for i, (g, rs) in enumerate(zip(groups, members, strict=True)):
            if allowed and self.wants_session_notes(g, rs, res.shed):
                group_asks[i] = self._session_route(i, g, rs)
        res.noted = len(asks) + len(group_asks)
        notes, failed, res.model_calls = self.notes([*asks, *group_asks.values()], should_stop)
        res.yielded = res.yielded or self.foreground.busy()
        for sr in group_asks.values():
            failed.pop(sr.item.id, None)  # a session is made without notes just as well
        plan: list[tuple[Route, list[Candidate]]] = []
        for r in routes:
            if r.item.kind == "capture":
                cands = candidates(r, None, episode=False)  # its episode is its session's
            else:
                cands = candidates(r, notes.get(r.item.id))
                if r.item.id in failed:
                    # The deterministic part is still made; the event itself is kept unsorted.
                    cands = [c for c in cands if c.type is not MemoryType.EPISODIC]
            plan.append((r, cands))
        # The model's facts of a session cite every capture of it.
        session_facts: list[list[Candidate]] = []
        for i, rs in enumerate(members):
            asked = group_asks.get(i)
            note = notes.get(asked.item.id) if asked is not None else None
            facts = candidates(asked, note, episode=False) if asked is not None and note else []
            for c in facts:
                c.sources = [source_for(r) for r in rs]
            session_facts.append(facts)
        # Similarity decisions (search + maybe the model) before the write; exact-key decisions
        # inside it, in order, so two items of one batch about the same thing meet.
        pre: dict[int, list[Action]] = {}
        for c in [c for _, cands in plan for c in cands] + [c for f in session_facts for c in f]:
            mgr = self.managers[c.type]
            if not mgr_is_keyed(mgr, c):
                _check(should_stop)  # a search, maybe a model call, per candidate
                pre[id(c)] = mgr.decide_similar(c)
        _check(should_stop)  # last point where stopping leaves the items queued, untouched
        unsorted_ids = [r.item.id for r in routes if r.item.id in failed]
        with self.core.batch(actor="agent") as b:
            for r, cands in plan:
                if r.item.id not in failed:
                    for old in self._unsorted_of(r.item):
                        b.trash(old)
                for c in cands:
                    actions = (
                        pre.get(id(c)) or self.managers[c.type].decide(c) or [Action("add", c)]
                    )
                    apply(b, actions, res.applied, episodes)
                extract.hook(b, r, res.applied)  # issue 12: model-free extraction (agent/extract)
            for i, (g, rs) in enumerate(zip(groups, members, strict=True)):
                asked = group_asks.get(i)
                note = notes.get(asked.item.id) if asked is not None else None
                cand = session_candidate(g, rs, note)
                apply(b, episodes.decide(cand), res.applied, episodes)
                for c in session_facts[i]:
                    apply(b, pre.get(id(c)) or [Action("add", c)], res.applied, episodes)
            res.sessions = len(groups)
            for r in routes:
                if r.item.id in failed and not self._unsorted_of(r.item):
                    b.add(self._unsorted(r))
                    res.applied.added.append("unsorted")
            # A secret said in chat now lives sealed in the vault: the message's record keeps
            # only a mask, so the value is nowhere else in clear. One typed into a question is
            # not kept at all (a question makes no vault entry), so it is masked as well.
            masked = {
                r.item.id: mask_secrets(r.item.text)
                for r, cands in plan
                if r.secrets or any(c.type is MemoryType.VAULT for c in cands)
            }
            b.inbox_done([r.item.id for r, _ in plan if r.item.id not in failed], masked)
        episodes.sessions.commit(opened, last)
        for item_id in unsorted_ids:
            self.core.inbox_retry_later(item_id, failed[item_id])
        res.sorted = len(plan) - len(unsorted_ids)
        res.unsorted = len(unsorted_ids)
        res.seconds = time.perf_counter() - start
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
        return res

    def wants_session_notes(self, g: sessions.Group, rs: list[Route], shed: bool) -> bool:
        """A session gets one model note per batch, for what it showed that was new; none when
        the inbox is behind (the session is complete without it)."""
        if not g.new_lines or all(r.stale for r in rs):
            return False
        if self.want_notes is not None:
            return any(self.want_notes(r) for r in rs)
        return not shed

    def _session_route(self, i: int, g: sessions.Group, rs: list[Route]) -> Route:
        """What the model reads of a session: its app, window and new lines (secrets masked)."""
        st = g.state
        text = "\n".join(g.new_lines)
        item = InboxItem(
            kind="capture",
            id=f"session-{i}",
            at=st.end,
            text=text,
            app=st.app or None,
            window=st.window or None,
            url=st.url,
        )
        return Route(
            item=item,
            text=trim_text(g.new_lines, self.settings.capture_chars),
            injected=sorted({x for r in rs for x in r.injected}),
        )

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

    def _unsorted(self, r: Route) -> Memory:
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


class ProcessingJob:
    """Drain the inbox on a background thread; `cancel()` stops within one model token.

    The UI calls start(progress=...), cancel(), wait(); `running`, `processed` and `error` tell the
    state. Capture never waits on it: only the final short write of each batch takes the lock.
    """

    def __init__(
        self, core: MemoryCore, model: Model | None, settings: AgentSettings | None = None
    ) -> None:
        self.pipeline = Pipeline(core, model, settings)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(
        self, progress: Callable[[Progress], None] | None = None, limit: int | None = None
    ) -> int:
        """Run in the calling thread (the CLI); returns the number of items processed."""
        self.processed = self.pipeline.drain(
            limit=limit, progress=progress, should_stop=self._cancel.is_set
        )
        return self.processed

    def start(
        self, progress: Callable[[Progress], None] | None = None, limit: int | None = None
    ) -> None:
        if self.running:
            return
        self._cancel.clear()

        def target() -> None:
            # A worker thread opens its own SQLite connection (the store keeps one per thread).
            try:
                self.run(progress, limit)
            except BaseException as e:  # reported through .error; never kills the app
                self.error = e
                log.warning("processing job failed: %s", type(e).__name__)
            else:
                self.error = None

        self._thread = threading.Thread(target=target, name="mirix-agent", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
