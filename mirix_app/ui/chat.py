"""Chat: ask your memory. The extractive, cited answer shows at once; a model's rephrasing, when
its capability check allows one, streams beneath it and replaces it only once verified.
Citations link to the memory and its source."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mirix_app.memory.types import Memory
from mirix_app.ui import theme
from mirix_app.ui.services import ChatChunk, Services
from mirix_app.ui.widgets import page
from mirix_app.ui.workers import Runner, Task

log = logging.getLogger(__name__)

SCHEME = "mirix"
_CITE = re.compile(r"\[((?:cor|epi|sem|pro|res|vlt)_[0-9A-Z]{26})\]")
MODE_TEXT = {
    "phrase": "Answers come from your memories; the model rephrases them, checked against the sources.",
    "summarize": "Answers come straight from your memories (the model is only used to summarize).",
    "off": "Answers come straight from your memories (the model failed its check for chat).",
    "unchecked": "Answers come straight from your memories (the model has not been checked yet).",
}


@dataclass
class Turn:
    role: str  # user | assistant | error
    text: str = ""
    citations: list[tuple[str, str]] = field(default_factory=list)  # (memory id, title)
    streaming: bool = False
    draft: str = ""  # the model's rephrasing while it streams, before it is checked
    note: str = ""  # e.g. why a rephrasing was not used


class ChatView(QWidget):
    open_memory = Signal(object)  # Memory
    answered = Signal(str)  # the whole answer, when streaming ends

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner = services, runner
        root, lay = page(
            "Chat", "Ask about anything you have seen, read or said. Answers cite their memories."
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(root)

        self.banner = QFrame()
        self.banner.setObjectName("Banner")
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(12, 8, 12, 8)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        bl.addWidget(self.banner_text, 1)
        lay.addWidget(self.banner)

        self.mode_label = QLabel()
        self.mode_label.setObjectName("Muted")
        self.mode_label.setWordWrap(True)
        lay.addWidget(self.mode_label)

        self.transcript = QTextBrowser()
        self.transcript.setOpenLinks(False)
        self.transcript.setOpenExternalLinks(False)
        self.transcript.anchorClicked.connect(self._anchor)
        lay.addWidget(self.transcript, 1)

        row = QHBoxLayout()
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText(
            "Ask your memory…  (Enter to send, Shift+Enter for a new line)"
        )
        self.input.setFixedHeight(70)
        self.input.installEventFilter(self)
        self.send_btn = QPushButton("Send")
        self.send_btn.setObjectName("Primary")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.hide()
        row.addWidget(self.input, 1)
        col = QVBoxLayout()
        col.addWidget(self.send_btn)
        col.addWidget(self.stop_btn)
        col.addStretch(1)
        row.addLayout(col)
        lay.addLayout(row)

        self.turns: list[Turn] = []
        self.task: Task | None = None
        self.send_btn.clicked.connect(self.send)
        self.stop_btn.clicked.connect(self.stop)
        self.update_availability()
        self._render()

    # -- public ------------------------------------------------------------------------------
    def activate(self) -> None:
        self.update_availability()
        self.input.setFocus()

    def update_availability(self) -> None:
        st = self.services.model_status()
        if not self.services.chat_available:
            self.banner_text.setText(
                "<b>Model not available.</b> Chat needs the agent and a model "
                "(Settings › Model). Search and your memories work without it."
            )
            self.banner.show()
        elif st.state == "error":
            self.banner_text.setText(f"<b>The model has a problem:</b> {html.escape(st.detail)}")
            self.banner.show()
        elif st.state == "loading":
            self.banner_text.setText("The model is loading… you can type your question already.")
            self.banner.show()
        else:
            self.banner.hide()
        self.mode_label.setText(MODE_TEXT.get(self.services.chat_mode(), ""))

    def ask(self, question: str) -> None:
        self.input.setPlainText(question)
        self.send()

    def send(self) -> None:
        question = self.input.toPlainText().strip()
        if not question or self.task is not None:
            return
        self.input.clear()
        self.turns.append(Turn("user", question))
        if not self.services.chat_available:
            self.turns.append(
                Turn(
                    "error",
                    "Model not available: install the agent and choose a model in Settings › Model.",
                )
            )
            self._render()
            return
        answer = Turn("assistant", streaming=True)
        self.turns.append(answer)
        self._render()
        self.send_btn.setEnabled(False)
        self.stop_btn.show()
        # The fast pool, ahead of other work: the extractive answer must not wait behind a
        # batch of inbox processing in the slow pool.
        self.task = self.runner.submit(
            self.services.chat,
            question,
            name="chat",
            priority=10,
            on_item=lambda chunk: self._chunk(answer, chunk),
            on_done=lambda text: self._done(answer, text),
            on_error=lambda e: self._failed(answer, e),
        )

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel.cancel()
            for t in self.turns:
                if t.streaming:
                    t.streaming = False
                    t.text += " [stopped]"
            self._finish()

    # -- streaming ---------------------------------------------------------------------------
    def _chunk(self, turn: Turn, chunk: ChatChunk) -> None:
        if chunk.kind == "replace":
            turn.text, turn.draft = chunk.text, ""
        elif chunk.kind == "draft":
            turn.draft += chunk.text
        elif chunk.kind == "rejected":
            turn.draft, turn.note = (
                "",
                "The model's rephrasing did not match the sources; this is the answer from your memories.",
            )
        else:
            turn.text += chunk.text
        if chunk.citations:
            self.runner.submit(
                self._titles,
                chunk.citations,
                name="citations",
                on_done=lambda c: self._cited(turn, c),
            )
        self._render()

    def _titles(self, ids: list[str]) -> list[tuple[str, str]]:
        out = []
        for mid in ids:
            try:
                out.append((mid, self.services.get(mid).title))
            except Exception as e:
                log.debug("a cited memory is not readable (%s): shown by id", type(e).__name__)
                out.append((mid, mid))
        return out

    def _cited(self, turn: Turn, cites: list[tuple[str, str]]) -> None:
        have = {c[0] for c in turn.citations}
        turn.citations.extend(c for c in cites if c[0] not in have)
        self._render()

    def _done(self, turn: Turn, text: str) -> None:
        turn.streaming, turn.draft = False, ""
        self._finish()
        self.answered.emit(text)

    def _failed(self, turn: Turn, e: BaseException) -> None:
        turn.streaming = False
        turn.role = "error"
        turn.text = (turn.text + "\n\n" if turn.text else "") + str(e)
        self._finish()

    def _finish(self) -> None:
        self.task = None
        self.send_btn.setEnabled(True)
        self.stop_btn.hide()
        self._render()

    # -- rendering ---------------------------------------------------------------------------
    def transcript_text(self) -> str:
        return self.transcript.toPlainText()

    def _render(self) -> None:
        parts = [
            f"<html><body style='font-family: DejaVu Sans; color:{theme.TEXT}; font-size:10.5pt'>"
        ]
        if not self.turns:
            parts.append(
                f"<p style='color:{theme.MUTED}; margin-top:40px' align='center'>"
                "Try “What was the name of the restaurant Anna recommended?” or "
                "“How do I deploy the staging server?”</p>"
            )
        for t in self.turns:
            text = self._linked(t).replace("\n", "<br>")
            if t.role == "user":
                parts.append(
                    "<table width='100%' cellspacing='0' cellpadding='0'><tr><td width='22%'></td>"
                    f"<td style='background:#e8e8fc; padding:9px 12px; border-radius:10px'>{text}</td>"
                    "</tr></table><br>"
                )
                continue
            color = "#fdecea" if t.role == "error" else "#ffffff"
            cursor = " ▍" if t.streaming else ""
            cites = ""
            if t.citations:
                links = " ".join(
                    f"<a href='{SCHEME}:memory/{mid}' style='color:{theme.ACCENT}; "
                    f"text-decoration:none'>[{i}]&nbsp;{html.escape(title[:48])}</a>&nbsp;&nbsp;"
                    for i, (mid, title) in enumerate(t.citations, 1)
                )
                cites = (
                    f"<div style='margin-top:6px; color:{theme.MUTED}; font-size:9pt'>"
                    f"Sources: {links}</div>"
                )
            extra = ""
            if t.draft:
                extra = (
                    f"<div style='margin-top:6px; color:{theme.MUTED}; font-style:italic'>"
                    f"Rephrasing… {html.escape(t.draft)}</div>"
                )
            elif t.note:
                extra = (
                    f"<div style='margin-top:6px; color:{theme.MUTED}'>{html.escape(t.note)}</div>"
                )
            parts.append(
                "<table width='100%' cellspacing='0' cellpadding='0'><tr>"
                f"<td style='background:{color}; border:1px solid {theme.BORDER}; padding:9px 12px'>"
                f"{text or '<i>looking…</i>'}{cursor}{extra}{cites}</td>"
                "<td width='18%'></td></tr></table><br>"
            )
        parts.append("</body></html>")
        self.transcript.setHtml("".join(parts))
        self.transcript.moveCursor(QTextCursor.MoveOperation.End)

    def _linked(self, t: Turn) -> str:
        """The answer's text with each [memory id] as a numbered link to that memory."""
        order = [mid for mid, _ in t.citations]
        out, pos = [], 0
        for m in _CITE.finditer(t.text):
            out.append(html.escape(t.text[pos : m.start()]))
            mid = m.group(1)
            if mid not in order:
                order.append(mid)
            out.append(
                f"<a href='{SCHEME}:memory/{mid}' style='color:{theme.ACCENT}; "
                f"text-decoration:none'>[{order.index(mid) + 1}]</a>"
            )
            pos = m.end()
        out.append(html.escape(t.text[pos:]))
        return "".join(out)

    def _anchor(self, url: QUrl) -> None:
        if url.scheme() != SCHEME or not url.path().startswith("memory/"):
            return
        mid = url.path().split("/", 1)[1]
        self.runner.submit(self.services.get, mid, name="open citation", on_done=self._open)

    def _open(self, m: Memory) -> None:
        self.open_memory.emit(m)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.input and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            ):
                self.send()
                return True
        return super().eventFilter(obj, event)
