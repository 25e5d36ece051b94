"""One instance per data folder: a second launch asks the first (over QLocalSocket) to come forward.

The socket lives in a folder only this user can enter (`Paths.runtime()`), not in /tmp, where
another user could claim the predictable name first (and take every later launch's message), and
it is made user-only (UserAccessOption). On Windows the name is a named pipe, also user-only.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from mirix_app.instance import socket_name
from mirix_app.paths import Paths


def server_name(paths: Paths) -> str:
    return socket_name(paths)


def send_to_running(name: str, message: str = "show", timeout_ms: int = 500) -> bool:
    """True if an instance is listening on `name` and took the message."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write((message + "\n").encode())
    ok = sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    return bool(ok)


# Answers a request line's payload; calls `reply` (on the Qt thread) with one line of JSON.
Responder = Callable[[str, Callable[[str], None]], None]


class SingleInstance(QObject):
    """Listens for later launches; each message they send is emitted as `message`. A line
    `ask {json}` (from `mirix ask`) goes to `responder`, whose reply is written back on the same
    connection."""

    message = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.responder: Responder | None = None
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._connection)

    def listen(self) -> bool:
        """Claim the name; False if a live instance answers on it. A stale socket file left by
        a crash (nobody answers) is taken over. (With access options set, Qt's listen() replaces
        an existing socket file, so the live check must come first.)"""
        if send_to_running(self.name, "ping", timeout_ms=300):
            return False
        QLocalServer.removeServer(self.name)
        return bool(self.server.listen(self.name))

    def close(self) -> None:
        self.server.close()

    def _connection(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            if sock is None:
                continue
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        while sock.canReadLine():
            line = bytes(sock.readLine().data()).decode(errors="replace").strip()
            if line.startswith("ask "):
                self._ask(sock, line[4:])
            elif line and line != "ping":
                self.message.emit(line)

    def _ask(self, sock: QLocalSocket, payload: str) -> None:
        if self.responder is None:
            sock.disconnectFromServer()  # the client falls back to answering itself
            return

        def reply(text: str) -> None:
            if sock.state() != QLocalSocket.LocalSocketState.ConnectedState:
                return  # the client gave up
            sock.write((text.replace("\n", " ") + "\n").encode())
            sock.flush()
            sock.disconnectFromServer()

        self.responder(payload, reply)
