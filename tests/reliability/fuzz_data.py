"""Seeded generators of bad input for the fuzz suite (tests/reliability/test_fuzz_*.py).

Each generator is a pure function of its seed: the same inputs on every run and every machine
(`random.Random(seed)`, no global randomness). A `Case` says what a correct answer to it is:

- "error": bad by construction; the answer must be a MirixError with a message a user can act on
  (for model output: the pipeline's documented fallback, the input kept as unsorted memory);
- "any": a random mutation that may still be valid; success and a MirixError are both right.

Only "error" cases count toward the suite's figure of bad inputs (`bad_counts`).
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

SEED = 20240611


@dataclass(frozen=True)
class Case:
    name: str
    data: Any
    expect: str = "error"  # "error" | "any"
    kind: str = ""  # which target of the family it is for


def _flip_bit(data: bytes, rng: random.Random, lo: int = 0, hi: int | None = None) -> bytes:
    b = bytearray(data)
    pos = rng.randrange(lo, len(b) if hi is None else min(hi, len(b)))
    b[pos] ^= 1 << rng.randrange(8)
    return bytes(b)


def _high_bit(data: bytes, rng: random.Random) -> bytes:
    """Set bit 7 of one ASCII byte: a lone continuation byte, never valid UTF-8."""
    b = bytearray(data)
    ascii_at = [i for i, c in enumerate(b) if c < 0x80]
    pos = rng.choice(ascii_at)
    b[pos] |= 0x80
    return bytes(b)


def _cut_inside(data: bytes, rng: random.Random) -> bytes:
    """A strict prefix that ends inside a JSON value (never valid JSON)."""
    stripped = data.rstrip()
    return stripped[: rng.randrange(1, len(stripped))]


# == images =========================================================================================
def _noise_image(seed: int, w: int = 64, h: int = 48) -> Any:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def encode(image: Any, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt in ("JPEG", "WEBP"):
        image.save(out, fmt, quality=50)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w x h pixels and holds almost none (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_header_only(w: int, h: int) -> bytes:
    """SOI + a baseline SOF0 claiming w x h + EOI: no scan data at all."""
    sof = struct.pack(">BHHB", 8, h, w, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def webp_header_only(w: int, h: int) -> bytes:
    """RIFF/WEBP with a VP8X chunk claiming a w x h canvas and no image chunk."""
    vp8x = b"\x00\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


WRONG_FORMATS: dict[str, bytes] = {
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "zip": b"PK\x03\x04" + bytes(26) + b"screenshot.webp",
    "html": b"<!doctype html><html><body><img src=x></body></html>",
    "text": "a screenshot, honestly: ☺".encode(),
    "elf": b"\x7fELF\x02\x01\x01" + bytes(57),
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(24),
    "avi": b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(24),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="1e9" height="1e9"/>',
    "json": b'{"image": "not really"}',
    "utf16": "PNG image".encode("utf-16"),
}
# Real images in formats a kept screenshot never has: refused by the store (which only reads what
# it writes), shown by the timeline if Qt can draw them.
FOREIGN_FORMATS = ("GIF", "BMP", "TIFF", "ICO", "PPM", "TGA")


def image_cases(seed: int = SEED) -> list[Case]:
    """Bytes of an image file (before encryption): kind "plain"; each is sealed with the data key
    and written where a kept screenshot lives, then read back by every image decoder."""
    rng = random.Random(seed)
    base = _noise_image(seed)
    valid = {fmt: encode(base, fmt) for fmt in ("PNG", "JPEG", "WEBP")}
    sig_len = {"PNG": 8, "JPEG": 3, "WEBP": 4}
    out = [Case("plain-empty", b"", kind="plain")]
    for fmt, data in valid.items():
        for i in range(8):
            cut = rng.randrange(1, int(len(data) * 0.9))
            out.append(Case(f"plain-{fmt}-truncated-{i}@{cut}", data[:cut], kind="plain"))
        for i in range(3):
            out.append(
                Case(
                    f"plain-{fmt}-signature-{i}",
                    _flip_bit(data, rng, 0, sig_len[fmt]),
                    kind="plain",
                )
            )
        for i in range(8):
            junk = rng.randbytes(rng.randrange(1, 600))
            out.append(Case(f"plain-{fmt}-header+junk-{i}", data[:16] + junk, kind="plain"))
        for i in range(10):
            out.append(Case(f"plain-{fmt}-bitflip-{i}", _flip_bit(data, rng), "any", "plain"))
    for w, h in ((100_000, 100_000), (70_000, 70_000), (20_000, 20_000), (12_000, 12_000)):
        out.append(Case(f"plain-PNG-huge-{w}x{h}", png_header_only(w, h), kind="plain"))
    for w, h in ((2**31 - 1, 1), (1, 2**31 - 1), (0, 0), (0, 100)):
        out.append(Case(f"plain-PNG-bad-dims-{w}x{h}", png_header_only(w, h), kind="plain"))
    for w, h in ((65_535, 65_535), (30_000, 30_000), (0, 0)):
        out.append(Case(f"plain-JPEG-huge-{w}x{h}", jpeg_header_only(w, h), kind="plain"))
    for w, h in ((16_384, 16_384), (16_000_000, 16_000_000)):
        out.append(Case(f"plain-WEBP-huge-{w}x{h}", webp_header_only(w, h), kind="plain"))
    for name, data in WRONG_FORMATS.items():
        out.append(Case(f"plain-wrong-format-{name}", data, kind="plain"))
    for fmt in FOREIGN_FORMATS:
        small = _noise_image(seed, 16, 12)
        out.append(Case(f"plain-foreign-{fmt}", encode(small, fmt), kind="plain"))
    for i in range(16):
        out.append(Case(f"plain-garbage-{i}", rng.randbytes(rng.randrange(1, 4096)), kind="plain"))
    return out


def blob_cases(
    sealed: bytes, other_key_sealed: bytes, plain: bytes, seed: int = SEED
) -> list[Case]:
    """Damaged encrypted screenshot files (kind "blob"): `sealed` is a valid kept screenshot."""
    rng = random.Random(seed + 1)
    out = [Case("blob-zero-bytes", b"", kind="blob")]
    for n in range(1, 17):  # into the magic and the nonce
        out.append(Case(f"blob-first-{n}-bytes", sealed[:n], kind="blob"))
    for i in range(10):
        cut = rng.randrange(17, len(sealed))
        out.append(Case(f"blob-truncated-{i}@{cut}", sealed[:cut], kind="blob"))
    for i in range(20):  # AES-GCM authenticates every byte: any flip is detected
        out.append(Case(f"blob-bitflip-{i}", _flip_bit(sealed, rng), kind="blob"))
    for magic in (b"MXE2", b"mxe1", b"MXE\x00"):
        out.append(Case(f"blob-magic-{magic!r}", magic + sealed[4:], kind="blob"))
    out.append(Case("blob-not-encrypted", plain, kind="blob"))
    for i in range(5):
        out.append(
            Case(
                f"blob-MXE1+random-{i}", b"MXE1" + rng.randbytes(rng.randrange(0, 300)), kind="blob"
            )
        )
    out.append(Case("blob-other-key", other_key_sealed, kind="blob"))
    out.append(Case("blob-appended", sealed + b"\x00garbage", kind="blob"))
    out.append(Case("blob-doubled", sealed + sealed, kind="blob"))
    return out


def frame_cases(seed: int = SEED) -> list[Case]:
    """Raw BGRA buffers that do not fit their stated size (kind "frame"): (data, width, height)."""
    rng = random.Random(seed + 2)
    out = []
    specs: list[tuple[int, int, int]] = [
        (0, 0, 0),
        (16, 0, 4),
        (16, 4, 0),
        (16, -2, -2),
        (64, -4, 4),
        (64, 4, 5),
        (63, 4, 4),
        (65, 4, 4),
        (0, 1920, 1080),
        (1920 * 1080 * 3, 1920, 1080),  # BGR, not BGRA
        (64, 1_000_000, 1_000_000),
        (64, 2**31, 2**31),
    ]
    for n, w, h in specs:
        out.append(Case(f"frame-{n}B-{w}x{h}", (rng.randbytes(n), w, h), kind="frame"))
    for i in range(6):
        w, h = rng.randrange(1, 300), rng.randrange(1, 300)
        n = w * h * 4 + rng.choice([-3, -1, 1, 2, 4, w * 4])
        out.append(
            Case(f"frame-off-by-{i}-{w}x{h}", (rng.randbytes(max(0, n)), w, h), kind="frame")
        )
    return out


def ocr_frames(seed: int = SEED) -> list[tuple[str, Any]]:
    """Odd but well-formed frames for the OCR path: (name, bgra array). Not counted as bad input
    (the answer is "no words"), but they must never crash tesseract's caller."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [(1, 1), (2, 36), (36, 2), (3, 4000), (4000, 3), (8, 8), (300, 400), (64, 2000)]
    out = []
    for i, (h, w) in enumerate(shapes):
        a = np.zeros((h, w, 4), dtype=np.uint8)
        if i % 2:
            a[..., :3] = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        out.append((f"ocr-{w}x{h}-{'noise' if i % 2 else 'black'}", a))
    return out


# == conversation files ============================================================================
GENERIC = [
    {
        "id": "m1",
        "speaker": "Ana",
        "text": "Shall we meet at the harbour on Friday?",
        "time": "2024-05-01T10:00:00Z",
    },
    {
        "id": "m2",
        "speaker": "Ben",
        "text": "Yes, at six. Bring the maps.",
        "time": "2024-05-01T10:01:00Z",
    },
    {"id": "m3", "role": "user", "content": "Noted: harbour, Friday, six o'clock."},
]
LOCOMO = {
    "sample_id": "conv-fuzz",
    "conversation": {
        "speaker_a": "Caroline",
        "speaker_b": "Mel",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Caroline", "dia_id": "D1:1", "text": "I went to a pottery class."},
            {
                "speaker": "Mel",
                "dia_id": "D1:2",
                "text": "Nice! What did you make?",
                "blip_caption": "a bowl",
            },
        ],
    },
}


def _generic_with(i: int, key: str, value: Any) -> list[dict[str, Any]]:
    msgs = json.loads(json.dumps(GENERIC))
    if value is _DELETE:
        for k in (key, {"text": "content", "content": "text"}.get(key, "")):
            msgs[i].pop(k, None)
    else:
        msgs[i][key] = value
    return msgs


def _locomo_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    d = json.loads(json.dumps(LOCOMO))
    change(d)
    return d


_DELETE = object()


def _dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def conversation_cases(seed: int = SEED) -> list[Case]:
    """Conversation files for `mirix ingest`: bytes of the file (kind "file"), or a directory."""
    rng = random.Random(seed + 3)
    gen, loc = _dump(GENERIC), _dump(LOCOMO)
    out: list[Case] = []
    for label, data in (("generic", gen), ("locomo", loc)):
        for i in range(10):
            out.append(Case(f"{label}-truncated-{i}", _cut_inside(data, rng), kind="file"))
        for i in range(6):
            out.append(Case(f"{label}-not-utf8-{i}", _high_bit(data, rng), kind="file"))
        for i in range(8):
            out.append(Case(f"{label}-bitflip-{i}", _flip_bit(data, rng), "any", "file"))
    out += [
        Case("empty-file", b"", kind="file"),
        Case("whitespace-file", b" \n\t\n", kind="file"),
        Case(
            "latin1",
            json.dumps([{"text": "café crème"}], ensure_ascii=False).encode("latin-1"),
            kind="file",
        ),
        Case("utf16", json.dumps(GENERIC).encode("utf-16"), kind="file"),
        Case("utf32", json.dumps(GENERIC).encode("utf-32"), kind="file"),
        Case("nul-bytes", b"\x00" * 64, kind="file"),
        Case("random-bytes", rng.randbytes(2048), kind="file"),
        Case("python-repr", repr(GENERIC).encode(), kind="file"),
        Case("jsonl-not-json", b"\n".join(json.dumps(m).encode() for m in GENERIC), kind="file"),
        Case("trailing-comma", b'[{"text": "hi"},]', kind="file"),
        Case("comment", b'// chat\n[{"text": "hi"}]', kind="file"),
        Case("single-quotes", b"[{'text': 'hi'}]", kind="file"),
        Case("nan-literal", b'[{"text": NaN}]', kind="file"),
    ]
    shapes: dict[str, Any] = {
        "number": 42,
        "string": "hello",
        "null": None,
        "true": True,
        "empty-object": {},
        "object-no-messages": {"chat": []},
        "messages-string": {"messages": "hi"},
        "messages-object": {"messages": {"text": "hi"}},
        "list-of-lists": [["Ana", "hi"]],
        "list-of-numbers": [1, 2, 3],
        "list-of-strings": ["hi", "there"],
        "list-of-nulls": [None],
        "mixed-list": [GENERIC[0], "oops"],
        "conversation-list": {"conversation": []},
        "conversation-string": {"conversation": "hi"},
        "conversation-number": [{"conversation": 5}],
        "conversation-null": [{"conversation": None, "sample_id": "x"}],
        "half-locomo": [LOCOMO, {"text": "stray"}],
    }
    for name, obj in shapes.items():
        out.append(Case(f"shape-{name}", _dump(obj), kind="file"))
    bad_values: dict[str, list[Any]] = {
        "text": [None, 5, 2.5, True, ["hi"], {"t": "hi"}, _DELETE],
        "speaker": [5, ["Ana"], {"name": "Ana"}, True],
        "time": [
            "yesterday",
            "2024-13-45",
            "2024-02-30T10:00:00Z",
            "10:00",
            ["2024"],
            {"at": "now"},
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "x" * 10_000,
        ],
    }
    for key, values in bad_values.items():
        for j, v in enumerate(values):
            out.append(
                Case(f"generic-{key}-bad-{j}", _dump(_generic_with(j % 3, key, v)), kind="file")
            )
    out.append(Case("generic-content-number", _dump([{"role": "user", "content": 7}]), kind="file"))
    out.append(Case("generic-author-list", _dump([{"author": ["a"], "text": "hi"}]), kind="file"))

    def turn(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        def f(d: dict[str, Any]) -> None:
            change(d["conversation"]["session_1"][0])

        return f

    locomo_bad: dict[str, Callable[[dict[str, Any]], None]] = {
        "conversation-not-object": lambda d: d.update(conversation=["x"]),
        "turn-string": lambda d: d["conversation"]["session_1"].insert(0, "hello"),
        "turn-null": lambda d: d["conversation"]["session_1"].insert(0, None),
        "text-missing": turn(lambda t: t.pop("text")),
        "text-number": turn(lambda t: t.update(text=3)),
        "text-null": turn(lambda t: t.update(text=None)),
        "text-list": turn(lambda t: t.update(text=["a"])),
        "date-garbage": lambda d: d["conversation"].update(session_1_date_time="soon"),
        "date-13-pm": lambda d: d["conversation"].update(
            session_1_date_time="13:99 pm on 8 May, 2023"
        ),
        "date-31-feb": lambda d: d["conversation"].update(
            session_1_date_time="1:00 pm on 31 February, 2023"
        ),
        "date-huge": lambda d: d["conversation"].update(session_1_date_time="1:00 pm " * 5000),
        "date-year-0": lambda d: d["conversation"].update(
            session_1_date_time="1:00 pm on 8 May, 0"
        ),
        "speaker-surrogate": turn(lambda t: t.update(speaker="Caro\ud800line")),
        "text-surrogate": turn(lambda t: t.update(text="pottery \udcff class")),
        "text-nul": turn(lambda t: t.update(text="pottery\x00class")),
        "text-huge": turn(lambda t: t.update(text="clay " * 250_000)),
    }
    for name, change in locomo_bad.items():
        out.append(Case(f"locomo-{name}", _dump(_locomo_with(change)), kind="file"))
    huge = {
        "generic-text-huge": [{"text": "word " * 250_000}],
        "generic-speaker-huge": [{"speaker": "A" * 5000, "text": "hi"}],
        "generic-text-surrogate": [{"text": "bad \ud800 text"}],
        "generic-speaker-surrogate": [{"speaker": "\udfff", "text": "hi"}],
        "generic-text-nul": [{"text": "a\x00b"}],
        "generic-id-nul": [{"id": "a\x00b", "text": "hi"}],
        "generic-conversation-surrogate": [{"conversation": "c\ud800", "text": "hi"}],
    }
    for name, obj in huge.items():
        out.append(Case(name, _dump(obj), kind="file"))
        if "surrogate" in name:  # the same, written raw: bytes that are not UTF-8
            raw = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
            out.append(Case(name + "-raw", raw, kind="file"))
    out += [
        Case("deep-array-1e3", b"[" * 1_000 + b"]" * 1_000, kind="file"),
        Case("deep-array-1e5", b"[" * 100_000 + b"]" * 100_000, kind="file"),
        Case("deep-object-1e4", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, kind="file"),
        Case("deep-unclosed-1e5", b"[" * 100_000, kind="file"),
        Case("deep-in-text", b'[{"text": ' + b"[" * 5_000 + b"]" * 5_000 + b"}]", kind="file"),
        Case("int-5000-digits", b'[{"id": ' + b"7" * 5_000 + b', "text": "hi"}]', kind="file"),
        Case("float-overflow", b'[{"text": 1e999}]', kind="file"),
        Case("time-number-huge", b'[{"text": "hi", "time": ' + b"9" * 5_000 + b"}]", kind="file"),
        Case("directory", None, kind="directory"),
    ]
    return out


# == import files (JSON Lines) =====================================================================
def _lines(export: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export]


def _jsonl(objs: list[Any]) -> bytes:
    return b"".join(
        json.dumps(o, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass") + b"\n"
        for o in objs
    )


def _find(objs: list[dict[str, Any]], mtype: str) -> int:
    return next(i for i, o in enumerate(objs) if o["type"] == mtype)


def import_cases(export: list[str], seed: int = SEED) -> list[Case]:
    """Mutations of a valid export (one line per memory, all six types, a vault line with a
    sealed value): bytes of the file (kind "jsonl")."""
    rng = random.Random(seed + 4)
    valid = ("\n".join(export) + "\n").encode()
    objs = _lines(export)
    out: list[Case] = []
    for i in range(15):
        line = rng.randrange(len(export))
        head = "".join(x + "\n" for x in export[:line]).encode()
        body = export[line].encode()
        out.append(
            Case(
                f"truncated-{i}-line{line + 1}",
                head + body[: rng.randrange(1, len(body))],
                kind="jsonl",
            )
        )
    for i in range(10):
        out.append(Case(f"not-utf8-{i}", _high_bit(valid, rng), kind="jsonl"))
    for i in range(20):
        out.append(Case(f"bitflip-{i}", _flip_bit(valid, rng), "any", "jsonl"))
    structural = [i for i, c in enumerate(valid) if c in b'{}":[]']
    for i in range(10):
        b = bytearray(valid)
        pos = rng.choice(structural)
        b[pos] = rng.choice(b"x=;#|")
        out.append(Case(f"structural-{i}@{pos}", bytes(b), kind="jsonl"))

    def mutated(name: str, mtype: str, change: Callable[[dict[str, Any]], Any]) -> None:
        o = json.loads(json.dumps(objs))
        change(o[_find(o, mtype)])
        out.append(Case(name, _jsonl(o), kind="jsonl"))

    required = {
        "core": ["label", "value"],
        "semantic": ["name", "summary"],
        "procedural": ["summary"],
        "resource": ["title"],
        "vault": ["entry_type", "secret_value", "caption"],
        "episodic": ["summary"],
    }
    for mtype, keys in required.items():
        for key in keys:
            mutated(f"delete-{mtype}.{key}", mtype, partial(_pop_field, key=key))
        mutated(f"delete-{mtype}.type", mtype, lambda o: o.pop("type"))
    swaps: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
        ("fields-list", "semantic", lambda o: o.update(fields=[])),
        ("fields-string", "episodic", lambda o: o.update(fields="summary")),
        ("tags-string", "semantic", lambda o: o.update(tags="a,b")),
        ("tags-numbers", "semantic", lambda o: o.update(tags=[1, 2])),
        ("tags-nested", "episodic", lambda o: o.update(tags=[["x"]])),
        ("sources-object", "episodic", lambda o: o.update(sources={"kind": "chat"})),
        ("source-string", "episodic", lambda o: o.update(sources=["chat:1"])),
        ("source-kind-bogus", "episodic", lambda o: o["sources"][0].update(kind="telepathy")),
        ("source-ref-empty", "episodic", lambda o: o["sources"][0].update(ref="")),
        ("source-ref-number", "episodic", lambda o: o["sources"][0].update(ref=5)),
        ("source-at-bad", "episodic", lambda o: o["sources"][0].update(at="last week")),
        ("source-uri-number", "episodic", lambda o: o["sources"][0].update(uri=5)),
        ("source-unknown-key", "episodic", lambda o: o["sources"][0].update(color="red")),
        ("source-uri-surrogate", "episodic", lambda o: o["sources"][1].update(uri="/tmp/\udcff")),
        ("source-app-nul", "episodic", lambda o: o["sources"][0].update(app="term\x00")),
        ("version-string", "semantic", lambda o: o.update(version="1")),
        ("version-zero", "semantic", lambda o: o.update(version=0)),
        ("version-negative", "semantic", lambda o: o.update(version=-3)),
        ("version-bool", "semantic", lambda o: o.update(version=True)),
        ("version-float", "semantic", lambda o: o.update(version=1.5)),
        ("created-number", "resource", lambda o: o.update(created_at=12)),
        ("created-garbage", "resource", lambda o: o.update(created_at="yesterday")),
        (
            "created-overflow",
            "resource",
            lambda o: o.update(created_at="0001-01-01T00:00:00+05:00"),
        ),
        (
            "deleted-overflow",
            "resource",
            lambda o: o.update(deleted_at="9999-12-31T23:59:59-05:00"),
        ),
        ("updated-month-13", "resource", lambda o: o.update(updated_at="2024-13-01")),
        ("id-number", "procedural", lambda o: o.update(id=5)),
        ("id-wrong-prefix", "procedural", lambda o: o.update(id="sem_" + o["id"][4:])),
        ("id-nul", "procedural", lambda o: o.update(id=o["id"] + "\x00")),
        ("type-number", "procedural", lambda o: o.update(type=5)),
        ("origin-list", "procedural", lambda o: o.update(origin=["user"])),
        ("tree-path-object", "procedural", lambda o: o.update(tree_path={"a": 1})),
        ("summary-number", "episodic", lambda o: o["fields"].update(summary=42)),
        ("summary-object", "semantic", lambda o: o["fields"].update(summary={"text": "x"})),
        ("occurred-garbage", "episodic", lambda o: o["fields"].update(occurred_at="never")),
        ("limit-string", "core", lambda o: o["fields"].update(limit="2000")),
        ("limit-zero", "core", lambda o: o["fields"].update(limit=0)),
        ("limit-bool", "core", lambda o: o["fields"].update(limit=True)),
        ("limit-below-value", "core", lambda o: o["fields"].update(limit=3)),
        ("steps-string", "procedural", lambda o: o["fields"].update(steps="one, two")),
        ("steps-numbers", "procedural", lambda o: o["fields"].update(steps=[1, 2])),
        ("sensitivity-bogus", "vault", lambda o: o["fields"].update(sensitivity="extreme")),
        ("secret-number", "vault", lambda o: o["fields"].update(secret_value=1234)),
        ("type-unknown", "semantic", lambda o: o.update(type="semantics")),
        ("type-empty", "semantic", lambda o: o.update(type="")),
        ("type-null", "semantic", lambda o: o.update(type=None)),
        ("type-swapped", "semantic", lambda o: o.update(type="episodic")),
        ("unknown-key", "core", lambda o: o.update(colour="blue")),
        ("unknown-field", "core", lambda o: o["fields"].update(mood="happy")),
        ("summary-surrogate", "episodic", lambda o: o["fields"].update(summary="bad \ud800 text")),
        ("tag-surrogate", "semantic", lambda o: o.update(tags=["\udcff"])),
        ("summary-nul", "semantic", lambda o: o["fields"].update(summary="a\x00b")),
        ("source-ref-surrogate", "episodic", lambda o: o["sources"][0].update(ref="\ud83d")),
        ("summary-huge", "semantic", lambda o: o["fields"].update(summary="fact " * 220_000)),
        ("name-huge", "semantic", lambda o: o["fields"].update(name="n" * 1001)),
        ("core-over-limit", "core", lambda o: o["fields"].update(value="v" * 2001, limit=2000)),
        ("steps-huge", "procedural", lambda o: o["fields"].update(steps=["s" * 600_000] * 2)),
        (
            "vault-flipped",
            "vault",
            lambda o: o["fields"].update(secret_value=_flip_b64(o["fields"]["secret_value"])),
        ),
        (
            "vault-bad-base64",
            "vault",
            lambda o: o["fields"].update(secret_value="mirix-enc:v1:!!not base64!!"),
        ),
        ("vault-short", "vault", lambda o: o["fields"].update(secret_value="mirix-enc:v1:AAAA")),
        ("vault-empty", "vault", lambda o: o["fields"].update(secret_value="mirix-enc:v1:")),
        (
            "vault-truncated",
            "vault",
            lambda o: o["fields"].update(secret_value=o["fields"]["secret_value"][:30]),
        ),
    ]
    for name, mtype, change in swaps:
        mutated(f"swap-{name}", mtype, change)
    # Duplicate ids: a line twice, or one id on two different lines of the same type.
    for i in range(4):
        line = rng.randrange(len(export))
        dup = [*export[: line + 1], export[line], *export[line + 1 :]]
        out.append(Case(f"duplicate-line-{i}", ("\n".join(dup) + "\n").encode(), kind="jsonl"))
    same = [i for i, o in enumerate(objs) if o["type"] == "episodic"]
    o2 = json.loads(json.dumps(objs))
    o2[same[1]]["id"] = o2[same[0]]["id"]
    out.append(Case("duplicate-id-two-lines", _jsonl(o2), kind="jsonl"))
    o3 = json.loads(json.dumps(objs))
    o3.append({**o3[same[0]], "fields": {**o3[same[0]]["fields"], "summary": "changed"}})
    out.append(Case("duplicate-id-changed-copy", _jsonl(o3), kind="jsonl"))
    not_objects: list[Any] = [[], 1, "memory", None, True, 1.5]
    for j, value in enumerate(not_objects):
        o4 = [*objs[:2], value, *objs[2:]]
        out.append(Case(f"non-object-line-{j}", _jsonl(o4), kind="jsonl"))
    out += [
        Case(
            "deep-nesting",
            valid + b'{"tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
            kind="jsonl",
        ),
        Case("deep-unclosed", valid + b"[" * 100_000 + b"\n", kind="jsonl"),
        Case(
            "int-5000-digits",
            valid.replace(b'"version": 1', b'"version": ' + b"1" * 5000, 1),
            kind="jsonl",
        ),
        Case(
            "float-overflow", valid.replace(b'"version": 1', b'"version": 1e999', 1), kind="jsonl"
        ),
        Case("line-over-limit", valid + b'{"pad": "' + b"x" * 12_000_001 + b'"}\n', kind="jsonl"),
        Case("nul-bytes", valid + b"\x00" * 32 + b"\n", kind="jsonl"),
        Case("utf16", "\n".join(export).encode("utf-16"), kind="jsonl"),
        Case("json-array-file", json.dumps(objs).encode(), kind="jsonl"),
        Case("garbage", rng.randbytes(4096), kind="jsonl"),
    ]
    return out


def _pop_field(o: dict[str, Any], key: str) -> None:
    o["fields"].pop(key)


def _flip_b64(sealed: str) -> str:
    prefix, body = sealed[:13], sealed[13:]
    i = len(body) // 2
    c = "A" if body[i] != "A" else "B"
    return prefix + body[:i] + c + body[i + 1 :]


# == config files (settings.toml) ==================================================================
VALID_TOML = """\
[vectors]
mode = "embedded"
url = "http://localhost:8000"

[search]
rrf_k = 60
recency_weight = 0.02
recency_half_life_days = 30.0
min_similarity = 0.15

[storage]
busy_timeout_ms = 5000
max_text_bytes = 1000000

[capture]
interval_seconds = 3.0
exclude_apps = ["keepass"]
screenshot_format = "webp"

[model]
backend = "llama"
n_ctx = 4096

[agent]
batch_size = 20
"""

# key -> wrong-typed TOML values (each a bad input)
CONFIG_WRONG_TYPES: dict[str, list[str]] = {
    "vectors.mode": ["1", "true", '["embedded"]'],
    "vectors.url": ["8000", "{ host = 'x' }"],
    "search.rrf_k": ['"60"', "true", "60.5", "[60]", "1979-05-27"],
    "search.recency_weight": ['"0.02"', "false", "[]"],
    "search.recency_half_life_days": ['"30"', "true"],
    "search.min_similarity": ['"high"', "{ a = 1 }"],
    "storage.busy_timeout_ms": ['"5s"', "true", "5000.0"],
    "storage.max_text_bytes": ['"1MB"', "false", "1e6"],
    "capture.interval_seconds": ['"fast"', "true"],
    "capture.exclude_apps": ['"keepass"', "[1, 2]", '[["a"]]'],
    "capture.on_focus_change": ['"yes"', "1"],
    "capture.screenshot_quality": ["50.5", '"50"'],
    "model.backend": ["1"],
    "model.n_ctx": ['"4k"', "true"],
    "model.timeout": ['"2m"'],
    "agent.batch_size": ['"20"', "20.0"],
    "agent.import_notes": ['"no"', "0"],
    "agent.decide_similarity": ['"close"'],
}
# key -> well-typed values that are out of range
CONFIG_OUT_OF_RANGE: dict[str, list[str]] = {
    "vectors.mode": ['"bogus"', '""'],
    "vectors.url": ['""', '"localhost"'],
    "search.rrf_k": ["0", "-1"],
    "search.recency_weight": ["-0.5", "nan", "inf"],
    "search.recency_half_life_days": ["0.0", "-5.0", "nan"],
    "search.min_similarity": ["-2.0", "1.5", "nan"],
    "storage.busy_timeout_ms": ["-1"],
    "storage.max_text_bytes": ["0", "-1"],
    "capture.interval_seconds": ["0", "-3", "nan", "inf"],
    "capture.screenshot_quality": ["0", "101"],
    "capture.screenshot_format": ['"png"'],
    "capture.screenshot_max_width": ["0", "-1280"],
    "capture.block_threshold": ["0"],
    "capture.retention_days": ["-1.0", "nan"],
    "capture.storage_budget_mb": ["-1.0"],
    "capture.ocr_timeout_seconds": ["0", "-1"],
    "capture.idle_after_seconds": ["-1", "nan"],
    "capture.exclude_apps": ['["(unclosed"]'],
    "capture.exclude_titles": ['["*bad"]'],
    "model.backend": ['"gpt"'],
    "model.n_ctx": ["0", "-4096"],
    "model.n_threads": ["0"],
    "model.timeout": ["0", "-1", "nan"],
    "agent.batch_size": ["0", "-1"],
    "agent.items_per_call": ["0"],
    "agent.max_attempts": ["0"],
    "agent.decide_similarity": ["2.0", "nan"],
    "agent.capture_chars": ["-1"],
}
CONFIG_UNKNOWN_KEYS = [
    "search.rrf",
    "search.RRF_K",
    "storage.max_bytes",
    "vectors.modee",
    "capture.intervall_seconds",
    "model.gpu",
    "agent.batchsize",
]
BROKEN_TOML = [
    "[search",
    "[search]\nrrf_k = ",
    "[search]\nrrf_k 60",
    "= 5",
    "[search]\n[search]\nrrf_k = 1",
    "[search]\nrrf_k = 1\nrrf_k = 2",
    "[search]\nrrf_k = [1, 2",
    'a = """unterminated',
    "a = 'unterminated",
    "a = 1979-05-27T07:32:00Zjunk",
    "a = 0x",
    "a = 1__0",
    "a = 01",
    "a = +inf_",
    "a.b = 1\na = 2",
    "a = { b = 1, }",
    "[[search]]\nrrf_k = 1",
    "search = 5",
    "storage = []",
    'vectors = "embedded"',
    "capture = 3",
    "model = [1]",
    "agent = true",
    "[search]\nrrf_k = 60\x00",
    'a = "tab\tin string ok"\nb = "bell\x07"',
    "[ search ]]\n",
    "key with spaces = 1",
    "[search]\nrrf_k = 60 # ok\nrecency_weight = .5",
]


def _set_key(key: str, value: str) -> str:
    section, name = key.split(".")
    return f"[{section}]\n{name} = {value}\n"


def config_cases(seed: int = SEED) -> list[Case]:
    """settings.toml contents (kind "toml": str, "bytes": raw bytes, "directory")."""
    rng = random.Random(seed + 5)
    out: list[Case] = []
    for i, text in enumerate(BROKEN_TOML):
        out.append(Case(f"broken-{i}", text, kind="toml"))
    valid = VALID_TOML.encode()
    quotes = [i for i, c in enumerate(valid) if c == ord('"')]
    for i in range(8):  # cut inside a quoted string: an unterminated string
        q = rng.choice(quotes[::2])
        out.append(Case(f"truncated-in-string-{i}", valid[: q + 2].decode(), kind="toml"))
    for i in range(6):
        out.append(Case(f"not-utf8-{i}", _high_bit(valid, rng), kind="bytes"))
    out.append(Case("utf16", VALID_TOML.encode("utf-16"), kind="bytes"))
    out.append(Case("binary", rng.randbytes(512), kind="bytes"))
    for i in range(8):
        out.append(Case(f"bitflip-{i}", _flip_bit(valid, rng), "any", "bytes"))
    for key, values in CONFIG_WRONG_TYPES.items():
        for j, v in enumerate(values):
            out.append(
                Case(
                    f"type-{key}-{j}",
                    _set_key(key, v),
                    kind="toml",
                )
            )
    for key, values in CONFIG_OUT_OF_RANGE.items():
        for j, v in enumerate(values):
            out.append(Case(f"range-{key}-{j}", _set_key(key, v), kind="toml"))
    for key in CONFIG_UNKNOWN_KEYS:
        out.append(Case(f"unknown-{key}", _set_key(key, "1"), kind="toml"))
    out.append(Case("directory", None, kind="directory"))
    return out


# == model outputs =================================================================================
def _note(
    summary: str = "Reading about lighthouse maintenance", topics: Any = None, facts: Any = None
) -> dict[str, Any]:
    return {
        "summary": summary,
        "topics": ["lighthouse"] if topics is None else topics,
        "facts": [] if facts is None else facts,
    }


def model_output_cases(seed: int = SEED) -> list[Case]:
    """Replies of the model to an extraction request for ONE item (kind "extract"): str."""
    rng = random.Random(seed + 6)
    good = json.dumps({"notes": [_note()]})
    out: list[Case] = []
    for i in range(16):
        out.append(Case(f"truncated-{i}", good[: rng.randrange(0, len(good) - 1)], kind="extract"))
    for i in range(6):
        out.append(
            Case(
                f"garbage-{i}",
                "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 400))),
                kind="extract",
            )
        )
    texts = [
        "",
        "   \n\t",
        "I'm sorry, I can't help with that.",
        "```json\n```",
        '```json\n{"notes": [',
        "{'notes': [{'summary': 'x', 'topics': ['x'], 'facts': []}]}",
        '{"notes": [{"summary": "x", "topics": ["x"], "facts": [],}]}',
        '{"notes": [] // none\n}',
        "null",
        "true",
        "42",
        '"notes"',
        "[]",
        "[{}]",
        "{}",
        'Sure! Here are the notes: {"notes": oops}',
        '{"notes": NaN}',
        '{"notes": Infinity}',
        "{" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"notes": ' + "[" * 3_000 + "]" * 3_000 + "}",
        '{"notes": [{"summary": ' + "9" * 5_000 + ', "topics": ["x"], "facts": []}]}',
        '{"notes": [{"summary": 1e999, "topics": ["x"], "facts": []}]}',
        "\x00" * 100,
        "\ufeff" + good[:-1],
    ]
    for i, t in enumerate(texts):
        out.append(Case(f"broken-{i}", t, kind="extract"))
    schema_bad: list[Any] = [
        {"notes": "lighthouse"},
        {"notes": {"0": _note()}},
        {"notes": []},
        {"notes": [_note(), _note()]},
        {"notes": [None]},
        {"notes": ["Reading about lighthouses"]},
        {"notes": [[_note()]]},
        {"note": [_note()]},
        {"NOTES": [_note()]},
        {"notes": [{k: v for k, v in _note().items() if k != "summary"}]},
        {"notes": [{k: v for k, v in _note().items() if k != "topics"}]},
        {"notes": [{k: v for k, v in _note().items() if k != "facts"}]},
        {"notes": [_note(summary=42)]},  # type: ignore[arg-type]
        {"notes": [_note(summary=None)]},  # type: ignore[arg-type]
        {"notes": [_note(summary=["a"])]},  # type: ignore[arg-type]
        {"notes": [_note(summary=True)]},  # type: ignore[arg-type]
        {"notes": [_note(summary="lighthouse " * 20)]},
        {"notes": [_note(topics=[])]},
        {"notes": [_note(topics="lighthouse")]},
        {"notes": [_note(topics=["a", "b", "c", "d"])]},
        {"notes": [_note(topics=["lighthouse" * 4])]},
        {"notes": [_note(topics=[1])]},
        {"notes": [_note(topics=[None])]},
        {"notes": [_note(topics=[["lighthouse"]])]},
        {"notes": [_note(facts="none")]},
        {"notes": [_note(facts=[{"name": "a", "summary": "b"}] * 2)]},
        {"notes": [_note(facts=[{"name": "lighthouse"}])]},
        {"notes": [_note(facts=[{"summary": "lighthouse needs paint"}])]},
        {"notes": [_note(facts=[{"name": 5, "summary": "x"}])]},
        {"notes": [_note(facts=[{"name": "x", "summary": None}])]},
        {"notes": [_note(facts=[{"name": "n" * 41, "summary": "x"}])]},
        {"notes": [_note(facts=[{"name": "x", "summary": "s" * 121}])]},
        {"notes": [_note(facts=["lighthouse is old"])]},
        {"notes": [_note(facts=[None])]},
        {"notes": [_note(summary="lighthouse maintenance " + "x" * 1_000_000)]},
        {"notes": [_note(topics=["lighthouse"] * 100_000)]},
    ]
    for i, obj in enumerate(schema_bad):
        out.append(Case(f"schema-{i}", json.dumps(obj), kind="extract"))
    # Not valid UTF-8 text: lone surrogates (what a broken decoder or a JSON escape yields) and NUL.
    bad_text = [
        ("summary", "Reading about lighthouse \ud800 maintenance"),
        ("topic", "lighthouse\udcff"),
        ("topic", "lighthouse\x00"),
        ("fact-name", "lighthouse\ud83d"),
        ("fact-summary", "lighthouse maintenance \udfff"),
        ("summary", "Reading about lighthouse\x00maintenance"),
    ]
    for j, (where, s) in enumerate(bad_text):
        if where == "summary":
            note = _note(summary=s)
        elif where == "topic":
            note = _note(topics=[s])
        elif where == "fact-name":
            note = _note(facts=[{"name": s, "summary": "lighthouse maintenance is reading"}])
        else:
            note = _note(facts=[{"name": "lighthouse", "summary": s}])
        raw = json.dumps({"notes": [note]}, ensure_ascii=False)
        out.append(Case(f"invalid-text-{where}-{j}", raw, kind="extract"))
        out.append(
            Case(f"invalid-text-escaped-{where}-{j}", json.dumps({"notes": [note]}), kind="extract")
        )
    return out


def decide_output_cases(ids: list[str], seed: int = SEED) -> list[Case]:
    """Replies to a decide request whose valid target ids are `ids` (kind "decide")."""
    rng = random.Random(seed + 7)
    ok = {"action": "update", "target": ids[0], "other": "", "summary": "lighthouse"}
    good = json.dumps(ok)
    out = [
        Case(f"decide-truncated-{i}", good[: rng.randrange(0, len(good) - 1)], kind="decide")
        for i in range(6)
    ]
    bad: list[Any] = [
        {**ok, "target": "sem_NOTANID"},
        {**ok, "target": ids[0] + "x"},
        {**ok, "target": ids[0].lower()},
        {**ok, "target": 5},
        {**ok, "target": None},
        {**ok, "target": [ids[0]]},
        {**ok, "action": "destroy"},
        {**ok, "action": "DELETE"},
        {**ok, "action": None},
        {**ok, "action": "merge", "other": "sem_GHOST"},
        {**ok, "other": 7},
        {**ok, "summary": "s" * 301},
        {**ok, "summary": 12},
        {**ok, "summary": "bad \ud800"},
        {k: v for k, v in ok.items() if k != "action"},
        {k: v for k, v in ok.items() if k != "target"},
        {k: v for k, v in ok.items() if k != "other"},
        {k: v for k, v in ok.items() if k != "summary"},
        [ok],
        {"decision": ok},
    ]
    for i, obj in enumerate(bad):
        out.append(Case(f"decide-bad-{i}", json.dumps(obj), kind="decide"))
    out.append(Case("decide-deep", "[" * 50_000, kind="decide"))
    out.append(Case("decide-huge-int", '{"action": ' + "1" * 6000 + "}", kind="decide"))
    return out


def rewrite_output_cases(limit: int, seed: int = SEED) -> list[Case]:
    """Replies to a core-block rewrite request (kind "rewrite")."""
    rng = random.Random(seed + 8)
    good = json.dumps({"value": "name: Ana"})
    out = [
        Case(f"rewrite-truncated-{i}", good[: rng.randrange(0, len(good) - 1)], kind="rewrite")
        for i in range(4)
    ]
    for i, obj in enumerate(
        [
            {"value": "v" * (limit + 1)},
            {"value": 5},
            {"value": None},
            {"value": ["name: Ana"]},
            {"text": "name: Ana"},
            {"value": "name: Ana \udcff"},
            "name: Ana",
        ]
    ):
        out.append(Case(f"rewrite-bad-{i}", json.dumps(obj), kind="rewrite"))
    return out


def http_reply_cases() -> list[Case]:
    """What an OpenAI-compatible server may send back (kind "http"): (status, content-type, body)."""
    sse = "text/event-stream"
    js = "application/json"
    chunk = lambda s: "data: " + json.dumps({"choices": [{"delta": {"content": s}}]}) + "\n\n"  # noqa: E731
    replies: list[tuple[str, tuple[int, str, bytes]]] = [
        ("json-not-json", (200, js, b"<html>502 Bad Gateway</html>")),
        ("json-empty", (200, js, b"")),
        ("json-not-utf8", (200, js, b'{"choices": [{"message": {"content": "\xff\xfe"}}]}')),
        ("json-no-choices", (200, js, b'{"error": "overloaded"}')),
        ("json-choices-empty", (200, js, b'{"choices": []}')),
        ("json-choices-string", (200, js, b'{"choices": "x"}')),
        ("json-message-missing", (200, js, b'{"choices": [{}]}')),
        ("json-message-string", (200, js, b'{"choices": [{"message": "hi"}]}')),
        ("json-content-number", (200, js, b'{"choices": [{"message": {"content": 5}}]}')),
        ("json-top-list", (200, js, b"[1, 2]")),
        ("json-deep", (200, js, b"[" * 100_000)),
        (
            "json-content-not-json",
            (200, js, b'{"choices": [{"message": {"content": "no notes today"}}]}'),
        ),
        ("sse-garbage-only", (200, sse, b"data: {oops\n\ndata: [DONE]\n\n")),
        ("sse-event-list", (200, sse, b"data: [1, 2]\n\ndata: [DONE]\n\n")),
        ("sse-choices-string", (200, sse, b'data: {"choices": "x"}\n\ndata: [DONE]\n\n')),
        (
            "sse-delta-string",
            (200, sse, b'data: {"choices": [{"delta": "x"}]}\n\ndata: [DONE]\n\n'),
        ),
        ("sse-content-number", (200, sse, b'data: {"choices": [{"delta": {"content": 5}}]}\n\n')),
        ("sse-not-utf8", (200, sse, b"data: \xff\xfe\xfd\n\ndata: [DONE]\n\n")),
        (
            "sse-truncated-json",
            (200, sse, (chunk('{"notes": [{"summ') + "data: [DONE]\n\n").encode()),
        ),
        ("sse-no-done", (200, sse, chunk('{"notes"').encode())),
        ("status-500", (500, js, b'{"error": "boom"}')),
        ("status-404-html", (404, "text/html", b"<h1>Not Found</h1>")),
        ("status-401", (401, js, b"{}")),
        ("status-429", (429, js, b'{"error": "rate limited"}')),
    ]
    return [Case(f"http-{name}", r, kind="http") for name, r in replies]


# == totals ========================================================================================
def bad_counts(cases_by_family: dict[str, list[Case]]) -> dict[str, int]:
    return {f: sum(c.expect == "error" for c in cs) for f, cs in cases_by_family.items()}


# == judging answers ===============================================================================
class Outcomes:
    """Collects every problem of a family's run, so one run lists all bugs at once.

    `check(case, fn)` runs fn(): a MirixError is a rejection (its message must be clear); any
    other exception is a bug; a success on an "error" case is a bad input taken as valid."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.rejected = 0
        self.accepted = 0

    def check(self, case: Case, fn: Callable[[], Any], *, must_name: str = "") -> Any:
        from mirix_app.errors import MirixError

        try:
            result = fn()
        except MirixError as e:
            self.rejected += 1
            why = unclear(e)
            if why:
                self.problems.append(f"{case.name}: unclear message ({why}): {str(e)[:160]!r}")
            elif must_name and must_name not in str(e):
                self.problems.append(f"{case.name}: message does not name {must_name!r}: {e}")
            return e
        except Exception as e:  # every other exception type is the bug we look for
            self.problems.append(f"{case.name}: {type(e).__name__} escaped: {str(e)[:160]!r}")
            return e
        self.accepted += 1
        if case.expect == "error":
            self.problems.append(f"{case.name}: bad input accepted as valid")
        return result

    def problem(self, case: Case, what: str) -> None:
        self.problems.append(f"{case.name}: {what}")

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problem(s):\n" + "\n".join(self.problems)


def unclear(e: BaseException) -> str:
    """Why an error message is not one a user can act on ("" when it is)."""
    from mirix_app.errors import MirixError

    if not isinstance(e, MirixError):
        return f"{type(e).__name__} is not a MirixError"
    msg = e.message
    if not msg.strip():
        return "empty"
    if "\n" in msg or (e.hint and "\n" in e.hint):
        return "more than one line"
    if len(str(e)) > 600:
        return f"{len(str(e))} characters long"
    if "Traceback" in msg or "object at 0x" in msg:
        return "a raw exception"
    return ""
