"""`mirix capture` as a process: --once, pause/resume, SIGTERM, and kill -9 mid-capture."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mirix_app.memory.keys import open_raw
from mirix_app.memory.packing import unpack
from mirix_app.paths import Paths
from tests.capture.conftest import QtWindows


def mirix(*args: str, home: Path, **kw: Any) -> subprocess.Popen[str]:
    env = dict(os.environ, MIRIX_HOME=str(home))
    return subprocess.Popen(
        [sys.executable, "-m", "mirix_app.cli", "capture", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    p = mirix(*args, home=home)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


class Reader:
    """Collects a process's stdout lines in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.t = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.t.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def kept(self) -> list[str]:
        return [ln.split()[1] for ln in self.lines if ln.startswith("kept ")]


def rows(home: Path) -> list[tuple[str, str, int]]:
    con = open_raw(Paths.under(home))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = con.execute(
            "SELECT id, text, monitor FROM inbox WHERE kind='capture' ORDER BY seq"
        ).fetchall()
        return [(i, unpack(t) or "", m) for i, t, m in got]
    finally:
        con.close()


@pytest.mark.slow
def test_once_prints_what_was_kept_and_pause_resume(qtwin: QtWindows, mirix_home: Path) -> None:
    qtwin.open("a", "Recipe - Notes", ["Pancakes need two eggs and flour"])
    r = run("--once", home=mirix_home)
    assert r.returncode == 0, r.stderr
    assert "kept cap_" in r.stdout and "Pancakes" in r.stdout and "Recipe - Notes" in r.stdout
    # The log never holds captured text.
    log = (mirix_home / "logs" / "mirix.log").read_text()
    assert "capture kept" in log and "Pancakes" not in log
    assert run("--pause", "15m", home=mirix_home).returncode == 0
    assert "paused until" in run("--status", home=mirix_home).stdout
    assert run("--pause", "forever", home=mirix_home).returncode == 0
    assert "until resumed" in run("--status", home=mirix_home).stdout
    assert run("--resume", home=mirix_home).returncode == 0
    assert "not paused" in run("--status", home=mirix_home).stdout
    bad = run("--pause", "later", home=mirix_home)
    assert bad.returncode == 1 and "not a duration" in bad.stderr and "hint" in bad.stderr


@pytest.mark.slow
def test_missing_tesseract_cli_error(qtwin: QtWindows, mirix_home: Path) -> None:
    settings = mirix_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('[capture]\ntesseract_cmd = "/nonexistent/tesseract"\n')
    r = run("--once", home=mirix_home)
    assert r.returncode == 1
    assert "tesseract not found" in r.stderr and "apt-get install tesseract-ocr" in r.stderr


@pytest.mark.slow
def test_kill_9_during_capture_loses_nothing_and_duplicates_nothing(
    qtwin: QtWindows, mirix_home: Path
) -> None:
    qtwin.open("a", "Journal", ["Day one of the journal"], w=1400, h=1000)
    proc = mirix("--interval", "0.3", "--screenshots", home=mirix_home)
    reader = Reader(proc)
    n = 0
    deadline = time.monotonic() + 60
    try:
        while len(reader.kept()) < 4 and time.monotonic() < deadline:
            n += 1
            qtwin.append("a", f"Entry {n}: walked {n * 3} kilometres along the river today")
            time.sleep(0.25)
        # Kill while a capture of new content is most likely running.
        qtwin.append("a", "Final entry before the crash happens right now")
        time.sleep(0.15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.t.join(timeout=5)
    committed = reader.kept()
    assert len(committed) >= 4, reader.lines
    after_kill = rows(mirix_home)
    ids = [r[0] for r in after_kill]
    assert set(committed) <= set(ids), "a capture reported as committed is missing"
    assert len(ids) == len(set(ids))

    # Restart twice on the now still screen: at most one new row (if the kill hit before the
    # last screen was committed), and none the second time.
    per_run = []
    for _ in range(2):
        p = mirix("--interval", "0.3", "--screenshots", "--json", home=mirix_home)
        r = Reader(p)
        time.sleep(3)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
        r.t.join(timeout=5)
        per_run.append(r.lines)
    final = rows(mirix_home)
    assert len(final) - len(after_kill) <= 1, per_run
    texts = [t for _id, t, _m in final]
    assert all(a != b for a, b in itertools.pairwise(texts)), "duplicate capture"
    assert "Final entry" in texts[-1]
    # Every kept screenshot belongs to a committed row (orphans were cleaned on restart).
    con = open_raw(Paths.under(mirix_home))
    refs = {r[0] for r in con.execute("SELECT image FROM inbox WHERE image IS NOT NULL")}
    con.close()
    files = {
        p.relative_to(mirix_home / "data").as_posix()
        for p in (mirix_home / "data" / "screenshots").rglob("*.mxe")
    }
    assert files <= refs
    assert not list((mirix_home / "data" / "screenshots").rglob("*.tmp"))
