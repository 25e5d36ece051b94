"""Capture settings: the `[capture]` table of settings.toml (kept in `Settings.extra`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from mirix_app.config import Settings
from mirix_app.errors import InvalidInput

SECTION = "capture"


@dataclass
class CaptureSettings:
    # Scheduling
    interval_seconds: float = 3.0
    on_focus_change: bool = True  # also capture when the active window changes (X11)
    idle_after_seconds: float = 300.0  # skip while no input for this long; 0 = never skip
    skip_when_locked: bool = True
    # Change detection (see change.py): a 4x4-pixel block counts as changed when its mean
    # per-pixel difference is at least `block_threshold` grey levels; a frame is kept when at
    # least `min_changed_blocks` blocks changed (a blinking cursor is ~6-12,
    # a clock digit ~10, one typed line of 5+ characters 50+).
    block_threshold: int = 24
    min_changed_blocks: int = 48
    # OCR
    ocr_languages: str = "eng"
    ocr_min_confidence: float = 30.0
    ocr_timeout_seconds: float = 60.0
    tesseract_cmd: str = ""  # empty: `tesseract` from PATH
    # Privacy
    default_exclusions: bool = True
    exclude_apps: list[str] = field(default_factory=list)  # regex on the app (WM_CLASS, exe)
    exclude_titles: list[str] = field(default_factory=list)  # regex on the window title
    # Kept screenshots (off by default: text is what memories are made of)
    keep_screenshots: bool = False
    screenshot_format: str = "webp"  # webp | jpeg
    screenshot_quality: int = 50
    screenshot_max_width: int = 1280
    retention_days: float = 30.0
    storage_budget_mb: float = 1024.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CaptureSettings:
        return cls.from_dict(settings.extra.get(SECTION, {}))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CaptureSettings:
        if not isinstance(raw, dict):
            raise InvalidInput("settings: [capture] must be a table")
        s = cls()
        for key, value in raw.items():
            if not hasattr(s, key):
                raise InvalidInput(f"settings: unknown setting capture.{key}")
            expected = type(getattr(s, key))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise InvalidInput(
                    f"settings: capture.{key} must be {expected.__name__}, "
                    f"got {type(value).__name__}"
                )
            setattr(s, key, value)
        s.validate()
        return s

    def validate(self) -> None:
        if self.interval_seconds < 0.1:
            raise InvalidInput("settings: capture.interval_seconds must be at least 0.1")
        if self.screenshot_format not in ("webp", "jpeg"):
            raise InvalidInput("settings: capture.screenshot_format must be webp or jpeg")
        if not 1 <= self.screenshot_quality <= 100:
            raise InvalidInput("settings: capture.screenshot_quality must be 1..100")
        if self.min_changed_blocks < 1 or self.block_threshold < 1:
            raise InvalidInput("settings: capture change thresholds must be positive")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def write_to(self, settings: Settings) -> Settings:
        """Store these values in `settings.extra["capture"]` (call `settings.save` to persist)."""
        defaults = CaptureSettings()
        settings.extra[SECTION] = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }
        return settings
