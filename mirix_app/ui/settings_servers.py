"""Settings, model servers: the servers found on this computer (127.0.0.1 only, plus addresses
the user adds) with their models. Looking runs in a worker; picking one asks the panel to use it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mirix_app.ui.services import Services
from mirix_app.ui.widgets import muted
from mirix_app.ui.workers import Runner


class ServersBox(QGroupBox):
    """The servers and their models; `use_requested(role, fields, what)` asks to switch."""

    use_requested = Signal(str, object, str)
    servers_found = Signal(object)  # list[discovery.Server]

    def __init__(self, services: Services, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__("Model servers on this computer", parent)
        self.services, self.runner = services, runner
        self.servers: list[Any] = []
        self.scanned = False
        self._scan_task: Any = None
        sl = QVBoxLayout(self)
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

        self.rescan.clicked.connect(self.scan)
        self.add_address.clicked.connect(self._add_address)
        self.address.returnPressed.connect(self._add_address)
        self.use_chat.clicked.connect(lambda: self.use_server_model("chat"))
        self.use_agent.clicked.connect(lambda: self.use_server_model("agent"))
        self.use_both.clicked.connect(lambda: self.use_server_model("both"))
        self.server_tree.itemSelectionChanged.connect(self.enable)
        self.enable()

    def scan(self) -> None:
        if self._scan_task is not None:
            return
        self.scanned = True
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
        self.enable()
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
        self.use_requested.emit(role, fields, f"{name} at {server.label}")

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

    def enable(self) -> None:
        picked = self.selected_server_model() is not None
        for b in (self.use_chat, self.use_agent, self.use_both):
            b.setEnabled(picked and self.services.chat_available)
