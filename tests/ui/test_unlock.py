"""Start-up without an OS keyring: the app asks for a passphrase, checks it, and never opens the
data folder without one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from mirix_app.memory import keys
from mirix_app.paths import Paths
from mirix_app.ui.unlock import PassphraseDialog, open_services


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import keyring
    from keyring.backends import fail

    old = keyring.get_keyring()
    monkeypatch.delenv("MIRIX_PASSPHRASE")
    monkeypatch.setattr(keys, "_session_passphrase", None)
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(old)
    keys.set_session_passphrase(None)


def test_first_start_asks_for_a_new_passphrase_then_reopens_with_it(
    paths: Paths, no_keyring: None, qapp: Any
) -> None:
    asked: list[tuple[bool, str]] = []

    def ask(new: bool, error: str) -> str | None:
        asked.append((new, error))
        return "correct horse battery"

    svc = open_services(paths, ask=ask)
    assert svc is not None and asked == [(True, "")]
    svc.core.new("semantic", {"name": "kept", "summary": "under the passphrase"})
    svc.close()

    keys.set_session_passphrase(None)
    answers = iter(["wrong one", "correct horse battery"])
    asked.clear()
    svc = open_services(paths, ask=lambda new, err: asked.append((new, err)) or next(answers))
    assert svc is not None
    assert asked == [(False, ""), (False, "That passphrase does not open your memories.")]
    assert svc.core.stats().live["semantic"] == 1
    svc.close()


def test_cancel_opens_nothing(paths: Paths, no_keyring: None, qapp: Any) -> None:
    assert open_services(paths, ask=lambda new, err: None) is None
    assert not paths.memory_db.exists()


def test_dialog_checks_the_new_passphrase(qtbot: Any, qapp: Any) -> None:
    dlg = PassphraseDialog(new=True)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.again.isVisible()
    qtbot.keyClicks(dlg.phrase, "short")
    qtbot.keyClicks(dlg.again, "short")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dlg.result() == 0 and "at least 8" in dlg.error.text()
    dlg.phrase.setText("long enough phrase")
    dlg.again.setText("long enough phrasE")
    dlg.buttons.accepted.emit()
    assert "differ" in dlg.error.text() and dlg.isVisible()
    dlg.again.setText("long enough phrase")
    dlg.buttons.accepted.emit()
    assert dlg.result() == PassphraseDialog.DialogCode.Accepted
    assert dlg.phrase.echoMode() == dlg.phrase.EchoMode.Password
