"""The pipeline's model part: when the model may be asked (its capability mode, no chat
waiting: `FOREGROUND`), which items and sessions get notes, and the notes themselves (many items
a call, validated, retried), kept only where the input supports them."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from mirix_app.agent import prompts
from mirix_app.agent.extract import sessions
from mirix_app.agent.managers import (
    UNSORTED,
    Notes,
    grounded,
)
from mirix_app.agent.models import (
    Cancelled,
    Model,
    ModelError,
    ModelUnavailable,
    StructuredOutputError,
)
from mirix_app.agent.pipeline_items import is_import
from mirix_app.agent.settings import AgentSettings
from mirix_app.agent.signals import Route, trim_text
from mirix_app.errors import ModelMissing
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem

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


class ModelNotes:
    """Pipeline's model part (a mixin: Pipeline sets these attributes)."""

    core: MemoryCore
    model: Model | None
    settings: AgentSettings
    want_notes: Callable[[Route], bool] | None
    foreground: Foreground
    _mode: str | None
    _mode_read: tuple[float, str] | None

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
