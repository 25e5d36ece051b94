"""Settings > Model in the Qt UI (issue 14): servers found on this computer (a real
`python -m llama_cpp.server` with the shipped SmolLM2), one click to use a model for chat, the
agent or both; the first-run offer in the status bar (two clicks to chat); the catalogue with a
download that shows progress, pauses, resumes and is used without a restart; which model does
what in the status bar."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from sample_data import FakeAgent

from mirix_app.agent import catalogue
from mirix_app.agent.settings import ModelSettings, make_model
from mirix_app.config import Settings
from mirix_app.ui.services import ModelStatus, Services
from tests.agent.local_servers import HubServer, llama_server, shipped_entry, shipped_gguf

TIMEOUT = 20_000


class RecordingAgent(FakeAgent):
    """The UI's agent stand-in: records that new settings were applied and the model loaded."""

    def __init__(self) -> None:
        super().__init__("ok")
        self.applied = 0
        self.loads = 0

    def apply_settings(self, settings: Any) -> None:
        self.applied += 1

    def load(self, progress: Any = None) -> None:
        self.loads += 1
        self.loaded = True


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with llama_server() as root:
        yield root


@pytest.fixture
def agent() -> RecordingAgent:
    return RecordingAgent()


@pytest.fixture
def win(core: Any, runner: Any, qtbot: Any, agent: RecordingAgent) -> Iterator[Any]:
    from mirix_app.ui.main_window import MainWindow

    w = MainWindow(Services(core, agent=agent), runner)
    qtbot.addWidget(w)
    w.show()
    yield w
    w._status_timer.stop()
    w.settings.model_panel.timer.stop()
    runner.shutdown()


def _add_server(win: Any, root: str) -> None:
    s = Settings.load(win.services.paths)
    ms = ModelSettings.from_settings(s)
    ms.servers = [root]
    ms.save_into(s)
    s.save(win.services.paths)
    win.services.settings = Settings.load(win.services.paths)


def _model_item(panel: Any, root: str) -> Any:
    for i in range(panel.server_tree.topLevelItemCount()):
        top = panel.server_tree.topLevelItem(i)
        if top.text(1) == f"{root}/v1" and top.childCount():
            return top.child(0)
    return None


@pytest.mark.slow
def test_servers_listed_and_one_click_uses_a_model(
    win: Any, qtbot: Any, server: str, agent: RecordingAgent
) -> None:
    _add_server(win, server)
    panel = win.settings.model_panel
    win.show_page("settings")  # the first show looks for servers (in a worker)
    qtbot.waitUntil(lambda: _model_item(panel, server) is not None, timeout=TIMEOUT)
    item = _model_item(panel, server)
    assert item.text(0).endswith(shipped_gguf().name)
    panel.server_tree.setCurrentItem(item)
    assert panel.use_chat.isEnabled() and panel.use_both.isEnabled()
    panel.use_chat.click()  # one click: chat uses the server's model, the agent keeps its own
    qtbot.waitUntil(lambda: agent.loads == 1, timeout=TIMEOUT)
    raw = tomllib.loads(win.services.paths.settings_file.read_text())
    assert raw["model"]["chat"] == {**raw["model"]["chat"], "backend": "openai",
                                    "endpoint": f"{server}/v1", "model": item.text(0)}  # fmt: skip
    assert raw["model"].get("backend", "llama") == "llama" and agent.applied == 1
    qtbot.waitUntil(lambda: "at http://127.0.0.1" in panel.chat_role.text(), timeout=TIMEOUT)
    assert "SmolLM2" in panel.agent_role.text() and "at http" not in panel.agent_role.text()
    panel.use_both.click()
    qtbot.waitUntil(lambda: agent.loads == 2, timeout=TIMEOUT)
    raw = tomllib.loads(win.services.paths.settings_file.read_text())
    assert "chat" not in raw["model"] and raw["model"]["endpoint"] == f"{server}/v1"


@pytest.mark.slow
def test_first_run_offers_found_servers_and_two_clicks_chat(
    win: Any, qtbot: Any, server: str, agent: RecordingAgent
) -> None:
    _add_server(win, server)
    services = win.services
    assert not services.first_run_discovery_due()  # before consent: not even 127.0.0.1
    services.give_consent()
    assert services.first_run_discovery_due()
    win.refresh_status()
    btn = win.status_area.servers_btn
    qtbot.waitUntil(btn.isVisible, timeout=TIMEOUT)
    assert "Found" in btn.text() and "choose" in btn.text()
    assert not services.first_run_discovery_due()  # once only
    btn.click()  # click 1: Settings > Model, the first found model selected
    assert win.page_name == "settings"
    panel = win.settings.model_panel
    assert panel.selected_server_model() is not None
    panel.use_both.click()  # click 2
    qtbot.waitUntil(lambda: agent.loads == 1, timeout=TIMEOUT)
    chat = ModelSettings.for_role(Settings.load(services.paths), "chat")
    assert chat.backend == "openai" and chat.endpoint.startswith("http://127.0.0.1:")
    # ...and that model answers.
    text = make_model(chat, shared=False).complete(
        [{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0.0
    )
    assert text.strip()


def test_status_bar_says_which_model_does_what(win: Any) -> None:
    from mirix_app.memory.inbox import InboxItem  # noqa: F401 - the window's imports are loaded
    from mirix_app.ui.main_window import Snapshot
    from mirix_app.ui.services import CaptureStatus

    roles = {"chat": "qwen2.5:7b (phrase)", "agent": "SmolLM2-135M-Instruct.Q4_1.gguf (off)"}
    win.apply_status(Snapshot(CaptureStatus("off"), ModelStatus("ready", "x", roles=roles), 3))
    text = win.status_area.model.text()
    assert "chat: qwen2.5:7b (phrase)" in text and "agent: SmolLM2" in text
    same = {"chat": "SmolLM2 (off)", "agent": "SmolLM2 (off)"}
    win.apply_status(Snapshot(CaptureStatus("off"), ModelStatus("ready", "x", roles=same), 3))
    assert "SmolLM2 (off) (chat and agent)" in win.status_area.model.text()


@pytest.mark.slow
def test_catalogue_download_with_progress_pause_resume_and_use(
    win: Any, qtbot: Any, agent: RecordingAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = shipped_entry()
    monkeypatch.setattr(catalogue, "CATALOGUE", (e, *catalogue.CATALOGUE))
    with HubServer(shipped_gguf(), delay=0.03) as hub:  # ~3 s for the file: time to pause
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        panel = win.settings.model_panel
        win.show_page("settings")
        qtbot.waitUntil(lambda: panel.table.rowCount() == len(catalogue.CATALOGUE), timeout=TIMEOUT)
        assert "GB" in panel.table.item(1, 2).text()  # RAM estimates for the real entries
        panel.select_entry(e.id)
        panel.download_btn.click()
        qtbot.waitUntil(lambda: panel.progress.value() > 50, timeout=TIMEOUT)
        assert panel.pause_btn.isEnabled() and "downloading" in panel.download_status.text()
        panel.pause_btn.click()
        dl = win.services.downloads()[e.id]
        qtbot.waitUntil(lambda: dl.state == "paused", timeout=TIMEOUT)
        qtbot.waitUntil(lambda: panel.download_btn.text() == "Resume", timeout=TIMEOUT)
        assert "paused" in panel.download_status.text()
        panel.download_btn.click()
        qtbot.waitUntil(lambda: dl.state == "done", timeout=60_000)
        qtbot.waitUntil(lambda: panel.dl_chat.isEnabled(), timeout=TIMEOUT)
        assert any(r["range"] for r in hub.requests)  # resumed with Range
    assert "downloaded" in panel.download_status.text()
    panel.dl_agent.click()
    qtbot.waitUntil(lambda: agent.loads == 1, timeout=TIMEOUT)
    agent_ms = ModelSettings.for_role(Settings.load(win.services.paths), "agent")
    assert agent_ms.path == str(catalogue.models_dir(win.services.paths) / e.filename)
