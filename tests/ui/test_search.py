"""Search as you type: debounced, run in a worker, never blocking the Qt thread; filters; popup."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import Qt

from mirix_app.memory.types import MemoryType
from mirix_app.ui.search import Query, SearchController
from mirix_app.ui.search_popup import QuickSearch

TIMEOUT = 15_000


def test_results_as_you_type_come_from_a_worker(
    sample: dict, window: Any, qtbot: Any, services: Any
) -> None:
    window.show_page("search")
    view = window.search
    threads: list[str] = []
    real = services.search

    def spy(*a: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*a, **kw)

    services.search = spy  # type: ignore[method-assign]
    with qtbot.waitSignal(
        view.controller.results, timeout=TIMEOUT, check_params_cb=lambda h, q, ms: q.text == "taber"
    ):
        qtbot.keyClicks(view.box, "taber")  # prefix of "Taberna": as-you-type matching
    titles = [h.memory.title for h in view.model.hits]
    assert "Taberna da Rua" in titles[:3]
    assert threads and all(t != threading.main_thread().name for t in threads)
    # debounced: five keystrokes, far fewer searches
    assert len(threads) <= 3
    assert view.detail.memory is not None  # first hit selected and shown
    assert "result" in view.status.text()


def test_typing_never_waits_for_a_slow_search(
    sample: dict, window: Any, qtbot: Any, services: Any
) -> None:
    real = services.search

    def slow(*a: Any, **kw: Any) -> Any:
        time.sleep(0.6)
        return real(*a, **kw)

    services.search = slow  # type: ignore[method-assign]
    view = window.search
    window.show_page("search")
    start = time.perf_counter()
    qtbot.keyClicks(view.box, "deploy")
    view._changed(now=True)
    typed = time.perf_counter() - start
    assert typed < 0.4  # the Qt thread kept going while the worker searched
    with qtbot.waitSignal(
        view.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.text == "deploy",
    ):
        pass
    assert any("Deploy" in h.memory.title for h in view.model.hits)


def test_only_the_newest_query_is_shown(
    sample: dict, services: Any, runner: Any, qtbot: Any
) -> None:
    ctl = SearchController(services, runner, delay_ms=1)
    seen: list[str] = []
    ctl.results.connect(lambda hits, q, ms: seen.append(q.text))
    ctl.set_query(Query("lisbon"), now=True)
    ctl.set_query(Query("octopus"), now=True)
    qtbot.waitUntil(lambda: "octopus" in seen, timeout=TIMEOUT)
    qtbot.wait(200)
    assert seen == ["octopus"]


def test_filters_type_time_app(sample: dict, window: Any, qtbot: Any) -> None:
    view = window.search
    view.box.setText("lisbon")
    semantic = view.type_combo.findData("semantic")
    with qtbot.waitSignal(
        view.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.types == [MemoryType.SEMANTIC],
    ):
        view.type_combo.setCurrentIndex(semantic)
    assert view.model.hits and all(h.memory.type is MemoryType.SEMANTIC for h in view.model.hits)
    view.type_combo.setCurrentIndex(0)
    with qtbot.waitSignal(
        view.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.app == "firefox",
    ):
        view.app_box.setText("firefox")
    assert view.model.hits
    assert all(any(s.app == "firefox" for s in h.memory.sources) for h in view.model.hits)
    with qtbot.waitSignal(
        view.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.app == "nosuchapp",
    ):
        view.app_box.setText("nosuchapp")
    assert view.model.hits == []
    assert view.current_query().since is None
    view.time_combo.setCurrentIndex(1)
    assert view.current_query().since is not None


def test_open_in_memories(sample: dict, window: Any, qtbot: Any) -> None:
    view = window.search
    with qtbot.waitSignal(
        view.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.text == "octopus",
    ):
        view.box.setText("octopus")
        view.box.returnPressed.emit()
    view.open_btn.click()
    assert window.page_name == "memories"
    assert window.memories.detail.memory is not None
    assert (
        window.memories.detail.memory.id
        == view.model.hits[view.table.currentIndex().row()].memory.id
    )


def test_quick_search_popup_enter_opens_the_item(
    sample: dict, services: Any, window: Any, qtbot: Any
) -> None:
    popup = QuickSearch(services, window.runner)
    qtbot.addWidget(popup)
    popup.chosen.connect(window.show_memory)
    popup.popup()
    with qtbot.waitSignal(
        popup.controller.results,
        timeout=TIMEOUT,
        check_params_cb=lambda h, q, ms: q.text == "staging pass",
    ):
        qtbot.keyClicks(popup.box, "staging pass")
    assert popup.list.count() > 0
    first = popup.list.item(0).data(Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(popup.chosen, timeout=TIMEOUT):
        qtbot.keyClick(popup.box, Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert window.page_name == "memories"
    assert window.memories.detail.memory.id == first.id
    assert popup.last_ms < 2000
