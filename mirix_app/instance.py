"""The running app's local socket, seen from outside Qt: its name, and asking it a question.

The app listens on a socket in a folder only this user can enter (`Paths.runtime()`). Later launches
send one-line commands ("show", "quick-search"); `mirix ask` sends `ask {json}` and reads one JSON
line back, so a question asked from a shell is answered by the warm app (its model, index and
embedder already loaded) instead of a new process loading them all. While the app runs it also
owns the embedded vector index, which another process would read stale.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import socket
import sys
import time
from typing import Any

from mirix_app.paths import Paths

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 4 * 1024 * 1024


def socket_name(paths: Paths) -> str:
    """Per user and data folder, so two test runs (or two MIRIX_HOMEs) don't collide: a full
    socket path in the user's private runtime folder (a pipe name on Windows)."""
    digest = hashlib.sha1(f"{getpass.getuser()}:{paths.data}".encode()).hexdigest()[:16]
    if sys.platform == "win32":
        return f"mirix-app-{digest}"
    return str(paths.runtime() / f"mirix-app-{digest}")


def ask_running(
    paths: Paths, request: dict[str, Any], *, connect_timeout: float = 0.3, timeout: float = 60.0
) -> dict[str, Any] | None:
    """The running app's reply to `request` ({"question", "mode", "remember"}), or None when no
    app answers (not running, locked, an older version, Windows). Never raises for those."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return None
    path = socket_name(paths)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(connect_timeout)
        try:
            sock.connect(path)
        except OSError:
            return None
        sock.settimeout(timeout)
        sock.sendall(b"ask " + json.dumps(request).encode() + b"\n")
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf and len(buf) < MAX_REPLY_BYTES:
            if time.monotonic() > deadline:
                return None
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        line = buf.split(b"\n", 1)[0]
        if not line:
            return None  # an app that does not know "ask" closes without a word
        reply = json.loads(line)
        if not isinstance(reply, dict) or reply.get("error"):
            if isinstance(reply, dict):
                log.info("the running app did not answer: %s", reply.get("error"))
            return None
        return reply
    except (OSError, ValueError) as e:
        log.info("asking the running app failed: %s", type(e).__name__)
        return None
    finally:
        with contextlib.suppress(OSError):
            sock.close()
