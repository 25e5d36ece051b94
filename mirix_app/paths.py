"""Every path the app uses, from platformdirs; MIRIX_HOME (or --data-dir) moves them all."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "mirix-app"
HOME_ENV = "MIRIX_HOME"

# Everything we create is the user's alone: directories 0700, files 0600.
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class Paths:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @classmethod
    def default(cls) -> Paths:
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        return cls(
            data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def under(cls, root: Path) -> Paths:
        root = root.expanduser().absolute()
        return cls(
            data=root / "data", config=root / "config", cache=root / "cache", logs=root / "logs"
        )

    # Files and folders inside the data dir.
    @property
    def memory_db(self) -> Path:
        return self.data / "memory.db"

    @property
    def vectors(self) -> Path:
        return self.data / "vectors"

    @property
    def backups(self) -> Path:
        return self.data / "backups"

    @property
    def screenshots(self) -> Path:
        return self.data / "screenshots"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.toml"

    @property
    def log_file(self) -> Path:
        return self.logs / "mirix.log"

    def ensure(self) -> Paths:
        """Create the folders, private to the user, and make new files private too."""
        os.umask(PRIVATE_UMASK)
        for d in (self.data, self.config, self.cache, self.logs):
            make_private_dir(d)
        return self


def make_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def make_private_file(path: Path) -> Path:
    if path.exists():
        os.chmod(path, 0o600)
    return path


def set_home(root: Path | str) -> None:
    """Point every path at `root` (what --data-dir does)."""
    os.environ[HOME_ENV] = str(Path(root).expanduser().absolute())
