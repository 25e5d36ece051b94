"""The real OS keyring: a Secret Service (gnome-keyring-daemon) in its own D-Bus session, no
passphrase, no fake backend.

Each step is a fresh Python process inside one `dbus-run-session` (so a restart really reads the
key back from the daemon): first start (the data key is made and put in the keyring), restart
(read back, the memory is there), an endpoint API key stored and read back, delete everything
(the data key's entry and the API key's entry are gone, a new data key replaces the old one, logs,
caches and screenshots are empty), and a restart after it (the new, empty folder opens).
The keyring's files live in a temporary HOME: the user's own keyring is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.reliability.layers import require_tool
from tests.reliability.sandbox import REPO, write_settings

ENDPOINT = "http://127.0.0.1:9/v1"
API_KEY = "sk-test-Keyring-Roundtrip-4417"

STEP = textwrap.dedent(
    """
    import json, sys
    import keyring
    step = sys.argv[1]
    out = {"step": step, "backend": type(keyring.get_keyring()).__module__}
    from mirix_app.memory.keys import KEYRING_SERVICE, KeyInfo
    from mirix_app.paths import Paths
    paths = Paths.default()
    if step == "api-set":
        from mirix_app.agent.settings import set_api_key
        set_api_key(sys.argv[2], sys.argv[3])
    elif step == "api-get":
        from mirix_app.agent.settings import get_api_key
        out["api_key"] = get_api_key(sys.argv[2])
    else:
        from mirix_app.ui.services import Services
        svc = Services.open(paths, load_plugins=False, vectors_process=False)
        core = svc.core
        if step == "first":
            core.new("semantic", {"name": "Keyring", "summary": "the Lisbon office key fact"})
            shots = paths.screenshots / "20240101"
            shots.mkdir(parents=True)
            (shots / "20240101T000000Z_cap_X.webp.mxe").write_bytes(b"sealed")
            (paths.cache / "capability").mkdir(parents=True, exist_ok=True)
            (paths.cache / "capability" / "m.json").write_text("{}")
            import logging
            from mirix_app.logs import setup_logging
            setup_logging(paths)
            logging.getLogger("mirix_app").info("a line in the log")
        out["memories"] = sum(core.store.count().values())
        info = KeyInfo.load(paths.data / "key.json")
        out["source"], out["user"] = info.source, info.keyring_user
        out["entry"] = keyring.get_password(KEYRING_SERVICE, info.keyring_user) is not None
        if step == "delete":
            svc.delete_everything()
            out["memories_after"] = sum(core.store.count().values())
            core.new("semantic", {"name": "After", "summary": "written after the delete"})
            new = KeyInfo.load(paths.data / "key.json")
            out["new_user"] = new.keyring_user
            out["new_entry"] = keyring.get_password(KEYRING_SERVICE, new.keyring_user) is not None
            out["old_entry"] = keyring.get_password(KEYRING_SERVICE, info.keyring_user) is not None
        svc.close()
    print(json.dumps(out))
    """
)

SESSION = textwrap.dedent(
    """
    set -e
    printf 'keyring-test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    for step in "$@"; do
      case "$step" in
        api-set) "$PY" -c "$STEP" api-set "$ENDPOINT" "$API_KEY" ;;
        api-get) "$PY" -c "$STEP" api-get "$ENDPOINT" ;;
        *) "$PY" -c "$STEP" "$step" ;;
      esac
    done
    """
)


@pytest.mark.slow
def test_real_secret_service_first_start_restart_api_key_and_delete_everything(
    tmp_path: Path,
) -> None:
    require_tool("dbus-run-session", "dbus")
    require_tool("gnome-keyring-daemon", "gnome-keyring")
    home = tmp_path / "mirix"
    user_home = tmp_path / "home"
    user_home.mkdir()
    write_settings(home, {"model": {"backend": "openai", "endpoint": ENDPOINT, "model": "m"}})
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MIRIX_PASSPHRASE", "MIRIX_API_KEY", "DBUS_SESSION_BUS_ADDRESS")
        and not k.startswith("XDG_")
    }
    env.update(
        HOME=str(user_home),
        MIRIX_HOME=str(home),
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring",
        PY=sys.executable,
        STEP=STEP,
        ENDPOINT=ENDPOINT,
        API_KEY=API_KEY,
    )
    steps = ["first", "restart", "api-set", "api-get", "delete", "restart", "api-get"]
    r = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", SESSION, "session", *steps],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [o["step"] for o in out] == steps, r.stdout + r.stderr
    first, restart, _set, got, delete, after, got_after = out
    print("\nkeyring steps:", json.dumps(out, indent=1))
    assert all(o["backend"] == "keyring.backends.SecretService" for o in out), out
    # first start: the key went into the keyring, not a passphrase, not a file
    assert first["source"] == "keyring" and first["entry"] and first["memories"] == 1
    key_json = (home / "data" / "key.json").read_text()
    assert "check" in key_json
    # restart: a fresh process reads the key back from the daemon
    assert restart["user"] == first["user"] and restart["entry"] and restart["memories"] == 1
    # the endpoint's API key, stored and read back
    assert got["api_key"] == API_KEY
    # delete everything: both entries gone, a new data key in a new entry
    assert delete["memories_after"] == 0
    assert delete["old_entry"] is False and delete["new_entry"] is True
    assert delete["new_user"] != first["user"]
    assert got_after["api_key"] is None
    # restart after it: the new key opens the folder; only what was written after is there
    assert after["user"] == delete["new_user"] and after["entry"] and after["memories"] == 1
    data, cache, logs = home / "data", home / "cache", home / "logs"
    assert not (data / "screenshots").exists()
    assert [p for p in cache.rglob("*") if p.is_file() and "run" not in p.parts] == []
    assert b"a line in the log" not in b"".join(p.read_bytes() for p in logs.rglob("*.log*"))
    for f in home.rglob("*"):
        if f.is_file():
            assert b"Lisbon office key fact" not in f.read_bytes(), f
    # the daemon kept its keyring under the temporary HOME, not the user's
    assert any((user_home / ".local" / "share" / "keyrings").glob("*.keyring"))
