"""Documents as resource memories: a folder of Markdown or plain-text notes, PDFs with a text
layer. One resource per note (long notes: one per section under a heading), one per PDF page
range; each cites its file (and page). Everything is read and checked before the first write; a
re-import of an unchanged file adds nothing, a changed file refreshes its resources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import to_iso
from mirix_app.memory.types import Memory, MemoryType, Source, validate_fields

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".text")
MAX_NOTE_BYTES = 5_000_000
SECTION_CHARS = 6000  # a longer note is split at its headings
PDF_PAGES_PER_MEMORY = 2
MAX_PDF_BYTES = 200_000_000


@dataclass
class Doc:
    title: str
    content: str
    ref: str  # file path, "#page=N" for a PDF page range, "#section=N" for a note's section
    uri: str
    at: str
    resource_type: str


def _mtime(path: Path) -> str:
    from datetime import UTC, datetime

    return to_iso(datetime.fromtimestamp(path.stat().st_mtime, UTC))


def notes(folder: Path) -> list[Doc]:
    """Every .md/.txt file under `folder` (hidden folders skipped), in path order."""
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in NOTE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise InvalidInput(f"{folder} holds no Markdown or text notes (.md, .txt)")
    out: list[Doc] = []
    for p in files:
        out += note(p)
    return out


def note(path: Path) -> list[Doc]:
    try:
        if path.stat().st_size > MAX_NOTE_BYTES:
            raise InvalidInput(f"{path} is over {MAX_NOTE_BYTES:,} bytes: not a note")
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text (byte {e.start})") from None
    if "\x00" in text:
        raise InvalidInput(f"{path} holds NUL characters: not a text note")
    text = text.replace("\r\n", "\n")
    uri = str(path.resolve())
    at = _mtime(path)
    heading = re.search(r"^#{1,3}\s+(.+)$", text, re.MULTILINE)
    title = heading.group(1).strip() if heading else path.stem
    if not text.strip():
        return []
    sections = _sections(text) if len(text) > SECTION_CHARS else [(title, text)]
    return [
        Doc(
            title=t if len(sections) == 1 else f"{title} — {t}",
            content=body.strip(),
            ref=uri if len(sections) == 1 else f"{uri}#section={n}",
            uri=uri,
            at=at,
            resource_type="note",
        )
        for n, (t, body) in enumerate(sections, 1)
        if body.strip()
    ]


def _sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"(?m)^(#{1,3}\s+.+)$", text)
    out: list[tuple[str, str]] = []
    if parts[0].strip():
        out.append(("start", parts[0]))
    for i in range(1, len(parts), 2):
        out.append((parts[i].lstrip("#").strip(), parts[i] + "\n" + parts[i + 1]))
    # Headings far apart still leave long sections: cut those at paragraph breaks.
    final: list[tuple[str, str]] = []
    for title, body in out:
        while len(body) > SECTION_CHARS:
            cut = body.rfind("\n\n", 0, SECTION_CHARS)
            cut = cut if cut > SECTION_CHARS // 4 else SECTION_CHARS
            final.append((title, body[:cut]))
            body = body[cut:]
        final.append((title, body))
    return final


def pdf(path: Path) -> list[Doc]:
    """A PDF's text layer, PDF_PAGES_PER_MEMORY pages per resource. A scanned PDF (no text
    layer) is a clear error: OCR it first."""
    try:
        if path.stat().st_size > MAX_PDF_BYTES:
            raise InvalidInput(f"{path} is over {MAX_PDF_BYTES:,} bytes")
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise InvalidInput("PDF import needs pypdf", "pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise InvalidInput(f"{path} is encrypted", "save a copy without a password first")
        pages = [(page.extract_text() or "") for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else path.stem
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as e:
        raise InvalidInput(
            f"{path} is not a readable PDF ({type(e).__name__}: {str(e)[:80]})"
        ) from None
    if not any(p.strip() for p in pages):
        raise InvalidInput(
            f"{path} has no text layer (a scan?)", "run it through OCR (e.g. ocrmypdf) first"
        )
    uri = str(path.resolve())
    at = _mtime(path)
    out = []
    for start in range(0, len(pages), PDF_PAGES_PER_MEMORY):
        chunk = pages[start : start + PDF_PAGES_PER_MEMORY]
        text = "\n".join(chunk).replace("\x00", "").strip()
        if not text:
            continue
        first, last = start + 1, start + len(chunk)
        span = f"p. {first}" if first == last else f"pp. {first}-{last}"
        out.append(
            Doc(
                title=f"{title} ({span})" if len(pages) > PDF_PAGES_PER_MEMORY else title,
                content=text,
                ref=f"{uri}#page={first}",
                uri=uri,
                at=at,
                resource_type="pdf",
            )
        )
    return out


def to_memory(doc: Doc) -> Memory:
    first = next((ln.strip() for ln in doc.content.splitlines() if ln.strip()), "")
    return Memory(
        type=MemoryType.RESOURCE,
        fields={
            "title": doc.title[:1000],
            "summary": first[:300],
            "resource_type": doc.resource_type,
            "content": doc.content,
        },
        tags=[doc.resource_type],
        sources=[Source(kind="file", ref=doc.ref, at=doc.at, uri=doc.uri)],
        origin="import",
    )


@dataclass
class DocReport:
    added: int = 0
    refreshed: int = 0
    unchanged: int = 0


def import_docs(core: MemoryCore, docs: list[Doc]) -> DocReport:
    """All or nothing: every memory is validated first, then one transaction."""
    report = DocReport()
    limit = core.settings.storage.max_text_bytes
    made = []
    for d in docs:
        m = to_memory(d)
        try:
            validate_fields(m.type, m.fields, max_bytes=limit)
        except InvalidInput as e:
            raise InvalidInput(f"{d.ref}: {e.message}", e.hint) from None
        made.append((d, m))
    fresh = []
    with core.store.write() as con:
        for d, m in made:
            row = con.execute(
                "SELECT s.memory_id FROM sources s JOIN memories mm ON mm.id = s.memory_id "
                "WHERE s.kind='file' AND s.ref=? AND mm.type='resource' LIMIT 1",
                (d.ref,),
            ).fetchone()
            if row is None:
                fresh.append(m)
                continue
            old = core.store.get_in(con, row[0])
            if old.fields == m.fields:
                report.unchanged += 1
            else:
                core.store.update_in(con, row[0], fields=m.fields, actor="import")
                report.refreshed += 1
        if fresh:
            core.store.add_bulk_in(con, fresh, actor="import")
            report.added = len(fresh)
    core.sync_vectors()
    return report
