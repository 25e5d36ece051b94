"""Encryption at rest: memory.db and its WAL are SQLCipher pages under a key from the keyring or
a passphrase; a wrong or missing key is a clear error that changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirix_app.cli import main
from mirix_app.memory import db
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.keys import KeyUnavailable, PassphraseNeeded
from mirix_app.paths import Paths

MARKER = "zanzibar-quokka-marmalade"


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], str]]:
    import keyring
    from keyring.backend import KeyringBackend

    entries: dict[tuple[str, str], str] = {}

    class Backend(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            entries.pop((service, username), None)

    old = keyring.get_keyring()
    monkeypatch.delenv("MIRIX_PASSPHRASE")
    keyring.set_keyring(Backend())
    yield entries
    keyring.set_keyring(old)


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import keyring
    from keyring.backends import fail

    old = keyring.get_keyring()
    monkeypatch.delenv("MIRIX_PASSPHRASE")
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(old)


def _digest(paths: Paths) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(paths.data.glob("memory.db*"))
    } | {"key.json": hashlib.sha256((paths.data / "key.json").read_bytes()).hexdigest()}


def _seed(paths: Paths) -> str:
    with MemoryCore.open(paths) as core:
        core.new("semantic", {"name": MARKER, "summary": f"{MARKER} lives in the archive"})
        return core.new(
            "vault", {"entry_type": "pin", "secret_value": "4321-99", "caption": "bank pin"}
        ).id


def test_database_and_wal_hold_no_plaintext(paths: Paths) -> None:
    core = MemoryCore.open(paths)
    core.new("semantic", {"name": MARKER, "summary": f"{MARKER} in the summary"})
    core.inbox.put(InboxItem(kind="chat", text=f"chat about {MARKER}"))
    # Read the files while the connection is open, so the WAL still holds the last pages.
    files = [p for p in paths.data.glob("memory.db*") if p.is_file()]
    assert any(p.name.endswith("-wal") and p.stat().st_size > 0 for p in files)
    for p in files:
        raw = p.read_bytes()
        assert MARKER.encode() not in raw, p.name
        assert b"SQLite format 3" not in raw[:100], p.name
    info = json.loads((paths.data / "key.json").read_text())
    assert info["source"] == "passphrase" and "key" not in info
    assert (paths.data / "key.json").stat().st_mode & 0o777 == 0o600
    assert [h.memory.fields["name"] for h in core.search(MARKER)][:1] == [MARKER]
    core.close()


def test_wrong_passphrase_is_clear_and_touches_nothing(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(paths)
    before = _digest(paths)
    monkeypatch.setenv("MIRIX_PASSPHRASE", "another passphrase")
    with pytest.raises(KeyUnavailable, match="passphrase does not open this data folder"):
        MemoryCore.open(paths)
    assert _digest(paths) == before


def test_missing_key_file_is_clear_and_touches_nothing(paths: Paths) -> None:
    _seed(paths)
    (paths.data / "key.json").unlink()
    before = {p.name: p.read_bytes() for p in paths.data.glob("memory.db*")}
    with pytest.raises(KeyUnavailable, match=r"key\.json is missing"):
        MemoryCore.open(paths)
    assert {p.name: p.read_bytes() for p in paths.data.glob("memory.db*")} == before
    assert not (paths.data / "key.json").exists()


def test_key_is_created_in_the_keyring(
    paths: Paths, memory_keyring: dict[tuple[str, str], str]
) -> None:
    vid = _seed(paths)
    info = json.loads((paths.data / "key.json").read_text())
    assert info["source"] == "keyring" and ("mirix-app", info["keyring_user"]) in memory_keyring
    with MemoryCore.open(paths) as core:
        assert core.reveal_secret(vid) == "4321-99"
    before = _digest(paths)
    # The entry replaced by another key, then gone: clear errors, nothing changed.
    memory_keyring[("mirix-app", info["keyring_user"])] = (
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    )
    with pytest.raises(KeyUnavailable, match="not the one this data folder"):
        MemoryCore.open(paths)
    memory_keyring.clear()
    with pytest.raises(KeyUnavailable, match="not in the OS keyring"):
        MemoryCore.open(paths)
    assert _digest(paths) == before


def test_no_keyring_and_no_passphrase_asks_and_creates_nothing(
    paths: Paths, no_keyring: None
) -> None:
    with pytest.raises(PassphraseNeeded) as e:
        MemoryCore.open(paths)
    assert e.value.new and "MIRIX_PASSPHRASE" in (e.value.hint or "")
    assert not paths.memory_db.exists() and not (paths.data / "key.json").exists()
    # The passphrase the user then gives (here to the API; the app asks in a dialog).
    with MemoryCore.open(paths, passphrase="correct horse battery") as core:
        core.new("semantic", {"name": "a", "summary": "b"})
    with pytest.raises(PassphraseNeeded) as again:
        MemoryCore.open(paths)
    assert not again.value.new


def test_cli_asks_for_the_passphrase_on_a_terminal(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mirix_app.memory import keys

    monkeypatch.setattr(keys, "_session_passphrase", None)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: a clear error
    assert main(["add", "semantic", "name=x", "summary=y"]) == 1
    assert "passphrase is needed" in capsys.readouterr().err
    answers = iter(["s3cret-phrase", "s3cret-phrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["add", "semantic", "name=x", "summary=y"]) == 0
    monkeypatch.setattr(keys, "_session_passphrase", None)
    answers = iter(["wrong-phrase"])
    assert main(["stats"]) == 1
    assert "does not open" in capsys.readouterr().err


def test_plain_database_from_before_encryption_is_migrated(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Build an old-style folder: plain SQLite, vault value sealed with the old salt-derived key.
    with MemoryCore.open(paths) as core:
        vid = core.new("vault", {"entry_type": "pin", "secret_value": "7777", "caption": "door"}).id
        core.new("semantic", {"name": MARKER, "summary": "old"})
        salt = json.loads((paths.data / "key.json").read_text())["salt"]
    from mirix_app.memory.keys import open_raw

    enc = open_raw(paths)
    enc.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('key_salt', ?)", (salt,))
    plain = paths.data / "plain.db"
    enc.execute(f"ATTACH DATABASE '{plain}' AS plain KEY ''")
    enc.execute("SELECT sqlcipher_export('plain')")
    enc.execute("PRAGMA plain.user_version = 2")
    enc.execute("DETACH DATABASE plain")
    enc.close()
    for p in paths.data.glob("memory.db*"):
        p.unlink()
    plain.rename(paths.memory_db)
    (paths.data / "key.json").unlink()
    assert db.is_plaintext(paths.memory_db) and MARKER.encode() in paths.memory_db.read_bytes()

    with MemoryCore.open(paths) as core:
        assert core.reveal_secret(vid) == "7777"
        assert core.search(MARKER)[0].memory.fields["name"] == MARKER
    assert not db.is_plaintext(paths.memory_db)
    for p in paths.data.glob("memory.db*"):
        assert MARKER.encode() not in p.read_bytes()


def test_vectors_hold_no_memory_text(paths: Paths) -> None:
    with MemoryCore.open(paths) as core:
        core.new("semantic", {"name": MARKER, "summary": f"{MARKER} again"})
    for p in Path(paths.vectors).rglob("*"):
        if p.is_file():
            assert MARKER.encode() not in p.read_bytes(), p
