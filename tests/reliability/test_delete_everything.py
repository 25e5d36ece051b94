"""Delete everything (passphrase key; the keyring path is tests/reliability/test_keyring_real.py):
memories, inbox, vectors, kept screenshots, backups, logs and caches are gone, the database file is
replaced, the app keeps working, and no byte of what was there is left in the folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType

NEEDLE = "Quetzal-Marmalade-Needle"


def test_delete_everything_clears_logs_caches_screenshots_and_backups(core: Any) -> None:
    from mirix_app.logs import setup_logging
    from mirix_app.memory.core import MemoryCore

    paths = core.paths
    m = core.new("semantic", {"name": NEEDLE, "summary": f"about {NEEDLE}"})
    core.new("vault", {"entry_type": "api_key", "caption": "k", "secret_value": NEEDLE})
    core.inbox.put(InboxItem("chat", text=f"remember {NEEDLE}"))
    shots = paths.screenshots / "20240101"
    shots.mkdir(parents=True)
    (shots / "20240101T000000Z_cap_X.webp.mxe").write_bytes(NEEDLE.encode())
    paths.backups.mkdir(parents=True, exist_ok=True)
    (paths.backups / "before-migration.db").write_bytes(NEEDLE.encode())
    (paths.cache / "capability").mkdir(parents=True, exist_ok=True)
    (paths.cache / "capability" / "model.json").write_text(NEEDLE)
    (paths.cache / "run").mkdir(parents=True, exist_ok=True)
    (paths.cache / "run" / "pause").write_text("")  # the running app's state stays
    setup_logging(paths)
    logging.getLogger("mirix_app.test").info("log line %s", NEEDLE)
    (paths.logs / "mirix.log.1").write_text(NEEDLE)
    salt_before = paths.memory_db.read_bytes()[:16]  # SQLCipher's per-file random salt

    core.delete_everything()

    assert sum(core.store.count().values()) == 0 and core.inbox.backlog() == 0
    assert core.store.history(m.id) == [] and core.vectors.count(MemoryType.SEMANTIC) == 0
    assert not paths.screenshots.exists() and not paths.backups.exists()
    assert [p.name for p in paths.cache.iterdir()] == ["run"]
    assert [p.name for p in paths.logs.iterdir()] == ["mirix.log"]
    assert NEEDLE not in paths.log_file.read_text()
    assert paths.memory_db.read_bytes()[:16] != salt_before  # a new file, not an emptied one
    # The app goes on: new writes land in the new database and survive a reopen.
    core.new("semantic", {"name": "after", "summary": "written after the delete"})
    logging.getLogger("mirix_app.test").info("a line after the delete")
    core.close()
    again = MemoryCore.open(paths)
    try:
        assert [x.fields["name"] for x in again.browse()] == ["after"]
    finally:
        again.close()
    assert "after the delete" in paths.log_file.read_text()
    for root in (paths.data, paths.cache, paths.logs, paths.config):
        for f in Path(root).rglob("*"):
            if f.is_file():
                assert NEEDLE.encode() not in f.read_bytes(), f
