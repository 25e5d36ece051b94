"""The chat agent: active retrieval over all six types, core always in context, a streamed answer
with citations to memory ids and their sources. What the user says goes to the inbox as a chat item
(so it becomes memory too, through the same pipeline as everything else).

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

from mirix_app.agent import prompts
from mirix_app.agent.models import ChatMessage, Model
from mirix_app.agent.routing import mask_secrets
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.store import STOP_WORDS, Filters
from mirix_app.memory.types import Memory, MemoryType, Source

_CITE = re.compile(r"\[((?:cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26})\]")
_WORD = re.compile(r"[\w'-]+")
_SECRET_ASK = re.compile(
    r"(?i)\b(password|passphrase|passcode|pin|api key|key|token|secret|code|credentials?|"
    r"card number|login)\b"
)
_QUESTION_WORDS = STOP_WORDS | {
    "tell",
    "know",
    "about",
    "remember",
    "any",
    "some",
    "there",
    "ever",
    "please",
    "many",
    "much",
    "does",
    "did",
    "ago",
    "last",
    "like",
}


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


@dataclass
class ChatReply:
    """Iterate for the answer's text pieces; `citations` is filled when the stream ends."""

    question: str
    retrieved: list[Retrieved]
    _pieces: Iterator[str]
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    done: bool = False
    # Vault entries the question asks for whose values were not revealed: the UI may offer them.
    secret_asks: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        parts: list[str] = []
        for piece in self._pieces:
            parts.append(piece)
            yield piece
        self.answer = "".join(parts)
        self.citations = cite(self.answer, self.retrieved)
        self.done = True

    def text(self) -> str:
        """Consume the stream and return the whole answer."""
        for _ in self:
            pass
        return self.answer


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
        self, core: MemoryCore, model: Model, *, limit: int = 10, context_chars: int = 3500
    ) -> None:
        self.core, self.model = core, model
        self.limit, self.context_chars = limit, context_chars
        self.history: list[ChatMessage] = []

    def retrieve(
        self, question: str, limit: int | None = None, *, reveal: Collection[str] = ()
    ) -> list[Retrieved]:
        """Hybrid search for the whole question and for each topic, fused by reciprocal rank."""
        limit = limit or self.limit
        queries = [question, *topics(question)]
        fused: dict[str, float] = {}
        mems: dict[str, Memory] = {}
        for qi, q in enumerate(queries):
            weight = 1.0 if qi == 0 else 0.5
            for rank, h in enumerate(
                self.core.search(q, limit=limit if qi == 0 else max(5, limit // 2)), 1
            ):
                if h.memory.type is MemoryType.CORE:
                    continue
                mems[h.memory.id] = h.memory
                fused[h.memory.id] = fused.get(h.memory.id, 0.0) + weight / (60 + rank)
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
        max_tokens: int = 300,
        reveal: Collection[str] = (),
    ) -> ChatReply:
        """Start an answer: retrieval happens now, generation as the reply is iterated.

        `reveal`: ids of vault entries the user revealed in the app for this question; only their
        values may enter the prompt."""
        question = question.strip()
        if remember and question:
            self.core.inbox.put(InboxItem(kind="chat", text=question, meta={"role": "user"}))
        retrieved = self.retrieve(question, reveal=reveal)
        budget = self.context_chars
        context: list[tuple[str, str]] = []
        for r in retrieved:
            if budget - len(r.text) < 0 and context:
                break
            context.append((r.memory.id, r.text))
            budget -= len(r.text)
        asked = mask_secrets(question)  # a secret typed in goes to the vault, not the model
        msgs = prompts.chat_messages(self.core_blocks(), context, asked, self.history)
        used = [r for r in retrieved if r.memory.id in {c[0] for c in context}]
        revealed = [
            self.core.reveal_secret(r.memory.id)
            for r in used
            if r.memory.type is MemoryType.VAULT and r.memory.id in reveal
        ]
        secret_asks = [
            r.memory.id
            for r in used
            if r.memory.type is MemoryType.VAULT
            and r.memory.id not in reveal
            and asks_for_secret(question, r.memory)
        ]

        def pieces() -> Iterator[str]:
            parts: list[str] = []
            for p in self.model.stream(msgs, max_tokens=max_tokens):
                parts.append(p)
                yield p
            answer = "".join(parts)
            for value in revealed:  # a revealed value is for this answer only
                answer = answer.replace(value, "[secret]")
            self.history.extend(
                [
                    {"role": "user", "content": asked},
                    {"role": "assistant", "content": mask_secrets(answer)},
                ]
            )
            self.history = self.history[-6:]

        return ChatReply(question, used, pieces(), secret_asks=secret_asks)
