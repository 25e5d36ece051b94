"""Services, models: which model does what, model servers on this computer, the catalogue and
its downloads. All of these may block (network, disk, hashing): the UI calls them from workers,
except the download controls, which only set flags and read counters. No Qt here."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from mirix_app.agent import settings as model_settings
from mirix_app.config import Settings
from mirix_app.memory.clock import now_iso
from mirix_app.ui.services_settings import SettingsServices

log = logging.getLogger(__name__)


class ModelServices(SettingsServices):
    """The models part of `Services` (a base class: Services sets `_downloads`)."""

    _downloads: dict[str, Any]

    def model_roles(self) -> dict[str, dict[str, Any]]:
        """{"chat": fields, "agent": fields} of each role's model as configured."""
        ms = model_settings.ModelSettings
        return {role: ms.for_role(self.settings, role).model_fields() for role in ("chat", "agent")}

    def use_model(self, role: str, fields: dict[str, Any]) -> None:
        """Use a model (a GGUF path or an endpoint + name) for chat, agent or both, save it and
        rebuild the agent with it; the caller loads it (`load_model`), no restart needed."""
        from mirix_app.agent.settings import ModelSettings, set_role_model

        with self._lock:
            fresh = Settings.load(self.paths)
            base = ModelSettings.for_role(fresh, "chat" if role == "both" else role)
            ms = dataclasses.replace(base, **fields)
            set_role_model(fresh, role, ms)
            fresh.save(self.paths)
            self.settings.extra["model"] = fresh.extra["model"]
        apply = getattr(self.agent, "apply_settings", None)
        if apply is not None:
            apply(self.settings)

    def server_addresses(self) -> list[str]:
        return list(self.section("model").get("servers", []))

    def set_server_addresses(self, addresses: list[str]) -> list[str]:
        from mirix_app.agent.discovery import normalize_address

        roots: list[str] = []
        for a in addresses:
            root = normalize_address(a)
            if root not in roots:
                roots.append(root)
        self._save_model_notes({"servers": roots})
        return roots

    def _save_model_notes(self, values: dict[str, Any]) -> None:
        """Discovery bookkeeping into [model] (addresses, the first-run mark): saved, validated,
        but the agent is not rebuilt (its models did not change)."""
        from mirix_app.agent.settings import ModelSettings

        with self._lock:
            fresh = Settings.load(self.paths)
            current = fresh.extra.get("model", {})
            merged = {**(current if isinstance(current, dict) else {}), **values}
            fresh.extra["model"] = merged
            ModelSettings.from_settings(fresh)
            fresh.save(self.paths)
            self.settings.extra["model"] = merged

    def discover_servers(self, *, first_run: bool = False) -> list[Any]:
        """Model servers answering on 127.0.0.1's usual ports and at the user's addresses (a
        worker calls this: it takes up to about a second). `first_run` records that the
        first-run look happened, so it is not repeated at every start."""
        from mirix_app.agent import discovery

        found = discovery.discover(self.server_addresses())
        if first_run:
            self._save_model_notes({"discovered_at": now_iso()})
        return found

    def first_run_discovery_due(self) -> bool:
        """The first-run look for local servers is due: the user went through the welcome
        (consent) and it has not run yet. Before consent the app touches nothing, not even
        127.0.0.1."""
        if self.agent is None or not self.consent_given():
            return False
        return not self.section("model").get("discovered_at")

    def catalogue(self) -> list[Any]:
        """Catalogue rows with this machine's estimates (RAM, speed)."""
        from mirix_app.agent import catalogue

        return catalogue.estimates(self.paths)

    def installed_model(self, entry_id: str) -> Path | None:
        from mirix_app.agent import catalogue

        return catalogue.installed_path(self.paths, catalogue.entry(entry_id))

    def measure_speed(self) -> Any:
        """Time the shipped model once (seconds of CPU), the basis of the speed estimates."""
        from mirix_app.agent import catalogue

        return catalogue.measure_reference_speed(self.paths)

    def download(self, entry_id: str, *, endpoint: str | None = None) -> Any:
        """Start (or resume) downloading a catalogue model in its own thread; the returned
        `Download` has `state`, `done`, `total`, `error`, `pause()`, `cancel()`."""
        from mirix_app.agent import catalogue
        from mirix_app.agent.download import Download

        with self._lock:
            dl = self._downloads.get(entry_id)
            if dl is None or dl.state in ("cancelled", "done"):
                dl = Download(catalogue.entry(entry_id), self.paths, endpoint=endpoint)
                self._downloads[entry_id] = dl
            if dl.state not in ("running", "verifying"):
                dl.start()
            return dl

    def downloads(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._downloads)
