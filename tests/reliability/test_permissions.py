"""Permissions: the data, config, cache and log dirs are 0700 and every file in them 0600, whatever
the umask (the runs here use 022); no process listens on a network socket unless the user enables
one; the GUI's single-instance socket is user-only, in a folder only the user can enter; the MCP
server talks over stdio only.
"""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mirix_app.paths import Paths, private_dir_problem
from tests.capture.conftest import QtWindows, xvfb
from tests.reliability.sandbox import (
    FAST_AGENT,
    PYTHON,
    App,
    McpClient,
    find_python,
    stop,
    wait_for,
)

UMASK = 0o022


# -- what a process has open ------------------------------------------------------------------------
@dataclass
class Sock:
    table: str  # tcp, tcp6, udp, udp6, raw, raw6, unix
    inode: int
    listening: bool
    local: str  # address:port (hex, as /proc shows it) or the unix path ("@..." is abstract)


def socket_inodes(pid: int) -> set[int]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def sockets(pid: int) -> list[Sock]:
    """Every socket `pid` holds, from /proc/<pid>/net/* matched on the socket inodes (the
    tables list the whole network namespace: other processes' sockets are left out)."""
    mine = socket_inodes(pid)
    found: list[Sock] = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            cols = row.split()
            inode = int(cols[9])
            if inode in mine:
                state = cols[3]
                port = int(cols[1].rsplit(":", 1)[1], 16)
                listening = state == "0A" if table.startswith("tcp") else port != 0
                found.append(Sock(table, inode, listening, cols[1]))
    for row in Path(f"/proc/{pid}/net/unix").read_text().splitlines()[1:]:
        cols = row.split()
        inode = int(cols[6])
        if inode in mine:
            flags = int(cols[3], 16)
            found.append(
                Sock("unix", inode, bool(flags & 0x10000), cols[7] if len(cols) > 7 else "")
            )
    return found


def describe(socks: list[Sock]) -> str:
    counts = Counter((s.table, "listening" if s.listening else "connected") for s in socks)
    return ", ".join(f"{n} {t} {state}" for (t, state), n in sorted(counts.items())) or "none"


# -- files ------------------------------------------------------------------------------------------
@dataclass
class Finding:
    path: Path
    mode: int
    what: str

    def __str__(self) -> str:
        return f"{self.what} {oct(self.mode)} {self.path}"


def walk_modes(roots: list[Path]) -> tuple[list[Finding], Counter[str]]:
    """Every dir must be 0700 and every file 0600; returns the findings and a census."""
    bad: list[Finding] = []
    census: Counter[str] = Counter()
    for root in roots:
        assert root.exists(), root
        for dirpath, dirs, files in os.walk(root):
            for name in [".", *dirs, *files]:
                p = Path(dirpath) if name == "." else Path(dirpath, name)
                st = p.lstat()
                mode = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    census["symlink"] += 1
                    bad.append(Finding(p, mode, "symlink"))
                elif stat.S_ISDIR(st.st_mode):
                    if name != ".":
                        continue  # counted when os.walk enters it
                    census[f"dir {mode:o}"] += 1
                    if mode != 0o700:
                        bad.append(Finding(p, mode, "dir"))
                elif stat.S_ISREG(st.st_mode):
                    census[f"file {mode:o}"] += 1
                    if mode != 0o600:
                        bad.append(Finding(p, mode, "file"))
                else:
                    census["other"] += 1
                    if mode & 0o077:
                        bad.append(Finding(p, mode, "special"))
                if st.st_uid != os.getuid():
                    bad.append(Finding(p, mode, f"owned by uid {st.st_uid}"))
    return bad, census


def roots_of(home: Path) -> list[Path]:
    """MIRIX_HOME holds the four dirs: walking it covers them (and the home itself)."""
    p = Paths.under(home)
    for d in (p.data, p.config, p.cache, p.logs):
        assert d.is_dir() and d.parent == home, d
    return [home]


def assert_private(home: Path) -> None:
    bad, census = walk_modes(roots_of(home))
    print(f"\nmodes under {home}: {dict(census)}")
    assert bad == [], "\n".join(map(str, bad))


SETTINGS = textwrap.dedent(
    """
    import json, sys
    from mirix_app.config import Settings
    from mirix_app.paths import Paths
    paths = Paths.default()
    s = Settings.load(paths)
    s.extra.update(json.loads(sys.argv[1]))
    s.save(paths)
    """
)


def save_settings(app: App, extra: dict[str, Any]) -> None:
    """Through the app's own writer (Settings.save), under the test's umask."""
    import json

    r = subprocess.run(
        [PYTHON, "-c", SETTINGS, json.dumps(extra)],
        env=app.env(),
        umask=UMASK,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr


# -- quick ------------------------------------------------------------------------------------------
def test_cli_run_leaves_only_private_files_under_umask_022(tmp_path: Path) -> None:
    home = tmp_path / "home"
    app = App(home, umask=UMASK)
    save_settings(app, {"ui": {"start_at_login": False}})
    app.mirix("add", "semantic", "name=Carla", "summary=Carla runs the Lisbon office")
    app.mirix(
        "add",
        "vault",
        "entry_type=password",
        "caption=router",
        "secret_value=pw-77",
        "sensitivity=high",
    )
    app.mirix("search", "Lisbon")
    app.mirix("export", str(home / "data" / "export.jsonl"))
    app.mirix("capture", "--pause", "15m")
    app.mirix("stats")
    assert (home / "data" / "export.jsonl").exists()
    assert any((home / "data" / "vectors").iterdir())
    assert_private(home)


def test_runtime_dir_is_private_and_refuses_a_squatted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = Paths.under(tmp_path / "home")
    shared = tmp_path / "tmp"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)  # like /tmp
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    d = paths.runtime()
    assert d == shared / f"mirix-app-{os.getuid()}" and private_dir_problem(d) is None
    # A private XDG_RUNTIME_DIR is preferred; one open to others is not used.
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert paths.runtime() == xdg / "mirix-app"
    os.chmod(xdg, 0o755)
    assert paths.runtime() == d
    # Ours but left open (an older version, a umask): closed again. Someone else's: refused.
    os.chmod(d, 0o755)
    assert paths.runtime() == d and stat.S_IMODE(d.stat().st_mode) == 0o700
    if os.getuid() != 0:
        pytest.skip("needs root to create a folder owned by another user")
    os.rmdir(d)
    d.mkdir(mode=0o777)
    os.chown(d, 65534, 65534)
    os.chmod(d, 0o777)
    fallback = paths.runtime()
    assert fallback == paths.cache / "run" and private_dir_problem(fallback) is None
    assert stat.S_IMODE(d.stat().st_mode) == 0o777  # not touched


def _check_gui(app: App, gui: subprocess.Popen[str], pid: int, loads_before: int = 0) -> str:
    """While the GUI runs: its only listening socket is the single-instance one, a user-only
    unix socket in a private folder; no inet socket at all."""
    from mirix_app.ui.single import server_name

    name = Path(server_name(Paths.under(app.home)))
    wait_for(lambda: name.exists() or gui.poll() is not None, 60, "the single-instance socket")
    assert gui.poll() is None, gui.communicate()
    log = app.home / "logs" / "mirix.log"
    wait_for(
        lambda: log.exists() and log.read_text().count("loaded SmolLM2") > loads_before,
        90,
        "the GUI to load the model",
    )
    socks = sockets(pid)
    inet = [s for s in socks if s.table != "unix"]
    listening = [s for s in socks if s.listening]
    assert inet == [], inet
    assert len(listening) == 1 and listening[0].table == "unix", listening
    bound = listening[0].local
    assert bound and not bound.startswith("@"), f"abstract socket {bound!r}: no permissions"
    st = name.lstat()
    assert stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0, oct(st.st_mode)
    assert private_dir_problem(name.parent) is None, private_dir_problem(name.parent)
    assert bound.startswith(str(name.parent) + "/"), (bound, name)
    return (
        f"GUI pid {pid}: sockets {describe(socks)}; single-instance {name} "
        f"mode {stat.S_IMODE(st.st_mode):o} in {name.parent} "
        f"({stat.S_IMODE(name.parent.stat().st_mode):o})"
    )


def test_gui_listens_only_on_a_user_only_local_socket(tmp_path: Path) -> None:
    app = App(tmp_path / "home", umask=UMASK)
    gui = app.start_gui()
    pid = gui.pid
    try:
        print("\n" + _check_gui(app, gui, pid))
    finally:
        code, _, err = stop(gui, pid)
    assert code == 0, err
    from mirix_app.ui.single import server_name

    assert not Path(server_name(Paths.under(app.home))).exists()  # removed on quit
    assert_private(app.home)


def test_mcp_server_uses_stdio_only(tmp_path: Path) -> None:
    app = App(tmp_path / "home", umask=UMASK)
    app.mirix("add", "semantic", "name=Carla", "summary=Carla runs the Lisbon office")
    with McpClient(app) as client:
        res = client.call("search_memories", {"query": "Lisbon"})
        assert "Carla" in str(res)
        socks = sockets(client.proc.pid)
        print(f"\nmcp pid {client.proc.pid}: sockets {describe(socks)}")
        assert [s for s in socks if s.table != "unix"] == []
        assert [s for s in socks if s.listening] == []
    assert_private(app.home)


# -- slow: the whole run ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def text_screen() -> Iterator[str]:
    with xvfb() as display, QtWindows(display, app_name="notes") as win:
        win.open("a", "Weekly plan - Notes", ["Ship the beta on Friday", "Call Carla about Lisbon"])
        yield display


@pytest.mark.slow
@pytest.mark.xvfb
def test_full_run_leaves_only_private_files(tmp_path: Path, text_screen: str) -> None:
    home = tmp_path / "home"
    app = App(home, umask=UMASK, env_extra={"DISPLAY": text_screen})
    save_settings(app, FAST_AGENT)
    out = app.mirix("capture", "--once", "--screenshots").stdout
    assert "image: screenshots/" in out, out
    app.mirix("process", "--limit", "1", timeout=400)
    app.mirix("export", str(home / "data" / "export.jsonl"))
    app.mirix("capture", "--pause", "forever")
    loads = (home / "logs" / "mirix.log").read_text().count("loaded SmolLM2")
    assert loads >= 1, "the agent did not load the model"
    gui = app.start_gui()
    pid = find_python(gui, "mirix_app")
    try:
        print("\n" + _check_gui(app, gui, pid, loads))
    finally:
        code, _, err = stop(gui, pid)
    assert code == 0, err
    assert any(home.glob("data/screenshots/*/*.mxe"))
    print("steps:", app.timing_line())
    assert_private(home)
