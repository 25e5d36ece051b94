"""Start the desktop app at login: one entry per platform, written and removed here (no Qt).

- Linux and other XDG desktops: `$XDG_CONFIG_HOME/autostart/mirix-app.desktop` (default
  ~/.config/autostart), a Desktop Entry per the freedesktop autostart spec.
- macOS: a LaunchAgent, `~/Library/LaunchAgents/app.mirix.plist` (RunAtLoad, GUI sessions only).
- Windows: the value `mirix` under `HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run`
  (the Inno Setup installer's "start at login" task writes the same value, so both agree).

The command is the one this copy of the app runs from: the bundled `mirix-app` next to the running
executable in a PyInstaller bundle, the AppImage when run from one, else this Python with
`-m mirix_app`. It always passes --minimized (start in the tray, no window).
"""

from __future__ import annotations

import importlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mirix_app.resources import frozen, resource_path

__all__ = [
    "DESKTOP_FILE",
    "LAUNCH_AGENT_LABEL",
    "RUN_KEY",
    "RUN_VALUE",
    "desktop_entry",
    "disable",
    "enable",
    "entry_location",
    "is_enabled",
    "launch_agent_path",
    "launch_agent_plist",
    "launch_command",
    "set_enabled",
    "xdg_autostart_file",
]

DESKTOP_FILE = "mirix-app.desktop"
LAUNCH_AGENT_LABEL = "app.mirix"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "mirix"
MINIMIZED = "--minimized"


def _platform() -> str:
    """'windows', 'macos' or 'xdg' (Linux, the BSDs: anything with a freedesktop session)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "xdg"


# ------------------------------------------------------------------------------- the command
def launch_command() -> list[str]:
    """argv that starts this copy of the desktop app, minimized to the tray."""
    kind = _platform()
    appimage = os.environ.get("APPIMAGE")
    if kind == "xdg" and appimage and Path(appimage).is_file():
        return [appimage, MINIMIZED]
    if frozen():
        exe = Path(sys.executable)
        gui = exe.with_name("mirix-app.exe" if kind == "windows" else "mirix-app")
        return [str(gui if gui.is_file() else exe), MINIMIZED]
    python = Path(sys.executable)
    if kind == "windows":
        pythonw = python.with_name("pythonw.exe")  # no console window at login
        if pythonw.is_file():
            python = pythonw
    return [str(python), "-m", "mirix_app", MINIMIZED]


# ----------------------------------------------------------------------------- Linux (XDG)
def xdg_autostart_file() -> Path:
    """$XDG_CONFIG_HOME/autostart/mirix-app.desktop; a relative XDG_CONFIG_HOME is ignored."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    config = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return config / "autostart" / DESKTOP_FILE


_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _exec_arg(arg: str) -> str:
    """One argument of a Desktop Entry Exec key (quoting rules of the desktop-entry spec)."""
    arg = arg.replace("%", "%%")  # a literal percent sign is written %%
    if arg and not any(c in _EXEC_RESERVED for c in arg):
        quoted = arg
    else:
        # inside double quotes, ", `, $ and \ take a backslash
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        quoted = f'"{inner}"'
    # the Exec value is itself a string value: its backslashes are escaped once more
    return quoted.replace("\\", "\\\\")


def _string_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_entry(command: Sequence[str]) -> str:
    """The autostart Desktop Entry that runs `command` at login."""
    icon = resource_path("icons", "mirix.png")
    icon_value = str(icon) if icon.is_file() and not frozen() else "mirix-app"
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=mirix",
        "GenericName=Memory assistant",
        "Comment=Your local memory: starts minimized to the tray",
        "Exec=" + " ".join(_exec_arg(a) for a in command),
        "Icon=" + _string_value(icon_value),
        "Terminal=false",
        "Categories=Utility;",
        "StartupNotify=false",
        "X-GNOME-Autostart-enabled=true",
        "X-KDE-autostart-after=panel",
    ]
    return "\n".join(lines) + "\n"


def _xdg_enabled(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    keys = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            keys[key.strip()] = value.strip()
    return keys.get("Hidden", "false") != "true" and (
        keys.get("X-GNOME-Autostart-enabled", "true") != "false"
    )


# ----------------------------------------------------------------------------------- macOS
def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def launch_agent_plist(command: Sequence[str]) -> bytes:
    """A per-user LaunchAgent that starts `command` once when the user logs in."""
    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",  # only in a graphical login, never over ssh
        }
    )


# --------------------------------------------------------------------------------- Windows
def _winreg() -> Any:
    return importlib.import_module("winreg")  # Windows only; tests put a fake in sys.modules


def _run_key_get() -> str | None:
    winreg = _winreg()
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_READ) as key:
            value, _kind = winreg.QueryValueEx(key, RUN_VALUE)
    except OSError:  # FileNotFoundError: no key or no value
        return None
    return str(value)


# ----------------------------------------------------------------------------------- API
def entry_location() -> str:
    """Where the entry lives on this platform (for the UI and `mirix doctor`)."""
    kind = _platform()
    if kind == "windows":
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"
    if kind == "macos":
        return str(launch_agent_path())
    return str(xdg_autostart_file())


def enable(command: Sequence[str] | None = None) -> str:
    """Start the app at login from now on; returns where the entry was written."""
    argv = list(command) if command else launch_command()
    kind = _platform()
    if kind == "windows":
        winreg = _winreg()
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, subprocess.list2cmdline(argv))
        return entry_location()
    if kind == "macos":
        path, data = launch_agent_path(), launch_agent_plist(argv)
    else:
        path, data = xdg_autostart_file(), desktop_entry(argv).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return str(path)


def disable() -> None:
    """Stop starting the app at login (nothing happens when it was not enabled)."""
    kind = _platform()
    if kind == "windows":
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            pass
        return
    path = launch_agent_path() if kind == "macos" else xdg_autostart_file()
    path.unlink(missing_ok=True)


def is_enabled() -> bool:
    kind = _platform()
    if kind == "windows":
        return bool(_run_key_get())
    if kind == "macos":
        return launch_agent_path().is_file()
    return _xdg_enabled(xdg_autostart_file())


def set_enabled(on: bool) -> None:
    if on:
        enable()
    else:
        disable()
