"""Timeline: the day's captures from the inbox, the screenshot, text and memories made from each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QDateTime

TIMEOUT = 10_000


def test_timeline_lists_the_days_captures(sample: dict, window: Any, qtbot: Any) -> None:
    tl = window.timeline
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT) as b:
        window.show_page("timeline")
    assert b.args == [5]
    texts = [tl.list.item(i).text() for i in range(tl.list.count())]
    assert texts[0].startswith("09:02:00") and "firefox" in texts[0]
    assert "Q3 roadmap sync" in texts[2]
    assert "5 captures" in tl.day_label.text()
    # thumbnails arrive from a worker
    qtbot.waitUntil(lambda: not tl.list.item(0).icon().isNull(), timeout=TIMEOUT)


def test_selecting_a_capture_shows_screenshot_text_and_memories(
    sample: dict, window: Any, qtbot: Any
) -> None:
    tl = window.timeline
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT):
        window.show_page("timeline")
    tl.list.setCurrentRow(2)
    assert "Taberna da Rua" in tl.text.toPlainText()
    assert "zoom" in tl.title.text()
    qtbot.waitUntil(
        lambda: tl.shot.pixmap() is not None and not tl.shot.pixmap().isNull(), timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: tl.made.count() == 3, timeout=TIMEOUT)
    made = {tl.made.item(i).text() for i in range(3)}
    assert "Semantic: Taberna da Rua" in made
    with qtbot.waitSignal(tl.open_memory, timeout=TIMEOUT):
        tl.made.itemDoubleClicked.emit(tl.made.item(0))
    assert window.page_name == "memories"


def test_unprocessed_capture_and_other_days(sample: dict, window: Any, qtbot: Any) -> None:
    tl = window.timeline
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT):
        window.show_page("timeline")
    tl.list.setCurrentRow(4)  # the last capture is still waiting for the agent
    qtbot.waitUntil(
        lambda: tl.made.count() == 2 or tl.made.item(0).text() == "Not processed yet.",
        timeout=TIMEOUT,
    )
    assert "pending" in tl.meta.text()
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT) as b:
        tl.prev_btn.click()
    assert b.args == [0]
    assert "No captures" in tl.list.item(0).text()


def test_jump_to_date_and_time_selects_the_nearest_capture(
    sample: dict, window: Any, qtbot: Any
) -> None:
    tl = window.timeline
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT):
        window.show_page("timeline")
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT):
        tl.prev_btn.click()
    day = datetime.now().astimezone().replace(hour=14, minute=20, second=0, microsecond=0)
    tl.jump.setDateTime(QDateTime(day.date(), day.time()))
    with qtbot.waitSignal(tl.day_loaded, timeout=TIMEOUT):
        tl.go_btn.click()
    assert tl.current() is not None
    assert tl.current().id == sample["cap3"]  # 14:05 is nearest to 14:20
    assert tl.day.date() == day.date()
    assert tl.day - timedelta(days=1) < datetime.now().astimezone()
