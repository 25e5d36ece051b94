"""Settings: capture, privacy, storage, model, login, data folder, export/import, delete all."""

from __future__ import annotations

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
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mirix_app.ui.services import Services
from mirix_app.ui.widgets import muted, page
from mirix_app.ui.workers import Runner


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


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
        self.interval.setRange(0.5, 3600)
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
        self.retention.setRange(1, 3650)
        self.retention.setDecimals(0)
        self.retention.setSuffix(" days")
        sf.addRow("Keep screenshots for", self.retention)
        self.budget = QDoubleSpinBox()
        self.budget.setRange(50, 1_000_000)
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
