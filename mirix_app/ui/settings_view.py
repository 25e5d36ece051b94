"""Settings: capture, privacy, storage, model, login, data folder, export/import, delete all.

The model section (`ModelPanel`) also shows which model does what (chat, agent), the model servers
found on this computer (127.0.0.1 only, plus addresses the user adds) with their models, and the
catalogue of downloadable models with download progress. Every network or disk step runs in a
worker (servers, speed, "use") or in the download's own thread; the panel only polls counters.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mirix_app.capture.settings import RANGES
from mirix_app.ui.services import Services
from mirix_app.ui.widgets import muted, page
from mirix_app.ui.workers import Runner

log = logging.getLogger(__name__)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _set_range(spin: QDoubleSpinBox, key: str) -> None:
    """The spin box of capture.`key` allows what the validator allows (capture/settings.RANGES);
    an open lower bound starts one step above it."""
    rng = RANGES[key]
    low = rng.low + spin.singleStep() if rng.low_open else rng.low
    spin.setRange(low, rng.high if rng.high is not None else 1e9)


class SettingsView(QWidget):
    saved = Signal()
    message = Signal(str)  # shown in the status bar
    pause_requested = Signal(object)  # minutes | None (until resumed)
    resume_requested = Signal()
    data_deleted = Signal()
    data_imported = Signal()

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        root, lay = page(
            "Settings", "Everything stays on this computer unless you choose an endpoint."
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(root)
        outer.addWidget(scroll)

        # Capture ---------------------------------------------------------------------------
        cap = QGroupBox("Capture")
        cf = QFormLayout(cap)
        self.interval = QDoubleSpinBox()
        _set_range(self.interval, "interval_seconds")
        self.interval.setDecimals(1)
        self.interval.setSuffix(" s")
        cf.addRow("Capture every", self.interval)
        self.monitors_label = muted("")
        cf.addRow("Monitors", self.monitors_label)
        pause_row = QHBoxLayout()
        self.pause15 = QPushButton("Pause 15 min")
        self.pause60 = QPushButton("Pause 1 h")
        self.pause_inf = QPushButton("Pause until resumed")
        self.resume_btn = QPushButton("Resume")
        for b in (self.pause15, self.pause60, self.pause_inf, self.resume_btn):
            pause_row.addWidget(b)
        pause_row.addStretch(1)
        cf.addRow("Pause", pause_row)
        lay.addWidget(cap)

        # Privacy -----------------------------------------------------------------------------
        priv = QGroupBox("Privacy")
        pf = QFormLayout(priv)
        self.default_excl = QCheckBox("Skip password managers, private windows and banking apps")
        pf.addRow("", self.default_excl)
        self.excl_apps = QPlainTextEdit()
        self.excl_apps.setPlaceholderText("One app per line (regular expression), e.g. ^signal$")
        self.excl_apps.setFixedHeight(70)
        pf.addRow("Never capture apps", self.excl_apps)
        self.excl_titles = QPlainTextEdit()
        self.excl_titles.setPlaceholderText("One window title pattern per line, e.g. (?i)salary")
        self.excl_titles.setFixedHeight(70)
        pf.addRow("…or windows titled", self.excl_titles)
        lay.addWidget(priv)

        # Storage -----------------------------------------------------------------------------
        sto = QGroupBox("Storage")
        sf = QFormLayout(sto)
        self.keep_shots = QCheckBox("Keep screenshots (encrypted) for the timeline")
        sf.addRow("", self.keep_shots)
        self.retention = QDoubleSpinBox()
        _set_range(self.retention, "retention_days")
        self.retention.setDecimals(0)
        self.retention.setSuffix(" days")
        sf.addRow("Keep screenshots for", self.retention)
        self.budget = QDoubleSpinBox()
        _set_range(self.budget, "storage_budget_mb")
        self.budget.setDecimals(0)
        self.budget.setSuffix(" MB")
        sf.addRow("Storage budget", self.budget)
        lay.addWidget(sto)

        # Model -------------------------------------------------------------------------------
        mod = QGroupBox("Model")
        mf = QVBoxLayout(mod)
        self.m_default = QRadioButton(
            "Shipped default (SmolLM2-135M-Instruct, runs on this computer)"
        )
        self.m_gguf = QRadioButton("A GGUF model file on this computer")
        self.m_openai = QRadioButton("An OpenAI-compatible endpoint (Ollama, llama.cpp server, …)")
        self.model_group = QButtonGroup(self)
        for i, radio in enumerate((self.m_default, self.m_gguf, self.m_openai)):
            self.model_group.addButton(radio, i)
        mf.addWidget(self.m_default)
        mf.addWidget(self.m_gguf)
        gg = QHBoxLayout()
        gg.setContentsMargins(24, 0, 0, 0)
        self.gguf_path = QLineEdit()
        self.gguf_path.setPlaceholderText("/path/to/model.gguf")
        self.gguf_browse = QPushButton("Choose…")
        gg.addWidget(self.gguf_path, 1)
        gg.addWidget(self.gguf_browse)
        mf.addLayout(gg)
        mf.addWidget(self.m_openai)
        ep = QFormLayout()
        ep.setContentsMargins(24, 0, 0, 0)
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("http://localhost:11434/v1")
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("model name (empty: the server's default)")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key (kept in the OS keyring, never in a file)")
        ep.addRow("Endpoint", self.endpoint)
        ep.addRow("Model", self.model_name)
        ep.addRow("API key", self.api_key)
        mf.addLayout(ep)
        self.keyring_label = muted("")
        mf.addWidget(self.keyring_label)
        lay.addWidget(mod)
        self.model_panel = ModelPanel(services, runner)
        self.model_panel.message.connect(self.message)
        self.model_panel.model_changed.connect(self.load)
        lay.addWidget(self.model_panel)

        # App ---------------------------------------------------------------------------------
        app = QGroupBox("App")
        af = QFormLayout(app)
        self.login = QCheckBox("Start mirix when I log in")
        af.addRow("", self.login)
        folder = QHBoxLayout()
        self.data_dir = QLabel(str(services.paths.data))
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder = QPushButton("Open")
        folder.addWidget(self.data_dir, 1)
        folder.addWidget(self.open_folder)
        af.addRow("Data folder", folder)
        af.addRow(
            "",
            muted("To keep your data elsewhere, start mirix with MIRIX_HOME=/path or --data-dir."),
        )
        lay.addWidget(app)

        # Data --------------------------------------------------------------------------------
        data = QGroupBox("Your data")
        dl = QHBoxLayout(data)
        self.export_btn = QPushButton("Export memories…")
        self.import_btn = QPushButton("Import…")
        self.delete_btn = QPushButton("Delete everything…")
        self.delete_btn.setObjectName("Danger")
        dl.addWidget(self.export_btn)
        dl.addWidget(self.import_btn)
        dl.addStretch(1)
        dl.addWidget(self.delete_btn)
        lay.addWidget(data)

        for spin in (self.interval, self.retention, self.budget):
            spin.setMaximumWidth(180)
        foot = QHBoxLayout()
        self.status = muted("")
        self.save_btn = QPushButton("Save settings")
        self.save_btn.setObjectName("Primary")
        self.revert_btn = QPushButton("Revert")
        foot.addWidget(self.status, 1)
        foot.addWidget(self.revert_btn)
        foot.addWidget(self.save_btn)
        lay.addLayout(foot)
        lay.addStretch(1)

        self.save_btn.clicked.connect(self.save)
        self.revert_btn.clicked.connect(self.load)
        self.gguf_browse.clicked.connect(self._browse_gguf)
        self.open_folder.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(services.paths.data)))
        )
        self.export_btn.clicked.connect(lambda: self.export_to(None))
        self.import_btn.clicked.connect(lambda: self.import_from(None))
        self.delete_btn.clicked.connect(lambda: self.delete_everything(None))
        self.pause15.clicked.connect(lambda: self.pause_requested.emit(15))
        self.pause60.clicked.connect(lambda: self.pause_requested.emit(60))
        self.pause_inf.clicked.connect(lambda: self.pause_requested.emit(None))
        self.resume_btn.clicked.connect(self.resume_requested)
        self.model_group.idToggled.connect(lambda *_: self._model_enabled())
        self.load()

    # -- load/save ---------------------------------------------------------------------------
    def activate(self) -> None:
        self.model_panel.activate()
        monitors = self.services.monitors()
        if monitors:
            self.monitors_label.setText("All connected monitors: " + ", ".join(monitors))
        elif self.services.capture_available:
            self.monitors_label.setText("All connected monitors")
        else:
            self.monitors_label.setText("Capture is not installed on this computer.")

    def load(self) -> None:
        c = self.services.section("capture")
        self.interval.setValue(float(c.get("interval_seconds", 3.0)))
        self.default_excl.setChecked(bool(c.get("default_exclusions", True)))
        self.excl_apps.setPlainText("\n".join(c.get("exclude_apps", [])))
        self.excl_titles.setPlainText("\n".join(c.get("exclude_titles", [])))
        self.keep_shots.setChecked(bool(c.get("keep_screenshots", False)))
        self.retention.setValue(float(c.get("retention_days", 30)))
        self.budget.setValue(float(c.get("storage_budget_mb", 1024)))
        m = self.services.section("model")
        backend = m.get("backend", "llama")
        path = str(m.get("path", ""))
        if backend == "openai":
            self.m_openai.setChecked(True)
        elif path:
            self.m_gguf.setChecked(True)
        else:
            self.m_default.setChecked(True)
        self.gguf_path.setText(path)
        self.endpoint.setText(str(m.get("endpoint", "")))
        self.model_name.setText(str(m.get("model", "")))
        self.api_key.clear()
        _ok, text = self.services.keyring_status()
        has = self.endpoint.text() and self.services.has_api_key(self.endpoint.text())
        self.keyring_label.setText(
            text + ("  An API key is stored for this endpoint." if has else "")
        )
        self.login.setChecked(bool(self.services.section("ui").get("start_at_login")))
        self._model_enabled()
        self.status.setText("")

    def values(self) -> dict[str, dict[str, Any]]:
        backend = "openai" if self.m_openai.isChecked() else "llama"
        return {
            "capture": {
                "interval_seconds": float(self.interval.value()),
                "default_exclusions": self.default_excl.isChecked(),
                "exclude_apps": _lines(self.excl_apps.toPlainText()),
                "exclude_titles": _lines(self.excl_titles.toPlainText()),
                "keep_screenshots": self.keep_shots.isChecked(),
                "retention_days": float(self.retention.value()),
                "storage_budget_mb": float(self.budget.value()),
            },
            "model": {
                "backend": backend,
                "path": self.gguf_path.text().strip() if self.m_gguf.isChecked() else "",
                "endpoint": self.endpoint.text().strip(),
                "model": self.model_name.text().strip(),
            },
        }

    def save(self) -> None:
        vals = self.values()
        key = self.api_key.text()
        login = self.login.isChecked()
        was_login = bool(self.services.section("ui").get("start_at_login"))

        def work() -> None:
            self.services.save_section("capture", vals["capture"])
            self.services.save_section("model", vals["model"])
            if key:
                self.services.set_api_key(vals["model"]["endpoint"], key)
            if login != was_login:
                self.services.set_start_at_login(login)

        self.status.setText("Saving…")
        self.runner.submit(
            work, name="save settings", on_done=lambda _: self._saved(), on_error=self._error
        )

    def _saved(self) -> None:
        self.api_key.clear()
        self.status.setText("Saved.")
        self.load()
        self.status.setText("Saved.")
        self.saved.emit()
        self.message.emit("Settings saved")

    def _error(self, e: BaseException) -> None:
        self.status.setText(f"Not saved: {e}")
        self.message.emit(f"Settings not saved: {e}")

    def _model_enabled(self) -> None:
        gguf, openai = self.m_gguf.isChecked(), self.m_openai.isChecked()
        self.gguf_path.setEnabled(gguf)
        self.gguf_browse.setEnabled(gguf)
        for w in (self.endpoint, self.model_name, self.api_key):
            w.setEnabled(openai)

    def _browse_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model", str(Path.home()), "GGUF models (*.gguf)"
        )
        if path:
            self.gguf_path.setText(path)
            self.m_gguf.setChecked(True)

    # -- data --------------------------------------------------------------------------------
    def export_to(self, path: Path | None) -> None:
        if path is None:
            name, _ = QFileDialog.getSaveFileName(
                self,
                "Export memories",
                str(Path.home() / "mirix-memories.jsonl"),
                "JSON Lines (*.jsonl)",
            )
            if not name:
                return
            path = Path(name)
        self.status.setText("Exporting…")
        self.runner.submit(
            self.services.export_to,
            path,
            name="export",
            slow=True,
            on_progress=lambda d, t: self.status.setText(f"Exporting… {d} of {t}"),
            on_done=lambda n: self._note(
                f"Exported {n} memories to {path} (vault values stay encrypted)."
            ),
            on_error=lambda e: self._note(f"Export failed: {e}"),
        )

    def import_from(self, path: Path | None) -> None:
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "Import memories", str(Path.home()), "JSON Lines (*.jsonl)"
            )
            if not name:
                return
            path = Path(name)
        self.status.setText("Importing…")

        def done(report: Any) -> None:
            self._note(
                f"Imported: {report.added} new, {report.replaced} replaced, {report.unchanged} unchanged."
            )
            self.data_imported.emit()

        self.runner.submit(
            self.services.import_from,
            path,
            name="import",
            slow=True,
            on_done=done,
            on_error=lambda e: self._note(f"Import failed, nothing changed: {e}"),
        )

    def confirm_delete(self) -> bool:
        text, ok = QInputDialog.getText(
            self,
            "Delete everything",
            "This deletes every memory, its history, every capture and screenshot, for good.\n"
            "Export first if you may want them back.\n\nType DELETE to confirm:",
        )
        return bool(ok and text.strip() == "DELETE")

    def delete_everything(self, confirmed: bool | None) -> None:
        if confirmed is None:
            confirmed = self.confirm_delete()
        if not confirmed:
            self._note("Nothing was deleted.")
            return
        self.runner.submit(
            self.services.delete_everything,
            name="delete everything",
            slow=True,
            on_done=lambda _: self._deleted(),
            on_error=lambda e: self._note(f"Delete failed: {e}"),
        )

    def _deleted(self) -> None:
        self._note("Everything was deleted.")
        self.data_deleted.emit()

    def _note(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)


def _mb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


ROLE_LABELS = {"chat": "chat", "agent": "the agent", "both": "chat and the agent"}


class ModelPanel(QWidget):
    """Which model does what; servers on this computer; the catalogue and its downloads."""

    message = Signal(str)
    model_changed = Signal()  # a role's model changed (the settings form reloads)
    servers_found = Signal(object)  # list[discovery.Server]

    POLL_MS = 250

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        self.servers: list[Any] = []
        self.rows: list[Any] = []  # catalogue Estimates, in table order
        self._scanned = False
        self._scan_task: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

        # Which model does what ----------------------------------------------------------------
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

        # Servers ------------------------------------------------------------------------------
        srv = QGroupBox("Model servers on this computer")
        sl = QVBoxLayout(srv)
        sl.addWidget(
            muted(
                "Ollama, LM Studio, llama-server and vLLM on their usual ports of 127.0.0.1, and "
                "any address you add. No other computer is contacted unless you add it."
            )
        )
        self.server_tree = QTreeWidget()
        self.server_tree.setHeaderLabels(["Server / model", "Address"])
        self.server_tree.setMinimumHeight(120)
        self.server_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        sl.addWidget(self.server_tree)
        self.server_status = muted("")
        sl.addWidget(self.server_status)
        use_row = QHBoxLayout()
        self.use_chat = QPushButton("Use for chat")
        self.use_agent = QPushButton("Use for agent")
        self.use_both = QPushButton("Use for both")
        self.use_both.setObjectName("Primary")
        self.rescan = QPushButton("Look again")
        for b in (self.use_chat, self.use_agent, self.use_both):
            use_row.addWidget(b)
        use_row.addStretch(1)
        use_row.addWidget(self.rescan)
        sl.addLayout(use_row)
        add_row = QHBoxLayout()
        self.address = QLineEdit()
        self.address.setPlaceholderText("add an address, e.g. 127.0.0.1:8081 or http://box:11434")
        self.add_address = QPushButton("Add")
        add_row.addWidget(self.address, 1)
        add_row.addWidget(self.add_address)
        sl.addLayout(add_row)
        lay.addWidget(srv)

        # Catalogue ----------------------------------------------------------------------------
        cat = QGroupBox("Download a model")
        cl = QVBoxLayout(cat)
        cl.addWidget(
            muted(
                "From each model's Hugging Face repository, only when you click Download; "
                "checked against its sha256 before use. RAM and speed are estimates."
            )
        )
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Model", "Download", "RAM (est.)", "Speed", "State"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(200)
        cl.addWidget(self.table)
        self.speed_basis = muted("")
        cl.addWidget(self.speed_basis)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        cl.addWidget(self.progress)
        self.download_status = muted("")
        cl.addWidget(self.download_status)
        dl_row = QHBoxLayout()
        self.download_btn = QPushButton("Download")
        self.download_btn.setObjectName("Primary")
        self.pause_btn = QPushButton("Pause")
        self.cancel_btn = QPushButton("Cancel")
        self.measure_btn = QPushButton("Measure speed")
        self.dl_chat = QPushButton("Use for chat")
        self.dl_agent = QPushButton("Use for agent")
        self.dl_both = QPushButton("Use for both")
        for b in (self.download_btn, self.pause_btn, self.cancel_btn):
            dl_row.addWidget(b)
        dl_row.addStretch(1)
        for b in (self.dl_chat, self.dl_agent, self.dl_both):
            dl_row.addWidget(b)
        dl_row.addWidget(self.measure_btn)
        cl.addLayout(dl_row)
        lay.addWidget(cat)

        self.timer = QTimer(self)
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self.poll_downloads)

        self.rescan.clicked.connect(self.scan)
        self.add_address.clicked.connect(self._add_address)
        self.address.returnPressed.connect(self._add_address)
        self.use_chat.clicked.connect(lambda: self.use_server_model("chat"))
        self.use_agent.clicked.connect(lambda: self.use_server_model("agent"))
        self.use_both.clicked.connect(lambda: self.use_server_model("both"))
        self.server_tree.itemSelectionChanged.connect(self._enable)
        self.table.itemSelectionChanged.connect(self._enable)
        self.download_btn.clicked.connect(self.start_download)
        self.pause_btn.clicked.connect(self.pause_download)
        self.cancel_btn.clicked.connect(self.cancel_download)
        self.measure_btn.clicked.connect(self.measure)
        self.dl_chat.clicked.connect(lambda: self.use_downloaded("chat"))
        self.dl_agent.clicked.connect(lambda: self.use_downloaded("agent"))
        self.dl_both.clicked.connect(lambda: self.use_downloaded("both"))
        self._enable()

    # -- showing -----------------------------------------------------------------------------
    def activate(self) -> None:
        """The page was shown: refresh roles and the catalogue; look for servers the first time."""
        self.refresh_roles()
        self.refresh_catalogue()
        if not self._scanned and self.services.chat_available:
            self.scan()

    def refresh_roles(self) -> None:
        def done(roles: dict[str, dict[str, Any]]) -> None:
            for role, label in (("chat", self.chat_role), ("agent", self.agent_role)):
                label.setText(_describe(roles.get(role, {})))

        self.runner.submit(self.services.model_roles, name="model roles", on_done=done)

    def refresh_catalogue(self) -> None:
        self.runner.submit(self.services.catalogue, name="catalogue", on_done=self._show_catalogue)

    def _show_catalogue(self, rows: list[Any]) -> None:
        selected = self.selected_entry()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            e = r.entry
            cells = [
                e.name,
                _mb(e.size_bytes),
                f"≈{r.ram_bytes / 1e9:.1f} GB"
                + (" (too much here)" if r.fits_ram is False else ""),
                f"≈{r.tokens_per_second:.1f} tok/s (est.)" if r.tokens_per_second else "—",
                "",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, e.id)
                    item.setToolTip(f"{e.repo}/{e.filename} ({e.license})\nsha256 {e.sha256}")
                if col == 2:
                    item.setToolTip(r.ram_text())
                if col == 3:
                    item.setToolTip(r.speed_text())
                self.table.setItem(i, col, item)
            if selected is not None and e.id == selected:
                self.table.selectRow(i)
        ref = rows[0].reference if rows else None
        self.speed_basis.setText(
            f"Speeds are estimates: {ref.describe()}, scaled by file size."
            if ref
            else "Speed estimates need one measurement of the shipped model: Measure speed."
        )
        self.poll_downloads()
        self._enable()

    # -- servers -----------------------------------------------------------------------------
    def scan(self) -> None:
        if self._scan_task is not None:
            return
        self._scanned = True
        self.server_status.setText("Looking for model servers on this computer…")

        def done(servers: list[Any]) -> None:
            self._scan_task = None
            self.show_servers(servers)

        def failed(e: BaseException) -> None:
            self._scan_task = None
            self.server_status.setText(f"Could not look for servers: {e}")

        self._scan_task = self.runner.submit(
            self.services.discover_servers, name="discover servers", on_done=done, on_error=failed
        )

    def show_servers(self, servers: list[Any]) -> None:
        self.servers = servers
        self.server_tree.clear()
        first: QTreeWidgetItem | None = None
        for si, s in enumerate(servers):
            top = QTreeWidgetItem([f"{s.label} ({len(s.models)} models)", s.base_url])
            top.setData(0, Qt.ItemDataRole.UserRole, (si, None))
            self.server_tree.addTopLevelItem(top)
            for name in s.models:
                child = QTreeWidgetItem([name, ""])
                child.setData(0, Qt.ItemDataRole.UserRole, (si, name))
                top.addChild(child)
                first = first or child
            top.setExpanded(True)
        n = sum(len(s.models) for s in servers)
        self.server_status.setText(
            f"Found {len(servers)} server(s) with {n} model(s): pick one, then a Use button."
            if servers
            else "No model server answered on this computer. Start Ollama or LM Studio, then "
            "Look again, or download a model below."
        )
        if first is not None and not self.server_tree.selectedItems():
            self.server_tree.setCurrentItem(first)
        self._enable()
        self.servers_found.emit(servers)

    def selected_server_model(self) -> tuple[Any, str] | None:
        items = self.server_tree.selectedItems()
        if not items:
            return None
        si, name = items[0].data(0, Qt.ItemDataRole.UserRole)
        server = self.servers[si]
        if name is None:  # the server row: its only model, if it has one
            if len(server.models) != 1:
                return None
            name = server.models[0]
        return server, name

    def use_server_model(self, role: str) -> None:
        picked = self.selected_server_model()
        if picked is None:
            return
        server, name = picked
        fields = {"backend": "openai", "endpoint": server.base_url, "model": name}
        self._use(role, fields, f"{name} at {server.label}")

    def _add_address(self) -> None:
        text = self.address.text().strip()
        if not text:
            return
        current = self.services.server_addresses()

        def done(_: Any) -> None:
            self.address.clear()
            self.scan()

        self.runner.submit(
            self.services.set_server_addresses,
            [*current, text],
            name="add server",
            on_done=done,
            on_error=lambda e: self.server_status.setText(f"Not added: {e}"),
        )

    # -- using a model ---------------------------------------------------------------------------
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

    # -- downloads ---------------------------------------------------------------------------
    def selected_entry(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def select_entry(self, entry_id: str) -> None:
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == entry_id:
                self.table.selectRow(i)
                return

    def start_download(self) -> None:
        entry_id = self.selected_entry()
        if entry_id is None:
            return
        try:
            self.services.download(entry_id)  # its own thread: returns at once
        except Exception as e:
            log.warning("download did not start (%s)", type(e).__name__)
            self.download_status.setText(f"Not started: {e}")
            return
        self.timer.start()
        self.poll_downloads()

    def pause_download(self) -> None:
        dl = self.services.downloads().get(self.selected_entry() or "")
        if dl is not None:
            dl.pause()

    def cancel_download(self) -> None:
        dl = self.services.downloads().get(self.selected_entry() or "")
        if dl is not None:
            dl.cancel()

    def poll_downloads(self) -> None:
        downloads = self.services.downloads()
        active = False
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is None:
                continue
            entry_id = item.data(Qt.ItemDataRole.UserRole)
            dl = downloads.get(entry_id)
            state_item = self.table.item(i, 4)
            if dl is None:
                text = "downloaded" if self._installed(entry_id) else ""
            else:
                active = active or dl.state in ("running", "verifying")
                text = _download_text(dl)
            if state_item is not None and state_item.text() != text:
                state_item.setText(text)
        dl = downloads.get(self.selected_entry() or "")
        if dl is not None:
            self.progress.show()
            self.progress.setValue(int(dl.fraction * 1000))
            self.download_status.setText(_download_text(dl, long=True))
        else:
            self.progress.hide()
        if not active and self.timer.isActive():
            self.timer.stop()
            self.refresh_catalogue()  # a finished download: show it as downloaded
        self._enable()

    def _installed(self, entry_id: str) -> bool:
        return _complete(self.services, entry_id)

    def use_downloaded(self, role: str) -> None:
        entry_id = self.selected_entry()
        if entry_id is None:
            return
        path = self.services.installed_model(entry_id)
        if path is None:
            self.download_status.setText("Download it first.")
            return
        self._use(role, {"backend": "llama", "path": str(path)}, path.name)

    def measure(self) -> None:
        self.speed_basis.setText("Measuring the shipped model's speed (a few seconds)…")
        self.runner.submit(
            self.services.measure_speed,
            name="measure speed",
            slow=True,
            on_done=lambda _: self.refresh_catalogue(),
            on_error=lambda e: self.speed_basis.setText(f"Not measured: {e}"),
        )

    def _enable(self) -> None:
        picked = self.selected_server_model() is not None
        for b in (self.use_chat, self.use_agent, self.use_both):
            b.setEnabled(picked and self.services.chat_available)
        entry_id = self.selected_entry()
        dl = self.services.downloads().get(entry_id or "")
        running = dl is not None and dl.state in ("running", "verifying")
        have = entry_id is not None and _complete(self.services, entry_id)
        self.download_btn.setEnabled(entry_id is not None and not running and not have)
        self.download_btn.setText(
            "Resume" if dl is not None and dl.state in ("paused", "failed") else "Download"
        )
        self.pause_btn.setEnabled(running)
        self.cancel_btn.setEnabled(dl is not None and dl.state in ("running", "paused", "failed"))
        for b in (self.dl_chat, self.dl_agent, self.dl_both):
            b.setEnabled(have and self.services.chat_available)


def _complete(services: Services, entry_id: str) -> bool:
    try:
        return services.installed_model(entry_id) is not None
    except Exception as e:
        log.debug("installed model lookup failed (%s)", type(e).__name__)
        return False


def _download_text(dl: Any, long: bool = False) -> str:
    done, total = dl.done, dl.total
    pct = f"{dl.fraction * 100:.0f}%"
    if dl.state == "running":
        return f"downloading {pct}" + (f" ({_mb(done)} of {_mb(total)})" if long else "")
    if dl.state == "verifying":
        return "checking the sha256…"
    if dl.state == "paused":
        return f"paused at {pct}" + (" (Resume continues it)" if long else "")
    if dl.state == "cancelled":
        return "cancelled"
    if dl.state == "done":
        return "downloaded and verified" if long else "downloaded"
    if dl.state == "failed":
        err = dl.error
        if err is None:
            return "failed"
        return f"failed: {err}" if long else f"failed: {getattr(err, 'message', err)}"
    return ""


def _describe(fields: dict[str, Any]) -> str:
    if not fields:
        return "—"
    if fields.get("backend") == "openai":
        return f"{fields.get('model') or '(server default)'} at {fields.get('endpoint')}"
    path = str(fields.get("path") or "")
    return Path(path).name if path else "SmolLM2-135M-Instruct (shipped)"
