"""Times are stored as ISO 8601 UTC strings with milliseconds, so text order is time order."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

_FMT = "%Y-%m-%dT%H:%M:%S.%f"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now_iso() -> str:
    return to_iso(datetime.now(UTC))


def to_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime(_FMT)[:-3] + "Z"


def parse_time(value: str) -> datetime:
    """Parse an ISO time (date, naive = UTC, 'Z' or offset); ValueError on anything else."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def normalize_time(value: str) -> str:
    """ISO UTC with milliseconds; ValueError on anything else (also on a time that leaves the
    calendar when moved to UTC, e.g. 0001-01-01T00:00+05:00)."""
    try:
        return to_iso(parse_time(value))
    except OverflowError:
        raise ValueError(f"time out of range: {value[:40]!r}") from None


def new_id(prefix: str) -> str:
    """A time-ordered, collision-free id (ULID layout: 48-bit ms time + 80 random bits)."""
    ms = time.time_ns() // 1_000_000
    n = (ms << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[n & 31])
        n >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
