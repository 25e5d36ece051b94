"""Every path the app uses, from platformdirs; MIRIX_HOME (or --data-dir) moves them all."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mirix_app.errors import StorageError

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

    def runtime(self) -> Path:
        """A folder only this user can enter, for the single-instance socket: a private
        `$XDG_RUNTIME_DIR/mirix-app`, else `<tmp>/mirix-app-<uid>`, else `cache/run`. Never a
        shared folder such as /tmp itself, where another user could squat on the name."""
        if sys.platform == "win32":
            return make_private_dir(self.cache / "run")
        xdg = os.environ.get("XDG_RUNTIME_DIR", "").strip()
        candidates: list[Path] = []
        if xdg and private_dir_problem(Path(xdg)) is None:
            candidates.append(Path(xdg) / APP_NAME)
        if hasattr(os, "getuid"):
            candidates.append(Path(tempfile.gettempdir()) / f"{APP_NAME}-{os.getuid()}")
        for d in candidates:
            try:
                d.mkdir(mode=0o700, exist_ok=True)
                st = d.lstat()
                if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077:
                    os.chmod(d, 0o700)  # ours, left open by an older version or a umask
            except OSError:
                continue
            if private_dir_problem(d) is None:
                return d
        return make_private_dir(self.cache / "run")

    def ensure(self) -> Paths:
        """Create the folders, private to the user, and make new files private too."""
        os.umask(PRIVATE_UMASK)
        for d in (self.data, self.config, self.cache, self.logs):
            make_private_dir(d)
        return self


def make_private_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stat.S_IMODE(path.stat().st_mode) != 0o700:
            os.chmod(path, 0o700)
    except OSError as e:
        raise StorageError(
            f"cannot use the folder {path} ({e.strerror})",
            "check that its disk is mounted and writable and that it belongs to you",
        ) from e
    return path


def private_dir_problem(path: Path) -> str | None:
    """Why `path` is not a folder private to this user (None when it is): it must be a real
    directory (not a symlink), owned by us, with no group or other permissions."""
    try:
        st = path.lstat()
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if sys.platform != "win32":
        if st.st_uid != os.getuid():
            return "belongs to another user"
        if st.st_mode & 0o077:
            return f"is open to others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def make_private_file(path: Path) -> Path:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
    return path


def set_home(root: Path | str) -> None:
    """Point every path at `root` (what --data-dir does)."""
    os.environ[HOME_ENV] = str(Path(root).expanduser().absolute())
