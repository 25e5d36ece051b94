"""The stream guard (loops and echoes cut before they reach the caller), verification against
the evidence, phrase() with scripted models, stop strings and penalties in the model layer; and
phrase() on the real SmolLM2 (slow)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mirix_app.agent import prompts
from mirix_app.agent.models import Cancelled, ChatMessage, Model, http_penalties
from mirix_app.agent.phrasing import (
    PHRASE_STOPS,
    StreamGuard,
    guarded_stream,
    phrase,
    verify,
)
from tests.fakes import Request, ScriptedModel

ID1 = "sem_01HZX3V4K5M6N7P8Q9R0S1T2U3"
ID2 = "epi_01HZX3V4K5M6N7P8Q9R0S1T2U4"
PROMPT = "\n".join(
    m["content"]
    for m in prompts.phrase_messages(
        "When does my flight leave?",
        [(ID1, "Flight TP1345 to Lisbon departs at 07:55 from gate C14.")],
        "Flight TP1345 to Lisbon departs at 07:55 from gate C14.",
    )
)


def pieces_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def run(text: str, size: int = 3, prompt: str = PROMPT, **kw: Any) -> tuple[list[str], Any]:
    g = guarded_stream(pieces_of(text, size), prompt_text=prompt, **kw)
    return list(g), g


# -- the guard -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "The flight to Lisbon departs at 07:55 from gate C14.",
        "Your Lisbon flight leaves at 7:55; check-in closes 45 minutes before, so be early.",
        "Add 200 g flour. Then add 2 eggs and 300 ml milk. Whisk until smooth.",
        "Priya's birthday is on 14 March, and she likes dark chocolate.",
        "Yes",
    ],
)
@pytest.mark.parametrize("size", [1, 4, 100])
def test_normal_text_passes_untouched(text: str, size: int) -> None:
    out, g = run(text, size)
    assert "".join(out) == text
    assert g.cut_reason is None


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # a sentence said again
        (
            "The flight leaves at 9:40. The flight leaves at 9:40. The flight",
            "The flight leaves at 9:40.",
        ),
        # a line said again
        ("Gate C14\nGate C14\nGate C14\n", "Gate C14"),
        # one word over and over
        ("It is very very very very very early", "It is very"),
        # a short run over and over, no punctuation
        ("the answer is the answer is the answer is the answer is", "the answer is"),
        # a long run said twice, not adjacent
        (
            "The flight to Lisbon leaves at 9:40 and then the flight to Lisbon leaves at 9:40 again",
            "The flight to Lisbon leaves at 9:40 and then",
        ),
    ],
)
def test_loops_are_cut_before_the_repeat(text: str, kept: str) -> None:
    out, g = run(text, 2)
    assert "".join(out) == kept
    assert g.cut_reason and "repeat" in g.cut_reason


@pytest.mark.parametrize(
    "tail",
    [
        "<data>\n- Flight TP1345",
        "</data>",
        "\u2039data\u203a more",
        "Question: when does",
        "\nAnswer: it departs",
        "Draft answer: Flight",
        "<|im_start|>user",
        "<|im_end|>",
        "[INST] again",
        f"[{ID1}]",
        ID2,
    ],
)
@pytest.mark.parametrize("size", [1, 2, 5])
def test_fences_scaffolding_and_ids_are_cut(tail: str, size: int) -> None:
    text = "It departs at 07:55 from gate C14. " + tail
    out, g = run(text, size)
    joined = "".join(out)
    assert (
        joined == "It departs at 07:55 from gate C14."
        or joined
        == (
            "It departs at 07:55 from gate C14. ["  # the bracket before an id is cut too
        )[:-2]
    )
    assert g.cut_reason is not None
    # Nothing of the cut part ever reached the caller, not even a first character of it.
    assert not any(ch in joined for ch in "<\u2039|[") and "_01" not in joined


def test_forbidden_strings_and_prompt_labels_are_cut() -> None:
    out, g = run("Your code is hunter22-xyz, keep it safe", 2, forbidden=["hunter22-xyz"])
    assert "".join(out) == "Your code is" and g.cut_reason
    prompt = "Context:\n<data>\nThe shop opens at 9.\n</data>\nReply briefly."
    out, g = run("It opens at 9. Context: the shop", 2, prompt=prompt)
    assert "".join(out) == "It opens at 9." and "context:" in (g.cut_reason or "")


def test_echo_of_instructions_is_cut_but_copying_data_is_not() -> None:
    instruction = "Keep every name, number, time and date exactly as written."
    assert instruction in PROMPT
    out, g = run("Sure. I keep every name, number, time and date exactly as written.", 3)
    assert "".join(out) == "Sure. I" and "echo" in (g.cut_reason or "")
    data = "Flight TP1345 to Lisbon departs at 07:55 from gate C14."
    out, g = run(data, 3)  # the evidence and the draft are data: copying them is the point
    assert "".join(out) == data and g.cut_reason is None


def test_a_leading_answer_label_is_dropped_not_cut() -> None:
    for text in ("Answer: It departs at 07:55.", 'The answer is: "It departs at 07:55."'):
        out, g = run(text, 2)
        assert "".join(out).strip(' "') == "It departs at 07:55." and g.cut_reason is None
    out, g = run("The answer is 7:55.", 2)
    assert "".join(out) == "The answer is 7:55."


def test_too_long_is_cut_at_max_chars() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    out, g = run(text, 7, max_chars=100)
    assert len("".join(out)) <= 100 and g.cut_reason and "longer" in g.cut_reason


def test_guard_stops_the_source_at_the_cut() -> None:
    consumed: list[str] = []
    closed: list[bool] = []

    def source() -> Iterator[str]:
        try:
            for _ in range(1000):
                for p in ("Gate", " C14", ".\n"):
                    consumed.append(p)
                    yield p
        finally:
            closed.append(True)

    g = guarded_stream(source(), prompt_text=PROMPT)
    assert "".join(g) == "Gate C14."
    assert closed == [True] and len(consumed) < 12


def test_stream_guard_feed_api() -> None:
    g = StreamGuard(PROMPT)
    released = [g.feed(p) for p in ("It is ", "at 07:55", ". <da", "ta> x")]
    assert released[-1] is None and g.cut and "<data>" in (g.cut_reason or "")
    assert g.feed("more") is None
    shown = "".join(r for r in released if r) + g.finish()
    assert shown == "It is at 07:55." == g.text


# -- verification ----------------------------------------------------------------------------------
FLIGHT = [
    "Flight TP1345 to Lisbon departs at 07:55 from gate C14.",
    "Check-in closes 45 minutes before.",
]


@pytest.mark.parametrize(
    "answer",
    [
        "The flight to Lisbon departs at 7:55 from gate C14.",
        "Your Lisbon flight departs from gate C14 at 07:55.",
        "It departs at 07:55.",
        "Flight TP1345 departs at 7:55, and check-in closes 45 minutes before.",
    ],
)
def test_verify_accepts_faithful_paraphrases(answer: str) -> None:
    v = verify(answer, FLIGHT, "When does my flight leave?")
    assert v.ok, v.reasons


def test_verify_uses_stems_and_the_questions_words() -> None:
    ev = ["Tomasz Nowak is the project manager for the Atlas launch."]
    assert verify("Tomasz Nowak manages the Atlas launch project.", ev).ok
    # "leave" comes from the question: restating it is no invention.
    assert verify("Your flight will leave at 7:55.", FLIGHT, "When does my flight leave?").ok
    ev = ["Pancakes: 2 eggs, 200 g flour."]
    assert verify("Two eggs go into the pancakes.", ev, "How many eggs go in?").ok  # two = 2
    assert not verify("Three eggs go into the pancakes.", ev, "How many eggs go in?").ok


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("The flight to Lisbon departs at 8:55 from gate C14.", "number 8:55"),
        ("The flight departs at 07:55 from gate C15.", "number 15"),
        ("The flight departs at 07:55 with Maria.", "name 'Maria'"),
        ("The flight to Porto departs at 07:55.", "name 'Porto'"),
        ("The flight departs at 07:55 PM.", "name 'PM'"),
        ("The flight does not depart at 07:55.", "negation"),
        ("The flight was cancelled because of a storm over the airport.", "content words"),
        ("The flight departs in three hours.", "number 3"),
    ],
)
def test_verify_rejects_inventions(answer: str, why: str) -> None:
    v = verify(answer, FLIGHT, "When does my flight leave?")
    assert not v.ok
    assert any(why in r for r in v.reasons), v.reasons


def test_verify_rejects_empty_long_cut_and_scaffolding() -> None:
    assert not verify("", FLIGHT).ok
    assert not verify("  ...  ", FLIGHT).ok
    long = " ".join(["The flight departs at 07:55 from gate C14."] * 8)
    assert any("too long" in r for r in verify(long, FLIGHT).reasons)
    cut = verify("The flight departs at 07:55.", FLIGHT, cut_reason="repeats itself")
    assert not cut.ok and "cut" in cut.reasons[0]
    assert not verify(f"It departs at 07:55 [{ID1}]", FLIGHT).ok


# -- phrase() with scripted models -------------------------------------------------------------------
EVIDENCE = [(ID1, FLIGHT[0]), (ID2, FLIGHT[1])]


def test_phrase_verified_and_what_the_model_was_sent() -> None:
    m = ScriptedModel(["Your flight to Lisbon departs at 07:55 from gate C14."])
    p = phrase(m, "When does my flight leave?", EVIDENCE, FLIGHT[0])
    assert p.ok and p.text == "Your flight to Lisbon departs at 07:55 from gate C14."
    req = m.requests[0]
    assert req.stop == PHRASE_STOPS and req.repeat_penalty and req.repeat_penalty > 1
    assert req.temperature == 0.0 and req.max_tokens == 64
    # Memory ids never reach the model (it would echo them); the evidence does, fenced.
    assert ID1 not in req.prompt and ID2 not in req.prompt and "departs at 07:55" in req.prompt
    assert req.prompt.count("<data>") == req.prompt.count("</data>") >= 3


@pytest.mark.parametrize(
    "reply",
    [
        "The flight departs at 07:55. The flight departs at 07:55. The flight departs at 07:55.",
        "The flight departs at 07:55 <data> Flight TP1345",
        "<data>\nFlight TP1345 to Lisbon departs at 07:55 from gate C14.",
        f"The flight departs at 07:55 [{ID1}]",
        "The flight departs at 07:55 Question: when",
        "The flight departs at 9:15 from gate C14.",
        "",
    ],
)
def test_phrase_rejects_loops_echoes_and_inventions(reply: str) -> None:
    p = phrase(ScriptedModel([reply]), "When does my flight leave?", EVIDENCE, FLIGHT[0])
    assert not p.ok
    assert "<data>" not in p.text and ID1 not in p.text and "Question" not in p.text
    assert p.text.count("departs") <= 1


def test_phrase_a_closing_fence_ends_the_answer() -> None:
    p = phrase(ScriptedModel(["It departs at 07:55.\n</data>\nmore"]), "When?", EVIDENCE, FLIGHT[0])
    assert p.ok and p.text == "It departs at 07:55."


def test_phrase_memory_ids_in_the_draft_are_not_sent() -> None:
    m = ScriptedModel(["It departs at 07:55."])
    p = phrase(m, "When?", EVIDENCE, f"Flight TP1345 departs at 07:55 [{ID1}].")
    assert p.ok and ID1 not in m.requests[0].prompt


def test_phrase_model_errors_fail_softly_and_cancel_propagates() -> None:
    p = phrase(ScriptedModel([]), "When?", EVIDENCE, FLIGHT[0])  # no reply left: ModelError
    assert not p.ok and p.error
    with pytest.raises(Cancelled):
        phrase(
            ScriptedModel(["It departs at 07:55."]),
            "When?",
            EVIDENCE,
            FLIGHT[0],
            should_stop=lambda: True,
        )


def test_phrase_running_out_of_tokens_fails() -> None:
    p = phrase(
        ScriptedModel(["It departs at 07:55 from"]), "When?", EVIDENCE, FLIGHT[0], max_tokens=5
    )
    assert not p.ok and "tokens" in (p.cut_reason or "")


# -- stop strings and penalties in the model layer ---------------------------------------------------
def test_stop_strings_end_the_stream_for_every_backend() -> None:
    m = ScriptedModel(["one two <da" + "ta> three"])
    msgs: list[ChatMessage] = [{"role": "user", "content": "q"}]
    assert "".join(m.stream(msgs, stop=["<data>"])) == "one two "
    # Defaults unchanged: no stop, pieces as before.
    m2 = ScriptedModel(["hello there world"])
    assert list(m2.stream(msgs)) == ["hello", " there", " world"]
    assert m2.requests[0].stop is None and m2.requests[0].repeat_penalty is None


class _OldBackend(Model):
    """A plugin written before `stop` and `repeat_penalty` existed."""

    backend = "old-test"

    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    @property
    def name(self) -> str:
        return "old"

    def _stream(  # type: ignore[override]
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        schema: dict[str, Any] | None,
    ) -> Iterator[str]:
        try:
            for _ in range(max_tokens):
                yield "ab"
        finally:
            self.closed = True


def test_old_backends_still_work_and_stop_cuts_them_off() -> None:
    m = _OldBackend()
    msgs: list[ChatMessage] = [{"role": "user", "content": "q"}]
    assert "".join(m.stream(msgs, max_tokens=3)) == "ababab"
    out = "".join(m.stream(msgs, max_tokens=500, stop=["bab"], repeat_penalty=1.3))
    assert out == "a" and m.closed
    assert m.usage.completion_tokens < 20  # decoding stopped at the stop string


def test_http_penalties() -> None:
    assert http_penalties(None) == {} and http_penalties(1.0) == {}
    assert http_penalties(1.3) == {"frequency_penalty": 0.6, "presence_penalty": 0.3}
    assert http_penalties(5.0) == {"frequency_penalty": 2.0, "presence_penalty": 2.0}


def test_scripted_request_keeps_options() -> None:
    m = ScriptedModel([lambda req: f"{len(req.stop or [])} {req.repeat_penalty} QQ after"])
    out = m.complete([{"role": "user", "content": "q"}], stop=["QQ"], repeat_penalty=1.2)
    assert out == "1 1.2 "
    assert isinstance(m.requests[0], Request)


# -- the real model (slow) ---------------------------------------------------------------------------
REAL_ITEMS = [
    ("When does my flight to Lisbon leave?", FLIGHT, FLIGHT[0]),
    (
        "How much flour goes into the pancakes?",
        ["Pancakes: 200 g flour, 2 eggs, 300 ml milk."],
        "Pancakes: 200 g flour.",
    ),
    (
        "Who is my dentist?",
        ["My dentist is Dr. Amara Okafor at the Riverside clinic."],
        "My dentist is Dr. Amara Okafor.",
    ),
    (
        "Where did I park?",
        ["Parked on level 3 of the Elm Street garage.", "The garage closes at midnight."],
        "Parked on level 3 of the Elm Street garage.",
    ),
    (
        "What do I do after mixing the batter?",
        ["Mix the batter.", "Let it rest for 20 minutes.", "Heat the pan."],
        "Let it rest for 20 minutes.",
    ),
    (
        "When is the tax return due?",
        ["The tax return is due on 31 January."],
        "The tax return is due on 31 January.",
    ),
    (
        "What did I do on Saturday?",
        ["Saturday: hiked to Arthur's Seat with Jonas, then lunch at The Kitchin."],
        "Hiked to Arthur's Seat with Jonas, then lunch at The Kitchin.",
    ),
    (
        "How do I restart the VPN?",
        ["VPN restart: sudo systemctl restart wg-quick@wg0", "Check with wg show."],
        "sudo systemctl restart wg-quick@wg0",
    ),
    (
        "Which book did Sam recommend?",
        ["Sam recommended The Left Hand of Darkness by Ursula K. Le Guin."],
        "Sam recommended The Left Hand of Darkness.",
    ),
    (
        "What is my manager's name?",
        ["My manager is Bob Lindqvist.", "Bob prefers email over chat."],
        "My manager is Bob Lindqvist.",
    ),
    (
        "How many people are coming?",
        ["Party guest list: 12 people confirmed.", "Lena cannot come."],
        "12 people confirmed.",
    ),
]
_LOOPED = re.compile(r"\b(\w+(?:\W+\w+){2,})\W+\1\b", re.I)


@pytest.fixture(scope="module")
def smollm() -> Iterator[Model]:
    from mirix_app.agent.models import LlamaCppModel

    m = LlamaCppModel(n_ctx=2048, n_threads=1)  # one thread: see FIELD_NOTES
    m.load()
    yield m
    m.close()


@pytest.mark.slow
def test_real_model_phrasing_never_yields_a_loop_or_echo(smollm: Model) -> None:
    times = []
    ok = 0
    for i, (question, ev, draft) in enumerate(REAL_ITEMS):
        evidence = [(f"sem_01HZX3V4K5M6N7P8Q9R0S1T2{i:02d}", e) for e in ev]
        start = time.perf_counter()
        p = phrase(smollm, question, evidence, draft)
        times.append(time.perf_counter() - start)
        shown = p.raw
        assert "<data>" not in shown and "</data>" not in shown and "\u2039data" not in shown
        assert "<|" not in shown and not re.search(r"(?i)\b(question|answer|facts):", shown)
        assert not re.search(r"(cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26}", shown)
        assert not _LOOPED.search(shown), shown
        assert len(shown) <= 400
        if p.ok:
            ok += 1
            assert verify(p.text, ev, question).ok
    print(
        f"\nSmolLM2 phrase(): {ok}/{len(REAL_ITEMS)} verified, {sum(times) / len(times):.2f}s per item"
    )
    assert max(times) < 30
