"""A model may rephrase an extractive answer, never write one: guarded, then verified.

The extractive answer (agent/answer/) is computed without a model and is always correct about
what the evidence says. A model only turns it into one readable sentence, and what it writes is
used only when

1. `StreamGuard` let it through: a small model loops one line until max_tokens and copies the
   prompt's fences, scaffolding and memory ids (FIELD_NOTES); the guard cuts the stream at the
   first sign of that, and the cut text never reaches the caller;
2. `verify` finds every number, name and nearly every content word of it in the evidence.

`phrase` does both; `capability.run_check` runs it over fixed items to decide per model whether
chat may use it at all. No Qt here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from mirix_app.agent import prompts
from mirix_app.agent.models import Cancelled, Model, ModelError, StopCheck
from mirix_app.memory.types import STOP_WORDS

MEMORY_ID = re.compile(r"(cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26}")
# What could still become a memory id once more characters arrive (held back, never emitted).
_ID_START = re.compile(
    r"(?:c|co|cor|e|ep|epi|s|se|sem|p|pr|pro|r|re|res|v|vl|vlt)"
    r"|(?:cor|epi|sem|pro|res|vlt)_[0-9A-Z]{0,25}"
)
# Prompt fences (ours, and the guillemets quote_data turns data's own angle brackets into) and
# chat-template tokens of the common families (ChatML, Llama, Gemma, Mistral).
FENCES: tuple[str, ...] = (
    "<data>",
    "</data>",
    "\u2039data\u203a",
    "\u2039/data\u203a",
    "<|",
    "|>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "<start_of_turn>",
    "<end_of_turn>",
    "im_start",
    "im_end",
    "endoftext",
)
# Labels a prompt uses to frame its parts: in an answer they mean the model is replaying it.
SCAFFOLD: tuple[str, ...] = (
    "Question:",
    "Answer:",
    "Draft answer:",
    "Facts:",
    "Evidence:",
    "Memories:",
    "Context:",
    "User:",
    "Assistant:",
    "System:",
)
# Framing a small model puts before the answer itself; dropped when it opens the output.
PREFACES: tuple[str, ...] = (
    "draft answer:",
    "short answer:",
    "final answer:",
    "the answer is:",
    "the answer:",
    "answer:",
)
_OPENERS = " \t\n\"'\u201c*"
_LABEL = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z ]{2,24}):")
_DATA_BLOCK = re.compile(r"<data>.*?(?:</data>|\Z)", re.S)
_TOKEN = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")

HOLD_WORDS = 8  # words held back: every repetition/echo rule below cuts within the last 8
ECHO_NGRAM = 6  # this many words in a row from the prompt's instructions = an echo
REPEAT_NGRAM = 6  # this many words in a row said twice = a loop


class StreamGuard:
    """Feed it the model's pieces; it returns what is safe to show and cuts at a loop or echo.

    `feed(piece)` returns the text that may be emitted now ("" while it holds text back) or None
    once the stream is cut (the caller should stop the model). `finish()` returns the rest that
    is safe (also after a cut: the part before the cut point). `cut_reason` says why it cut.
    """

    def __init__(
        self, prompt_text: str = "", *, forbidden: Collection[str] = (), max_chars: int = 400
    ) -> None:
        self.max_chars = max_chars
        scaffold = _DATA_BLOCK.sub(" ", prompt_text)
        labels = {f"{m.group(1).strip()}:" for m in _LABEL.finditer(scaffold)}
        literals = {*FENCES, *SCAFFOLD, *labels, *(f for f in forbidden if f and f.strip())}
        self._literals = sorted({s.lower() for s in literals}, key=len, reverse=True)
        self._longest = max(len(s) for s in self._literals)
        words = [w.lower() for w in _TOKEN.findall(scaffold)]
        self._echo = {tuple(words[i : i + ECHO_NGRAM]) for i in range(len(words) - ECHO_NGRAM + 1)}
        self._text = ""
        self._emitted = 0
        self._cut_at: int | None = None
        self.cut_reason: str | None = None
        self._finished = False
        self._lead: str | None = ""  # the start, until it is known not to be a preface

    @property
    def cut(self) -> bool:
        return self.cut_reason is not None

    @property
    def text(self) -> str:
        """Everything released so far."""
        return self._text[: self._emitted]

    def feed(self, piece: str) -> str | None:
        if self.cut or self._finished:
            return None
        if self._lead is not None:
            piece = self._drop_preface(self._lead + piece, final=False)
            if self._lead is not None:
                return ""
        self._text += piece
        found = self._check(final=False)
        if found is not None:
            self._cut(*found)
            return None
        safe = self._safe_end()
        out = self._text[self._emitted : safe]
        self._emitted = max(self._emitted, safe)
        return out

    def finish(self) -> str:
        """The end of the stream: release what is left (up to the cut point after a cut)."""
        if self._finished:
            return ""
        if self._lead is not None:
            self._text += self._drop_preface(self._lead, final=True)
        self._finished = True
        if not self.cut:
            found = self._check(final=True)
            if found is not None:
                self._cut(*found)
        end = self._cut_at if self._cut_at is not None else len(self._text)
        out = self._text[self._emitted : end]
        if self.cut:
            out = out.rstrip(" \t\n([{\"'")  # nothing dangling before what was cut
        self._emitted += len(out)
        return out

    # -- internals -----------------------------------------------------------------------------
    def _drop_preface(self, lead: str, *, final: bool) -> str:
        """A leading "Answer:" / "The answer is:" frames the answer, nothing more: it is dropped
        (not a cut), once, at the very start. Returns the text to take in (while it may still
        become a preface, keeps it in `_lead` and returns "")."""
        opening = lead.lstrip(_OPENERS)
        low = opening.lower()
        for p in PREFACES:
            if low.startswith(p):
                self._lead = None
                return opening[len(p) :].lstrip(_OPENERS)
        if not final and (not low or any(p.startswith(low) for p in PREFACES)):
            self._lead = lead
            return ""
        self._lead = None
        return lead

    def _cut(self, pos: int, reason: str) -> None:
        self._cut_at = max(pos, self._emitted)
        self.cut_reason = reason

    def _safe_end(self) -> int:
        """How far the text may be released: not into a possible start of a forbidden string,
        and not into the last HOLD_WORDS words (a repetition may yet start there)."""
        text = self._text
        end = len(text)
        low = text.lower()
        for k in range(min(end, self._longest), 0, -1):
            tail = low[end - k :]
            if any(s.startswith(tail) for s in self._literals):
                end -= k
                break
        for k in range(min(len(text), 31), 0, -1):
            if _ID_START.fullmatch(text[len(text) - k :]):
                end = min(end, len(text) - k)
                break
        tokens = list(_TOKEN.finditer(text))
        if tokens:
            end = min(end, tokens[max(0, len(tokens) - HOLD_WORDS)].start())
        return end

    def _check(self, *, final: bool) -> tuple[int, str] | None:
        """(position, reason) of the earliest problem in the text, or None."""
        text = self._text
        low = text.lower()
        found: list[tuple[int, str]] = []
        for s in self._literals:
            i = low.find(s)
            if i >= 0:
                found.append((i, f"copied {s.strip()!r} from the prompt"))
        m = MEMORY_ID.search(text)
        if m:
            found.append((m.start(), "copied a memory id"))
        if len(text) > self.max_chars:
            found.append((self.max_chars, f"longer than {self.max_chars} characters"))
        tokens = list(_TOKEN.finditer(text))
        complete = tokens if final or not text or not text[-1].isalnum() else tokens[:-1]
        words = [t.group().lower() for t in complete]
        loop = _repetition(words)
        if loop is not None:
            found.append((complete[loop[0]].start(), loop[1]))
        echo = self._echo_at(words)
        if echo is not None:
            found.append((complete[echo].start(), "echoes the prompt's instructions"))
        sentence = _repeated_sentence(text, final=final)
        if sentence is not None:
            found.append((sentence, "repeats a sentence"))
        return min(found) if found else None

    def _echo_at(self, words: list[str]) -> int | None:
        for i in range(len(words) - ECHO_NGRAM + 1):
            if tuple(words[i : i + ECHO_NGRAM]) in self._echo:
                return i
        return None


def _repetition(words: list[str]) -> tuple[int, str] | None:
    """(index of the first repeated word, reason) of the earliest loop, or None.

    A loop is a k-word run said again right after itself (1 word 4 times, 2-3 words 3 times,
    4+ words twice) or any REPEAT_NGRAM words said twice. The first occurrence is kept."""
    best: int | None = None
    n = len(words)
    for end in range(1, n + 1):
        for k in range(1, HOLD_WORDS + 1):
            reps = 4 if k == 1 else 3 if k <= 3 else 2
            start = end - k * reps
            if start < 0:
                continue
            unit = words[end - k : end]
            if all(words[start + j * k : start + (j + 1) * k] == unit for j in range(reps)):
                cut = start + k
                best = cut if best is None else min(best, cut)
        if best is not None:
            break
    seen: dict[tuple[str, ...], int] = {}
    for i in range(n - REPEAT_NGRAM + 1):
        gram = tuple(words[i : i + REPEAT_NGRAM])
        first = seen.setdefault(gram, i)
        if first != i and i >= first + REPEAT_NGRAM:  # overlapping runs are the k-word rule's
            best = i if best is None else min(best, i)
            break
    return (best, "repeats itself") if best is not None else None


def _repeated_sentence(text: str, *, final: bool) -> int | None:
    """Start of the first complete sentence (or line) that says an earlier one again."""
    seen: set[str] = set()
    start = 0
    ends = [(m.start(), m.end()) for m in _SENTENCE_END.finditer(text)]
    if final and (not ends or ends[-1][1] < len(text)):
        ends.append((len(text), len(text)))
    for stop, after in ends:
        body = [w.lower() for w in _TOKEN.findall(text[start:stop])]
        key = " ".join(body)
        if len(body) >= 2 or len(key) >= 8:
            if key in seen:
                lead = len(text[start:stop]) - len(text[start:stop].lstrip())
                return start + lead
            seen.add(key)
        start = after
    return None


class GuardedStream(Iterator[str]):
    """`guarded_stream`'s result: iterate it for the safe text; then read `cut_reason`."""

    def __init__(self, pieces: Iterable[str], guard: StreamGuard) -> None:
        self.guard = guard
        self._pieces = pieces
        self._gen = self._run()

    @property
    def cut_reason(self) -> str | None:
        return self.guard.cut_reason

    @property
    def text(self) -> str:
        return self.guard.text

    def __next__(self) -> str:
        return next(self._gen)

    def _run(self) -> Iterator[str]:
        it = iter(self._pieces)
        try:
            for piece in it:
                out = self.guard.feed(piece)
                if out is None:
                    break
                if out:
                    yield out
            tail = self.guard.finish()
            if tail:
                yield tail
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # a cut stops the model now instead of at max_tokens


def guarded_stream(
    pieces: Iterable[str],
    *,
    prompt_text: str,
    forbidden: Collection[str] = (),
    max_chars: int = 400,
) -> GuardedStream:
    """The pieces, cut at the first loop or echo (of `prompt_text`'s fences, scaffolding and
    instructions, a memory id, or one of `forbidden`). The cut text is never yielded."""
    return GuardedStream(pieces, StreamGuard(prompt_text, forbidden=forbidden, max_chars=max_chars))


# -- verification -----------------------------------------------------------------------------------
@dataclass
class Verification:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    support: float = 0.0  # the share of the answer's content words found in the evidence


MAX_WORDS = 60
MIN_SUPPORT = 0.8
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_NUMBER_WORDS = {
    "zero": "0",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "hundred": "100",
}  # "one" is left out: mostly a pronoun ("the blue one")
_NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "cannot", "without"})
# Function words beyond the search stop list that carry no fact of their own.
_FUNCTION_WORDS = STOP_WORDS | {
    "am",
    "answer",
    "also",
    "about",
    "after",
    "before",
    "all",
    "any",
    "each",
    "here",
    "just",
    "may",
    "might",
    "must",
    "now",
    "one",
    "only",
    "shall",
    "should",
    "some",
    "than",
    "too",
    "up",
    "very",
    "yes",
    "yours",
    "us",
    "s",
}


def _norm_number(token: str) -> str:
    """9:40 = 9.40 = 09:40; 2024-05-03 = 2024/5/3; 1,000 = 1000."""
    token = re.sub(r",(?=\d{3}(?!\d))", "", token)
    token = token.replace(",", ".")
    parts = re.split(r"([.:/-])", token)
    out = []
    for p in parts:
        if p in (".", ":"):
            out.append(":")
        elif p in ("/", "-"):
            out.append("-")
        else:
            out.append(p.lstrip("0") or "0")
    return "".join(out)


def _numbers(text: str) -> list[str]:
    found = [_norm_number(m.group()) for m in _NUMBER.finditer(text)]
    found += [_NUMBER_WORDS[w.lower()] for w in _WORD.findall(text) if w.lower() in _NUMBER_WORDS]
    return found


def _stem(word: str) -> str:
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 5),
        ("ly", "", 5),
        ("s", "", 4),
    ):
        if w.endswith(suffix) and len(w) >= min_len and not w.endswith("ss"):
            return w[: len(w) - len(suffix)] + repl
    return w


def _supported(stem: str, stems: set[str]) -> bool:
    if stem in stems:
        return True
    if len(stem) < 4:
        return False
    for s in stems:
        if len(s) < 4:
            continue
        n = 0
        for a, b in zip(stem, s, strict=False):
            if a != b:
                break
            n += 1
        if n >= 4 and n >= min(len(stem), len(s)) - 1:
            return True
    return False


def _sentence_initial(text: str, pos: int) -> bool:
    before = text[:pos].rstrip(" \t\"'(\u201c")
    return not before or before[-1] in ".!?:\n;-"


def verify(
    answer: str,
    evidence_texts: list[str],
    question: str = "",
    *,
    cut_reason: str | None = None,
    max_words: int = MAX_WORDS,
    min_support: float = MIN_SUPPORT,
) -> Verification:
    """Whether `answer` says only what the evidence says (as far as words can tell).

    Every number (digits, times, dates, number words) and every capitalised name must occur in
    the evidence; at least `min_support` of the other content words in the evidence or the
    question (stemmed, prefix-matched); no negation the evidence lacks. Empty, too long or cut
    answers fail."""
    reasons: list[str] = []
    if cut_reason:
        reasons.append(f"cut: {cut_reason}")
    words = _WORD.findall(answer)
    if not words:
        return Verification(False, [*reasons, "empty"])
    if len(words) > max_words:
        reasons.append(f"too long ({len(words)} words)")
    if MEMORY_ID.search(answer) or any(f in answer.lower() for f in ("<data>", "</data>", "<|")):
        reasons.append("contains prompt scaffolding or a memory id")

    evidence = "\n".join(evidence_texts)
    ev_numbers = set(_numbers(evidence))
    ev_groups = {g for n in ev_numbers for g in re.split(r"[:-]", n)}
    for num in dict.fromkeys(_numbers(answer)):
        # A bare day or year may come out of a date ("May 3" from 2024-05-03); times must match.
        if num not in ev_numbers and not ("-" not in num and ":" not in num and num in ev_groups):
            reasons.append(f"number {num} is not in the evidence")

    ev_words = {w.lower().replace("\u2019", "'") for w in _WORD.findall(evidence)}
    ev_words |= {w[:-2] for w in ev_words if w.endswith("'s")}
    ev_stems = {_stem(w) for w in ev_words}
    known_stems = ev_stems | {_stem(w) for w in _WORD.findall(question)}
    content = 0
    supported = 0
    for m in _WORD.finditer(answer):
        w = m.group()
        lw = w.lower().replace("\u2019", "'")
        base = lw[:-2] if lw.endswith("'s") else lw
        if any(c.isdigit() for c in w) or lw in _NUMBER_WORDS:
            continue  # numbers are checked above
        if lw in _FUNCTION_WORDS or base in _FUNCTION_WORDS:
            continue
        if lw in _NEGATIONS or lw.endswith("n't"):
            if not any(n in ev_words for n in _NEGATIONS) and "n't" not in evidence.lower():
                reasons.append(f"adds a negation ({w!r}) the evidence does not have")
            continue
        is_name = w[0].isupper() and not _sentence_initial(answer, m.start())
        if is_name:
            if base not in ev_words and lw not in ev_words:
                reasons.append(f"name {w!r} is not in the evidence")
            continue
        content += 1
        if _supported(_stem(w), known_stems):
            supported += 1
    support = supported / content if content else 1.0
    if support < min_support:
        reasons.append(f"only {supported} of {content} content words are in the evidence")
    return Verification(not reasons, reasons, support)


# -- phrasing ---------------------------------------------------------------------------------------
# Generation ends at a blank line, the end of a turn, or a closing fence (SmolLM2 often closes
# its answer like the prompt's blocks: "12 people confirmed.\n</data>"; what came before is the
# answer). An opening fence is no stop string: a model that starts a new block is replaying the
# prompt, and the guard cuts it (the phrasing fails).
PHRASE_STOPS = ["\n\n", "</data>", "<|im_end|>", "<|endoftext|>", "</s>"]
# Measured on SmolLM2-135M over the capability items: 1.3 changed copied digits (07:55 became
# 07:56, 10:30 became 10am: llama.cpp also penalises the prompt's last 64 tokens, where the draft
# is) and passed 15/20; 1.0 and 1.1 passed 17/20. The guard, not the penalty, stops loops.
PHRASE_REPEAT_PENALTY = 1.1
PHRASE_MAX_CHARS = 400


@dataclass
class Phrasing:
    text: str  # the sentence, cleaned up; use it only when `ok`
    verification: Verification
    cut_reason: str | None = None
    raw: str = ""  # what the guard let through
    seconds: float = 0.0
    pieces: int = 0
    error: str | None = None  # the model failed (endpoint down, load error)

    @property
    def ok(self) -> bool:
        return self.verification.ok and self.error is None


def _plain(text: str) -> str:
    return " " + " ".join(re.findall(r"[\w%€$£]+(?:[.:,/-]\w+)*", text.lower())) + " "


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"^(?:[-*\u2022]\s+)+", "", text)
    if len(text) >= 2 and text[0] in "\"'\u201c" and text[-1] in "\"'\u201d":
        text = text[1:-1].strip()
    return text


def phrase(
    model: Model,
    question: str,
    evidence: list[tuple[str, str]],
    draft: str,
    *,
    max_tokens: int = 64,
    should_stop: StopCheck | None = None,
    forbidden: Collection[str] = (),
    keep: Collection[str] = (),
) -> Phrasing:
    """The extractive `draft` rephrased by `model` as one sentence, guarded and verified.

    `evidence` is (memory_id, text) pairs. Use `result.text` only when `result.ok`; otherwise
    show the draft. Cancelled (from `should_stop`) propagates; other model errors come back as
    a failed Phrasing (chat falls back to the draft)."""
    msgs = prompts.phrase_messages(question, evidence, draft)
    prompt_text = "\n".join(m["content"] for m in msgs)
    # Real memory ids are caught by MEMORY_ID; other ids only when long enough not to be words.
    ids = [mid for mid, _ in evidence if len(mid) >= 8]
    start = time.perf_counter()
    count = 0

    def counted() -> Iterator[str]:
        nonlocal count
        source = model.stream(
            msgs,
            max_tokens=max_tokens,
            temperature=0.0,
            should_stop=should_stop,
            stop=PHRASE_STOPS,
            repeat_penalty=PHRASE_REPEAT_PENALTY,
        )
        try:
            for piece in source:
                count += 1
                yield piece
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    stream = guarded_stream(
        counted(),
        prompt_text=prompt_text,
        forbidden=[*ids, *forbidden],
        max_chars=PHRASE_MAX_CHARS,
    )
    try:
        raw = "".join(stream)
    except Cancelled:
        raise
    except ModelError as e:
        return Phrasing(
            "",
            Verification(False, [f"model error: {e}"]),
            error=str(e),
            seconds=time.perf_counter() - start,
        )
    cut = stream.cut_reason
    if cut is None and count >= max_tokens:
        cut = f"ran out of tokens ({max_tokens})"  # an unfinished sentence
    text = _clean(raw)
    check = verify(text, [t for _, t in evidence], question, cut_reason=cut)
    pieces = [p for span in keep for p in re.split(r"[,;]\s+", span) if _plain(p).strip()]
    for span in pieces:
        # The extracted answer itself must survive the phrasing word for word: a sentence
        # around "7 May 2023" may not turn it into "May".
        if _plain(span) not in _plain(text):
            reasons = [*check.reasons, f"dropped the answer {span[:40]!r}"]
            check = Verification(False, reasons, check.support)
            break
    return Phrasing(text, check, cut, raw, time.perf_counter() - start, count)
