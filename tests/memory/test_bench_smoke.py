"""The memory benchmarks run (quick mode) and print their tables, so they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
from locomo_data import locomo_path  # noqa: E402

from tests.tools import unavailable  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("script", ["bench_locomo.py", "bench_memory_speed.py", "bench_scale.py"])
def test_memory_bench_quick(script: str) -> None:
    if locomo_path() is None:
        unavailable("the LoCoMo dev split", "set MIRIX_LOCOMO")
    r = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    if script == "bench_locomo.py":
        rows = {
            line.split("  ")[0].strip(): line.split()
            for line in r.stdout.splitlines()
            if "  " in line
        }
        hybrid = float(rows["mirix hybrid"][-6])  # r@10 column
        baseline = float(rows["bm25 baseline (raw turns)"][-6])
        assert hybrid > baseline
    elif script == "bench_scale.py":
        assert "simulated month" in r.stdout and "baseline LIKE scan" in r.stdout
        sorted_n = re.search(r"(\d+) sorted in", r.stdout)
        assert sorted_n and int(sorted_n.group(1)) > 1000
    else:
        assert "mirix hybrid" in r.stdout and "baseline numpy brute-force cosine" in r.stdout
