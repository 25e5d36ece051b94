"""Add, update, undo, trash, restore and purge for every type, on real SQLite and Chroma."""

from __future__ import annotations

import pytest

from mirix_app.errors import NotFound
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.types import Memory, MemoryType, Source

from .test_types import VALID

EDITS = {
    "core": {"value": "Name: Sam. Likes tea."},
    "episodic": {"summary": "Met Alice and Bob"},
    "semantic": {"summary": "Bob is my manager now"},
    "procedural": {"steps": ["git pull", "make test", "make deploy"]},
    "resource": {"content": "The revised plan..."},
    "vault": {"caption": "OpenAI key (work)"},
}


@pytest.mark.parametrize("mtype", list(MemoryType))
def test_lifecycle_of_every_type(core: MemoryCore, mtype: MemoryType) -> None:
    src = Source(kind="chat", ref="msg-1", at="2024-05-01T10:00:00Z")
    m = core.new(mtype, VALID[mtype.value], tags=["t1"], sources=[src])
    assert m.id.startswith(mtype.prefix + "_") and m.version == 1
    original = core.get(m.id)
    assert original.sources == [Source("chat", "msg-1", "2024-05-01T10:00:00.000Z")]

    updated = core.update(m.id, fields=EDITS[mtype.value])
    assert updated.id == m.id and updated.version == 2
    for k, v in EDITS[mtype.value].items():
        assert core.get(m.id).fields[k] == v

    reverted = core.undo(m.id)
    assert reverted.id == m.id and reverted.version == 3
    assert core.get(m.id).fields == original.fields

    core.trash(m.id)
    assert core.get(m.id).deleted_at is not None
    assert m.id not in [x.id for x in core.browse()]
    assert m.id in [x.id for x in core.browse(deleted=True)]

    core.restore(m.id)
    assert core.get(m.id).deleted_at is None

    ops = [h.op for h in core.history(m.id)]
    assert ops == ["create", "update", "undo", "delete", "restore"]

    core.trash(m.id)
    assert core.empty_trash() == 1
    with pytest.raises(NotFound):
        core.get(m.id)
    assert core.store.history(m.id) == []


def test_undo_walks_back_one_change_at_a_time(core: MemoryCore) -> None:
    m = core.new("semantic", {"name": "Alice", "summary": "v1"})
    core.update(m.id, fields={"summary": "v2"})
    core.update(m.id, fields={"summary": "v3"})
    assert core.undo(m.id).fields["summary"] == "v2"
    assert core.undo(m.id).fields["summary"] == "v1"
    # undoing the create sends it to the trash; nothing is lost
    assert core.undo(m.id).deleted_at is not None
    with pytest.raises(NotFound, match="nothing to undo"):
        core.undo(m.id)


def test_undo_of_a_delete_restores(core: MemoryCore) -> None:
    m = core.new("semantic", {"name": "Alice", "summary": "x"})
    core.trash(m.id)
    assert core.undo(m.id).deleted_at is None
    assert [h.memory.id for h in core.search("Alice", mode="bm25")] == [m.id]


def test_no_op_update_changes_nothing(core: MemoryCore) -> None:
    m = core.new("semantic", {"name": "Alice", "summary": "x"})
    assert core.update(m.id, fields={"summary": "x"}).version == 1
    assert len(core.history(m.id)) == 1


def test_add_sources_keeps_provenance(core: MemoryCore) -> None:
    m = core.new("semantic", {"name": "Alice", "summary": "x"}, sources=[Source("chat", "m1")])
    core.update(m.id, add_sources=[Source("capture", "cap1", app="firefox")])
    assert [s.ref for s in core.get(m.id).sources] == ["m1", "cap1"]
    assert core.store.memories_from("capture", "cap1") == [m.id]


def test_failed_batch_writes_nothing(core: MemoryCore) -> None:
    good = Memory.from_dict({"type": "semantic", "fields": VALID["semantic"]})
    bad = Memory(type=MemoryType.SEMANTIC, fields={"name": "x"})  # summary missing
    with pytest.raises(Exception, match="required"):
        core.add_many([good, bad])
    assert sum(core.store.count().values()) == 0


def test_vault_values_are_sealed_on_disk(core: MemoryCore) -> None:
    m = core.new("vault", {**VALID["vault"], "secret_value": "sk-UNIQUE-SECRET-42"})
    assert core.get(m.id).fields["secret_value"] != "sk-UNIQUE-SECRET-42"
    assert core.reveal_secret(m.id) == "sk-UNIQUE-SECRET-42"
    core.close()
    for f in core.paths.data.rglob("*"):
        if f.is_file():
            assert b"sk-UNIQUE-SECRET-42" not in f.read_bytes(), f


def test_ids_are_stable_and_time_ordered(core: MemoryCore) -> None:
    a = core.new("semantic", {"name": "a", "summary": "a"})
    b = core.new("semantic", {"name": "b", "summary": "b"})
    assert a.id < b.id
    assert core.update(a.id, fields={"summary": "z"}).id == a.id


def test_delete_everything_leaves_nothing(core: MemoryCore) -> None:
    from mirix_app.memory.inbox import InboxItem

    m = core.new("semantic", {"name": "Unforgettable", "summary": "a very specific fact"})
    core.update(m.id, fields={"summary": "changed"})
    core.inbox.put(InboxItem("chat", text="remember the Unforgettable thing"))
    core.paths.screenshots.mkdir(parents=True, exist_ok=True)
    (core.paths.screenshots / "x.webp.enc").write_bytes(b"img")
    core.delete_everything()
    assert (
        sum(core.store.count().values()) == 0 and sum(core.store.count(deleted=True).values()) == 0
    )
    assert core.inbox.backlog() == 0 and core.store.history(m.id) == []
    assert core.vectors.count(MemoryType.SEMANTIC) == 0
    assert not core.paths.screenshots.exists()
    core.close()
    for f in core.paths.data.rglob("*"):
        if f.is_file():
            assert b"Unforgettable" not in f.read_bytes(), f


def test_agent_updates_in_a_burst_share_one_history_entry(core: MemoryCore) -> None:
    m = core.new("episodic", {"summary": "editing notes", "details": "line 1"}, actor="agent")
    core.update(m.id, actor="agent", fields={"details": "line 1\nline 2"})
    core.update(m.id, actor="agent", fields={"details": "line 1\nline 2\nline 3"})
    core.update(m.id, actor="user", fields={"summary": "editing my notes"})
    ops = [(h.op, h.actor) for h in core.history(m.id)]
    assert ops == [("create", "agent"), ("update", "agent"), ("update", "user")]
    burst = core.history(m.id)[1]
    assert burst.before is not None and burst.before.fields["details"] == "line 1"
    assert burst.after is not None and burst.after.fields["details"].endswith("line 3")
    core.undo(m.id)  # the user's edit
    assert core.undo(m.id).fields["details"] == "line 1"  # the agent's whole burst


def test_a_thread_can_release_its_connection(core: MemoryCore) -> None:
    import threading

    core.new("semantic", {"name": "a", "summary": "b"})
    before = len(core.store._all)

    def work() -> None:
        assert core.store.count()["semantic"] == 1
        core.store.release_thread()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert len(core.store._all) == before
