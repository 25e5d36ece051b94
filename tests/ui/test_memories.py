"""Memories view: each type's table from a real MemoryCore; edit in place; trash + undo; vault."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from mirix_app.memory.types import MemoryType
from mirix_app.ui.models import MASK, MemoryFilterProxy, MemoryTableModel

TIMEOUT = 10_000


def _loaded(window: Any, mtype: MemoryType) -> Any:
    table = window.memories.tables[mtype]
    return table


def test_each_type_lists_its_memories_with_its_fields(
    sample: dict, window: Any, qtbot: Any, core: Any
) -> None:
    window.show_page("memories")
    for mtype in MemoryType:
        window.memories.set_type(mtype)
        table = window.memories.tables[mtype]
        want = sum(1 for _ in core.browse(None, limit=1000) if _.type is mtype)
        qtbot.waitUntil(lambda t=table, w=want: t.model.rowCount() == w, timeout=TIMEOUT)
        assert want > 0
    sem = window.memories.tables[MemoryType.SEMANTIC].model
    assert sem.columns[:2] == ["Name", "Summary"]
    names = {sem.index(r, 0).data() for r in range(sem.rowCount())}
    assert {"Anna Kowalski", "Taberna da Rua"} <= names
    proc = window.memories.tables[MemoryType.PROCEDURAL].model
    steps_col = [n for n, _ in proc.fields].index("steps")
    row = proc.row_of(sample["deploy"])
    assert "ssh staging-1; cd /srv/billing" in proc.index(row, steps_col).data()


def test_filter_and_sort_through_the_proxy(sample: dict, window: Any, qtbot: Any) -> None:
    window.memories.set_type(MemoryType.SEMANTIC)
    table = window.memories.tables[MemoryType.SEMANTIC]
    qtbot.waitUntil(lambda: table.model.rowCount() == 3, timeout=TIMEOUT)
    qtbot.keyClicks(window.memories.filter, "octopus")
    assert table.proxy.rowCount() == 2  # Anna (details) and Taberna (summary)
    window.memories.filter.clear()
    assert table.proxy.rowCount() == 3
    table.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    names = [table.proxy.index(r, 0).data() for r in range(3)]
    assert names == sorted(names, key=str.lower)
    table.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert [table.proxy.index(r, 0).data() for r in range(3)] == sorted(
        names, key=str.lower, reverse=True
    )


def test_edit_in_place_persists(sample: dict, window: Any, qtbot: Any, core: Any) -> None:
    window.memories.set_type(MemoryType.SEMANTIC)
    table = window.memories.tables[MemoryType.SEMANTIC]
    qtbot.waitUntil(lambda: table.model.row_of(sample["anna"]) >= 0, timeout=TIMEOUT)
    row = table.model.row_of(sample["anna"])
    idx = table.proxy.mapFromSource(table.model.index(row, 1))  # Summary
    with qtbot.waitSignal(window.ops.changed, timeout=TIMEOUT):
        assert table.proxy.setData(idx, "Head of product, payments")
    assert core.get(sample["anna"]).fields["summary"] == "Head of product, payments"
    assert core.get(sample["anna"]).version == 2
    assert table.model.index(row, 1).data() == "Head of product, payments"
    # tags column: "a; b" becomes a list
    tag_col = len(table.model.fields)
    with qtbot.waitSignal(window.ops.changed, timeout=TIMEOUT):
        table.proxy.setData(
            table.proxy.mapFromSource(table.model.index(row, tag_col)), "people; work"
        )
    assert core.get(sample["anna"]).tags == ["people", "work"]


def test_invalid_edit_reports_and_keeps_memory(
    sample: dict, window: Any, qtbot: Any, core: Any
) -> None:
    window.memories.set_type(MemoryType.SEMANTIC)
    table = window.memories.tables[MemoryType.SEMANTIC]
    qtbot.waitUntil(lambda: table.model.row_of(sample["anna"]) >= 0, timeout=TIMEOUT)
    row = table.model.row_of(sample["anna"])
    with qtbot.waitSignal(window.ops.error, timeout=TIMEOUT) as blocker:
        table.proxy.setData(
            table.proxy.mapFromSource(table.model.index(row, 0)), ""
        )  # name required
    assert "required" in blocker.args[0]
    assert core.get(sample["anna"]).fields["name"] == "Anna Kowalski"


def test_delete_moves_to_trash_and_undo_brings_it_back(
    sample: dict, window: Any, qtbot: Any, core: Any
) -> None:
    window.memories.set_type(MemoryType.EPISODIC)
    table = window.memories.tables[MemoryType.EPISODIC]
    qtbot.waitUntil(lambda: table.model.row_of(sample["flight"]) >= 0, timeout=TIMEOUT)
    assert table.select_id(sample["flight"])
    before = table.model.rowCount()
    with qtbot.waitSignal(window.ops.trashed, timeout=TIMEOUT):
        table.view.setFocus()
        qtbot.keyClick(table.view, Qt.Key.Key_Delete)
    assert core.get(sample["flight"]).deleted_at is not None
    assert table.model.row_of(sample["flight"]) < 0
    assert table.model.rowCount() == before - 1
    assert window.memories.undo_bar.isVisible()
    with qtbot.waitSignal(window.ops.changed, timeout=TIMEOUT):
        window.memories.undo_bar.button.click()
    assert core.get(sample["flight"]).deleted_at is None
    assert table.model.row_of(sample["flight"]) >= 0
    # the trash view lists trashed memories, with Restore
    window.ops.trash(sample["flight"])
    qtbot.waitUntil(lambda: core.get(sample["flight"]).deleted_at is not None, timeout=TIMEOUT)
    window.memories.trash_box.setChecked(True)
    qtbot.waitUntil(lambda: table.model.row_of(sample["flight"]) >= 0, timeout=TIMEOUT)
    table.select_id(sample["flight"])
    qtbot.waitUntil(lambda: window.memories.detail.restore_btn.isVisible(), timeout=TIMEOUT)
    with qtbot.waitSignal(window.ops.changed, timeout=TIMEOUT):
        window.memories.detail.restore_btn.click()
    assert core.get(sample["flight"]).deleted_at is None


def test_history_and_sources_show_in_detail(
    sample: dict, window: Any, qtbot: Any, core: Any
) -> None:
    core.update(sample["taberna"], fields={"summary": "Lisbon restaurant, grilled octopus"})
    window.show_memory(core.get(sample["taberna"]))
    detail = window.memories.detail
    qtbot.waitUntil(lambda: detail.history.count() == 2, timeout=TIMEOUT)
    assert "update by user" in detail.history.item(0).text()
    assert "summary" in detail.history.item(0).toolTip()
    assert "Q3 roadmap sync" in detail.sources.item(0).text()
    # double-clicking a capture source opens the timeline on that capture
    detail.sources.itemDoubleClicked.emit(detail.sources.item(0))
    assert window.page_name == "timeline"
    qtbot.waitUntil(
        lambda: (
            window.timeline.current() is not None and window.timeline.current().id == sample["cap2"]
        ),
        timeout=TIMEOUT,
    )


def test_vault_values_are_masked_until_revealed(sample: dict, window: Any, qtbot: Any) -> None:
    window.memories.set_type(MemoryType.VAULT)
    table = window.memories.tables[MemoryType.VAULT]
    qtbot.waitUntil(lambda: table.model.row_of(sample["vault"]) >= 0, timeout=TIMEOUT)
    col = [n for n, _ in table.model.fields].index("secret_value")
    row = table.model.row_of(sample["vault"])
    assert table.model.index(row, col).data() == MASK
    assert not table.model.flags(table.model.index(row, col)) & Qt.ItemFlag.ItemIsEditable
    table.select_id(sample["vault"])
    detail = window.memories.detail
    assert "s3cr3t" not in detail.body.toPlainText()
    assert MASK in detail.body.toPlainText()
    assert detail.reveal_btn.isVisible()
    with qtbot.waitSignal(window.ops.revealed, timeout=TIMEOUT):
        detail.reveal_btn.click()
    assert "s3cr3t-Staging!42" in detail.body.toPlainText()
    assert table.model.index(row, col).data() == "s3cr3t-Staging!42"
    detail.reveal_btn.click()  # Hide
    assert "s3cr3t" not in detail.body.toPlainText()
    assert table.model.index(row, col).data() == MASK


def test_model_and_proxy_alone(core: Any, qapp: Any) -> None:
    a = core.new("semantic", {"name": "Zeta", "summary": "last"})
    b = core.new("semantic", {"name": "alpha", "summary": "first"})
    model = MemoryTableModel(MemoryType.SEMANTIC)
    model.set_rows([a, b])
    proxy = MemoryFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(0, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, 0).data() for r in range(2)] == ["alpha", "Zeta"]
    proxy.set_text("zet")
    assert proxy.rowCount() == 1
