"""Settings: capture, privacy, storage, model, login, data folder, export/import, delete all.

The model section (`ModelPanel`, in settings_model.py) also shows which model does what, the model
servers on this computer (settings_servers.py) and the downloadable models (settings_downloads.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mirix_app.capture.settings import RANGES
from mirix_app.ui.services import Services
from mirix_app.ui.settings_data import DataBox
from mirix_app.ui.settings_model import ModelPanel
from mirix_app.ui.widgets import muted, page
from mirix_app.ui.workers import Runner

log = logging.getLogger(__name__)

__all__ = ["ModelPanel", "SettingsView"]  # ModelPanel stays importable from here


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
        self.status = muted("")  # the footer's line; the groups below may write to it

        self._capture_group(lay)
        self._privacy_group(lay)
        self._storage_group(lay)
        self._model_group(lay)
        self._app_group(lay)
        self.data_box = DataBox(self.services, self.runner)
        self.data_box.status.connect(lambda text: self.status.setText(text))
        self.data_box.note.connect(self._note)
        self.data_box.data_deleted.connect(self.data_deleted)
        self.data_box.data_imported.connect(self.data_imported)
        lay.addWidget(self.data_box)

        for spin in (self.interval, self.retention, self.budget):
            spin.setMaximumWidth(180)
        foot = QHBoxLayout()
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
        self.data_box.export_btn.clicked.connect(lambda: self.export_to(None))
        self.data_box.import_btn.clicked.connect(lambda: self.import_from(None))
        self.data_box.delete_btn.clicked.connect(lambda: self.delete_everything(None))
        self.pause15.clicked.connect(lambda: self.pause_requested.emit(15))
        self.pause60.clicked.connect(lambda: self.pause_requested.emit(60))
        self.pause_inf.clicked.connect(lambda: self.pause_requested.emit(None))
        self.resume_btn.clicked.connect(self.resume_requested)
        self.model_group.idToggled.connect(lambda *_: self._model_enabled())
        self.load()

    # -- the groups ------------------------------------------------------------------------
    def _capture_group(self, lay: QVBoxLayout) -> None:
        """How often, which monitors, pause."""
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

    def _privacy_group(self, lay: QVBoxLayout) -> None:
        """What is never captured."""
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

    def _storage_group(self, lay: QVBoxLayout) -> None:
        """Screenshots kept, and for how long; the budget."""
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

    def _model_group(self, lay: QVBoxLayout) -> None:
        """The model: the shipped one, a GGUF file or an endpoint."""
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
        self.model_panel = ModelPanel(self.services, self.runner)
        self.model_panel.message.connect(self.message)
        self.model_panel.model_changed.connect(self.load)
        lay.addWidget(self.model_panel)

    def _app_group(self, lay: QVBoxLayout) -> None:
        """Start at login; the data folder."""
        app = QGroupBox("App")
        af = QFormLayout(app)
        self.login = QCheckBox("Start mirix when I log in")
        af.addRow("", self.login)
        folder = QHBoxLayout()
        self.data_dir = QLabel(str(self.services.paths.data))
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

    # -- data (settings_data.DataBox does the work) ----------------------------------------
    def export_to(self, path: Path | None) -> None:
        self.data_box.export_to(path)

    def import_from(self, path: Path | None) -> None:
        self.data_box.import_from(path)

    def confirm_delete(self) -> bool:
        return self.data_box.confirm_delete()

    def delete_everything(self, confirmed: bool | None) -> None:
        if confirmed is None:
            confirmed = self.confirm_delete()
        self.data_box.delete_everything(confirmed)

    def _note(self, text: str) -> None:
        self.status.setText(text)
        self.message.emit(text)
