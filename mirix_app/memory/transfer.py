"""Export and import: JSON Lines, one memory per line, all six types, lossless round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from mirix_app.errors import InvalidInput, MirixError
from mirix_app.memory.types import Memory

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

MAX_LINE_BYTES = 12_000_000


def export_lines(core: MemoryCore, *, reveal_secrets: bool = False) -> Iterator[str]:
    """Every memory, trash included, ordered by type then id. Vault values stay sealed unless
    `reveal_secrets` (then the file holds them in clear: keep it safe)."""
    for m in core.store.iter_all():
        d = m.to_dict()
        if reveal_secrets and m.type.value == "vault":
            d["fields"] = {
                **d["fields"],
                "secret_value": core.secrets.open(m.fields["secret_value"]),
            }
        yield json.dumps(d, ensure_ascii=False, sort_keys=True)


@dataclass
class ImportReport:
    added: int = 0
    replaced: int = 0
    unchanged: int = 0


def parse_lines(stream: IO[bytes], name: str = "input") -> list[Memory]:
    """Read and validate every line first; any bad line stops the import before a write."""
    out: list[Memory] = []
    seen: set[str] = set()
    # readline(limit): a file with no line breaks is refused after MAX_LINE_BYTES, not read whole
    lines = iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b"")
    for lineno, raw in enumerate(lines, 1):
        if len(raw) > MAX_LINE_BYTES:
            raise InvalidInput(f"{name}:{lineno}: line is over {MAX_LINE_BYTES:,} bytes")
        try:
            # -sig on the first line: a BOM from a Windows editor is not part of the data
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInput(f"{name}:{lineno}: not valid UTF-8 (byte {e.start})") from None
        if not text.strip():
            continue
        hint = "each line must be one JSON object, as `mirix export` writes"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInput(
                f"{name}:{lineno}: not valid JSON ({e.msg} at column {e.colno})", hint
            ) from None
        except RecursionError:
            raise InvalidInput(f"{name}:{lineno}: JSON nested too deeply", hint) from None
        except ValueError as e:  # a number with thousands of digits
            raise InvalidInput(f"{name}:{lineno}: not valid JSON ({str(e)[:80]})", hint) from None
        try:
            m = Memory.from_dict(obj)
        except MirixError as e:
            raise InvalidInput(f"{name}:{lineno}: {e.message}", e.hint) from None
        if m.id:
            if m.id in seen:
                raise InvalidInput(f"{name}:{lineno}: id {m.id} appears twice in the file")
            seen.add(m.id)
        out.append(m)
    return out


def import_memories(
    core: MemoryCore, memories: list[Memory], *, actor: str = "import"
) -> ImportReport:
    """All or nothing. A line with a known id replaces that memory (the old state goes to history);
    identical lines change nothing, so importing the same file twice is harmless."""
    report = ImportReport()
    store = core.store
    for n, m in enumerate(memories, 1):  # before any write: a bad value stops the whole import
        if m.type.value == "vault":
            _check_sealed(core, m, n)
    with store.write() as con:
        for m in memories:
            if m.type.value == "vault":
                value = m.fields["secret_value"]
                if not core.secrets.is_sealed(value):
                    m.fields["secret_value"] = core.secrets.seal(value)
            existing = None
            if m.id:
                row = con.execute("SELECT 1 FROM memories WHERE id=?", (m.id,)).fetchone()
                existing = store.get_in(con, m.id) if row else None
            if existing is None:
                store.add_in(con, m, actor=actor)
                report.added += 1
            elif _same(core, existing, m):
                report.unchanged += 1
            else:
                store.replace_in(con, m, actor=actor)
                report.replaced += 1
    core.sync_vectors()
    return report


def _check_sealed(core: MemoryCore, m: Memory, n: int) -> None:
    """A sealed vault value must open with this install's key (a clear error otherwise)."""
    value = m.fields["secret_value"]
    if not core.secrets.is_sealed(value):
        return
    which = f"vault memory {m.id}" if m.id else f"vault memory #{n} (no id)"
    try:
        core.secrets.open(value)
    except MirixError as e:
        raise InvalidInput(f"{which}: {e.message}", e.hint) from None
    except (ValueError, TypeError):  # bad base64, too short for a nonce: damaged, not a key issue
        raise InvalidInput(
            f"{which}: its sealed value is damaged",
            "export it again with `mirix export`, or put the value in clear with "
            "`mirix export --reveal-secrets`",
        ) from None


def _same(core: MemoryCore, a: Memory, b: Memory) -> bool:
    da, db = a.to_dict(), b.to_dict()
    if a.type.value == "vault":  # sealed values differ by nonce; compare what they hold
        for d in (da, db):
            d["fields"] = {
                **d["fields"],
                "secret_value": core.secrets.open(d["fields"]["secret_value"]),
            }
    return da == db
