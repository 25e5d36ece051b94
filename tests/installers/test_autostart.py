"""Start at login: the XDG file for real (tmp XDG_CONFIG_HOME), macOS and Windows with fakes."""

from __future__ import annotations

import plistlib
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from mirix_app import autostart


def parse_desktop_entry(text: str) -> dict[str, dict[str, str]]:
    """A strict reader of the desktop-entry format: groups, key=value, comments, nothing else."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            assert name not in groups, f"duplicate group {name}"
            assert all(32 <= ord(c) <= 126 and c not in "[]" for c in name)
            current = groups[name] = {}
            continue
        assert current is not None, "key before the first group"
        key, sep, value = line.partition("=")
        key = key.strip()
        assert sep, f"not a key=value line: {line!r}"
        assert (
            key.replace("-", "")
            .replace("[", "")
            .replace("]", "")
            .replace("@", "")
            .replace("_", "")
            .replace(".", "")
            .isalnum()
        ), key
        assert key not in current, f"duplicate key {key}"
        current[key] = value.strip()
    return groups


def unescape_string(value: str) -> str:
    out, i = [], 0
    table = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in table:
            out.append(table[value[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """The Exec key's arguments per the desktop-entry spec (string escapes, then quoting)."""
    s = unescape_string(value)
    args: list[str] = []
    cur: list[str] = []
    i, in_arg = 0, False
    while i < len(s):
        c = s[i]
        if c == " ":
            if in_arg:
                args.append("".join(cur))
                cur, in_arg = [], False
            i += 1
        elif c == '"':
            in_arg = True
            i += 1
            while s[i] != '"':
                if s[i] == "\\":
                    assert s[i + 1] in '"`$\\', f"bad escape in {s!r}"
                    i += 1
                cur.append(s[i])
                i += 1
            i += 1
        else:
            assert c not in "\"'\\><~|&;$*?#()`\t\n", f"reserved {c!r} unquoted in {s!r}"
            in_arg = True
            cur.append(c)
            i += 1
    if in_arg:
        args.append("".join(cur))
    return [a.replace("%%", "%") for a in args]


def check_entry(text: str, command: list[str]) -> dict[str, str]:
    groups = parse_desktop_entry(text)
    entry = groups["Desktop Entry"]
    for required in ("Type", "Name", "Exec"):
        assert entry.get(required), f"{required} missing"
    assert entry["Type"] == "Application"
    assert entry.get("Hidden", "false") == "false"
    assert entry.get("Terminal", "false") == "false"
    assert split_exec(entry["Exec"]) == command
    return entry


def validate_file(path: Path) -> None:
    """desktop-file-validate (Debian: desktop-file-utils): missing fails under CI=true and skips
    elsewhere; it never passes without looking."""
    from tests.reliability.layers import require_tool

    tool = require_tool("desktop-file-validate", "desktop-file-utils")
    out = subprocess.run([tool, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "error" not in out.stdout, out.stdout + out.stderr


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["mirix-app.desktop", "mirix-app-autostart.desktop"])
def test_shipped_desktop_files_are_valid(name: str) -> None:
    path = ROOT / "resources" / "linux" / name
    entry = parse_desktop_entry(path.read_text(encoding="utf-8"))["Desktop Entry"]
    assert entry["Icon"] == "mirix-app" and entry["Type"] == "Application"
    assert split_exec(entry["Exec"])[0].endswith("mirix-app")
    validate_file(path)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("APPIMAGE", raising=False)
    return tmp_path / "xdg"


def test_linux_enable_writes_a_valid_autostart_entry_and_disable_removes_it(xdg: Path) -> None:
    assert not autostart.is_enabled()
    where = autostart.enable()
    path = xdg / "autostart" / "mirix-app.desktop"
    assert where == str(path) == autostart.entry_location()
    assert path.is_file() and autostart.is_enabled()
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    entry = check_entry(path.read_text(encoding="utf-8"), autostart.launch_command())
    validate_file(path)
    argv = split_exec(entry["Exec"])
    # from source: this very interpreter runs the GUI module, minimized to the tray
    assert argv == [sys.executable, "-m", "mirix_app", "--minimized"]
    assert Path(argv[0]).is_file()
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    assert not list(path.parent.glob("*.tmp"))
    autostart.enable()  # idempotent
    assert autostart.is_enabled()
    autostart.disable()
    assert not path.exists() and not autostart.is_enabled()
    autostart.disable()  # nothing to remove: no error


def test_default_config_dir_and_relative_xdg_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert autostart.xdg_autostart_file() == tmp_path / ".config/autostart/mirix-app.desktop"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the spec says: ignore it
    assert autostart.xdg_autostart_file() == tmp_path / ".config/autostart/mirix-app.desktop"


def test_a_user_disabled_entry_counts_as_off(xdg: Path) -> None:
    path = Path(autostart.enable())
    path.write_text(path.read_text() + "Hidden=true\n")
    assert not autostart.is_enabled()


@pytest.mark.parametrize(
    "command",
    [
        ["/opt/mirix/mirix-app", "--minimized"],
        ["/home/a b/My Apps/mirix-app", "--minimized"],
        ['/tmp/we"ird$dir/back\\slash`/100%/mirix-app', "--minimized"],
    ],
)
def test_exec_quoting_round_trips(xdg: Path, command: list[str]) -> None:
    autostart.enable(command)
    check_entry(autostart.xdg_autostart_file().read_text(encoding="utf-8"), command)
    validate_file(autostart.xdg_autostart_file())


def test_frozen_bundle_points_at_the_bundled_gui(
    xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "opt" / "mirix"
    bundle.mkdir(parents=True)
    for name in ("mirix", "mirix-app"):
        (bundle / name).write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(bundle / "mirix"))  # started from the CLI
    assert autostart.launch_command() == [str(bundle / "mirix-app"), "--minimized"]
    entry = check_entry(
        autostart.desktop_entry(autostart.launch_command()),
        [
            str(bundle / "mirix-app"),
            "--minimized",
        ],
    )
    assert entry["Icon"] == "mirix-app"  # the themed icon the .deb installs
    appimage = tmp_path / "mirix-0.1.0-x86_64.AppImage"
    appimage.write_text("")
    monkeypatch.setenv("APPIMAGE", str(appimage))  # the AppImage runtime sets this
    assert autostart.launch_command() == [str(appimage), "--minimized"]


def test_macos_launch_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path))
    cmd = ["/Applications/mirix.app/Contents/MacOS/mirix-app", "--minimized"]
    assert not autostart.is_enabled()
    where = autostart.enable(cmd)
    path = tmp_path / "Library" / "LaunchAgents" / "app.mirix.plist"
    assert where == str(path) and autostart.is_enabled()
    plist = plistlib.loads(path.read_bytes())
    assert plist["Label"] == "app.mirix"
    assert plist["ProgramArguments"] == cmd
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is False
    assert plist["LimitLoadToSessionType"] == "Aqua"
    autostart.disable()
    assert not path.exists() and not autostart.is_enabled()


class FakeWinreg(types.ModuleType):
    """Just enough of winreg: one hive of keys holding values."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_READ = 1
    KEY_SET_VALUE = 2
    REG_SZ = 1

    def __init__(self) -> None:
        super().__init__("winreg")
        self.keys: dict[tuple[str, str], dict[str, Any]] = {}

    class _Key:
        def __init__(self, values: dict[str, Any]) -> None:
            self.values = values

        def __enter__(self) -> FakeWinreg._Key:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def CreateKeyEx(self, hive: str, sub: str, reserved: int, access: int) -> _Key:
        return self._Key(self.keys.setdefault((hive, sub), {}))

    def OpenKey(self, hive: str, sub: str, reserved: int, access: int) -> _Key:
        if (hive, sub) not in self.keys:
            raise FileNotFoundError(sub)
        return self._Key(self.keys[(hive, sub)])

    def SetValueEx(self, key: _Key, name: str, reserved: int, kind: int, value: str) -> None:
        key.values[name] = (value, kind)

    def QueryValueEx(self, key: _Key, name: str) -> tuple[str, int]:
        if name not in key.values:
            raise FileNotFoundError(name)
        return key.values[name]

    def DeleteValue(self, key: _Key, name: str) -> None:
        if name not in key.values:
            raise FileNotFoundError(name)
        del key.values[name]


def test_windows_run_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", fake)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    exe_dir = tmp_path / "Program Files" / "mirix"
    exe_dir.mkdir(parents=True)
    (exe_dir / "mirix-app.exe").write_text("")
    monkeypatch.setattr(sys, "executable", str(exe_dir / "mirix.exe"))
    assert not autostart.is_enabled()
    autostart.disable()  # no key yet: fine
    assert autostart.enable() == (
        r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\mirix"
    )
    value, kind = fake.keys[("HKCU", autostart.RUN_KEY)]["mirix"]
    assert kind == fake.REG_SZ
    # quoted, because the folder has a space in it (as "Program Files" does)
    assert value == f'"{exe_dir / "mirix-app.exe"}" --minimized'
    assert autostart.is_enabled()
    autostart.set_enabled(False)
    assert "mirix" not in fake.keys[("HKCU", autostart.RUN_KEY)]
    assert not autostart.is_enabled()


def test_services_toggle_uses_the_platform_entry(xdg: Path) -> None:
    """The UI's Settings switch goes through this module (no Qt needed to check it)."""
    from mirix_app.ui.services import Services

    saved: dict[str, Any] = {}
    fake_self = types.SimpleNamespace(save_section=lambda name, values: saved.update(values))
    Services.set_start_at_login(fake_self, True)  # type: ignore[arg-type]
    assert autostart.is_enabled() and saved == {"start_at_login": True}
    Services.set_start_at_login(fake_self, False)  # type: ignore[arg-type]
    assert not autostart.is_enabled() and saved == {"start_at_login": False}
