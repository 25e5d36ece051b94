"""The command line lists only modules that exist, and says so when one is missing."""

from __future__ import annotations

import importlib

import pytest

from mirix_app import cli


def test_every_listed_command_module_exists() -> None:
    for name in cli.COMMAND_MODULES:
        assert hasattr(importlib.import_module(name), "register"), name


def test_a_missing_command_module_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "mirix_app.no_such_cmds"))
    assert cli.main(["--help"]) == 1
    err = capsys.readouterr().err
    assert "mirix_app.no_such_cmds is missing" in err and "hint:" in err
