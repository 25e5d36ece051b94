"""Smoke test of the screen QA benchmark: `bench_screen_qa.py --quick` runs end to end (Xvfb,
real Qt windows, real capture and OCR, the agent pipeline with the shipped model, chat answers)
and prints the score table whatever the answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench" / "bench_screen_qa.py"


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_bench_screen_qa_quick_prints_the_table(tmp_path: Path) -> None:
    require_tools("Xvfb", "tesseract")
    out_json = tmp_path / "screen_qa.json"
    env = {**os.environ, "MIRIX_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path)}
    env.pop("DISPLAY", None)  # the bench starts its own Xvfb
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--threads", "1", "--json", str(out_json)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=380,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"
    assert "Screen QA: answer <= 40 words holding every expected fact" in out, out
    assert "| category " in out and "| **overall (answerable)** " in out, out
    assert "| unanswerable (says it doesn't know) " in out, out
    assert "Answer latency (in-process, ask + full text): p50 " in out, out
    assert "| capture (tick per screen" in out and "| agent pipeline drain" in out, out
    data = json.loads(out_json.read_text())
    # The real capture path read every screen, with its window context.
    assert data["captures"] and all(c["kept"] for c in data["captures"]), data["captures"]
    assert any("K7Q2ZP" in c["text"] for c in data["captures"]), "the flight e-mail was not read"
    assert all(c["app"] for c in data["captures"]), "no app name seen"
    assert data["answers"] and all(a["text"] for a in data["answers"])
    assert sum(data["memories"].values()) > 0, data["memories"]
    # The Xvfb and its temp memory dir are gone.
    assert not list(tmp_path.glob("mirix-bench-screenqa-*"))
