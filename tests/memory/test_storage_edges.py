"""Migrations with backup, keys, settings files, the Chroma server mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirix_app.config import Settings
from mirix_app.errors import InvalidInput, StorageError
from mirix_app.memory import db, schema
from mirix_app.memory.core import MemoryCore, open_data_key
from mirix_app.memory.keys import derive
from mirix_app.paths import Paths


def test_old_plain_schema_is_encrypted_backed_up_then_migrated(paths: Paths) -> None:
    # A data folder from before encryption: plain SQLite, schema v1.
    con = db.sqlite.connect(paths.memory_db)
    con.executescript(f"BEGIN;{schema.MIGRATIONS[0]}PRAGMA user_version=1;COMMIT;")
    con.execute(
        "INSERT INTO memories(id, type, fields, ts, created_at, updated_at) VALUES "
        '(\'sem_01AAAAAAAAAAAAAAAAAAAAAAAA\', \'semantic\', \'{"name": "a", "summary": "b"}\','
        " '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')"
    )
    con.commit()
    con.close()
    core = MemoryCore.open(paths)
    assert core.store.con.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert not db.is_plaintext(paths.memory_db)
    assert b"sem_01AAAA" not in paths.memory_db.read_bytes()
    backups = list(paths.backups.glob("memory-v1-*.db"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    assert not db.is_plaintext(backups[0])
    old = db.connect(backups[0], derive(open_data_key(paths), "database"))
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert core.get("sem_01AAAAAAAAAAAAAAAAAAAAAAAA").fields["name"] == "a"
    assert core.inbox.backlog() == 0  # the v2 table exists


def test_newer_schema_is_refused(paths: Paths) -> None:
    con = db.sqlite.connect(paths.memory_db)
    con.execute(f"PRAGMA user_version={schema.LATEST + 1}")
    con.close()
    with pytest.raises(StorageError, match="newer mirix-app"):
        MemoryCore.open(paths)


def test_garbage_database_file_is_a_clear_error(paths: Paths) -> None:
    MemoryCore.open(paths).close()
    paths.memory_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a readable mirix database"):
        MemoryCore.open(paths)
    assert paths.memory_db.read_bytes().startswith(b"this is not sqlite")  # untouched


def test_settings_file_errors_are_clear(paths: Paths) -> None:
    paths.settings_file.write_text("[search]\nrrf_k = 'sixty'\n")
    with pytest.raises(InvalidInput, match="rrf_k must be int"):
        Settings.load(paths)
    paths.settings_file.write_text("[search\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        Settings.load(paths)
    paths.settings_file.write_text("[search]\nbogus = 1\n")
    with pytest.raises(InvalidInput, match="unknown setting"):
        Settings.load(paths)


def test_settings_round_trip_keeps_other_sections(paths: Paths) -> None:
    s = Settings()
    s.search.rrf_k = 30
    s.extra["capture"] = {"interval_s": 5}
    s.save(paths)
    again = Settings.load(paths)
    assert again.search.rrf_k == 30 and again.extra["capture"] == {"interval_s": 5}
    assert paths.settings_file.stat().st_mode & 0o777 == 0o600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_same_code_runs_against_a_chroma_server(paths: Paths, tmp_path: Path) -> None:
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        settings = Settings()
        settings.vectors.mode = "http"
        settings.vectors.url = f"http://127.0.0.1:{port}"
        core = MemoryCore.open(paths, settings=settings)
        m = core.new("semantic", {"name": "home server", "summary": "vectors live on the NAS"})
        assert core.search("network attached storage", mode="vector")[0].memory.id == m.id
        assert not paths.vectors.exists()  # nothing embedded locally
    finally:
        server.terminate()
        server.wait(timeout=20)
