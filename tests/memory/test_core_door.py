"""The MemoryCore operations that callers outside memory/ use instead of its store and inbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import MemoryType, Source


def episode(core: MemoryCore, summary: str, at: str, tags: list[str], ref: str = "m1") -> str:
    fields = {"occurred_at": at, "summary": summary, "actor": "user"}
    return core.new(MemoryType.EPISODIC, fields, tags=tags, sources=[Source("chat", ref)]).id


def test_tagged_by_write_order_and_by_time(core: MemoryCore) -> None:
    older = episode(core, "later in time, written first", "2024-05-02T10:00:00Z", ["k"])
    newer = episode(core, "earlier in time, written last", "2024-05-01T10:00:00Z", ["k"])
    episode(core, "other tag", "2024-05-03T10:00:00Z", ["x"])
    assert core.tagged_ids(MemoryType.EPISODIC, "k") == [newer, older]
    assert core.tagged_ids(MemoryType.EPISODIC, "k", by_time=True) == [older, newer]
    assert [m.id for m in core.tagged(MemoryType.EPISODIC, "k", limit=1)] == [newer]
    assert core.tagged(MemoryType.SEMANTIC, "k") == []
    core.trash(newer)
    assert core.tagged_ids(MemoryType.EPISODIC, "k") == [older]


def test_tagged_inside_a_batch_sees_its_own_writes(core: MemoryCore) -> None:
    mid = episode(core, "a", "2024-05-01T10:00:00Z", [])
    with core.batch() as b:
        b.update(mid, tags=["fresh"])
        assert [x.id for x in b.tagged(MemoryType.EPISODIC, "fresh")] == [mid]
    assert core.tagged_ids(MemoryType.EPISODIC, "fresh") == [mid]


def test_memories_from_a_source(core: MemoryCore) -> None:
    a = episode(core, "one", "2024-05-01T10:00:00Z", [], ref="msg-a")
    b = episode(core, "two", "2024-05-01T11:00:00Z", [], ref="msg-a")
    episode(core, "three", "2024-05-01T12:00:00Z", [], ref="msg-b")
    core.trash(b)
    assert sorted(core.memory_ids_from("chat", "msg-a")) == sorted([a, b])
    assert [m.id for m in core.memories_from("chat", "msg-a")] == [a]
    assert sorted(core.source_refs("chat")) == ["msg-a", "msg-b"]
    assert core.source_refs("capture") == []


def test_counts_and_meta(core: MemoryCore) -> None:
    mid = episode(core, "one", "2024-05-01T10:00:00Z", [])
    core.trash(mid)
    assert core.count()["episodic"] == 0 and core.count(deleted=True)["episodic"] == 1
    assert core.meta("some.flag") is None
    core.set_meta("some.flag", "1")
    assert core.meta("some.flag") == "1"


def test_inbox_operations(core: MemoryCore) -> None:
    first = core.inbox_put(InboxItem(kind="capture", text="screen", monitor=1, app="Term"))
    core.inbox_put(InboxItem(kind="chat", text="hello"))
    assert core.inbox_backlog() == 2
    got = core.inbox_get(first.id)
    assert got is not None and got.text == "screen"
    assert core.inbox_get("cap_missing") is None
    assert [i.id for i in core.inbox_take(1)] == [first.id]
    latest = core.inbox_latest("capture", 1)
    assert latest is not None and latest.id == first.id
    assert [i.kind for i in core.inbox_recent(kind="capture")] == ["capture"]
    core.inbox_retry_later(first.id, "model down")
    assert first.id not in [i.id for i in core.inbox_take(5)]  # it waits for its next try


def test_search_with_a_pool_matches_search_without(core: MemoryCore) -> None:
    episode(core, "Flight to Porto on Friday", "2024-05-01T10:00:00Z", [])
    episode(core, "Lunch with Alice", "2024-05-01T11:00:00Z", [])
    plain = [h.memory.id for h in core.search("flight porto")]
    with ThreadPoolExecutor(2) as pool:
        pooled = [h.memory.id for h in core.search("flight porto", sync=False, pool=pool)]
    assert pooled == plain and plain
