"""Services, settings: the settings file's sections as the settings page shows and saves them,
the endpoint's API key (OS keyring), consent and start at login, export and import. No Qt."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mirix_app.agent import settings as model_settings
from mirix_app.capture.settings import CaptureSettings
from mirix_app.config import Settings
from mirix_app.memory.clock import now_iso
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.transfer import ImportReport, export_lines, import_memories, parse_lines
from mirix_app.paths import Paths
from mirix_app.ui.service_types import AgentService, CaptureService

log = logging.getLogger(__name__)

# The [capture] and [model] defaults come from their settings classes; [ui] has only these.
UI_DEFAULTS: dict[str, Any] = {"consent_at": "", "start_at_login": False}


class SettingsServices:
    """The settings part of `Services` (a base class: Services sets these attributes)."""

    paths: Paths
    settings: Settings
    capture: CaptureService | None
    agent: AgentService | None
    _lock: threading.RLock
    core: MemoryCore

    def section(self, name: str) -> dict[str, Any]:
        """The [name] table as the settings page shows it: defaults, then what is saved."""
        defaults: dict[str, Any] = {}
        if name == "capture":
            defaults = CaptureSettings().to_dict()
        elif name == "model":
            defaults = dataclasses.asdict(model_settings.ModelSettings())
        elif name == "ui":
            defaults = dict(UI_DEFAULTS)
        have = self.settings.extra.get(name, {})
        return {**defaults, **(have if isinstance(have, dict) else {})}

    def save_section(self, name: str, values: dict[str, Any]) -> Path:
        """Merge `values` into [name] of settings.toml, validated by the owning module first
        (InvalidInput says what is wrong); keys the UI doesn't show are kept."""
        with self._lock:
            fresh = Settings.load(self.paths)
            current = fresh.extra.get(name, {})
            merged = {**(current if isinstance(current, dict) else {}), **values}
            if name == "capture":
                CaptureSettings.from_dict(merged)
            elif name == "model":
                fresh.extra["model"] = merged
                model_settings.ModelSettings.from_settings(fresh)
            fresh.extra[name] = merged
            path = fresh.save(self.paths)
            self.settings.extra[name] = merged
        target = self.capture if name == "capture" else self.agent if name == "model" else None
        apply = getattr(target, "apply_settings", None)
        if apply:
            try:
                apply(self.settings)
            except Exception as e:  # saved anyway; the service reports its own state
                log.warning("%s did not take the new settings: %s", name, e)
        return path

    # The model endpoint's API key lives in the OS keyring (agent.settings), never in the file.
    def set_api_key(self, endpoint: str, key: str) -> None:
        if key:
            model_settings.set_api_key(endpoint, key)
        else:
            model_settings.delete_api_key(endpoint)

    def has_api_key(self, endpoint: str) -> bool:
        try:
            return bool(model_settings.get_api_key(endpoint))
        except Exception as e:  # a broken keyring backend: say "no key", the field stays empty
            log.warning("keyring lookup failed: %s", type(e).__name__)
            return False

    def keyring_status(self) -> tuple[bool, str]:
        """(usable, what to tell the user)."""
        import keyring
        from keyring.backends import fail

        try:
            backend = keyring.get_keyring()
        except Exception as e:
            log.warning("keyring error (%s)", type(e).__name__)
            return False, f"keyring error: {e}"
        if isinstance(backend, fail.Keyring):
            return (
                False,
                "No OS keyring here: start a Secret Service (e.g. gnome-keyring) to store keys, "
                "or set MIRIX_API_KEY for this session.",
            )
        return True, f"Keys are kept in {type(backend).__name__}."

    # consent and login
    def consent_given(self) -> bool:
        return bool(self.section("ui").get("consent_at"))

    def give_consent(self) -> None:
        self.save_section("ui", {"consent_at": now_iso()})

    def autostart_file(self) -> Path:
        from mirix_app import autostart

        return autostart.xdg_autostart_file()

    def set_start_at_login(self, on: bool) -> None:
        """XDG autostart file, macOS LaunchAgent or Windows Run key: mirix_app/autostart.py."""
        from mirix_app import autostart

        autostart.set_enabled(on)
        self.save_section("ui", {"start_at_login": on})

    # export / import (delete everything: Services, it stops capture first)
    def export_to(
        self,
        path: Path,
        *,
        reveal_secrets: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        total = sum(self.core.count().values()) + sum(self.core.count(deleted=True).values())
        n = 0
        tmp = path.with_suffix(path.suffix + ".part")
        with tmp.open("w", encoding="utf-8") as f:
            for line in export_lines(self.core, reveal_secrets=reveal_secrets):
                f.write(line + "\n")
                n += 1
                if progress and n % 200 == 0:
                    progress(n, total)
        tmp.replace(path)
        return n

    def import_from(self, path: Path) -> ImportReport:
        with path.open("rb") as f:
            memories = parse_lines(f, path.name)
        return import_memories(self.core, memories)
