"""Smoke test of the work-day benchmark: `bench_workday.py --quick` runs end to end (Xvfb, real Qt
windows and the real mirix GUI, real capture and OCR, both pipelines with the shipped model, a
chat meanwhile) and prints its tables; our capture read none of our own windows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench" / "bench_workday.py"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bench_workday_quick_prints_the_tables(tmp_path: Path) -> None:
    require_tools("Xvfb", "tesseract")
    out_json = tmp_path / "workday.json"
    env = {**os.environ, "MIRIX_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path)}
    env.pop("DISPLAY", None)  # the bench starts its own Xvfb
    cmd = [sys.executable, str(BENCH), "--quick", "--interval", "1", "--chat-every", "8"]
    cmd += ["--questions", "2", "--drain-timeout", "20", "--finish-timeout", "60"]
    cmd += ["--json", str(out_json)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=880)
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"
    assert "ours vs today's pipeline" in out and "| episodic sessions per hour " in out, out
    assert "Backlog over time" in out and "Our sessions:" in out, out
    data = json.loads(out_json.read_text())
    assert data["own_captures"]["ours"] == 0, data["own_captures"]
    assert data["own_captures"]["old"] > 0, "the old capture should have read our windows"
    ours = data["runs"]["ours"]
    assert ours["sessions"] / data["hours"] <= 15, ours["sessions"]
    assert ours["backlog_after_finish"] == 0 and ours["answers"], ours
    assert not list(tmp_path.glob("mirix-bench-workday-*"))  # the temp dir is gone
