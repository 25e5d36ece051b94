"""Settings: defaults in code, overridden by settings.toml in the user config dir."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from mirix_app.errors import InvalidInput
from mirix_app.paths import Paths


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

    @classmethod
    def load(cls, paths: Paths) -> Settings:
        path = paths.settings_file
        if not path.exists():
            return cls()
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise InvalidInput(
                f"settings file {path} is not valid TOML: {e}",
                "fix or delete the file; defaults are used when it is absent",
            ) from e
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> Settings:
        s = cls()
        for f in fields(cls):
            if f.name == "extra" or f.name not in raw:
                continue
            section = raw[f.name]
            target = getattr(s, f.name)
            if not isinstance(section, dict):
                raise InvalidInput(f"{source}: [{f.name}] must be a table")
            for key, value in section.items():
                if not hasattr(target, key):
                    raise InvalidInput(f"{source}: unknown setting {f.name}.{key}")
                expected = type(getattr(target, key))
                if expected is float and isinstance(value, int):
                    value = float(value)
                if not isinstance(value, expected):
                    raise InvalidInput(
                        f"{source}: {f.name}.{key} must be {expected.__name__}, "
                        f"got {type(value).__name__}"
                    )
                setattr(target, key, value)
        s.extra = {k: v for k, v in raw.items() if k not in {f.name for f in fields(cls)}}
        return s

    def to_dict(self) -> dict[str, Any]:
        out = {
            f.name: dataclasses.asdict(getattr(self, f.name))
            for f in fields(self)
            if f.name != "extra"
        }
        out.update(self.extra)
        return out

    def save(self, paths: Paths) -> Path:
        paths.ensure()
        path: Path = paths.settings_file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(tomli_w.dumps(self.to_dict()), encoding="utf-8")
        tmp.replace(path)
        return path
