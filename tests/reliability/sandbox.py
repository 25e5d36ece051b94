"""Shared by the reliability suites: run the app's real entry points (`mirix ...`, the GUI, the MCP
server) as subprocesses with their own MIRIX_HOME, optionally behind a network guard:

- layer a: a sitecustomize.py on PYTHONPATH installs `sys.addaudithook`; every Python-level
  connect/sendto/sendmsg/bind on an AF_INET/AF_INET6 socket and every name look-up is recorded
  and refused (AF_UNIX, e.g. the X server, is allowed and recorded separately);
- layer b: `unshare -n` (a fresh network namespace: only a downed loopback) plus
  `strace -f -e trace=socket,connect,bind,sendto,sendmsg,sendmmsg`, which sees the C-level calls
  the audit hook cannot (onnxruntime, llama.cpp, Qt, glibc's resolver).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

# The app must be private and offline on its own: drop what tests/conftest.py sets for the test
# process, so the subprocesses run with what a user's shell would give them.
_DROP_ENV = ("ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "ANONYMIZED_TELEMETRY", "PYTHONPATH")

GUARD_SITE = textwrap.dedent(
    '''
    """Network guard installed by tests/reliability/sandbox.py (layer a)."""
    import json as _json
    import os as _os
    import socket as _socket
    import sys as _sys

    _LOG = _os.environ.get("NETGUARD_LOG", "")
    _INET = (int(_socket.AF_INET), int(_socket.AF_INET6))
    _LOOKUPS = (
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    )
    _ADDRESSED = ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind")


    def _write(rec):
        if not _LOG:
            return
        rec["pid"] = _os.getpid()
        line = (_json.dumps(rec, default=repr) + "\\n").encode()
        fd = _os.open(_LOG, _os.O_WRONLY | _os.O_APPEND | _os.O_CREAT, 0o600)
        try:
            _os.write(fd, line)
        finally:
            _os.close(fd)


    def _hook(event, args):
        if not event.startswith("socket."):
            return
        if event in _ADDRESSED:
            family = getattr(args[0], "family", None)
            family = int(family) if family is not None else None
            addr = args[1] if len(args) > 1 else None
            if family in _INET:
                _write({"event": event, "family": family, "addr": addr, "kind": "inet"})
                raise PermissionError(f"network blocked by test: {event} {addr!r}")
            _write({"event": event, "family": family, "addr": addr, "kind": "local"})
        elif event in _LOOKUPS:
            _write({"event": event, "addr": args, "kind": "lookup"})
            raise PermissionError(f"network blocked by test: {event} {args!r}")


    _write({"event": "start", "kind": "start", "argv": list(_sys.orig_argv)})
    _sys.addaudithook(_hook)
    '''
)

_STRACE_LINE = re.compile(
    r"^(?P<pid>\d+)\s+(?P<call>socket|connect|bind|sendto|sendmsg|sendmmsg)\("
)
_FAMILY = re.compile(r"sa_family=(AF_\w+)")
_SOCKET_FAMILY = re.compile(r"^\d+\s+socket\((AF_\w+)")
INET = ("AF_INET", "AF_INET6")


@dataclass
class StraceCall:
    pid: int
    call: str
    family: str  # AF_INET, AF_UNIX, ... or "" (no address: a connected socket)
    line: str

    @property
    def inet(self) -> bool:
        return self.family in INET


@dataclass
class NetReport:
    audit_inet: list[dict[str, Any]]  # layer a: refused inet calls and name look-ups
    audit_local: int  # layer a: AF_UNIX calls (the X server, Qt's local socket), allowed
    audit_processes: int  # Python processes that ran with the hook installed
    strace_inet: list[StraceCall]  # layer b: connect/bind/send* with an inet address
    strace_unix: int
    strace_other: Counter[str]  # netlink etc.
    inet_sockets: int  # socket(AF_INET*) created (not an attempt by itself)
    strace_lines: int

    @property
    def attempts(self) -> int:
        return len(self.audit_inet) + len(self.strace_inet)

    def line(self) -> str:
        return (
            f"audit hook: {len(self.audit_inet)} inet/look-up attempt(s), {self.audit_local} "
            f"AF_UNIX call(s) allowed, {self.audit_processes} process(es) hooked; strace: "
            f"{len(self.strace_inet)} inet connect/bind/send, {self.strace_unix} AF_UNIX, "
            f"{sum(self.strace_other.values())} other {dict(self.strace_other)}, "
            f"{self.inet_sockets} inet socket(s) created, {self.strace_lines} traced call(s)"
        )


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _strace_path() -> str | None:
    path = shutil.which("strace") or (
        "/usr/bin/strace" if Path("/usr/bin/strace").exists() else None
    )
    if path is None:
        return None
    try:
        ok = subprocess.run(
            [path, "-f", "-qq", "-e", "trace=connect", "-o", os.devnull, "true"], timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return path if ok.returncode == 0 else None


@dataclass
class NetGuard:
    root: Path
    netns: bool
    strace: str | None
    seccomp: bool = True
    steps: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, *, netns: bool = True, strace: bool = True) -> NetGuard:
        root.mkdir(parents=True, exist_ok=True)
        (root / "site").mkdir(exist_ok=True)
        (root / "site" / "sitecustomize.py").write_text(GUARD_SITE, encoding="utf-8")
        (root / "strace").mkdir(exist_ok=True)
        path = _strace_path() if strace else None
        guard = cls(root, netns and _unshare_works(), path)
        if path is not None:
            r = subprocess.run(
                [
                    path,
                    "--seccomp-bpf",
                    "-f",
                    "-qq",
                    "-e",
                    "trace=connect",
                    "-o",
                    os.devnull,
                    "true",
                ],
                capture_output=True,
                timeout=10,
            )
            guard.seccomp = r.returncode == 0
        return guard

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.jsonl"

    def layers(self) -> str:
        return (
            "audit hook"
            + (", network namespace (unshare -n)" if self.netns else ", no network namespace")
            + (", strace" if self.strace else ", no strace")
        )

    def wrap(self, step: str, argv: Sequence[str]) -> list[str]:
        self.steps.append(step)
        prefix: list[str] = []
        if self.netns:
            prefix += ["unshare", "-n", "--"]
        if self.strace:
            out = self.root / "strace" / f"{len(self.steps):02d}-{step}.txt"
            prefix += [self.strace, "-f", "-qq"]
            if self.seccomp:
                prefix.append("--seccomp-bpf")
            prefix += ["-e", "trace=socket,connect,bind,sendto,sendmsg,sendmmsg", "-o", str(out)]
        return [*prefix, *argv]

    def env(self) -> dict[str, str]:
        return {"NETGUARD_LOG": str(self.audit_log), "PYTHONPATH": str(self.site_dir)}

    def audit_records(self) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(x) for x in self.audit_log.read_text().splitlines() if x.strip()]

    def strace_calls(self) -> Iterator[StraceCall]:
        for f in sorted((self.root / "strace").glob("*.txt")):
            for line in f.read_text(errors="replace").splitlines():
                m = _STRACE_LINE.match(line)
                if not m:
                    continue
                call = m.group("call")
                if call == "socket":
                    fam = _SOCKET_FAMILY.match(line)
                    yield StraceCall(int(m.group("pid")), call, fam.group(1) if fam else "", line)
                    continue
                fam2 = _FAMILY.search(line)
                yield StraceCall(int(m.group("pid")), call, fam2.group(1) if fam2 else "", line)

    def report(self) -> NetReport:
        recs = self.audit_records()
        calls = list(self.strace_calls())
        addressed = [c for c in calls if c.call != "socket"]
        return NetReport(
            audit_inet=[r for r in recs if r["kind"] in ("inet", "lookup")],
            audit_local=sum(1 for r in recs if r["kind"] == "local"),
            audit_processes=sum(1 for r in recs if r["kind"] == "start"),
            strace_inet=[c for c in addressed if c.inet],
            strace_unix=sum(1 for c in addressed if c.family == "AF_UNIX"),
            strace_other=Counter(
                c.family for c in addressed if c.family not in ("", "AF_UNIX", *INET)
            ),
            inet_sockets=sum(1 for c in calls if c.call == "socket" and c.inet),
            strace_lines=len(calls),
        )


@dataclass
class App:
    """The app's entry points as subprocesses, all with one MIRIX_HOME."""

    home: Path
    guard: NetGuard | None = None
    umask: int | None = None
    env_extra: dict[str, str] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def timing_line(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.timings)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
        env["MIRIX_HOME"] = str(self.home)
        env.setdefault("MIRIX_PASSPHRASE", "test-passphrase")
        python_path = [str(REPO)]
        if self.guard is not None:
            env.update(self.guard.env())
            python_path.insert(0, env["PYTHONPATH"])
        env.update(self.env_extra)
        env["PYTHONPATH"] = os.pathsep.join(python_path)
        return env

    def argv(self, step: str, argv: Sequence[str]) -> list[str]:
        return self.guard.wrap(step, argv) if self.guard else list(argv)

    def popen(self, step: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen[str]:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        env = {**self.env(), **kw.pop("env", {})}
        return subprocess.Popen(
            self.argv(step, argv),
            env=env,
            cwd=REPO,
            text=True,
            umask=-1 if self.umask is None else self.umask,
            **kw,
        )

    def mirix(
        self, *args: str, step: str | None = None, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`mirix ARGS...`; fails the test with its output when it exits non-zero."""
        argv = [PYTHON, "-m", "mirix_app.cli", *args]
        start = time.monotonic()
        p = self.popen(step or args[0], argv, stdin=subprocess.PIPE if input else None)
        try:
            out, err = p.communicate(input, timeout=timeout)
            self.timings.append((step or args[0], time.monotonic() - start))
        except subprocess.TimeoutExpired:
            kill_tree(p)
            out, err = p.communicate()
            raise AssertionError(f"mirix {' '.join(args)} timed out\n{out}\n{err}") from None
        r = subprocess.CompletedProcess(argv, p.returncode, out, err)
        assert r.returncode == 0, f"mirix {' '.join(args)} exited {r.returncode}\n{out}\n{err}"
        return r

    # -- the GUI ----------------------------------------------------------------------------------
    def start_gui(self, *extra: str, platform: str = "offscreen") -> subprocess.Popen[str]:
        return self.popen(
            "gui",
            [PYTHON, "-m", "mirix_app", "--no-tray", *extra],
            env={"QT_QPA_PLATFORM": platform},
        )

    # -- the MCP server over stdio ----------------------------------------------------------------
    def mcp_call(self, tool: str, arguments: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
        """Start `mirix mcp`, initialize, call one tool, return the JSON-RPC result."""
        with McpClient(self, timeout) as client:
            return client.call(tool, arguments)


class McpClient:
    """A minimal MCP client: newline-delimited JSON-RPC over the server's stdin/stdout."""

    def __init__(self, app: App, timeout: float = 90) -> None:
        self.proc = app.popen("mcp", [PYTHON, "-m", "mirix_app.cli", "mcp"], stdin=subprocess.PIPE)
        self.timeout = timeout
        self._id = 0

    def __enter__(self) -> McpClient:
        self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "reliability-test", "version": "0"},
            },
        )
        self.notify("notifications/initialized")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        self._send({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"mcp server exited ({self.proc.poll()})")
            msg = json.loads(line)
            if msg.get("id") == self._id:
                assert "error" not in msg, msg
                result: dict[str, Any] = msg["result"]
                return result
        raise AssertionError(f"no answer to {method}")

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_tree(self.proc)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


# -- processes ------------------------------------------------------------------------------------
def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def descendants(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [x.decode(errors="replace") for x in raw.split(b"\0") if x]


def find_python(proc: subprocess.Popen[str], module: str, timeout: float = 30) -> int:
    """The pid of the Python process running `module` under `proc` (which may be
    unshare/strace wrapping it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in descendants(proc.pid):
            argv = cmdline(pid)
            if argv and argv[0].endswith(("python", "python3")) and module in argv:
                return pid
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no python running {module} under pid {proc.pid}")


def stop(proc: subprocess.Popen[str], pid: int, timeout: float = 60) -> tuple[int, str, str]:
    """SIGTERM the app process `pid` (inside `proc`'s wrappers) and wait for all of it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()
        raise AssertionError(f"{proc.args!r} did not quit on SIGTERM\n{out}\n{err}") from None
    return proc.returncode, out, err


def kill_tree(proc: subprocess.Popen[str]) -> None:
    for pid in reversed(descendants(proc.pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()


def wait_for(pred: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


# Cheapest real-model settings: one structured-output try per batch and no model judgement of
# close matches (each costs a generation; on a busy 2-core machine one is 30-90 s).
FAST_AGENT = {"agent": {"max_attempts": 1, "decide_with_model": False, "items_per_call": 2}}


def write_settings(home: Path, settings: dict[str, Any]) -> Path:
    """settings.toml in the home's config dir, written 0600 into a 0700 dir as the app would."""
    import tomli_w

    config = home / "config"
    config.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config / "settings.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(tomli_w.dumps(settings))
    return path
