"""`mirix import` of the exports people have: ChatGPT, WhatsApp, Telegram, notes folders, PDFs.
Each format goes in and is found by search; a re-import adds nothing; each broken variant is a
clear error that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirix_app.cli import main
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.transfer import export_lines
from mirix_app.paths import Paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot() -> str:
    with MemoryCore.open(Paths.default()) as core:
        return "\n".join(export_lines(core))


def chatgpt_export() -> list[dict]:
    def node(nid: str, parent: str | None, role: str, text: str, t: float) -> dict:
        return {
            "id": nid,
            "parent": parent,
            "children": [],
            "message": {
                "id": nid,
                "author": {"role": role},
                "create_time": t,
                "content": {"content_type": "text", "parts": [text]},
            },
        }

    mapping = {
        "root": {"id": "root", "parent": None, "children": ["s"], "message": None},
        "s": node("s", "root", "system", "You are ChatGPT", 1714550000),
        "u1": node("u1", "s", "user", "How do I descale a Delonghi espresso machine?", 1714550400),
        "a1": node("a1", "u1", "assistant", "Run citric acid through the steam wand.", 1714550410),
    }
    return [
        {
            "title": "Espresso care",
            "conversation_id": "c-1",
            "current_node": "a1",
            "mapping": mapping,
        }
    ]


WHATSAPP = (
    "12/31/23, 9:41 PM - Messages and calls are end-to-end encrypted.\n"
    "12/31/23, 9:41 PM - Ana: Are we still on for the Lisbon marathon?\n"
    "12/31/23, 9:42 PM - Ben: Yes! I bought new running shoes\n"
    "and a water belt.\n"
    "1/2/24, 8:05 AM - Ana: Training plan starts Monday.\n"
)

TELEGRAM = {
    "name": "Kim",
    "type": "personal_chat",
    "id": 42,
    "messages": [
        {"id": 1, "type": "service", "date": "2024-03-01T10:00:00", "actor": "Kim"},
        {
            "id": 2,
            "type": "message",
            "date": "2024-03-01T10:01:00",
            "date_unixtime": "1709287260",
            "from": "Kim",
            "text": ["The greenhouse tomatoes need ", {"type": "bold", "text": "watering"}, "!"],
        },
        {
            "id": 3,
            "type": "message",
            "date": "2024-03-01T10:02:00",
            "date_unixtime": "1709287320",
            "from": "Me",
            "text": "I'll do it after lunch",
        },
    ],
}


def make_pdf(path: Path, pages: list[str]) -> None:
    """A minimal PDF with a text layer (Helvetica, one line per page), written by hand."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        content_no = len(objs) + 2
        kids.append(f"{len(objs) + 1} 0 R")
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_no} 0 R "
            "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> "
            ">> >> >>"
        )
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def refs(capsys: pytest.CaptureFixture[str], query: str) -> list[str]:
    code, out, _ = run(capsys, "search", query, "--json")
    assert code == 0
    return [s["ref"] for i in json.loads(out)["items"] for s in i["sources"]]


def test_chatgpt(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "conversations.json"
    f.write_text(json.dumps(chatgpt_export()))
    code, out, _ = run(capsys, "import", str(f))
    assert code == 0 and "ingested 2 messages" in out, out  # the system prompt is not one
    assert "u1" in refs(capsys, "descale espresso machine")
    code, out, _ = run(capsys, "import", str(f))
    assert "ingested 0 messages (2 already present)" in out


def test_whatsapp(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "WhatsApp Chat with Ana.txt"
    f.write_text(WHATSAPP)
    code, out, _ = run(capsys, "import", str(f))
    assert code == 0 and "ingested 3 messages" in out, out
    code, out, _ = run(capsys, "search", "water belt", "--json")
    item = json.loads(out)["items"][0]
    assert "running shoes" in item["text"] and item["time"] == "2023-12-31T21:42:00.000Z"


def test_telegram(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "result.json"
    f.write_text(json.dumps(TELEGRAM))
    code, out, _ = run(capsys, "import", str(f))
    assert code == 0 and "ingested 2 messages" in out, out
    assert "2" in refs(capsys, "greenhouse tomatoes watering")


def test_notes_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / ".git").mkdir()
    (notes / "bread.md").write_text("# Sourdough\n\nFeed the starter 12 hours before baking.\n")
    (notes / "sub" / "bike.txt").write_text("Chain lube: every 300 km.\n")
    (notes / ".git" / "HEAD.md").write_text("ignored")
    (notes / "photo.jpg").write_bytes(b"\xff\xd8")
    code, out, _ = run(capsys, "import", str(notes))
    assert code == 0 and "2 added" in out, out
    code, out, _ = run(capsys, "search", "starter baking", "--json")
    item = json.loads(out)["items"][0]
    assert item["type"] == "resource" and item["sources"][0]["kind"] == "file"
    (notes / "sub" / "bike.txt").write_text("Chain lube: every 200 km.\n")
    code, out, _ = run(capsys, "import", str(notes))
    assert "0 added, 1 refreshed, 1 unchanged" in out


def test_pdf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "manual.pdf"
    make_pdf(f, ["Boiler pressure should read 1.5 bar", "Bleed the radiators in autumn", "x"])
    code, out, _ = run(capsys, "import", str(f))
    assert code == 0 and "2 added" in out, out
    code, out, _ = run(capsys, "search", "boiler pressure", "--json")
    item = json.loads(out)["items"][0]
    assert item["type"] == "resource" and item["sources"][0]["ref"].endswith("#page=1")


BROKEN = [
    ("conversations.json", b'[{"title": "x", "mapping": {"a": 5}}]', "chatgpt"),
    (
        "conversations.json",
        b'[{"mapping": {"a": {"message": {"author": {"role": "user"}, '
        b'"create_time": "soon", "content": {"parts": ["hi"]}}}}}]',
        "chatgpt",
    ),
    ("conversations.json", b'[{"mapping": {}', "chatgpt"),
    ("conversations.json", b'{"mapping": {}}', "chatgpt"),
    ("chat.txt", b"12/31/23, 9:41 PM - Ana: hi\n\xff\xfe broken", "whatsapp"),
    ("chat.txt", b"hello there\n12/31/23, 9:41 PM - Ana: hi\n", "whatsapp"),
    ("chat.txt", b"45/45/23, 9:41 PM - Ana: hi\n", "whatsapp"),
    (
        "result.json",
        b'{"messages": [{"type": "message", "text": 5}], "date_unixtime": 1}',
        "telegram",
    ),
    ("result.json", b'{"messages": 3}', "telegram"),
    (
        "result.json",
        b'{"messages": [{"type": "message", "text": "a", "date_unixtime": "x"}]}',
        "telegram",
    ),
    ("bad.pdf", b"%PDF-1.4\nnot really a pdf", "pdf"),
    ("empty.pdf", None, "pdf"),  # a PDF with no text layer
    ("notes", None, "notes"),  # a folder with a note that is not UTF-8
]


@pytest.mark.parametrize(("name", "data", "fmt"), BROKEN)
def test_broken_exports_are_refused_and_change_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, data: bytes | None, fmt: str
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(WHATSAPP)
    assert run(capsys, "import", str(good), "--format", "whatsapp")[0] == 0
    before = snapshot()
    f = tmp_path / name
    if fmt == "notes":
        f.mkdir()
        (f / "a.md").write_text("# fine\n")
        (f / "b.md").write_bytes(b"caf\xe9 latin-1")
    elif data is None:
        make_pdf(f, [""])
    else:
        f.write_bytes(data)
    code, _, err = run(capsys, "import", str(f), "--format", fmt)
    assert code == 1 and err.startswith("error: ") and len(err.splitlines()) <= 2, err
    assert name.split(".")[0] in err or str(f) in err, err
    assert snapshot() == before
