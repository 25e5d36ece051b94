"""The `mirix` command: every memory subcommand, export/import round trip, bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from mirix_app.cli import main
from mirix_app.memory.keys import open_raw
from mirix_app.paths import Paths

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from locomo_data import locomo_path

LOCOMO = locomo_path()


def run(
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(
            sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
        )
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _seed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    ids = {}
    for key, args in {
        "core": ["core", "label=human", "value=Sam, a developer in Lyon"],
        "episodic": ["episodic", "summary=Met Alice for lunch", "occurred_at=2024-05-01T12:00:00Z"],
        "semantic": ["semantic", "name=Alice", "summary=Alice is my manager", "--tag", "work"],
        "procedural": ["procedural", "summary=Release mirix", "steps=bump version;tag;push"],
        "resource": [
            "resource",
            "title=Q3 plan",
            "content=Ship the memory core",
            "--path",
            "work/plans",
        ],
        "vault": [
            "vault",
            "entry_type=api_key",
            "secret_value=sk-live-XYZ123",
            "caption=Stripe key",
            "sensitivity=high",
        ],
    }.items():
        code, out, _ = run(capsys, "add", *args, "--source", "chat:msg-1")
        assert code == 0
        ids[key] = out.strip()
    return ids


def _export(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code, out, _ = run(capsys, "export", *extra)
    assert code == 0
    return out


def test_add_show_edit_undo_history(capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed(capsys)
    code, out, _ = run(capsys, "show", ids["procedural"])
    assert code == 0 and "2. tag" in out and "chat:msg-1" in out
    code, out, _ = run(capsys, "show", ids["vault"])
    assert "sk-live-XYZ123" not in out and "•" in out
    code, out, _ = run(capsys, "show", ids["vault"], "--reveal")
    assert "sk-live-XYZ123" in out
    code, out, _ = run(capsys, "edit", ids["semantic"], "summary=Bob is my manager")
    assert code == 0 and "version 2" in out
    code, out, _ = run(capsys, "show", ids["semantic"], "--json")
    assert json.loads(out)["fields"]["summary"] == "Bob is my manager"
    assert run(capsys, "undo", ids["semantic"])[0] == 0
    code, out, _ = run(capsys, "history", ids["semantic"])
    assert [line.split()[2] for line in out.splitlines()] == ["create", "update", "undo"]


def test_search_table_json_and_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _seed(capsys)
    code, out, _ = run(capsys, "search", "manager")
    assert code == 0 and ids["semantic"] in out and "from: chat:msg-1" in out
    code, out, _ = run(
        capsys,
        "search",
        "-",
        "--json",
        "-n",
        "3",
        stdin="manager\nrelease steps\n",
        monkeypatch=monkeypatch,
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["query"] for x in lines] == ["manager", "release steps"]
    assert lines[0]["items"][0]["id"] == ids["semantic"]
    assert set(lines[1]["items"][0]) == {"type", "id", "score", "text", "time", "sources"}
    code, out, _ = run(capsys, "search", "Alice", "--type", "episodic", "--json")
    assert {i["type"] for i in json.loads(out)["items"]} == {"episodic"}


def test_forget_trash_restore_purge(capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed(capsys)
    assert run(capsys, "forget", ids["episodic"])[0] == 0
    code, out, _ = run(capsys, "trash")
    assert ids["episodic"] in out
    assert run(capsys, "restore", ids["episodic"])[0] == 0
    # by query needs confirmation when not on a terminal
    code, _, err = run(capsys, "forget", "--query", "Alice")
    assert code == 1 and "--yes" in err
    assert run(capsys, "forget", "--query", "Alice", "--yes")[0] == 0
    code, out, _ = run(capsys, "trash")
    assert ids["semantic"] in out and ids["episodic"] in out
    # by time range
    assert run(capsys, "forget", "--until", "2024-06-01", "--yes")[0] == 0
    code, out, _ = run(capsys, "trash", "--purge", "--yes")
    assert code == 0 and "purged 2" in out
    assert run(capsys, "show", ids["semantic"])[0] == 1


def test_export_wipe_import_export_is_identical(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = _seed(capsys)
    run(capsys, "edit", ids["resource"], "summary=updated")
    run(capsys, "forget", ids["episodic"])  # the trash is exported too
    first = _export(capsys)
    assert len(first.splitlines()) == 6 and "sk-live-XYZ123" not in first
    f = tmp_path / "all.jsonl"
    f.write_text(first)
    from mirix_app.memory.core import MemoryCore

    core = MemoryCore.open(Paths.default())
    core.store.wipe()
    core.vectors.reset()
    core.close()
    assert _export(capsys) == ""
    code, out, _ = run(capsys, "import", str(f))
    assert code == 0 and "6 added" in out
    assert _export(capsys) == first
    code, out, _ = run(capsys, "import", str(f))
    assert "6 unchanged" in out
    code, out, _ = run(capsys, "search", "Stripe", "--json")
    assert json.loads(out)["items"][0]["id"] == ids["vault"]
    # clear-text export round-trips too
    clear = _export(capsys, "--reveal-secrets")
    assert "sk-live-XYZ123" in clear


BAD_IMPORTS = {
    "malformed": b'{"type": "semantic", "fields": {"name": "x", "summary": "y"}}\n{"type": ',
    "truncated": b'{"type": "semantic", "fields": {"name": "x", "summ',
    "unknown_type": b'{"type": "opinion", "fields": {}}\n',
    "missing_field": b'{"type": "semantic", "fields": {"name": "x"}}\n',
    "invalid_utf8": b'{"type": "semantic", "fields": {"name": "\xff\xfe", "summary": "y"}}\n',
    "huge_text": b'{"type": "resource", "fields": {"title": "t", "content": "'
    + b"a" * 10_000_000
    + b'"}}\n',
    "not_object": b"[1, 2, 3]\n",
    "dup_id": b'{"id": "sem_01AAAAAAAAAAAAAAAAAAAAAAAA", "type": "semantic", "fields": {"name": "x", "summary": "y"}}\n'
    * 2,
    "wrong_prefix": b'{"id": "epi_01AAAAAAAAAAAAAAAAAAAAAAAA", "type": "semantic", "fields": {"name": "x", "summary": "y"}}\n',
}


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_bad_import_is_refused_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    _seed(capsys)
    before = _export(capsys)
    f = tmp_path / "bad.jsonl"
    f.write_bytes(BAD_IMPORTS[case])
    code, _, err = run(capsys, "import", str(f))
    assert code == 1
    assert err.startswith("error: ") and "Traceback" not in err
    assert _export(capsys) == before


def test_bad_input_on_add_and_missing_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "add", "semantic", "name=x")
    assert code == 1 and "summary is required" in err
    code, _, err = run(capsys, "add", "gossip", "a=b")
    assert code == 1 and "unknown memory type" in err
    code, _, err = run(capsys, "import", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "cannot read" in err
    code, _, err = run(capsys, "search", "x", "--since", "last tuesday")
    assert code == 1 and "unreadable time" in err


def test_locked_database_gives_a_clear_error_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(capsys)
    before = _export(capsys)
    paths = Paths.default()
    paths.settings_file.write_text("[storage]\nbusy_timeout_ms = 200\n")
    blocker = open_raw(paths)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = run(capsys, "add", "semantic", "name=x", "summary=y")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert code == 1 and "locked" in err
    assert _export(capsys) == before


def test_ingest_generic_and_locomo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conv = tmp_path / "chat.json"
    conv.write_text(
        json.dumps(
            [
                {
                    "id": "m1",
                    "speaker": "Ana",
                    "text": "Our offsite is in Porto",
                    "time": "2024-04-02T09:00:00Z",
                },
                {
                    "id": "m2",
                    "speaker": "Ben",
                    "text": "Great, I'll book flights",
                    "time": "2024-04-02T09:01:00Z",
                },
            ]
        )
    )
    code, out, _ = run(capsys, "ingest", str(conv))
    assert code == 0 and "ingested 2" in out
    code, out, _ = run(capsys, "ingest", str(conv))
    assert "ingested 0 messages (2 already present)" in out
    code, out, _ = run(capsys, "search", "offsite Porto", "--json")
    item = json.loads(out)["items"][0]
    assert item["sources"][0]["ref"] == "m1" and item["time"] == "2024-04-02T09:00:00.000Z"
    if LOCOMO is not None:
        code, out, _ = run(capsys, "ingest", str(LOCOMO), "--conversation", "conv-26")
        assert code == 0 and "ingested 419" in out
        code, out, _ = run(capsys, "search", "Caroline adoption agencies", "--json", "-n", "20")
        refs = [s["ref"] for i in json.loads(out)["items"] for s in i["sources"]]
        assert all(r.startswith("D") and ":" in r for r in refs)
        assert "D1:3"[:2] in "".join(refs)
        from mirix_app.memory.core import MemoryCore

        m = (
            MemoryCore.open(Paths.default())
            .search("Caroline researching adoption agencies")[0]
            .memory
        )
        assert m.sources[0].at and m.sources[0].at.startswith("2023-")


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b'{"messages": 5}',
        b'[{"speaker": "a"}]',
        b'[{"text": "x", "time": "someday"}]',
        b'[{"conversation": 3}]',
    ],
)
def test_bad_conversation_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    f = tmp_path / "c.json"
    f.write_bytes(content)
    code, _, err = run(capsys, "ingest", str(f))
    assert code == 1 and err.startswith("error: ")


def test_stats_and_reindex(capsys: pytest.CaptureFixture[str]) -> None:
    _seed(capsys)
    code, out, _ = run(capsys, "stats", "--json")
    s = json.loads(out)
    assert s["live"]["semantic"] == 1 and sum(s["live"].values()) == 6 and s["pending_vectors"] == 0
    code, _, err = run(capsys, "reindex")
    assert code == 0 and "6 memories" in err


def test_data_dir_flag_moves_everything(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    assert run(capsys, "--data-dir", str(other), "add", "semantic", "name=a", "summary=b")[0] == 0
    assert (other / "data" / "memory.db").exists()
    assert (other / "logs" / "mirix.log").exists()


def test_private_permissions(capsys: pytest.CaptureFixture[str]) -> None:
    _seed(capsys)
    paths = Paths.default()
    for d in (paths.data, paths.config, paths.cache, paths.logs):
        assert d.stat().st_mode & 0o777 == 0o700, d
    for f in paths.data.rglob("*"):
        mode = f.stat().st_mode & 0o777
        assert mode == (0o700 if f.is_dir() else 0o600), (f, oct(mode))
    assert paths.log_file.stat().st_mode & 0o777 == 0o600
    log = paths.log_file.read_text()
    assert "sk-live-XYZ123" not in log and "Alice" not in log
