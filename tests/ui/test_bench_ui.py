"""Smoke test of the UI responsiveness benchmark: `bench_ui.py --quick` runs end to end (Xvfb,
real capture, the real model, a 5k store) and prints both tables with every row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import require_tools, unavailable

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench" / "bench_ui.py"

STALL_ROWS = [
    "| idle ",
    "| typing in quick search ",
    "| capture every ",
    "| agent draining the inbox ",
    "| capture + agent + typing ",
    "| capture cycle in a timer slot ",
    "| search in the textChanged slot ",
    "| one agent batch in a slot ",
]
KEY_ROWS = [
    "| services.search called directly",
    "| quick search popup (ours), app idle",
    "| quick search popup (ours), capture + agent busy",
    "| search in the textChanged slot (blocking baseline)",
]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_bench_ui_quick_prints_the_tables(tmp_path: Path) -> None:
    require_tools("Xvfb", "tesseract")
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    from locomo_data import locomo_path

    if locomo_path() is None:
        unavailable("the LoCoMo dev split", "set MIRIX_LOCOMO")
    env = {**os.environ, "MIRIX_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path)}
    env.pop("DISPLAY", None)  # the bench starts its own Xvfb
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=380,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"
    assert "Qt event-loop stalls" in out
    assert "Quick search: keystroke -> results shown, 5,000 memories" in out
    for row in STALL_ROWS + KEY_ROWS:
        line = next((x for x in out.splitlines() if x.startswith(row)), None)
        assert line is not None, f"missing row {row!r}\n{out}"
        assert "nan" not in line, line
    assert "load average" in out
    # The Xvfb and the helper processes it started are gone.
    assert not list(tmp_path.glob("mirix-bench-ui-*"))
