"""The six memory types: one declarative schema each, validated in code.

All types share one row layout (id, times, tags, tree path, sources) plus a typed `fields` dict, so
history, trash, search and export are written once for all six.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from typing import Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import normalize_time, now_iso


class MemoryType(StrEnum):
    CORE = "core"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"
    PROCEDURAL = "procedural"
    RESOURCE = "resource"
    VAULT = "vault"

    @classmethod
    def parse(cls, value: str) -> MemoryType:
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        key = {"knowledge_vault": "vault", "knowledge": "vault"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise InvalidInput(f"unknown memory type {value!r}", f"use one of: {names}") from None

    @property
    def prefix(self) -> str:
        return {
            "core": "cor",
            "episodic": "epi",
            "semantic": "sem",
            "procedural": "pro",
            "resource": "res",
            "vault": "vlt",
        }[self.value]


SENSITIVITY = ("low", "medium", "high")
SOURCE_KINDS = ("capture", "chat", "file", "conversation", "import", "manual", "agent")
DEFAULT_CORE_LIMIT = 2000


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # str | text | time | int | list | choice | secret
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    role: str | None = None  # "head" or "body": where the field goes in the search text


SCHEMAS: dict[MemoryType, dict[str, FieldSpec]] = {
    MemoryType.CORE: {
        "label": FieldSpec("str", required=True, role="head"),
        "value": FieldSpec("text", required=True, role="body"),
        "limit": FieldSpec("int", default=DEFAULT_CORE_LIMIT),
    },
    MemoryType.EPISODIC: {
        "occurred_at": FieldSpec("time", required=True),
        "actor": FieldSpec("str", default="user", role="body"),
        "event_type": FieldSpec("str", default="activity"),
        "summary": FieldSpec("text", required=True, role="head"),
        "details": FieldSpec("text", default="", role="body"),
    },
    MemoryType.SEMANTIC: {
        "name": FieldSpec("str", required=True, role="head"),
        "summary": FieldSpec("text", required=True, role="head"),
        "details": FieldSpec("text", default="", role="body"),
        "source": FieldSpec("str", default=""),
    },
    MemoryType.PROCEDURAL: {
        "entry_type": FieldSpec("str", default="workflow", role="body"),
        "summary": FieldSpec("text", required=True, role="head"),
        "steps": FieldSpec("list", default=(), role="body"),
    },
    MemoryType.RESOURCE: {
        "title": FieldSpec("str", required=True, role="head"),
        "summary": FieldSpec("text", default="", role="head"),
        "resource_type": FieldSpec("str", default="document", role="body"),
        "content": FieldSpec("text", default="", role="body"),
    },
    MemoryType.VAULT: {
        "entry_type": FieldSpec("str", required=True, role="body"),
        "source": FieldSpec("str", default="", role="body"),
        "sensitivity": FieldSpec("choice", default="medium", choices=SENSITIVITY),
        # Never indexed, never embedded, encrypted at rest.
        "secret_value": FieldSpec("secret", required=True),
        "caption": FieldSpec("text", required=True, role="head"),
    },
}


@dataclass
class Source:
    """Where a memory came from: a capture, a chat message, a file, a conversation turn."""

    kind: str
    ref: str
    at: str | None = None
    uri: str | None = None
    app: str | None = None
    window: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, raw: Any) -> Source:
        if not isinstance(raw, dict):
            raise InvalidInput(f"a source must be an object, got {type(raw).__name__}")
        unknown = set(raw) - {"kind", "ref", "at", "uri", "app", "window"}
        if unknown:
            raise InvalidInput(f"unknown source field(s): {', '.join(sorted(unknown))}")
        kind, ref = raw.get("kind"), raw.get("ref")
        if kind not in SOURCE_KINDS:
            raise InvalidInput(
                f"source kind must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}"
            )
        if not isinstance(ref, str) or not ref:
            raise InvalidInput("a source needs a non-empty 'ref' (capture id, message id, path...)")
        at = raw.get("at")
        extra: dict[str, str | None] = {}
        for name in ("uri", "app", "window"):
            if raw.get(name) is not None and not isinstance(raw[name], str):
                raise InvalidInput(f"source {name} must be a string")
            value = raw.get(name)
            extra[name] = None if value is None else _clean_str(value, f"source {name}")
        return cls(
            kind=kind,
            ref=_clean_str(ref, "source ref"),
            at=_time(at, "source at") if at is not None else None,
            uri=extra["uri"],
            app=extra["app"],
            window=extra["window"],
        )

    def label(self) -> str:
        where = f" {self.uri}" if self.uri else ""
        app = f" [{self.app}]" if self.app else ""
        return f"{self.kind}:{self.ref}{where}{app}"


@dataclass
class Memory:
    type: MemoryType
    fields: dict[str, Any]
    id: str = ""
    tags: list[str] = field(default_factory=list)
    tree_path: str = ""
    sources: list[Source] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    deleted_at: str | None = None
    version: int = 1
    origin: str = "user"

    # Text the search indexes see. The vault's secret value never appears here.
    def head_text(self) -> str:
        return _join(self, "head")

    def body_text(self) -> str:
        return _join(self, "body")

    def search_text(self) -> str:
        return "\n".join(t for t in (self.head_text(), self.body_text()) if t)

    @property
    def time(self) -> str:
        """When the memory is about: occurred_at for events, else its oldest source, else creation."""
        if self.type is MemoryType.EPISODIC:
            return str(self.fields["occurred_at"])
        times = [s.at for s in self.sources if s.at]
        return min(times) if times else self.created_at

    @property
    def title(self) -> str:
        f = self.fields
        for key in ("label", "name", "title", "caption", "summary"):
            if f.get(key):
                return str(f[key])
        return self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "fields": self.fields,
            "tags": self.tags,
            "tree_path": self.tree_path,
            "sources": [s.to_dict() for s in self.sources],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
            "version": self.version,
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, raw: Any, *, partial_ok: bool = False) -> Memory:
        """Build and validate a memory from a dict (an import line, a CLI argument)."""
        if not isinstance(raw, dict):
            raise InvalidInput(f"a memory must be a JSON object, got {type(raw).__name__}")
        known = {f.name for f in dataclass_fields(cls)}  # the same keys to_dict writes
        unknown = set(raw) - known
        if unknown:
            raise InvalidInput(f"unknown memory key(s): {', '.join(sorted(unknown))}")
        if "type" not in raw:
            raise InvalidInput("a memory needs a 'type'")
        mtype = MemoryType.parse(str(raw["type"]))
        m = cls(
            type=mtype,
            fields=validate_fields(mtype, raw.get("fields", {})),
            id=_clean_str(raw.get("id") or "", "id"),
            tags=validate_tags(raw.get("tags", [])),
            tree_path=_clean_str(raw.get("tree_path") or "", "tree_path"),
            sources=validate_sources(raw.get("sources", [])),
            origin=_clean_str(raw.get("origin") or "user", "origin"),
        )
        for name in ("created_at", "updated_at", "deleted_at"):
            value = raw.get(name)
            if value is not None and value != "":
                setattr(m, name, _time(value, name))
        version = raw.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidInput("version must be a positive integer")
        m.version = version
        if m.id and not m.id.startswith(mtype.prefix + "_"):
            raise InvalidInput(f"id {m.id!r} does not belong to type {mtype.value}")
        return m

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


def _join(m: Memory, role: str) -> str:
    parts: list[str] = []
    for name, spec in SCHEMAS[m.type].items():
        if spec.role != role:
            continue
        value = m.fields.get(name)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value:
            parts.append(str(value))
    return "\n".join(parts)


def _clean_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} holds invalid UTF-8 (a lone surrogate)") from None
    if "\x00" in value:
        raise InvalidInput(f"{what} holds a NUL character")
    return value


def _time(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be an ISO 8601 time string")
    try:
        return normalize_time(value)
    except ValueError:
        raise InvalidInput(f"{what} is not an ISO 8601 time: {value[:40]!r}") from None


def validate_fields(mtype: MemoryType, raw: Any, *, max_bytes: int = 1_000_000) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{mtype.value} fields must be an object")
    schema = SCHEMAS[mtype]
    unknown = set(raw) - set(schema)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) for {mtype.value}: {', '.join(sorted(unknown))}",
            f"{mtype.value} has: {', '.join(schema)}",
        )
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        what = f"{mtype.value}.{name}"
        value = raw.get(name)
        if value is None or (value == "" and spec.required):
            if spec.required:
                if spec.kind == "time":
                    value = now_iso()
                else:
                    raise InvalidInput(f"{what} is required")
            else:
                value = list(spec.default) if spec.kind == "list" else spec.default
        if spec.kind in ("str", "text", "secret"):
            value = _clean_str(value, what)
            if len(value.encode("utf-8")) > max_bytes:
                raise InvalidInput(
                    f"{what} is {len(value.encode('utf-8')):,} bytes, over the {max_bytes:,}-byte limit",
                    "split it into several memories or import it as a file resource",
                )
            if spec.kind == "str" and len(value) > 1000:
                raise InvalidInput(
                    f"{what} is {len(value)} characters; a name/label holds at most 1000"
                )
        elif spec.kind == "time":
            value = _time(value, what)
        elif spec.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidInput(f"{what} must be a positive integer")
        elif spec.kind == "list":
            if not isinstance(value, list | tuple):
                raise InvalidInput(f"{what} must be a list of strings")
            value = [_clean_str(v, f"{what} item") for v in value]
            if sum(len(v.encode("utf-8")) for v in value) > max_bytes:
                raise InvalidInput(f"{what} is over the {max_bytes:,}-byte limit")
        elif spec.kind == "choice" and value not in spec.choices:
            raise InvalidInput(f"{what} must be one of {', '.join(spec.choices)}, got {value!r}")
        out[name] = value
    if mtype is MemoryType.CORE and len(out["value"]) > out["limit"]:
        raise InvalidInput(
            f"core block {out['label']!r} is {len(out['value'])} characters, over its limit of "
            f"{out['limit']}",
            "rewrite it shorter (core memory is rewritten, never truncated)",
        )
    return out


def validate_tags(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise InvalidInput("tags must be a list of strings")
    tags = [_clean_str(t, "tag").strip() for t in raw]
    return sorted({t for t in tags if t})


def validate_sources(raw: Any) -> list[Source]:
    if not isinstance(raw, list):
        raise InvalidInput("sources must be a list")
    return [Source.from_dict(s) for s in raw]


# -- public value types of storage and search (no SQL here: the store renders Filters) ----------

# Small English stop list: function words that match nearly every row and only cost time.
_STOP_TEXT = (  # one string, not 70 lines of list
    "a an and are as at be been but by can could did do does for from had has have he her him "
    "his how i if in into is it its me my of on or our she so that the their them then there "
    "these they this to was we were what when where which who whom why will with would you your"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass
class Filters:
    """What a browse or search keeps: types, a time window [since, until), an app."""

    types: Sequence[MemoryType] | None = None
    since: str | None = None  # inclusive, ISO UTC
    until: str | None = None  # exclusive
    app: str | None = None

    @property
    def narrows_rows(self) -> bool:
        return bool(self.since or self.until or self.app)


@dataclass
class HistoryEntry:
    id: int
    memory_id: str
    op: str
    at: str
    actor: str
    before: Memory | None
    after: Memory | None
    undone_by: int | None


@dataclass
class SearchHit:
    memory: Memory
    score: float
    bm25_rank: int | None = None
    vector_rank: int | None = None
    similarity: float | None = None
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        m = self.memory
        return {
            "type": m.type.value,
            "id": m.id,
            "score": round(self.score, 6),
            "text": m.search_text(),
            "time": m.time,
            "sources": [s.to_dict() for s in m.sources],
        }
