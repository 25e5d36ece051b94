"""Bulk ingest: kill -9 in the middle leaves whole chunks only, a re-run resumes with no
duplicates and the vectors match; cancel stops between chunks; the CLI prints a progress line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
N, CHUNK = 3000, 250

# A subprocess that ingests with a fast stand-in embedder (the real one would make this test
# take minutes; the write path is the same) and prints each committed chunk.
SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    from pathlib import Path
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.ingest import ingest
    from mirix_app.paths import Paths

    class HashEmbedder:
        model_id, dimensions = "hash", 384
        def embed(self, texts):
            out = np.zeros((len(texts), 384), dtype=np.float32)
            for i, t in enumerate(texts):
                seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "big")
                v = np.random.default_rng(seed).normal(size=384).astype(np.float32)
                out[i] = v / np.linalg.norm(v)
            return out
        def embed_one(self, text):
            return self.embed([text])[0]

    core = MemoryCore(Paths.default(), embedder=HashEmbedder())
    def progress(done, total, s):
        print(f"chunk {done} {total}", flush=True)
    added, skipped = ingest(core, Path(sys.argv[1]), progress=progress,
                            links=sys.argv[2] == "links")
    print(f"done {added} {skipped}", flush=True)
    core.close()
    """
)


def chat(tmp_path: Path) -> Path:
    f = tmp_path / "big.json"
    f.write_text(
        json.dumps(
            [
                {
                    "id": f"m{i}",
                    "speaker": "Ana" if i % 2 else "Ben",
                    "text": f"message {i} about topic {i % 97} and the Porto trip",
                    "time": f"2024-01-{1 + i // 200:02d}T{(i // 10) % 24:02d}:{i % 60:02d}:00Z",
                }
                for i in range(N)
            ]
        )
    )
    return f


def run_script(tmp_path: Path, path: Path, links: str = "links") -> subprocess.Popen[str]:
    script = tmp_path / "ingest_script.py"
    script.write_text(SCRIPT.replace("progress=progress,", f"progress=progress, chunk={CHUNK},"))
    return subprocess.Popen(
        [sys.executable, str(script), str(path), links],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def state() -> tuple[int, int, list[str], dict[str, int]]:
    from mirix_app.memory.keys import open_raw
    from mirix_app.paths import Paths

    con = open_raw(Paths.default())
    try:
        turns = con.execute(
            "SELECT count(*) FROM memories WHERE json_extract(fields, '$.event_type') = "
            "'conversation'"
        ).fetchone()[0]
        fts = con.execute("SELECT count(*) FROM memory_fts").fetchone()[0]
        refs = [
            r[0]
            for r in con.execute(
                "SELECT s.ref FROM sources s JOIN memories m ON m.id = s.memory_id "
                "WHERE json_extract(m.fields, '$.event_type') = 'conversation'"
            )
        ]
        types = dict(con.execute("SELECT type, count(*) FROM memories GROUP BY type").fetchall())
    finally:
        con.close()
    return turns, fts, refs, types


def test_kill_9_mid_import_then_resume(tmp_path: Path) -> None:
    path = chat(tmp_path)
    proc = run_script(tmp_path, path)
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("chunk"):
            seen += 1
            if seen == 3:  # three chunks committed, the fourth in flight
                os.kill(proc.pid, signal.SIGKILL)
                break
        elif not line:
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    turns, fts, refs, _ = state()
    assert turns % CHUNK == 0 and CHUNK * 3 <= turns < N  # whole chunks only
    assert fts == turns and len(refs) == len(set(refs)) == turns

    proc = run_script(tmp_path, path)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    assert f"done {N - turns} {turns}" in out
    turns2, _, refs2, types = state()
    assert turns2 == N and len(set(refs2)) == N == len(refs2)
    # Session and entity memories, made once all turns were in, once.
    assert types["episodic"] > N and types.get("semantic", 0) >= 1

    # The vector index matches the database after the restart (the outbox repaired it).
    check = textwrap.dedent(
        """
        from mirix_app.memory.core import MemoryCore
        from mirix_app.paths import Paths
        import numpy as np
        class Zero:
            model_id, dimensions = "hash", 384
            def embed(self, texts): return np.ones((len(texts), 384), dtype=np.float32) / 384**0.5
            def embed_one(self, t): return self.embed([t])[0]
        core = MemoryCore(Paths.default(), embedder=Zero())
        print(core.check_vectors(), core.store.outbox_size())
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "{'missing': 0, 'stale': 0} 0"


def test_cancel_stops_between_chunks(core: object, tmp_path: Path) -> None:
    from mirix_app.memory.ingest import IngestReport, ingest_messages, parse

    data = json.loads(chat(tmp_path).read_text())[:600]
    report = IngestReport()
    calls: list[int] = []
    ingest_messages(
        core,  # type: ignore[arg-type]
        parse(data),
        str(tmp_path / "x.json"),
        chunk=200,
        cancel=lambda: bool(calls.append(1)) or len(calls) >= 2,
        report=report,
    )
    assert report.cancelled and report.added == 400 and report.linked == 0


@pytest.mark.slow
def test_cli_prints_progress(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mirix_app.cli import main

    f = tmp_path / "c.json"
    f.write_text(json.dumps(json.loads(chat(tmp_path).read_text())[:300]))
    assert main(["ingest", str(f)]) == 0
    out, err = capsys.readouterr()
    assert "ingested 300 messages" in out and "/s" in out
    assert "messages 300/300" in err and "ETA" in err
