"""The capture benchmark still runs (quick mode) and meets its cheap targets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_capture.py"


@pytest.mark.slow
def test_bench_quick_runs_and_prints_the_table(mirix_home: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--seconds", "8"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    table = {
        line[:54].strip(): line[54:].split()
        for line in r.stdout.splitlines()
        if "  " in line and not line.startswith(("capture benchmark", "measure"))
    }
    assert "change test, typing frame (ms)" in table, r.stdout
    assert table["typed lines detected"][0] == "3/3"
    assert float(table["change test, typing frame (ms)"][0]) < 15  # target 5; CI noise margin
    assert float(table["OCR speed-up (x)"][0]) > 1.5
    assert float(table["service CPU, static screen, every 3 s (% core)"][0]) < 5
