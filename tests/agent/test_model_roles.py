"""Two roles: the chat model and the agent model can differ; each has its own capability check
(cached per model), and `mirix model` says which model does what."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from mirix_app.agent.capability import ITEMS
from mirix_app.agent.settings import (
    ModelSettings,
    make_role_models,
    role_overrides,
    set_role_model,
)
from mirix_app.config import Settings
from mirix_app.errors import InvalidInput
from mirix_app.paths import Paths
from tests.agent.test_capability import _DraftHandler, draft_server  # noqa: F401


def test_roles_default_to_model_and_can_differ() -> None:
    s = Settings()
    ModelSettings(n_threads=3).save_into(s)
    assert ModelSettings.for_role(s, "chat") == ModelSettings.for_role(s, "agent")
    chat = ModelSettings(backend="openai", endpoint="http://127.0.0.1:11434/v1", model="qwen")
    set_role_model(s, "chat", chat)
    got = ModelSettings.for_role(s, "chat")
    assert got.endpoint == chat.endpoint and got.model == "qwen"
    assert ModelSettings.for_role(s, "agent").backend == "llama"  # [model] still
    assert ModelSettings.from_settings(s).n_threads == 3  # [model] read alone ignores roles
    assert set(role_overrides(s)) == {"chat"}
    again = Settings.from_dict(s.to_dict())  # through TOML-shaped dicts
    assert ModelSettings.for_role(again, "chat").model == "qwen"
    # Setting the role back to [model]'s model drops the table; "both" drops all tables.
    set_role_model(s, "chat", ModelSettings.from_settings(s))
    assert role_overrides(s) == {}
    set_role_model(s, "agent", ModelSettings(path="/m/a.gguf"))
    set_role_model(s, "both", ModelSettings(path="/m/b.gguf"))
    assert role_overrides(s) == {}
    assert ModelSettings.for_role(s, "agent").path == "/m/b.gguf"
    # save_into (e.g. `mirix model set --threads`) keeps role tables.
    set_role_model(s, "chat", chat)
    ModelSettings(path="/m/c.gguf").save_into(s)
    assert ModelSettings.for_role(s, "chat").model == "qwen"


def test_role_tables_are_validated_naming_the_key() -> None:
    s = Settings.from_dict({"model": {"chat": {"backend": "nope"}}})
    with pytest.raises(InvalidInput, match=r"model\.chat\.backend"):
        ModelSettings.for_role(s, "chat")
    s = Settings.from_dict({"model": {"agent": {"n_threads": "2"}}})
    with pytest.raises(InvalidInput, match=r"model\.agent\.n_threads"):
        ModelSettings.for_role(s, "agent")
    with pytest.raises(InvalidInput, match=r"model\.chat must be a table"):
        ModelSettings.from_settings(Settings.from_dict({"model": {"chat": "x"}}))
    with pytest.raises(InvalidInput):
        ModelSettings.for_role(Settings(), "cook")


def test_one_instance_when_both_roles_share_a_model() -> None:
    s = Settings()
    ModelSettings(path="/nonexistent/x.gguf").save_into(s)
    m = make_role_models(s)
    assert m["chat"] is m["agent"]
    set_role_model(s, "agent", ModelSettings(path="/nonexistent/y.gguf"))
    m = make_role_models(s)
    assert m["chat"] is not m["agent"] and m["agent"].name == "y.gguf"


def test_cli_roles_each_checked_and_shown(
    draft_server: str,  # noqa: F811
    paths: Paths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mirix_app.cli import main

    assert (
        main(["model", "set", "--endpoint", draft_server, "--name", "big", "--role", "chat"]) == 0
    )
    assert (
        main(["model", "set", "--endpoint", draft_server, "--name", "small", "--role", "agent"])
        == 0
    )
    raw = tomllib.loads(paths.settings_file.read_text())
    assert raw["model"]["chat"]["model"] == "big" and raw["model"]["agent"]["model"] == "small"
    capsys.readouterr()
    assert main(["model"]) == 0
    out = capsys.readouterr().out
    assert "roles:    chat\n" in out and "roles:    agent\n" in out
    assert out.count("not checked yet") == 2
    _DraftHandler.bodies = []
    assert main(["model", "check"]) == 0
    out = capsys.readouterr().out
    assert "chat: chat answers: phrased by the model" in out
    assert "agent: chat answers: phrased by the model" in out
    assert len(_DraftHandler.bodies) == 2 * len(ITEMS)  # one check per model
    assert {b["model"] for b in _DraftHandler.bodies} == {"big", "small"}
    assert main(["model", "check"]) == 0  # both cached now
    assert capsys.readouterr().out.count("cached") == 2
    assert len(_DraftHandler.bodies) == 2 * len(ITEMS)
    assert main(["model", "check", "--role", "agent", "--force"]) == 0
    assert len(_DraftHandler.bodies) == 3 * len(ITEMS)
    # Both roles back on one model: one block, one check.
    assert main(["model", "set", "--default"]) == 0
    capsys.readouterr()
    main(["model"])
    assert "roles:    chat and agent" in capsys.readouterr().out


def test_gui_agent_uses_each_role_and_reports_both(paths: Paths, core: Any) -> None:
    from mirix_app.ui.adapters import AgentAdapter
    from mirix_app.ui.services import Services

    s = Settings.load(paths)
    set_role_model(
        s, "chat", ModelSettings(backend="openai", endpoint="http://127.0.0.1:9/v1", model="c")
    )
    s.save(paths)
    svc = Services(core, settings=Settings.load(paths))
    agent = AgentAdapter(svc)
    try:
        assert agent.chat_model.name == "c"
        assert agent.chat_agent.model is agent.chat_model
        assert agent.job.pipeline.model is agent.agent_model
        assert agent.agent_model.backend == "llama"
        st = agent.status()
        assert st.roles["chat"] == "c" and st.roles["agent"].endswith(".gguf")
    finally:
        agent.stop()
