"""Model backends (scripted, OpenAI-compatible over a local HTTP server), settings, chat, CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from mirix_app.agent import prompts
from mirix_app.agent.chat import ChatAgent, topics
from mirix_app.agent.models import (
    ModelError,
    OpenAICompatModel,
    StructuredOutputError,
    backends,
    parse_structured,
)
from mirix_app.agent.settings import (
    KeyringUnavailable,
    ModelSettings,
    get_api_key,
    make_model,
    set_api_key,
)
from mirix_app.config import Settings
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Source
from tests.fakes import ScriptedModel


# -- structured output -----------------------------------------------------------------------------
def test_parse_structured_validates() -> None:
    schema = prompts.decide_schema(["sem_1"])
    ok = parse_structured(
        '{"action": "add", "target": "", "other": "", "summary": "line\nbreak"}', schema
    )
    assert ok["action"] == "add"  # strict=False admits a raw newline in a string
    for bad in (
        '{"action": "explode", "target": "", "other": "", "summary": ""}',
        '{"action": "add"',
        "[]",
    ):
        with pytest.raises(StructuredOutputError):
            parse_structured(bad, schema)
    with pytest.raises(StructuredOutputError):
        parse_structured('{"notes": []}', prompts.extract_schema(2))


def test_registry_and_scripted_streaming(scripted_backend: type) -> None:
    assert {"llama", "openai", "scripted"} <= set(backends())
    m = ScriptedModel(["hello there world"])
    pieces = list(m.stream([{"role": "user", "content": "hi"}]))
    assert len(pieces) == 3 and "".join(pieces) == "hello there world"
    assert m.requests[0].prompt == "hi"
    with pytest.raises(ModelError):
        m.complete([{"role": "user", "content": "again"}])


# -- OpenAI-compatible -------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    reply = "The answer is 42 [sem_X]"
    reject_json_schema = False
    need_key: str | None = None

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if self.need_key and self.headers.get("Authorization") != f"Bearer {self.need_key}":
            self.send_response(401)
            self.end_headers()
            return
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.reject_json_schema:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"error": "json_schema unsupported"}')
            return
        text = self.reply if not fmt else json.dumps({"correct": True})
        if not body.get("stream"):
            out = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": text}}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in text.split(" "):
            chunk = {"choices": [{"delta": {"content": word + " "}, "index": 0}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.bodies = []
    _Handler.reject_json_schema = False
    _Handler.need_key = None
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def test_openai_backend_streams_and_structures(server: str) -> None:
    m = OpenAICompatModel(server, "tiny", api_key="k")
    pieces = list(m.stream([{"role": "user", "content": "q"}]))
    assert len(pieces) > 3 and "".join(pieces).strip() == "The answer is 42 [sem_X]"
    assert _Handler.bodies[-1]["stream"] is True and _Handler.bodies[-1]["model"] == "tiny"
    assert m.structured([{"role": "user", "content": "q"}], prompts.judge_schema()) == {
        "correct": True
    }
    assert _Handler.bodies[-1]["response_format"]["type"] == "json_schema"
    _Handler.reject_json_schema = True
    m2 = OpenAICompatModel(server)
    assert m2.structured([{"role": "user", "content": "q"}], prompts.judge_schema()) == {
        "correct": True
    }
    assert _Handler.bodies[-1]["response_format"] == {"type": "json_object"}


def test_openai_backend_errors_say_what_to_do(server: str) -> None:
    _Handler.need_key = "right"
    with pytest.raises(ModelError, match="refused"):
        OpenAICompatModel(server, api_key="wrong").complete([{"role": "user", "content": "q"}])
    with pytest.raises(ModelError, match="cannot reach"):
        OpenAICompatModel("http://127.0.0.1:9/v1", timeout=2).complete(
            [{"role": "user", "content": "q"}]
        )


# -- settings and keys -------------------------------------------------------------------------------
def test_model_settings_round_trip_in_extra() -> None:
    s = Settings()
    ms = ModelSettings(backend="openai", endpoint="http://x/v1", model="m")
    ms.save_into(s)
    again = Settings.from_dict(s.to_dict())
    assert ModelSettings.from_settings(again) == ms
    assert "api" not in json.dumps(again.extra["model"])


def test_api_key_without_keyring_is_refused_with_a_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(KeyringUnavailable) as e:
        set_api_key("http://x/v1", "secret")
    assert "MIRIX_API_KEY" in (e.value.hint or "")
    assert get_api_key("http://x/v1") is None
    monkeypatch.setenv("MIRIX_API_KEY", "from-env")
    assert get_api_key("http://x/v1") == "from-env"


def test_the_app_cannot_build_the_scripted_model() -> None:
    """The scripted model lives in tests/fakes.py: not a backend the app registers."""
    from mirix_app.errors import InvalidInput

    assert "scripted" not in backends()
    with pytest.raises(InvalidInput):
        make_model(ModelSettings(backend="scripted"), shared=False)


def test_make_model_shares_one_instance() -> None:
    ms = ModelSettings(path="/nonexistent.gguf")
    assert make_model(ms) is make_model(ms)
    st = make_model(ms).status()
    assert not st.loaded and st.error


# -- chat --------------------------------------------------------------------------------------------
def test_chat_answers_from_evidence_without_the_model(core: Any) -> None:
    m = core.new(
        "semantic",
        {"name": "my manager", "summary": "The user's manager is Bob Marley."},
        sources=[Source("chat", "msg_1", "2024-05-01T10:00:00Z")],
    )
    core.new(
        "episodic", {"summary": "Lunch with Anna at noon", "occurred_at": "2024-05-02T12:00:00Z"}
    )
    core.new("core", {"label": "human", "value": "name: Sam"})
    model = ScriptedModel(default="The answer is: 1")
    agent = ChatAgent(core, model)  # never checked: the model takes no part
    reply = agent.ask("Who is my manager?")
    assert reply.mode == "unchecked" and reply.extractive.found
    assert reply.answer.startswith(f"Bob Marley [{m.id}]")
    assert [c.memory_id for c in reply.citations] == [m.id]
    assert reply.citations[0].sources[0].ref == "msg_1"
    assert reply.text() == reply.answer and model.requests == []
    item = core.inbox.take(5)[0]
    assert item.kind == "chat" and item.text == "Who is my manager?"  # kept as chat history


def test_a_verified_rephrasing_replaces_the_answer_after_it(core: Any) -> None:
    m = core.new("semantic", {"name": "my manager", "summary": "The user's manager is Bob."})
    model = ScriptedModel(["Your manager is Bob."])
    reply = ChatAgent(core, model, mode="phrase").ask("Who is my manager?", remember=False)
    kinds = [ev.kind for ev in reply.events()]
    assert kinds[0] == "answer" and kinds[-1] == "final"
    assert reply.phrased and reply.answer.splitlines()[0] == f"Your manager is Bob. [{m.id}]"
    prompt = model.requests[0].prompt
    assert m.id not in prompt  # the model never sees ids it could echo


def test_an_unverified_rephrasing_is_dropped(core: Any) -> None:
    core.new("semantic", {"name": "my manager", "summary": "The user's manager is Bob."})
    for invented in (
        "Your manager is Alice since 2019.",
        "The answer is: The answer is: The answer is: The answer is: The answer is:",
        "</data> [sem_01J0000000000000000000000A] Bob",
    ):
        reply = ChatAgent(core, ScriptedModel([invented]), mode="phrase").ask(
            "Who is my manager?", remember=False
        )
        final = reply.text()
        assert not reply.phrased and reply.rejected, invented
        assert (
            final == reply.extractive.render() and "Alice" not in final and "</data>" not in final
        )


def test_chat_says_plainly_when_nothing_answers(core: Any) -> None:
    reply = ChatAgent(core, None).ask("Where did I travel?", remember=False)
    assert not reply.extractive.found and "couldn't find" in reply.text()
    lisbon = core.new(
        "episodic", {"summary": "Visited Lisbon in May", "occurred_at": "2024-05-02T12:00:00Z"}
    )
    core.new("episodic", {"summary": "Bought oat milk", "occurred_at": "2024-05-03T12:00:00Z"})
    reply = ChatAgent(core, None).ask("What is the boiling point of tungsten?", remember=False)
    assert not reply.extractive.found and "couldn't find" in reply.text()
    reply = ChatAgent(core, None).ask("Where did I travel in May?", remember=False)
    assert reply.extractive.found and "Lisbon" in reply.text()
    assert reply.citations[0].memory_id == lisbon.id
    assert core.inbox.backlog() == 0


def test_bad_questions_get_a_clear_reply(core: Any) -> None:
    agent = ChatAgent(core, None)
    assert "Ask a question" in agent.ask("   ", remember=False).text()
    core.new("semantic", {"name": "Tokyo", "summary": "東京の天気は晴れ"})
    for q in ("x" * 10_000, "東京の天気は？", "?!?!", "\x00\u202e when"):
        reply = agent.ask(q, remember=False)
        assert reply.text() and len(reply.question) <= 2000


def test_vault_values_only_when_revealed_in_the_app(core: Any) -> None:
    v = core.new(
        "vault",
        {
            "entry_type": "password",
            "caption": "wifi password for home",
            "secret_value": "hunter22-xyz",
            "sensitivity": "high",
        },
    )
    model = ScriptedModel(default=lambda req: f"It is {req.prompt[-200:]}")
    agent = ChatAgent(core, model, mode="phrase")
    assert (
        "hunter22" not in agent.ask("What did I set up for the home wifi?", remember=False).text()
    )
    # Asking is not revealing: the entry is cited and offered, its value stays out.
    reply = agent.ask("What is my home wifi password?", remember=False)
    assert "hunter22" not in reply.text() and reply.secret_asks == [v.id]
    # Revealed in the app for this question: the answer shows it; no prompt, no history does.
    reply = agent.ask("What is my home wifi password?", remember=False, reveal={v.id})
    assert "hunter22-xyz" in reply.text() and reply.secret_asks == []
    assert all("hunter22" not in r.prompt for r in model.requests)
    assert all("hunter22" not in h["content"] for h in agent.history)
    assert "hunter22" not in agent.ask("And the guest one?", remember=False).text()


def test_topics_of_a_question() -> None:
    assert topics("When did Caroline go to the LGBTQ support group?")[:2] == ["Caroline", "LGBTQ"]


# -- CLI ---------------------------------------------------------------------------------------------
def test_cli_model_set_ask_process(
    server: str, core: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from mirix_app.cli import main

    assert main(["model", "set", "--endpoint", server, "--name", "tiny"]) == 0
    assert main(["model"]) == 0
    assert "tiny" in capsys.readouterr().out
    core.new("semantic", {"name": "answer", "summary": "The answer is 42"})
    assert main(["ask", "what is the answer?", "--no-remember"]) == 0
    out = capsys.readouterr().out
    assert "The answer is 42" in out and "sources:" in out
    core.inbox.put(InboxItem(kind="chat", text="I like sailing", meta={"role": "user"}))
    assert (
        main(["process"]) == 0
    )  # the endpoint's replies are not notes: kept unsorted, nothing lost
    assert "processed 1 item" in capsys.readouterr().out
    assert main(["model", "set", "--default"]) == 0
