"""Large text cells are stored zlib-compressed: screen text and history snapshots repeat a lot
(a month of captures shrinks ~3x). Small values stay plain TEXT so SQL can still read them."""

from __future__ import annotations

import zlib

PACK_ABOVE = 400  # bytes; below this compression saves little and costs a call


def pack(text: str | None) -> str | bytes | None:
    if text is None or len(text) < PACK_ABOVE:
        return text
    return zlib.compress(text.encode("utf-8"), 6)


def unpack(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return zlib.decompress(value).decode("utf-8")
    return value
