"""Discovery of model servers on this machine, against a real `python -m llama_cpp.server` with
the shipped SmolLM2 on a free loopback port; and proof that discovery touches 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirix_app.agent import discovery
from mirix_app.agent.discovery import ServerKind, normalize_address
from mirix_app.agent.models import OpenAICompatModel
from mirix_app.errors import InvalidInput
from tests.agent.local_servers import free_port, llama_server, shipped_gguf
from tests.tools import unavailable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with llama_server() as root:
        yield root


def test_addresses_are_normalized() -> None:
    assert normalize_address("127.0.0.1:8081") == "http://127.0.0.1:8081"
    assert normalize_address("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434"
    assert normalize_address("https://box.lan:8443/api/v1") == "https://box.lan:8443/api"
    assert normalize_address("[::1]:8080") == "http://[::1]:8080"
    for bad in ("", "ftp://x", "http://", "http://x:notaport"):
        with pytest.raises(InvalidInput):
            normalize_address(bad)
    kinds = [(k.kind, root) for k, root, _ in discovery.candidates(["127.0.0.1:11434", "b:1"])]
    assert kinds == [
        ("ollama", "http://127.0.0.1:11434"),
        ("lmstudio", "http://127.0.0.1:1234"),
        ("llama-server", "http://127.0.0.1:8080"),
        ("vllm", "http://127.0.0.1:8000"),
        ("custom", "http://b:1"),  # the well-known address is not probed twice
    ]


@pytest.mark.slow
def test_finds_a_real_llama_cpp_server_and_chats_with_its_model(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    closed = free_port()
    known = (
        ServerKind("llama-server", "llama-server / llama-cpp-python", port),
        ServerKind("ollama", "Ollama", closed, "/api/tags"),
    )
    found = discovery.discover(known=known, timeout=5)
    assert [s.kind for s in found] == ["llama-server"], found
    s = found[0]
    assert s.base_url == f"{server}/v1" and not s.user_added
    assert len(s.models) == 1 and s.models[0].endswith(shipped_gguf().name)
    everything = discovery.discover(known=known, timeout=5, include_missing=True)
    assert {x.kind: x.error for x in everything}["ollama"] == "nothing listening"
    # The same server as an address the user added.
    added = discovery.discover([f"127.0.0.1:{port}"], known=(), timeout=5)
    assert added[0].user_added and added[0].models == s.models
    # What "use it" configures works for chat: the OpenAI-compatible backend answers.
    text = OpenAICompatModel(s.base_url, s.models[0], timeout=60).complete(
        [{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0.0
    )
    assert text.strip()


def test_a_port_that_is_not_a_model_server_is_not_listed() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Plain(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = b"<html>hello</html>" if self.path != "/api/tags" else b'{"x": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    Thread(target=srv.serve_forever, daemon=True).start()
    try:
        port = srv.server_address[1]
        out = discovery.discover(
            known=(ServerKind("ollama", "Ollama", port, "/api/tags"),), include_missing=True
        )
        assert not out[0].found and "JSON" in out[0].error
    finally:
        srv.shutdown()
        srv.server_close()


# -- privacy: loopback only, nothing at import ------------------------------------------------------
# A recording (not refusing) audit hook: every connect and name look-up of the process.
PROBE = textwrap.dedent(
    """
    import json, sys
    events = []
    def hook(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                     "socket.gethostbyname_ex", "socket.sendto"):
            addr = args[1] if event in ("socket.connect", "socket.sendto") else args[:2]
            events.append([event, repr(addr)])
    sys.addaudithook(hook)
    import mirix_app.agent.discovery, mirix_app.agent.commands, mirix_app.agent.catalogue
    import mirix_app.agent.download, mirix_app.ui.settings_view, mirix_app.ui.main_window
    at_import = len(events)
    from mirix_app.cli import main
    code = main(["model", "servers", "--json", "--all"])
    print("RESULT" + json.dumps({"code": code, "at_import": at_import, "events": events}))
    """
)


def _run_probe(home: Path, settings: str = "") -> dict[str, Any]:
    (home / "config").mkdir(parents=True, exist_ok=True)
    if settings:
        (home / "config" / "settings.toml").write_text(settings)
    env = {**os.environ, "MIRIX_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("HTTP_PROXY", None)
    r = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT"))
    out: dict[str, Any] = json.loads(line[len("RESULT") :])
    out["stdout"] = r.stdout
    return out


def _hosts_and_ports(events: list[list[str]]) -> tuple[set[str], set[int]]:
    hosts: set[str] = set()
    ports: set[int] = set()
    for _event, addr in events:
        value = eval(addr)  # a repr of a tuple of str/int written by the probe
        hosts.add(str(value[0]))
        if len(value) > 1 and isinstance(value[1], int):
            ports.add(value[1])
    return hosts, ports


def test_discovery_touches_loopback_only_and_nothing_at_import(tmp_path: Path) -> None:
    """`mirix model servers` with no address added: every connect and every name look-up the
    process makes is to 127.0.0.1, on the four well-known ports; importing the modules (CLI and
    Qt pages) makes none."""
    out = _run_probe(tmp_path / "home")
    assert out["code"] == 0 and out["at_import"] == 0, out
    connects = [e for e in out["events"] if e[0] == "socket.connect"]
    hosts, ports = _hosts_and_ports(out["events"])
    print(
        f"\ndiscovery: {len(out['events'])} socket event(s), hosts {hosts}, ports {sorted(ports)}"
    )
    assert connects, "discovery made no connection at all"
    assert hosts == {"127.0.0.1"}, out["events"]
    assert ports <= {11434, 1234, 8080, 8000} and {11434, 1234, 8080, 8000} <= ports


@pytest.mark.slow
def test_user_added_address_is_used_and_still_only_what_the_user_typed(
    tmp_path: Path, server: str
) -> None:
    port = int(server.rsplit(":", 1)[1])
    out = _run_probe(tmp_path / "home", f'[model]\nservers = ["127.0.0.1:{port}"]\n')
    listed = json.loads(out["stdout"].split("RESULT")[0])
    mine = [s for s in listed if s["user_added"]]
    assert mine and mine[0]["models"] and mine[0]["base_url"] == f"{server}/v1"
    hosts, ports = _hosts_and_ports(out["events"])
    assert hosts == {"127.0.0.1"} and port in ports
    assert ports <= {11434, 1234, 8080, 8000, port}


def test_discovery_connects_to_loopback_only_at_the_c_level(tmp_path: Path) -> None:
    """The same under strace (every connect of the process and its threads, Python or not)."""
    import re
    import shutil

    strace = shutil.which("strace")
    if strace is None:
        unavailable("strace", "apt-get install strace")
    home = tmp_path / "home"
    out = tmp_path / "strace.txt"
    env = {**os.environ, "MIRIX_HOME": str(home)}
    cmd = [strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(out)]
    cmd += [sys.executable, "-m", "mirix_app.cli", "model", "servers", "--json"]
    r = subprocess.run(
        cmd,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [x for x in out.read_text().splitlines() if "AF_INET" in x]
    addrs = set(re.findall(r'inet(?:_pton\(AF_INET6, |_addr\()"([^"]+)"', "\n".join(lines)))
    ports = {int(p) for p in re.findall(r"htons\((\d+)\)", "\n".join(lines))}
    print(f"\nstrace: {len(lines)} inet call(s), addresses {addrs}, ports {sorted(ports)}")
    assert lines and addrs == {"127.0.0.1"}, lines
    assert ports == {11434, 1234, 8080, 8000}
