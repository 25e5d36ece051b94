"""Settings, the model section (`ModelPanel`): which model does what (chat, agent), the model
servers found on this computer (settings_servers) and the catalogue of downloadable models
(settings_downloads). Every network or disk step runs in a worker (servers, speed, "use") or in
the download's own thread; the panel only polls counters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from mirix_app.ui.services import Services
from mirix_app.ui.settings_downloads import DownloadsBox
from mirix_app.ui.settings_servers import ServersBox
from mirix_app.ui.workers import Runner

ROLE_LABELS = {"chat": "chat", "agent": "the agent", "both": "chat and the agent"}


class ModelPanel(QWidget):
    """Which model does what; servers on this computer; the catalogue and its downloads."""

    message = Signal(str)
    model_changed = Signal()  # a role's model changed (the settings form reloads)
    servers_found = Signal(object)  # list[discovery.Server]

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

        roles = QGroupBox("Which model does what")
        rl = QFormLayout(roles)
        self.chat_role = QLabel("")
        self.agent_role = QLabel("")
        for w in (self.chat_role, self.agent_role):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            w.setWordWrap(True)
        rl.addRow("Chat (answers you)", self.chat_role)
        rl.addRow("Agent (sorts what is captured)", self.agent_role)
        lay.addWidget(roles)

        self.servers_box = ServersBox(services, runner)
        self.downloads_box = DownloadsBox(services, runner)
        lay.addWidget(self.servers_box)
        lay.addWidget(self.downloads_box)
        for box in (self.servers_box, self.downloads_box):
            box.use_requested.connect(self._use)
        self.servers_box.servers_found.connect(self.servers_found)
        # The boxes' widgets, by the names the panel has always offered (tests, main window).
        sb, db = self.servers_box, self.downloads_box
        self.server_tree, self.server_status = sb.server_tree, sb.server_status
        self.use_chat, self.use_agent, self.use_both = sb.use_chat, sb.use_agent, sb.use_both
        self.table, self.progress, self.timer = db.table, db.progress, db.timer
        self.download_status, self.speed_basis = db.download_status, db.speed_basis
        self.download_btn, self.pause_btn, self.cancel_btn = (
            db.download_btn,
            db.pause_btn,
            db.cancel_btn,
        )
        self.dl_chat, self.dl_agent, self.dl_both = db.dl_chat, db.dl_agent, db.dl_both
        self.selected_server_model = sb.selected_server_model
        self.select_entry, self.selected_entry = db.select_entry, db.selected_entry

    def activate(self) -> None:
        """The page was shown: refresh roles and the catalogue; look for servers the first time."""
        self.refresh_roles()
        self.downloads_box.refresh_catalogue()
        if not self.servers_box.scanned and self.services.chat_available:
            self.servers_box.scan()

    def show_servers(self, servers: list[Any], scanned: bool = False) -> None:
        """Show servers found elsewhere (the first-run look); `scanned`: no need to look again."""
        self.servers_box.show_servers(servers)
        self.servers_box.scanned = self.servers_box.scanned or scanned

    def refresh_roles(self) -> None:
        def done(roles: dict[str, dict[str, Any]]) -> None:
            for role, label in (("chat", self.chat_role), ("agent", self.agent_role)):
                label.setText(_describe(roles.get(role, {})))

        self.runner.submit(self.services.model_roles, name="model roles", on_done=done)

    def _use(self, role: str, fields: dict[str, Any], what: str) -> None:
        """Save the choice, rebuild the agent and load the model, all in workers: usable at
        once, no restart."""
        self.server_status.setText(f"Switching {ROLE_LABELS[role]} to {what}…")

        def work() -> None:
            self.services.use_model(role, fields)
            self.services.load_model()

        def done(_: Any) -> None:
            text = f"{what} is now used for {ROLE_LABELS[role]}."
            self.server_status.setText(text)
            self.download_status.setText(text)
            self.message.emit(text)
            self.refresh_roles()
            self.model_changed.emit()

        def failed(e: BaseException) -> None:
            text = f"Could not switch to {what}: {e}"
            self.server_status.setText(text)
            self.message.emit(text)
            self.refresh_roles()
            self.model_changed.emit()

        self.runner.submit(work, name="use model", slow=True, on_done=done, on_error=failed)


def _describe(fields: dict[str, Any]) -> str:
    if not fields:
        return "—"
    if fields.get("backend") == "openai":
        return f"{fields.get('model') or '(server default)'} at {fields.get('endpoint')}"
    path = str(fields.get("path") or "")
    return Path(path).name if path else "SmolLM2-135M-Instruct (shipped)"
