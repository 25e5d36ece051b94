"""UI fixtures: a Services adapter over a real MemoryCore in the test's own data dir, sample data,
fake capture/agent services that tests script, and a main window."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sample_data import FakeAgent, FakeCapture  # noqa: F401

from mirix_app.ui.services import Services


@pytest.fixture
def services(core: Any) -> Iterator[Services]:
    svc = Services(core)
    yield svc


@pytest.fixture
def sample(core: Any, qapp: Any) -> dict[str, str]:
    from sample_data import populate

    return populate(core)


@pytest.fixture
def runner(qapp: Any) -> Iterator[Any]:
    from mirix_app.ui.workers import Runner

    r = Runner()
    yield r
    r.shutdown()


@pytest.fixture
def window(services: Services, runner: Any, qtbot: Any) -> Iterator[Any]:
    from mirix_app.ui.main_window import MainWindow

    w = MainWindow(services, runner)
    qtbot.addWidget(w)
    w.show()
    yield w
    w._status_timer.stop()
    runner.shutdown()
