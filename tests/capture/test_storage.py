"""Kept screenshots: encrypted, private, retention and budget delete the oldest first."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest

from mirix_app.capture.errors import ScreenshotUnreadable
from mirix_app.capture.screen import Frame
from mirix_app.capture.storage import ScreenshotStore


def frame(seed: int = 0, w: int = 640, h: int = 360) -> Frame:
    rng = np.random.default_rng(seed)
    a = np.zeros((h, w, 4), dtype=np.uint8)
    a[..., :3] = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    return Frame(1, 0, 0, a)


def store(core: Any, **kw: Any) -> ScreenshotStore:
    return ScreenshotStore(core.paths.screenshots, core.paths.data, core.secrets, **kw)


def test_saved_screenshot_is_encrypted_private_downscaled_and_loads(core: Any) -> None:
    s = store(core, max_width=320)
    ref = s.save(frame(), "cap_01TEST")
    path = core.paths.data / ref
    assert ref.startswith("screenshots/") and ref.endswith(".webp.mxe")
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700
    assert b"RIFF" not in path.read_bytes()[:32]
    img = s.load(ref)
    assert img.size == (320, 180)
    jpeg = store(core, fmt="jpeg")
    assert jpeg.load(jpeg.save(frame(), "cap_01JPEG")).format == "JPEG"


def test_unreadable_screenshots_give_clear_errors(core: Any) -> None:
    s = store(core)
    ref = s.save(frame(), "cap_01BAD")
    path = core.paths.data / ref
    path.write_bytes(b"")
    with pytest.raises(ScreenshotUnreadable, match="empty"):
        s.load(ref)
    path.write_bytes(b"MXE1" + os.urandom(64))
    with pytest.raises(ScreenshotUnreadable, match="cannot be decrypted"):
        s.load(ref)
    path.write_bytes(core.secrets.seal_bytes(b"not an image at all"))
    with pytest.raises(ScreenshotUnreadable, match="corrupt"):
        s.load(ref)
    path.unlink()
    with pytest.raises(ScreenshotUnreadable, match="no longer kept"):
        s.load(ref)


def test_retention_deletes_files_older_than_the_period(core: Any) -> None:
    s = store(core, retention_days=7)
    now = time.time()
    old = [s.save(frame(i), f"cap_OLD{i}", at=now - (10 + i) * 86400) for i in range(3)]
    new = [s.save(frame(i), f"cap_NEW{i}", at=now - i * 3600) for i in range(2)]
    assert s.enforce(now) == 3
    for ref in old:
        assert not (core.paths.data / ref).exists()
    for ref in new:
        assert (core.paths.data / ref).exists()


def test_budget_deletes_the_oldest_first(core: Any) -> None:
    s = store(core, retention_days=365)
    now = time.time()
    refs = [s.save(frame(i), f"cap_B{i}", at=now - (10 - i) * 60) for i in range(6)]
    sizes = [(core.paths.data / r).stat().st_size for r in refs]
    s.budget = sum(sizes[-2:]) + 1  # room for the two newest only
    # A fresh store (as after a restart) finds the files on disk and sorts them by time.
    s2 = store(core, retention_days=365, budget_bytes=s.budget)
    assert s2.enforce(now) == 4
    assert [(core.paths.data / r).exists() for r in refs] == [False] * 4 + [True] * 2
    assert s2.usage() <= s2.budget


def test_orphans_from_a_crash_are_removed(core: Any) -> None:
    s = store(core)
    ref = s.save(frame(), "cap_ORPHAN")
    tmp = core.paths.screenshots / "x.webp.mxe.tmp"
    tmp.write_bytes(b"partial")
    assert s.remove_orphans(lambda cid: cid != "cap_ORPHAN") == 2
    assert not (core.paths.data / ref).exists() and not tmp.exists()
