"""Shared fixtures: every test gets its own data dir; Qt renders offscreen; no hub downloads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
# The vault key comes from a passphrase in tests (no keyring daemon on a CI box); tests of the
# keyring path set their own backend.
os.environ.setdefault("MIRIX_PASSPHRASE", "test-passphrase")


@pytest.fixture(autouse=True)
def mirix_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mirix-home"
    monkeypatch.setenv("MIRIX_HOME", str(home))
    return home


@pytest.fixture
def paths(mirix_home: Path):  # type: ignore[no-untyped-def]
    from mirix_app.paths import Paths

    return Paths.default().ensure()


@pytest.fixture
def core(paths) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from mirix_app.memory.core import MemoryCore

    c = MemoryCore.open(paths)
    yield c
    c.close()


@pytest.fixture
def scripted_backend() -> Iterator[type]:
    """The scripted test model (tests/fakes.py) registered as the "scripted" backend for one
    test: the app itself never registers it."""
    from mirix_app.agent import models
    from tests.fakes import ScriptedModel

    models.register(ScriptedModel)
    yield ScriptedModel
    models.BACKENDS.pop(ScriptedModel.backend, None)
