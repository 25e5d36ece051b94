"""Opening the data folder at start: ask for the passphrase when there is no OS keyring."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from mirix_app.errors import MirixError
from mirix_app.memory.keys import PassphraseNeeded, WrongPassphrase, set_session_passphrase
from mirix_app.paths import Paths
from mirix_app.ui.services import Services

# (is the folder new, the last error or "") -> the passphrase, or None when the user cancels.
Ask = Callable[[bool, str], str | None]
MIN_LENGTH = 8


class PassphraseDialog(QDialog):
    def __init__(self, new: bool, error: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.new = new
        self.setWindowTitle("Unlock mirix" if not new else "Protect your memories")
        text = (
            "There is no system keyring on this computer to hold the key that encrypts your "
            "memories and screenshots. Choose a passphrase: you will need it every time mirix "
            "starts, and it cannot be recovered."
            if new
            else "Enter the passphrase that encrypts your memories."
        )
        lay = QVBoxLayout(self)
        info = QLabel(text)
        info.setWordWrap(True)
        lay.addWidget(info)
        self.error = QLabel(error)
        self.error.setObjectName("error")
        self.error.setStyleSheet("color: #c0392b")
        self.error.setVisible(bool(error))
        lay.addWidget(self.error)
        self.phrase = QLineEdit()
        self.phrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.phrase.setPlaceholderText("Passphrase")
        lay.addWidget(self.phrase)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        self.again.setPlaceholderText("Passphrase again")
        self.again.setVisible(new)
        lay.addWidget(self.again)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def _check(self) -> None:
        phrase = self.phrase.text()
        problem = ""
        if not phrase:
            problem = "Enter a passphrase."
        elif self.new and len(phrase) < MIN_LENGTH:
            problem = f"Use at least {MIN_LENGTH} characters."
        elif self.new and self.again.text() != phrase:
            problem = "The two passphrases differ."
        if problem:
            self.error.setText(problem)
            self.error.setVisible(True)
            return
        self.accept()


def ask_with_dialog(new: bool, error: str) -> str | None:
    dlg = PassphraseDialog(new, error)
    return dlg.phrase.text() if dlg.exec() == QDialog.DialogCode.Accepted else None


def open_services(paths: Paths, ask: Ask = ask_with_dialog, tries: int = 5) -> Services | None:
    """Services for `paths`, asking for the passphrase if needed; None if the user gives up."""
    error = ""
    for _ in range(tries):
        try:
            return Services.open(paths)
        except PassphraseNeeded as e:
            phrase = ask(e.new, error)
        except WrongPassphrase:
            error = "That passphrase does not open your memories."
            phrase = ask(False, error)
        if phrase is None:
            return None
        set_session_passphrase(phrase)
    return None


def show_fatal(e: MirixError) -> None:
    QMessageBox.critical(
        None, "mirix cannot open your memories", e.message + (f"\n\n{e.hint}" if e.hint else "")
    )
