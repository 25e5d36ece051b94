"""Realistic sample data for UI tests and the screenshot script: memories of all six types and a
day of captures (with drawn screenshots) they were made from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mirix_app.memory.clock import to_iso
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Source
from mirix_app.ui.services import CaptureStatus, ChatChunk, ModelStatus

CAPTURES: list[dict[str, Any]] = [
    {
        "min": 9 * 60 + 2,
        "app": "firefox",
        "window": "Pull request #482: Add retry to the billing webhook · GitHub",
        "url": "https://github.com/northwind/billing/pull/482",
        "text": "Add retry to the billing webhook #482\nanna-k wants to merge 3 commits into main\n"
        "Retries failed webhook deliveries with exponential backoff (max 5 attempts).\n"
        "Files changed 4  +128 -12\nApprove  Request changes",
        "color": "#24292f",
    },
    {
        "min": 9 * 60 + 40,
        "app": "code",
        "window": "webhook.py — billing — Visual Studio Code",
        "text": "def deliver(event, attempt=1):\n    try:\n        post(event.url, event.payload, timeout=10)\n"
        "    except Timeout:\n        if attempt < MAX_ATTEMPTS:\n"
        "            schedule(deliver, event, attempt + 1, delay=2 ** attempt)",
        "color": "#1e1e1e",
    },
    {
        "min": 11 * 60 + 15,
        "app": "zoom",
        "window": "Q3 roadmap sync — Zoom",
        "text": "Anna Kowalski: payments v2 ships in September\nDana: staging needs the new webhook first\n"
        "Anna: try Taberna da Rua when you are in Lisbon, the grilled octopus is great",
        "color": "#2d8cff",
    },
    {
        "min": 14 * 60 + 5,
        "app": "terminal",
        "window": "dana@northwind: ~/deploy",
        "text": "$ ssh staging-1\n$ cd /srv/billing && git pull\n$ sudo systemctl restart billing\n"
        "● billing.service - Billing API   Active: active (running)",
        "color": "#300a24",
    },
    {
        "min": 16 * 60 + 30,
        "app": "firefox",
        "window": "Flights Lisbon, 14 Oct — TAP Air Portugal",
        "url": "https://www.flytap.com/en-pt/booking",
        "text": "LIS 14 Oct 07:25 → 10:05  TP 1351\nReturn 18 Oct 19:40\nTotal EUR 214.60\n"
        "Booking reference: QX7T2M",
        "color": "#0b6e4f",
    },
]


def draw_screenshot(path: Path, title: str, text: str, color: str) -> None:
    """A plausible 1280x720 app window, drawn with Qt (needs a QGuiApplication)."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    img = QImage(1280, 720, QImage.Format.Format_RGB32)
    img.fill(QColor("#f3f4f7"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillRect(0, 0, 1280, 44, QColor(color))
    p.setPen(QColor("white"))
    f = QFont("DejaVu Sans", 13)
    p.setFont(f)
    p.drawText(QRectF(20, 0, 1240, 44), Qt.AlignmentFlag.AlignVCenter, title)
    for i, c in enumerate(("#ff5f57", "#febc2e", "#28c840")):
        p.setBrush(QColor(c))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(1180 + i * 24, 15, 14, 14)
    dark = color in ("#1e1e1e", "#300a24")
    p.fillRect(0, 44, 1280, 676, QColor(color if dark else "#ffffff"))
    p.fillRect(0, 44, 220, 676, QColor("#252526" if dark else "#f6f8fa"))
    p.setPen(QColor("#d4d4d4" if dark else "#1f2328"))
    p.setFont(QFont("DejaVu Sans Mono" if dark else "DejaVu Sans", 15))
    p.drawText(QRectF(250, 70, 1000, 620), Qt.TextFlag.TextWordWrap, text)
    p.setPen(QColor("#8b949e"))
    p.setFont(QFont("DejaVu Sans", 11))
    for i in range(8):
        p.drawText(
            24,
            90 + i * 34,
            ["Overview", "Files", "Commits", "Checks", "Notes", "Team", "Docs", "More"][i],
        )
    p.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(str(path), "PNG")


def populate(
    core: MemoryCore, *, day: datetime | None = None, screenshots: bool = True
) -> dict[str, str]:
    """Fill `core` with a day of captures and the memories made from them; returns named ids."""
    day = (day or datetime.now().astimezone()).replace(hour=0, minute=0, second=0, microsecond=0)
    ids: dict[str, str] = {}
    caps: list[InboxItem] = []
    for i, c in enumerate(CAPTURES):
        at = day + timedelta(minutes=c["min"])
        rel = None
        if screenshots:
            rel = f"screenshots/{day:%Y/%m/%d}/cap{i}.png"
            draw_screenshot(core.paths.data / rel, c["window"], c["text"], c["color"])
        item = core.inbox.put(
            InboxItem(
                kind="capture",
                text=c["text"],
                at=to_iso(at),
                app=c["app"],
                window=c["window"],
                url=c.get("url"),
                monitor=0,
                image=rel,
            )
        )
        caps.append(item)
    ids.update({f"cap{i}": c.id for i, c in enumerate(caps)})

    def src(i: int) -> Source:
        c = caps[i]
        return Source("capture", c.id, at=c.at, app=c.app, window=c.window, uri=c.url)

    def t(minutes: int) -> str:
        return to_iso(day + timedelta(minutes=minutes))

    add = core.new
    ids["core"] = add(
        "core",
        {
            "label": "human",
            "value": "Dana Whitfield, backend engineer on the billing team at Northwind. "
            "Works in VS Code on Fedora; prefers short answers with commands to copy.",
        },
    ).id
    add("core", {"label": "persona", "value": "A calm, precise assistant that cites its sources."})
    ids["pr"] = add(
        "episodic",
        {
            "occurred_at": t(9 * 60 + 2),
            "summary": "Reviewed PR #482 “Add retry to the billing webhook” by Anna",
            "details": "Retries use exponential backoff, max 5 attempts. Approved after the timeout fix.",
            "event_type": "code review",
        },
        sources=[src(0), src(1)],
        tags=["billing", "github"],
    ).id
    ids["call"] = add(
        "episodic",
        {
            "occurred_at": t(11 * 60 + 15),
            "summary": "Q3 roadmap call with Anna Kowalski",
            "details": "Payments v2 ships in September; staging needs the new webhook first.",
            "event_type": "meeting",
        },
        sources=[src(2)],
        tags=["roadmap"],
    ).id
    ids["deploy_ep"] = add(
        "episodic",
        {
            "occurred_at": t(14 * 60 + 5),
            "summary": "Deployed the billing API to staging-1",
            "event_type": "ops",
        },
        sources=[src(3)],
    ).id
    ids["flight"] = add(
        "episodic",
        {
            "occurred_at": t(16 * 60 + 30),
            "summary": "Booked flights to Lisbon for 14–18 October (TP 1351)",
            "details": "EUR 214.60, booking reference QX7T2M.",
            "event_type": "travel",
        },
        sources=[src(4)],
        tags=["travel", "lisbon"],
    ).id
    ids["anna"] = add(
        "semantic",
        {
            "name": "Anna Kowalski",
            "summary": "Product manager on the payments team; owns the Q3 roadmap",
            "details": "Recommended Taberna da Rua in Lisbon (grilled octopus).",
        },
        sources=[src(2)],
        tags=["people"],
    ).id
    ids["taberna"] = add(
        "semantic",
        {
            "name": "Taberna da Rua",
            "summary": "Restaurant in Lisbon that Anna recommended, known for grilled octopus",
        },
        sources=[src(2)],
        tags=["lisbon", "food"],
    ).id
    add(
        "semantic",
        {
            "name": "Exponential backoff",
            "summary": "Retry waits that double each attempt (2, 4, 8 s…) to avoid hammering a server",
        },
        sources=[src(1)],
    )
    ids["deploy"] = add(
        "procedural",
        {
            "summary": "Deploy the billing API to staging",
            "entry_type": "workflow",
            "steps": [
                "ssh staging-1",
                "cd /srv/billing && git pull",
                "sudo systemctl restart billing",
                "check `systemctl status billing` says active (running)",
            ],
        },
        sources=[src(3)],
        tags=["ops"],
    ).id
    add(
        "procedural",
        {
            "summary": "Review a pull request",
            "steps": [
                "Read the description",
                "Run the tests locally",
                "Approve or request changes",
            ],
        },
    )
    ids["pr_res"] = add(
        "resource",
        {
            "title": "billing PR #482",
            "summary": "Webhook retry change with exponential backoff",
            "resource_type": "web page",
            "content": "https://github.com/northwind/billing/pull/482",
        },
        sources=[src(0)],
    ).id
    add(
        "resource",
        {
            "title": "Q3 roadmap.pdf",
            "summary": "Payments v2 timeline and staffing",
            "resource_type": "document",
        },
        sources=[
            Source(
                "file",
                "/home/dana/Documents/Q3 roadmap.pdf",
                uri="/home/dana/Documents/Q3 roadmap.pdf",
            )
        ],
    )
    ids["vault"] = add(
        "vault",
        {
            "entry_type": "password",
            "caption": "Staging database password",
            "secret_value": "s3cr3t-Staging!42",
            "sensitivity": "high",
            "source": "terminal",
        },
        sources=[src(3)],
    ).id
    add(
        "vault",
        {
            "entry_type": "booking reference",
            "caption": "TAP booking reference, Lisbon trip",
            "secret_value": "QX7T2M",
            "sensitivity": "low",
        },
        sources=[src(4)],
    )
    # What the agent has processed is marked done, like the pipeline would.
    with core.batch() as b:
        b.inbox_done([c.id for c in caps[:4]])
    return ids


class FakeCapture:
    """Stands in for the capture service: records what the UI asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.state = "off"
        self.paused_minutes: int | None = None

    def start(self) -> None:
        self.calls.append(("start", None))
        self.state = "recording"

    def stop(self) -> None:
        self.calls.append(("stop", None))
        self.state = "off"

    def pause(self, minutes: int | None) -> None:
        self.calls.append(("pause", minutes))
        self.state = "paused"
        self.paused_minutes = minutes

    def resume(self) -> None:
        self.calls.append(("resume", None))
        self.state = "recording"

    def status(self) -> CaptureStatus:
        until = (
            f"in {self.paused_minutes} min"
            if self.state == "paused" and self.paused_minutes
            else None
        )
        return CaptureStatus(self.state, paused_until=until)

    def monitors(self) -> list[str]:
        return ["1920x1080 (primary)"]


class FakeAgent:
    """A chat agent that streams a scripted answer citing given memory ids."""

    def __init__(self, answer: str = "", cites: list[str] | None = None) -> None:
        self.answer = answer
        self.cites = cites or []
        self.loaded = False

    def status(self) -> ModelStatus:
        return ModelStatus("ready" if self.loaded else "idle", "scripted")

    def load(self, progress: Any = None) -> None:
        self.loaded = True

    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]:
        words = self.answer.split(" ")
        for i, w in enumerate(words):
            yield ChatChunk(text=w + (" " if i < len(words) - 1 else ""))
        yield ChatChunk(citations=list(self.cites), done=True)
