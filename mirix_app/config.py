"""Settings: defaults in code, overridden by settings.toml in the user config dir.

A bad file is a clear error naming the file and the key (InvalidInput): broken TOML, a value of the
wrong type or out of range, an unknown key in a known section. Sections this version does not know
are kept as they are (a newer version may have written them) with a logged warning.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from mirix_app.errors import InvalidInput
from mirix_app.paths import Paths

log = logging.getLogger(__name__)

# Sections read here, and those other modules read from `Settings.extra`.
SECTIONS = ("vectors", "search", "storage")
OTHER_SECTIONS = ("capture", "model", "agent", "ui", "mcp", "runtime")


@dataclass
class VectorSettings:
    # "embedded" keeps vectors in the data dir; "http" uses a Chroma server (e.g. a home server).
    mode: str = "embedded"
    url: str = "http://localhost:8000"


@dataclass
class SearchSettings:
    rrf_k: int = 60
    # Recency adds up to this fraction of a first-rank RRF score for a memory of today: 0.02 is
    # worth about two ranks near the top, a tie-breaker that never buries a better match.
    recency_weight: float = 0.02
    recency_half_life_days: float = 30.0
    # Vector neighbours below this cosine similarity are noise, not matches (MiniLM scale).
    min_similarity: float = 0.15


@dataclass
class StorageSettings:
    busy_timeout_ms: int = 5000
    max_text_bytes: int = 1_000_000


@dataclass
class Settings:
    vectors: VectorSettings = field(default_factory=VectorSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    # Other sections (capture, model, ui) keep their raw tables until their modules read them.
    extra: dict[str, Any] = field(default_factory=dict)
    # Where the values came from, for error messages of the modules that read `extra`; not saved.
    source: str = field(default="settings", compare=False, repr=False)

    @classmethod
    def load(cls, paths: Paths) -> Settings:
        path = paths.settings_file
        if not path.exists():
            return cls()
        fix = "fix or delete the file; defaults are used when it is absent"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise InvalidInput(f"settings file {path} is not valid TOML: {e}", fix) from None
        except UnicodeDecodeError as e:
            raise InvalidInput(
                f"settings file {path} is not valid TOML: not UTF-8 text (byte {e.start})", fix
            ) from None
        except OSError as e:  # a folder, no permission
            raise InvalidInput(
                f"settings file {path} cannot be read: {e.strerror or type(e).__name__}", fix
            ) from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> Settings:
        s = cls(source=source)
        for name in SECTIONS:
            if name not in raw:
                continue
            section = raw[name]
            target = getattr(s, name)
            if not isinstance(section, dict):
                raise InvalidInput(f"{source}: [{name}] must be a table")
            for key, value in section.items():
                setattr(target, key, check_value(target, name, key, value, source))
        s.validate()
        for name in raw:
            if name not in SECTIONS and name not in OTHER_SECTIONS:
                log.warning("%s: unknown section [%s] is ignored (kept as it is)", source, name)
        s.extra = {k: v for k, v in raw.items() if k not in SECTIONS}
        return s

    def validate(self) -> None:
        v, se, st = self.vectors, self.search, self.storage
        checks: list[tuple[bool, str, str]] = [
            (v.mode in ("embedded", "http"), "vectors.mode", "'embedded' or 'http'"),
            (
                v.url.startswith(("http://", "https://")),
                "vectors.url",
                "an http:// or https:// address",
            ),
            (se.rrf_k >= 1, "search.rrf_k", "at least 1"),
            (0.0 <= se.recency_weight <= 1.0, "search.recency_weight", "between 0 and 1"),
            (se.recency_half_life_days > 0, "search.recency_half_life_days", "above 0"),
            (-1.0 <= se.min_similarity <= 1.0, "search.min_similarity", "between -1 and 1"),
            (st.busy_timeout_ms >= 0, "storage.busy_timeout_ms", "0 or more"),
            (st.max_text_bytes >= 1, "storage.max_text_bytes", "at least 1"),
        ]
        for ok, key, want in checks:
            if not ok:  # NaN fails every comparison, so it lands here too
                raise InvalidInput(f"{self.source}: {key} must be {want}")

    def to_dict(self) -> dict[str, Any]:
        out = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        out.update(self.extra)
        return out

    def save(self, paths: Paths) -> Path:
        paths.ensure()
        path: Path = paths.settings_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(self.to_dict()), encoding="utf-8")
        tmp.replace(path)
        return path


def check_value(target: Any, section: str, key: str, value: Any, source: str) -> Any:
    """`value` for `target.key` with the type of its default, or InvalidInput naming the key.

    An int is taken where a float is expected; a bool is never an int; floats must be finite."""
    if key.startswith("_") or not hasattr(target, key):
        raise InvalidInput(f"{source}: unknown setting {section}.{key}")
    expected = type(getattr(target, key))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise InvalidInput(
            f"{source}: {section}.{key} must be {expected.__name__}, got {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{source}: {section}.{key} must be a finite number, got {value}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{source}: {section}.{key} must be a list of strings")
    return value
