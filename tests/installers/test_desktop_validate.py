"""The .desktop validation looks: a broken entry fails it (the check is not a silent no-op)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.installers.test_autostart import validate_file


def test_validation_rejects_a_broken_desktop_entry(tmp_path: Path) -> None:
    bad = tmp_path / "broken.desktop"
    bad.write_text("[Desktop Entry]\nType=Nonsense\nExec=mirix-app\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        validate_file(bad)
    good = tmp_path / "good.desktop"
    good.write_text("[Desktop Entry]\nType=Application\nName=mirix\nExec=mirix-app\n")
    validate_file(good)
