"""Capture settings: the `[capture]` table of settings.toml (kept in `Settings.extra`)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, fields
from typing import Any

from mirix_app.config import Settings, check_value
from mirix_app.errors import InvalidInput

SECTION = "capture"


@dataclass(frozen=True)
class Range:
    """The allowed values of a numeric setting: `low` to `high` (None = no upper bound).
    `note` names a special value at the bottom ("0 = never")."""

    low: float
    high: float | None = None
    low_open: bool = False  # the value must be above `low`, not equal to it
    note: str = ""

    def ok(self, value: float) -> bool:
        # NaN fails every comparison, so it is refused too.
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def describe(self) -> str:
        low = f"above {self.low:g}" if self.low_open else f"at least {self.low:g}"
        out = low if self.high is None else f"{low} and at most {self.high:g}"
        return f"{out} ({self.note})" if self.note else out


# The one source of the numeric [capture] ranges: the validator checks them and the settings page
# sets its spin boxes from them. Lower bounds are what the validator has always allowed (a file
# that loaded before still loads); upper bounds are what the settings page offered.
RANGES: dict[str, Range] = {
    "interval_seconds": Range(0.1, 3600.0),
    "idle_after_seconds": Range(0.0, note="0 = never skip"),
    "block_threshold": Range(1),
    "min_changed_blocks": Range(1),
    "ocr_min_confidence": Range(0.0, 100.0),
    "ocr_timeout_seconds": Range(0.0, low_open=True),
    "screenshot_quality": Range(1, 100),
    "screenshot_max_width": Range(16),
    "retention_days": Range(0.0, 3650.0),
    "storage_budget_mb": Range(0.0, 1_000_000.0),
}


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
    # tesseract gives short codes on screens ("14A", "B12") confidences near 10: a higher bar
    # drops real text, a lower one adds almost no junk on screen text.
    ocr_min_confidence: float = 5.0
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
        return cls.from_dict(settings.extra.get(SECTION, {}), source=settings.source)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> CaptureSettings:
        """`source` (the settings file) goes into every error, with the key at fault."""
        if not isinstance(raw, dict):
            raise InvalidInput(f"{source}: [capture] must be a table")
        s = cls()
        for key, value in raw.items():
            setattr(s, key, check_value(s, SECTION, key, value, source))
        s.validate(source)
        return s

    def validate(self, source: str = "settings") -> None:
        for key, rng in RANGES.items():
            if not rng.ok(getattr(self, key)):
                raise InvalidInput(f"{source}: capture.{key} must be {rng.describe()}")
        if self.screenshot_format not in ("webp", "jpeg"):
            raise InvalidInput(f"{source}: capture.screenshot_format must be webp or jpeg")
        for key in ("exclude_apps", "exclude_titles"):
            for pattern in getattr(self, key):
                try:
                    re.compile(pattern)
                except (re.error, TypeError) as e:
                    raise InvalidInput(
                        f"{source}: capture.{key} has a bad pattern {str(pattern)[:60]!r}: {e}",
                        'patterns are Python regular expressions, e.g. "keepass|bitwarden"',
                    ) from None

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
