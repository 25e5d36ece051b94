"""bench_import runs (quick mode) and prints its table, so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
from locomo_data import locomo_path  # noqa: E402

from tests.tools import unavailable  # noqa: E402


@pytest.mark.slow
def test_bench_import_quick() -> None:
    if locomo_path() is None:
        unavailable("the LoCoMo dev split", "set MIRIX_LOCOMO")
    r = subprocess.run(
        [sys.executable, str(BENCH / "bench_import.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ours: mirix ingest" in r.stdout and "today's: add_many" in r.stdout
    assert "write path only" in r.stdout
    assert "ingested 3000 messages" in r.stdout
    assert "ingested 0 messages (3000 already present)" in r.stdout
