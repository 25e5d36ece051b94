"""Look and feel: colours, the style sheet, and every icon, drawn in code (no image downloads)."""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QApplication

ACCENT = "#5b5bd6"
ACCENT_DARK = "#4343b8"
SIDEBAR = "#1d2230"
SIDEBAR_TEXT = "#c9cedb"
BG = "#f5f6f9"
CARD = "#ffffff"
BORDER = "#e1e4ea"
TEXT = "#1e2330"
MUTED = "#6b7385"

TYPE_COLORS = {
    "core": "#7c3aed",
    "episodic": "#2563eb",
    "semantic": "#059669",
    "procedural": "#d97706",
    "resource": "#0891b2",
    "vault": "#dc2626",
}
TYPE_LABELS = {
    "core": "Core",
    "episodic": "Episodic",
    "semantic": "Semantic",
    "procedural": "Procedural",
    "resource": "Resources",
    "vault": "Knowledge vault",
}
STATE_COLORS = {
    "recording": "#e5484d",
    "paused": "#f5a524",
    "error": "#b42318",
    "off": "#8b93a5",
    "unavailable": "#8b93a5",
    "no-consent": "#8b93a5",
    "ready": "#30a46c",
    "loading": "#f5a524",
    "idle": "#8b93a5",
}

STYLE = f"""
* {{ font-size: 10pt; }}
QMainWindow, QDialog {{ background: {BG}; }}
QWidget#Page {{ background: {BG}; }}
QLabel {{ color: {TEXT}; }}
QLabel#PageTitle {{ font-size: 17pt; font-weight: 600; color: {TEXT}; }}
QLabel#Muted, QLabel[muted="true"] {{ color: {MUTED}; }}
QLabel#SectionTitle {{ font-size: 11pt; font-weight: 600; color: {TEXT}; margin-top: 6px; }}
QListWidget#Nav {{
    background: {SIDEBAR}; color: {SIDEBAR_TEXT}; border: none; outline: none;
    padding-top: 8px; font-size: 10.5pt;
}}
QListWidget#Nav::item {{ padding: 10px 14px; margin: 2px 8px; border-radius: 8px; }}
QListWidget#Nav::item:selected {{ background: {ACCENT}; color: white; }}
QListWidget#Nav::item:hover:!selected {{ background: #2a3142; }}
QWidget#Sidebar {{ background: {SIDEBAR}; }}
QLabel#Brand {{ color: white; font-size: 14pt; font-weight: 700; padding: 16px 16px 6px 16px; }}
QFrame#Card {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 10px; }}
QLineEdit, QPlainTextEdit, QTextEdit, QTextBrowser {{
    background: {CARD}; border: 1px solid {BORDER}; border-radius: 7px; padding: 5px 8px;
    color: {TEXT}; selection-background-color: {ACCENT};
}}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{ border: 1px solid {ACCENT}; }}
QComboBox, QSpinBox, QDoubleSpinBox, QDateTimeEdit {{ min-height: 24px; padding: 2px 6px; }}
QLineEdit#SearchBox {{ font-size: 12pt; padding: 8px 12px; border-radius: 9px; }}
QPushButton {{
    background: {CARD}; border: 1px solid {BORDER}; border-radius: 7px; padding: 6px 14px;
    color: {TEXT};
}}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton:disabled {{ color: #a8aebb; }}
QPushButton#Primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK}; }}
QPushButton#Primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#Danger {{ color: #b42318; border-color: #f1c0bb; }}
QPushButton#Danger:hover {{ background: #fdecea; }}
QTableView, QListView, QTreeWidget, QListWidget {{
    background: {CARD}; border: 1px solid {BORDER}; border-radius: 8px;
    alternate-background-color: #fafbfd; selection-background-color: #e5e5fb;
    selection-color: {TEXT}; gridline-color: #eef0f4;
}}
QHeaderView::section {{
    background: #f0f2f6; color: {MUTED}; border: none; border-bottom: 1px solid {BORDER};
    padding: 6px 8px; font-weight: 600;
}}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{
    background: transparent; color: {MUTED}; padding: 7px 14px; border: none;
    border-bottom: 2px solid transparent; margin-right: 2px;
}}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; font-weight: 600; }}
QStatusBar {{ background: {CARD}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 6px; }}
QFrame#UndoBar {{ background: #1e2330; border-radius: 8px; }}
QFrame#UndoBar QLabel {{ color: white; }}
QFrame#UndoBar QPushButton {{ background: transparent; color: #a5a5ff; border: none; font-weight: 600; }}
QFrame#Banner {{ background: #fff7e6; border: 1px solid #f5d9a0; border-radius: 8px; }}
QGroupBox {{
    background: {CARD}; border: 1px solid {BORDER}; border-radius: 10px; margin-top: 14px;
    padding: 14px 12px 10px 12px; font-weight: 600; color: {TEXT};
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px; }}
QSplitter::handle {{ background: {BG}; }}
QScrollArea {{ border: none; background: transparent; }}
QMenu {{ background: {CARD}; border: 1px solid {BORDER}; padding: 4px; }}
QMenu::item {{ padding: 6px 22px; border-radius: 5px; }}
QMenu::item:selected {{ background: #e5e5fb; color: {TEXT}; }}
QFrame#Popup {{ background: {CARD}; border: 1px solid {BORDER}; border-radius: 12px; }}
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    font = QFont("DejaVu Sans")
    font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLE)
    app.setWindowIcon(app_icon())


def _canvas(size: int) -> tuple[QPixmap, QPainter]:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pm, p


def _draw_logo(p: QPainter, s: float) -> None:
    """A rounded square with three linked memory nodes."""
    grad = QLinearGradient(0, 0, s, s)
    grad.setColorAt(0, QColor("#6e6ef0"))
    grad.setColorAt(1, QColor("#3d3db0"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(grad))
    p.drawRoundedRect(QRectF(s * 0.04, s * 0.04, s * 0.92, s * 0.92), s * 0.22, s * 0.22)
    pts = [QPointF(s * 0.30, s * 0.66), QPointF(s * 0.50, s * 0.32), QPointF(s * 0.70, s * 0.66)]
    p.setPen(QPen(QColor(255, 255, 255, 200), max(1.0, s * 0.06)))
    p.drawLine(pts[0], pts[1])
    p.drawLine(pts[1], pts[2])
    p.drawLine(pts[0], pts[2])
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("white"))
    for pt in pts:
        p.drawEllipse(pt, s * 0.10, s * 0.10)


@cache
def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        pm, p = _canvas(size)
        _draw_logo(p, size)
        p.end()
        icon.addPixmap(pm)
    return icon


def tray_pixmap(state: str, size: int = 64) -> QPixmap:
    """The logo with a badge: red dot = recording, amber bars = paused, red ! = error, grey = off."""
    pm, p = _canvas(size)
    s = float(size)
    if state in ("off", "unavailable", "no-consent"):
        p.setOpacity(0.55)
    _draw_logo(p, s)
    p.setOpacity(1.0)
    color = QColor(STATE_COLORS.get(state, "#8b93a5"))
    r = s * 0.21
    c = QPointF(s - r - s * 0.02, s - r - s * 0.02)
    p.setPen(QPen(QColor("white"), max(1.0, s * 0.05)))
    p.setBrush(color)
    p.drawEllipse(c, r, r)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("white"))
    if state == "paused":
        w, h = r * 0.28, r * 0.95
        p.drawRect(QRectF(c.x() - w * 1.6, c.y() - h / 2, w, h))
        p.drawRect(QRectF(c.x() + w * 0.6, c.y() - h / 2, w, h))
    elif state == "error":
        p.drawRect(QRectF(c.x() - r * 0.12, c.y() - r * 0.55, r * 0.24, r * 0.65))
        p.drawEllipse(QPointF(c.x(), c.y() + r * 0.42), r * 0.13, r * 0.13)
    elif state == "recording":
        p.drawEllipse(c, r * 0.38, r * 0.38)
    p.end()
    return pm


def tray_icon(state: str) -> QIcon:
    icon = QIcon()
    for size in (16, 22, 32, 64):
        icon.addPixmap(tray_pixmap(state, size))
    return icon


def dot(color: str, size: int = 10) -> QPixmap:
    pm, p = _canvas(size)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(color))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.end()
    return pm


def nav_icon(name: str, color: str = SIDEBAR_TEXT, size: int = 40) -> QIcon:
    """Line icons for the sidebar: chat, memories, timeline, search, settings."""
    pm, p = _canvas(size)
    s = float(size)
    pen = QPen(QColor(color), s * 0.075)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    if name == "chat":
        path = QPainterPath()
        path.addRoundedRect(QRectF(s * 0.14, s * 0.18, s * 0.72, s * 0.5), s * 0.12, s * 0.12)
        p.drawPath(path)
        p.drawLine(QPointF(s * 0.3, s * 0.68), QPointF(s * 0.24, s * 0.84))
        p.drawLine(QPointF(s * 0.24, s * 0.84), QPointF(s * 0.46, s * 0.68))
    elif name == "memories":
        for i, y in enumerate((0.22, 0.42, 0.62)):
            p.drawRoundedRect(
                QRectF(s * (0.18 + i * 0.0), s * y, s * 0.64, s * 0.16), s * 0.05, s * 0.05
            )
    elif name == "timeline":
        p.drawEllipse(QPointF(s / 2, s / 2), s * 0.33, s * 0.33)
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s / 2, s * 0.3))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s * 0.65, s * 0.58))
    elif name == "search":
        p.drawEllipse(QPointF(s * 0.44, s * 0.44), s * 0.24, s * 0.24)
        p.drawLine(QPointF(s * 0.62, s * 0.62), QPointF(s * 0.82, s * 0.82))
    elif name == "settings":
        c = QPointF(s / 2, s / 2)
        p.drawEllipse(c, s * 0.12, s * 0.12)
        for k in range(8):
            a = k * math.pi / 4
            p.drawLine(
                QPointF(c.x() + math.cos(a) * s * 0.22, c.y() + math.sin(a) * s * 0.22),
                QPointF(c.x() + math.cos(a) * s * 0.34, c.y() + math.sin(a) * s * 0.34),
            )
        p.drawEllipse(c, s * 0.24, s * 0.24)
    p.end()
    icon = QIcon(pm)
    return icon


def type_badge_html(mtype: str) -> str:
    color = TYPE_COLORS.get(mtype, MUTED)
    label = TYPE_LABELS.get(mtype, mtype)
    return (
        f'<span style="background:{color}; color:white; border-radius:4px;'
        f' padding:1px 6px; font-size:8.5pt;">&nbsp;{label}&nbsp;</span>'
    )
