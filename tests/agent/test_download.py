"""Downloads end to end against a local HTTP server (127.0.0.1) that serves the shipped GGUF under
Hugging Face's URL layout: resume after a cut connection, pause/resume with Range, cancel, a wrong
checksum rejected and the file deleted, offline, and a full disk (a real ENOSPC on a 1 MB tmpfs,
as root)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirix_app.agent import catalogue
from mirix_app.agent.download import (
    ChecksumMismatch,
    DiskFull,
    Download,
    DownloadStopped,
    Offline,
)
from mirix_app.paths import Paths
from tests.agent.local_servers import HubServer, free_port, shipped_entry, shipped_gguf

MB = 1 << 20


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths.under(tmp_path / "home").ensure()


def _leftovers(paths: Paths) -> list[str]:
    d = catalogue.models_dir(paths)
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_catalogue_entries_are_complete_and_labelled() -> None:
    ids = {e.id for e in catalogue.CATALOGUE}
    assert {
        "qwen2.5-1.5b-instruct-q4_k_m",
        "qwen2.5-3b-instruct-q4_k_m",
        "qwen2.5-7b-instruct-q4_k_m",
        "llama-3.2-3b-instruct-q4_k_m",
        "gemma-3-4b-it-q4_k_m",
        "phi-4-mini-instruct-q4_k_m",
    } == ids
    for e in catalogue.CATALOGUE:
        assert len(e.sha256) == 64 and int(e.sha256, 16) >= 0, e.id
        assert len(e.revision) == 40 and e.filename.endswith(".gguf") and e.size_bytes > 5e8
        assert "not verified" in e.sha256_source and not e.verified_here
        assert e.url().startswith(f"https://huggingface.co/{e.repo}/resolve/{e.revision}/")
        assert e.ram_bytes() > e.size_bytes
    ref = catalogue.ReferenceSpeed("SmolLM2.gguf", 100 * MB, 80.0, 64, 1, "now")
    q = catalogue.entry("qwen2.5-1.5b-instruct-q4_k_m")
    est = catalogue.Estimate(q, q.ram_bytes(), True, catalogue.estimate_speed(q, ref), ref)
    assert est.tokens_per_second is not None
    assert abs(est.tokens_per_second - 80.0 * 100 * MB / q.size_bytes) < 1e-9
    assert "estimate" in est.speed_text() and "estimate" in est.ram_text()


@pytest.mark.slow
def test_download_verifies_reports_progress_and_loads(home: Paths) -> None:
    e = shipped_entry()
    seen: list[tuple[int, int]] = []
    with HubServer(shipped_gguf()) as hub:
        dl = Download(e, home, endpoint=hub.endpoint, progress=lambda d, t: seen.append((d, t)))
        path = dl.run()
    assert path == catalogue.models_dir(home) / e.filename and dl.state == "done"
    assert catalogue.installed_path(home, e) == path and _leftovers(home) == [e.filename]
    assert seen[-1] == (e.size_bytes, e.size_bytes) and len(seen) > 10
    assert [r["range"] for r in hub.requests] == [None]
    assert path.read_bytes()[:4] == b"GGUF"
    assert oct(catalogue.models_dir(home).stat().st_mode & 0o777) == "0o700"


@pytest.mark.slow
def test_resumes_after_a_cut_connection_with_range(home: Paths) -> None:
    e = shipped_entry()
    with HubServer(shipped_gguf(), cut_after=30 * MB) as hub:
        dl = Download(e, home, endpoint=hub.endpoint)
        dl.run()
    ranges = [r["range"] for r in hub.requests]
    print(f"\nrequests after a cut at 30 MB: {ranges}")
    assert ranges[0] is None and len(ranges) == 2 and ranges[1].startswith("bytes=")
    assert int(ranges[1][6:-1]) >= 29 * MB and dl.resumes == 1
    assert _leftovers(home) == [e.filename]


@pytest.mark.slow
def test_pause_then_resume_and_cancel(home: Paths) -> None:
    e = shipped_entry()
    with HubServer(shipped_gguf()) as hub:
        box: list[Download] = []

        def pause_at_20mb(done: int, total: int) -> None:
            if done >= 20 * MB:
                box[0].pause()

        dl = Download(e, home, endpoint=hub.endpoint, progress=pause_at_20mb)
        box.append(dl)
        with pytest.raises(DownloadStopped):
            dl.run()
        assert dl.state == "paused" and dl.part.is_file()
        kept = dl.part.stat().st_size
        assert 20 * MB <= kept < e.size_bytes
        dl.progress = None
        dl.run()  # resumes
        assert hub.requests[-1]["range"] == f"bytes={kept}-" and dl.state == "done"
        # Cancel: the partial file goes.
        other = Download(shipped_entry(), Paths.under(home.data.parent / "b").ensure(),
                         endpoint=hub.endpoint)  # fmt: skip
        other.progress = lambda d, t: other.cancel() if d >= 10 * MB else None
        with pytest.raises(DownloadStopped):
            other.run()
        assert other.state == "cancelled" and not other.part.exists()
        assert _leftovers(other.paths) == []


@pytest.mark.slow
def test_wrong_checksum_is_rejected_and_the_file_deleted(home: Paths) -> None:
    e = shipped_entry()
    with HubServer(shipped_gguf(), corrupt=True) as hub:
        dl = Download(e, home, endpoint=hub.endpoint)
        with pytest.raises(ChecksumMismatch, match="deleted"):
            dl.run()
    assert dl.state == "failed" and _leftovers(home) == []
    # A catalogue value that is wrong (or a changed upstream file) is caught the same way.
    with HubServer(shipped_gguf()) as hub:
        bad = Download(shipped_entry(sha256="0" * 64), home, endpoint=hub.endpoint)
        with pytest.raises(ChecksumMismatch):
            bad.run()
    assert _leftovers(home) == []


def test_offline_is_a_clear_error_and_writes_nothing(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = shipped_entry()
    dl = Download(e, home, endpoint=f"http://127.0.0.1:{free_port()}")  # nothing listens
    with pytest.raises(Offline) as err:
        dl.run()
    assert "offline" in str(err.value) and "nothing was downloaded" in str(err.value)
    assert dl.state == "failed" and _leftovers(home) == []
    # The hub itself with HF_HUB_OFFLINE set: refused before any connection.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    with pytest.raises(Offline, match="HF_HUB_OFFLINE"):
        Download(catalogue.CATALOGUE[0], home).run()


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a tmpfs mount needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow
def test_full_disk_checked_first_and_a_real_enospc_is_clear(tmp_path: Path) -> None:
    e = shipped_entry()
    root = tmp_path / "home"
    with _tmpfs(root / "data", "1m"), HubServer(shipped_gguf()) as hub:
        paths = Paths.under(root).ensure()
        dl = Download(e, paths, endpoint=hub.endpoint)
        with pytest.raises(DiskFull, match="not enough free disk space") as err:
            dl.run()
        assert "nothing was downloaded" in str(err.value)
        assert hub.requests == [] and _leftovers(paths) == []  # checked before connecting
        # The disk fills up during the download (space checked, then used by someone else).
        dl = Download(e, paths, endpoint=hub.endpoint, check_space=False)
        with pytest.raises(DiskFull, match="filled up") as err:
            dl.run()
        assert dl.state == "failed" and _leftovers(paths) == []  # the partial file is gone
        print(f"\nENOSPC: {err.value}")


@pytest.mark.slow
def test_cli_catalogue_download_and_use(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mirix model catalogue` prints estimates labelled as such; `mirix model download ID --use
    agent` downloads, verifies and switches the agent role."""
    import json

    from mirix_app.agent.settings import ModelSettings
    from mirix_app.cli import main
    from mirix_app.config import Settings

    e = shipped_entry()
    monkeypatch.setattr(catalogue, "CATALOGUE", (e, *catalogue.CATALOGUE))
    ref = catalogue.ReferenceSpeed(shipped_gguf().name, e.size_bytes, 50.0, 64, 1, "t")
    f = paths.cache / "speed" / "reference.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(ref.__dict__))
    assert main(["model", "catalogue"]) == 0
    out = capsys.readouterr()
    assert "qwen2.5-7b-instruct-q4_k_m" in out.out and "(estimate" in out.out
    assert "not verified by a download" in out.err
    assert main(["model", "catalogue", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    qwen = next(r for r in rows if r["id"] == "qwen2.5-1.5b-instruct-q4_k_m")
    assert abs(qwen["tokens_per_second_estimate"] - 50.0 * e.size_bytes / qwen["size_bytes"]) < 1e-6
    with HubServer(shipped_gguf()) as hub:
        assert main(["model", "download", e.id, "--endpoint", hub.endpoint, "--use", "agent"]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    s = Settings.load(paths)
    assert ModelSettings.for_role(s, "agent").path.endswith(e.filename)
    assert ModelSettings.for_role(s, "chat").path == ""  # chat keeps the shipped model
