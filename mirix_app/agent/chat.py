"""The chat agent: active retrieval over all six types, an evidence-first answer with citations to
memory ids and their sources, and a model that may only rephrase it. What the user says goes to
the inbox as a chat item (kept as chat history, through the same pipeline as everything else).

The answer never depends on the model being smart: `answer.answer` composes a short cited answer
from the retrieved memories with no model at all, and it is shown at once. A model rephrases it
only when its capability check allows (`capability`), its output is guarded against loops and
echoes and verified against the evidence (`phrasing`), and it replaces the extractive answer only
once verified.

What the chat agent can do: answer. It has no tools: nothing in an answer is executed, no memory is
changed and no setting written by chatting (the question itself becomes memory later, through the
pipeline and its rules). Retrieved memories are data between markers they cannot close.

Vault values never enter a prompt (a remote endpoint would receive them, and a model can be talked
into repeating anything it sees) unless the user revealed that entry in the app and passes its id
in `reveal`. A question that asks for a secret gets the entry cited and its id in
`ChatReply.secret_asks`, so the UI can offer to reveal it; secrets typed into the question are
masked in the prompt, and earlier turns keep no secret values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mirix_app.agent import answer as evidence
from mirix_app.agent.models import Cancelled, ChatMessage, Model, StopCheck
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Filters, Memory, MemoryType, SearchHit, Source
from mirix_app.safety.secrets import MARKER, mask_secrets

_CITE = re.compile(r"\[((?:cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26})\]")
_WORD = re.compile(r"[\w'-]+")
_SECRET_ASK = re.compile(
    r"(?i)\b(password|passphrase|passcode|pin|api key|key|token|secret|code|credentials?|"
    r"card number|login)\b"
)
_QUESTION_WORDS = evidence.QUESTION_WORDS


@dataclass
class Citation:
    memory_id: str
    type: str
    title: str
    sources: list[Source]

    def label(self) -> str:
        src = ", ".join(s.label() for s in self.sources[:3])
        return f"[{self.memory_id}] {self.title[:80]}" + (f" ({src})" if src else "")


@dataclass
class Retrieved:
    memory: Memory
    text: str  # what goes into the prompt (vault values hidden unless asked for)
    score: float


MAX_QUESTION_CHARS = 2000  # longer questions are cut (a pasted page is not a question)
# How the model takes part in chat: its capability check decides (see agent/capability.py).
PHRASE, SUMMARIZE, OFF, UNCHECKED = "phrase", "summarize", "off", "unchecked"


@dataclass
class ChatEvent:
    """One step of a reply: `answer` (the extractive answer, first and at once), `draft` (a piece
    of the model's rephrasing, not yet verified), `final` (the verified rephrasing replaces the
    answer) or `rejected` (the rephrasing failed its check: the extractive answer stays)."""

    kind: str
    text: str


@dataclass
class ChatReply:
    """`extractive` is ready when `ask` returns; iterate `events()` (or the text pieces) for the
    rest. `answer` and `citations` are final once the events end."""

    question: str
    retrieved: list[Retrieved]
    extractive: evidence.Answer
    mode: str
    _events: Iterator[ChatEvent]
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    done: bool = False
    phrased: bool = False  # the answer is the model's verified rephrasing
    rejected: str = ""  # why a rephrasing was not used
    # Vault entries the question asks for whose values were not revealed: the UI may offer them.
    secret_asks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.answer = self.extractive.render()
        self.citations = cite(self.answer, self.retrieved)

    def events(self) -> Iterator[ChatEvent]:
        yield ChatEvent("answer", self.answer)
        for ev in self._events:
            if ev.kind == "final":
                self.answer, self.phrased = ev.text, True
            elif ev.kind == "rejected":
                self.rejected = ev.text
            yield ev
        self.citations = cite(self.answer, self.retrieved)
        self.done = True

    def __iter__(self) -> Iterator[str]:
        """The final answer's text (the extractive one, or its verified rephrasing)."""
        for _ in self.events():
            pass
        yield self.answer

    def text(self) -> str:
        """Wait for the reply to finish and return the final answer."""
        for _ in self.events():
            pass
        return self.answer

    def to_dict(self) -> dict[str, Any]:
        """The finished reply as JSON-ready data (`mirix ask --json`, the app's socket)."""
        self.text()
        ans = self.extractive
        return {
            "answer": self.answer,
            "found": ans.found,
            "short": ans.short,
            "extractive": ans.render(),
            "mode": self.mode,
            "phrased": self.phrased,
            "rejected": self.rejected,
            "citations": [
                {
                    "id": c.memory_id,
                    "type": c.type,
                    "title": c.title,
                    "label": c.label(),
                    "sources": [src.to_dict() for src in c.sources],
                }
                for c in self.citations
            ],
        }


def topics(question: str) -> list[str]:
    """Key terms of a question: names first, then the other content words."""
    found = [w.strip("'-") for w in _WORD.findall(question)]
    content = [w for w in found if w and w.lower() not in _QUESTION_WORDS and len(w) > 2]
    names = [w for w in content if w[0].isupper()]
    rest = [w for w in content if not w[0].isupper()]
    out: list[str] = []
    for w in names + rest:
        if w.lower() not in {o.lower() for o in out}:
            out.append(w)
    return out[:6]


def asks_for_secret(question: str, m: Memory) -> bool:
    """The question asks for a credential and names this entry (its caption or kind)."""
    if not _SECRET_ASK.search(question):
        return False
    q = {w.lower() for w in _WORD.findall(question) if len(w) > 2} - _QUESTION_WORDS
    about = {
        w.lower()
        for w in _WORD.findall(
            f"{m.fields.get('caption', '')} {m.fields.get('entry_type', '')} {m.fields.get('source', '')}"
        )
    }
    return bool(q & about)


def cite(answer: str, retrieved: list[Retrieved], fallback: int = 3) -> list[Citation]:
    """The memories the answer cites; if it cites none, the top retrieved ones it drew on."""
    by_id = {r.memory.id: r.memory for r in retrieved}
    ids: list[str] = []
    for mid in _CITE.findall(answer):
        if mid in by_id and mid not in ids:
            ids.append(mid)
    if not ids:
        ids = [r.memory.id for r in retrieved if r.memory.type is not MemoryType.CORE][:fallback]
    return [Citation(i, by_id[i].type.value, by_id[i].title, list(by_id[i].sources)) for i in ids]


class ChatAgent:
    def __init__(
        self,
        core: MemoryCore,
        model: Model | None,
        *,
        limit: int = 10,
        mode: str | None = None,
    ) -> None:
        """`mode` forces how the model takes part (phrase | summarize | off); by default the
        model's cached capability check decides, and an unchecked model only gets checked when
        someone runs the check (`mirix model check`, or the app after loading a model)."""
        self.core, self.model = core, model
        self.limit = limit
        self._mode = mode
        self.history: list[ChatMessage] = []

    @property
    def mode(self) -> str:
        if self._mode is not None:
            return self._mode
        if self.model is None:
            return OFF
        from mirix_app.agent import capability

        result = capability.cached_mode(self.model, self.core.paths)
        return result.mode if result is not None else UNCHECKED

    def retrieve(
        self, question: str, limit: int | None = None, *, reveal: Collection[str] = ()
    ) -> list[Retrieved]:
        """Hybrid search for the whole question and for each topic, fused by reciprocal rank."""
        limit = limit or self.limit
        if not question.strip():
            return []
        queries = [question, *topics(question)]
        fused: dict[str, float] = {}
        mems: dict[str, Memory] = {}

        def add(hits: list[SearchHit], weight: float) -> None:
            for rank, h in enumerate(hits, 1):
                if h.memory.type is MemoryType.CORE:
                    continue
                mems[h.memory.id] = h.memory
                fused[h.memory.id] = fused.get(h.memory.id, 0.0) + weight / (60 + rank)

        for qi, q in enumerate(queries):
            weight = 1.0 if qi == 0 else 0.5
            # A topic is a word or a name: keyword search finds it, and a vector query per
            # topic would cost an embedding and an index query each.
            hits = (
                self.core.search(q, limit=limit)
                if qi == 0
                else self.core.search(q, limit=max(5, limit // 2), mode="bm25")
            )
            add(hits, weight)
        window, undated = evidence.question_window(question)
        if window is not None:
            # "what did I read on 3 June": what the memories of those days hold, as much as
            # the question itself.
            days = Filters(
                since=f"{window[0].isoformat()}T00:00:00",
                until=f"{(window[1] + timedelta(days=1)).isoformat()}T00:00:00",
            )
            add(self.core.search(undated, limit=limit, filters=days, mode="bm25"), 1.0)
        best = sorted(fused, key=lambda i: (-fused[i], i))[:limit]
        return [Retrieved(mems[i], self.render(mems[i], question, reveal), fused[i]) for i in best]

    def render(self, m: Memory, question: str, reveal: Collection[str] = ()) -> str:
        f = m.fields
        when = m.time[:16].replace("T", " ")
        if m.type is MemoryType.VAULT:
            if m.id in reveal:
                shown = self.core.reveal_secret(m.id)
            elif asks_for_secret(question, m):
                shown = "(hidden: the user can reveal it in the app)"
            else:
                shown = "(hidden)"
            return f"vault {f.get('entry_type')}: {f.get('caption')} = {shown}"
        if m.type is MemoryType.EPISODIC:
            return f"{when} {f.get('summary')} {str(f.get('details') or '')[:300]}".strip()
        if m.type is MemoryType.PROCEDURAL:
            steps = "; ".join(f"{i}. {s}" for i, s in enumerate(f.get("steps") or [], 1))
            return f"how to {f.get('summary')}: {steps}"[:600]
        return m.search_text()[:500]

    def core_blocks(self) -> list[str]:
        blocks = self.core.browse(Filters(types=[MemoryType.CORE]), limit=20)
        return [f"{m.fields['label']}: {m.fields['value']}" for m in blocks]

    def ask(
        self,
        question: str,
        *,
        remember: bool = True,
        max_tokens: int = 64,
        reveal: Collection[str] = (),
        should_stop: StopCheck | None = None,
    ) -> ChatReply:
        """Answer now from the evidence; a model's rephrasing (when allowed) comes as the reply's
        events are iterated.

        `reveal`: ids of vault entries the user revealed in the app for this question; only their
        values may appear in this answer (never in a prompt, never in history)."""
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if remember and question:
            self.core.inbox_put(InboxItem(kind="chat", text=question, meta={"role": "user"}))
        retrieved = self.retrieve(question, reveal=reveal)
        memories = [r.memory for r in retrieved]
        ans = evidence.answer(question, memories, embed=self.core.embed)
        # A value the user revealed for this question answers it.
        top = ans.spans[0].memory_id if ans.found and ans.spans else ""
        if top in reveal and top in {m.id for m in memories if m.type is MemoryType.VAULT}:
            ans.spans[0].text = self.core.reveal_secret(top)
        secret_asks = [
            r.memory.id
            for r in retrieved
            if r.memory.type is MemoryType.VAULT
            and r.memory.id not in reveal
            and asks_for_secret(question, r.memory)
        ]
        mode = self.mode
        revealed = [self.core.reveal_secret(i) for i in reveal if i in {m.id for m in memories}]

        def events() -> Iterator[ChatEvent]:
            final = ans.render()
            # A revealed value never enters a prompt: such an answer is not rephrased.
            secret = any(v and v in ans.short for v in revealed)
            if (
                mode == PHRASE
                and self.model is not None
                and ans.found
                and not ans.steps
                and not secret
            ):
                for ev in self._phrase(ans, max_tokens, should_stop, revealed):
                    if ev.kind == "final":
                        final = ev.text
                    yield ev
            for value in revealed:  # a revealed value is for this answer only
                final = final.replace(value, MARKER)
            self.history.extend(
                [
                    {"role": "user", "content": mask_secrets(question)},
                    {"role": "assistant", "content": mask_secrets(final)},
                ]
            )
            self.history = self.history[-6:]

        return ChatReply(question, retrieved, ans, mode, events(), secret_asks=secret_asks)

    def _phrase(
        self,
        ans: evidence.Answer,
        max_tokens: int,
        should_stop: StopCheck | None,
        revealed: list[str],
    ) -> Iterator[ChatEvent]:
        from mirix_app.agent import phrasing

        assert self.model is not None
        # The draft's resolved dates ("yesterday" -> 7 May 2023) are evidence too.
        support = [(s.memory_id, s.support) for s in ans.spans] + [("", ans.short)]
        try:
            result = phrasing.phrase(
                self.model,
                mask_secrets(ans.question),
                support,
                ans.short,
                max_tokens=max_tokens,
                should_stop=should_stop,
                forbidden=revealed,
                keep=[] if ans.steps else list(dict.fromkeys(s.text for s in ans.spans)),
            )
        except Cancelled:
            yield ChatEvent("rejected", "cancelled")
            return
        if result.text:
            yield ChatEvent("draft", result.text)
        if not result.ok:
            yield ChatEvent("rejected", "; ".join(result.verification.reasons) or "not verified")
            return
        ids = " ".join(f"[{i}]" for i in dict.fromkeys(s.memory_id for s in ans.spans))
        support_lines = ans.render().split("\n")[1:]
        yield ChatEvent("final", "\n".join([f"{result.text} {ids}".strip(), *support_lines]))
