"""Settings round-trip to settings.toml; API keys go to the keyring backend; export/import/delete."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend

TIMEOUT = 10_000


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def ring() -> Any:
    old = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(old)


def test_settings_round_trip_to_toml(
    window: Any, qtbot: Any, paths: Any, ring: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    s = window.settings
    window.show_page("settings")
    s.interval.setValue(7.5)
    s.excl_apps.setPlainText("^signal$\nkeepassxc\n")
    s.excl_titles.setPlainText("(?i)salary")
    s.keep_shots.setChecked(True)
    s.retention.setValue(14)
    s.budget.setValue(500)
    s.m_openai.setChecked(True)
    s.endpoint.setText("http://localhost:11434/v1")
    s.model_name.setText("qwen2.5:1.5b")
    s.api_key.setText("sk-test-123")
    s.login.setChecked(True)
    with qtbot.waitSignal(s.saved, timeout=TIMEOUT):
        s.save_btn.click()
    raw = tomllib.loads(paths.settings_file.read_text())
    assert raw["capture"]["interval_seconds"] == 7.5
    assert raw["capture"]["exclude_apps"] == ["^signal$", "keepassxc"]
    assert raw["capture"]["exclude_titles"] == ["(?i)salary"]
    assert raw["capture"]["keep_screenshots"] is True
    assert raw["capture"]["retention_days"] == 14
    assert raw["capture"]["storage_budget_mb"] == 500
    assert raw["model"]["backend"] == "openai"
    assert raw["model"]["endpoint"] == "http://localhost:11434/v1"
    assert raw["model"]["model"] == "qwen2.5:1.5b"
    assert raw["ui"]["start_at_login"] is True
    # the key is in the keyring backend, never in the file
    assert "sk-test-123" not in paths.settings_file.read_text()
    assert "sk-test-123" in ring.store.values()
    assert s.api_key.text() == ""
    assert "stored" in s.keyring_label.text()
    autostart = tmp_path / "xdg" / "autostart" / "mirix-app.desktop"
    assert autostart.exists() and "mirix_app" in autostart.read_text()
    # the capture module accepts what the UI wrote
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.config import Settings

    cs = CaptureSettings.from_settings(Settings.load(paths))
    assert cs.interval_seconds == 7.5 and cs.exclude_apps == ["^signal$", "keepassxc"]
    # a new settings page reads the saved values back
    from mirix_app.ui.settings_view import SettingsView

    again = SettingsView(window.services, window.runner)
    qtbot.addWidget(again)
    assert again.interval.value() == 7.5
    assert again.m_openai.isChecked() and again.model_name.text() == "qwen2.5:1.5b"
    assert again.excl_apps.toPlainText() == "^signal$\nkeepassxc"
    assert again.login.isChecked()


def test_gguf_choice_and_revert(window: Any, qtbot: Any, paths: Any, ring: Any) -> None:
    s = window.settings
    s.m_gguf.setChecked(True)
    s.gguf_path.setText("/models/phi.gguf")
    assert s.gguf_path.isEnabled() and not s.endpoint.isEnabled()
    with qtbot.waitSignal(s.saved, timeout=TIMEOUT):
        s.save()
    raw = tomllib.loads(paths.settings_file.read_text())
    assert raw["model"] == {**raw["model"], "backend": "llama", "path": "/models/phi.gguf"}
    s.interval.setValue(99)
    s.revert_btn.click()
    assert s.interval.value() != 99


def test_export_import_and_delete_everything(
    sample: dict, window: Any, qtbot: Any, core: Any, tmp_path: Path
) -> None:
    s = window.settings
    out = tmp_path / "export.jsonl"
    with qtbot.waitSignal(s.message, timeout=TIMEOUT, check_params_cb=lambda t: "Exported" in t):
        s.export_to(out)
    lines = out.read_text().splitlines()
    assert len(lines) == sum(core.store.count().values())
    assert "s3cr3t" not in out.read_text()  # vault values stay sealed
    s.confirm_delete = lambda: False  # type: ignore[method-assign]
    with qtbot.waitSignal(s.message, timeout=TIMEOUT):
        s.delete_everything(None)
    assert sum(core.store.count().values()) > 0
    with qtbot.waitSignal(s.data_deleted, timeout=TIMEOUT):
        s.delete_everything(True)
    assert sum(core.store.count().values()) == 0
    assert core.inbox.recent(10) == []
    with qtbot.waitSignal(s.data_imported, timeout=TIMEOUT):
        s.import_from(out)
    assert sum(core.store.count().values()) == len(lines)
    assert core.reveal_secret(sample["vault"]) == "s3cr3t-Staging!42"


def test_spin_boxes_take_their_ranges_from_the_validator(window: Any) -> None:
    """One source of truth (capture/settings.RANGES): what a spin box offers, the validator
    accepts, and the ends of a spin box are the ends of the range."""
    from mirix_app.capture.settings import RANGES, CaptureSettings
    from mirix_app.errors import InvalidInput

    s = window.settings
    for key, spin in (
        ("interval_seconds", s.interval),
        ("retention_days", s.retention),
        ("storage_budget_mb", s.budget),
    ):
        rng = RANGES[key]
        assert spin.minimum() == rng.low and spin.maximum() == rng.high, key
        CaptureSettings.from_dict({key: spin.minimum()})
        CaptureSettings.from_dict({key: spin.maximum()})
        with pytest.raises(InvalidInput):
            CaptureSettings.from_dict({key: spin.maximum() + 1})
        with pytest.raises(InvalidInput):
            CaptureSettings.from_dict({key: spin.minimum() - 1})
