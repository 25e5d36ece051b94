"""`mirix doctor` reports truthfully and exits non-zero when something essential is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mirix_app.doctor import (
    FAIL,
    OK,
    check_data_dir,
    check_model,
    check_tesseract,
    report,
    run_checks,
)
from mirix_app.paths import Paths


def test_doctor_on_this_machine(paths: Paths) -> None:
    checks = {c.name: c for c in run_checks(paths)}
    assert checks["embedding model"].status == OK
    assert checks["language model"].status == OK and "SmolLM2" in checks["language model"].detail
    assert checks["tesseract"].status == (OK if shutil.which("tesseract") else FAIL)
    text, code = report(list(checks.values()))
    assert "[ok  ] embedding model" in text
    assert code == (0 if shutil.which("tesseract") else 1)


def test_missing_tesseract_fails_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    c = check_tesseract()
    assert c.status == FAIL and "apt-get install" in c.fix


def test_missing_model_file_and_bad_permissions(paths: Paths, tmp_path: Path) -> None:
    paths.settings_file.write_text(f'[model]\npath = "{tmp_path / "gone.gguf"}"\n')
    c = check_model(paths)
    assert c.status == FAIL and "missing" in c.detail
    (tmp_path / "fake.gguf").write_bytes(b"NOTAGGUF")
    paths.settings_file.write_text(f'[model]\npath = "{tmp_path / "fake.gguf"}"\n')
    assert "not a GGUF" in check_model(paths).detail
    (paths.data / "leak.txt").write_text("x")
    os.chmod(paths.data / "leak.txt", 0o644)
    c = check_data_dir(paths)
    assert c.status == FAIL and "chmod -R go-rwx" in c.fix


def test_cli_exit_code(paths: Paths) -> None:
    env = {**os.environ, "PATH": "/nonexistent"}  # no tesseract on PATH: essential
    r = subprocess.run(
        [sys.executable, "-m", "mirix_app.cli", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 1 and "[FAIL] tesseract" in r.stdout


def test_unreachable_endpoint_is_reported(paths: Paths) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    paths.settings_file.write_text(
        f'[model]\nbackend = "openai"\nendpoint = "http://127.0.0.1:{port}/v1"\n'
    )
    c = check_model(paths)
    assert c.status != OK and "does not answer" in c.detail
