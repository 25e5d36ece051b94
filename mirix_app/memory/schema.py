"""Versioned schema migrations for memory.db (PRAGMA user_version holds the version)."""

from __future__ import annotations

# Each entry is one SQL script; entry N takes the schema from version N to N+1. Append only.
_V1 = """
CREATE TABLE memories(
    seq INTEGER PRIMARY KEY,           -- stable rowid (VACUUM keeps it), = memory_fts rowid
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    fields TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    tree_path TEXT NOT NULL DEFAULT '',
    ts TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    origin TEXT NOT NULL DEFAULT 'user'
);
CREATE INDEX memories_type_ts ON memories(type, ts);
CREATE INDEX memories_ts ON memories(ts);
CREATE INDEX memories_deleted ON memories(deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE sources(
    memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
    pos INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    at TEXT,
    uri TEXT,
    app TEXT,
    window TEXT,
    PRIMARY KEY(memory_id, pos)
) WITHOUT ROWID;
CREATE INDEX sources_ref ON sources(kind, ref);
CREATE INDEX sources_app ON sources(app) WHERE app IS NOT NULL;

-- Keyword index; rowid = memories.seq. Porter stemming so "meeting" finds "meetings".
CREATE VIRTUAL TABLE memory_fts USING fts5(
    head, body, tags, tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Every change, with the state before and after, so each can be undone.
CREATE TABLE history(
    id INTEGER PRIMARY KEY,
    memory_id TEXT NOT NULL,
    op TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    before TEXT,
    after TEXT,
    undone_by INTEGER
);
CREATE INDEX history_memory ON history(memory_id, id);

-- Transactional outbox: written with the row, emptied once Chroma has the change.
CREATE TABLE vector_outbox(
    memory_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    op TEXT NOT NULL,
    seq INTEGER NOT NULL
);

CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# The inbox: captures, chat messages and imported documents waiting for the agent. An item leaves
# it in the same transaction that stores the memories made from it.
_V2 = """
CREATE TABLE inbox(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,                -- capture | chat | document
    at TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    app TEXT,
    window TEXT,
    url TEXT,
    monitor INTEGER,
    image TEXT,                        -- path of the kept screenshot, relative to the data dir
    meta TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | done | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_try_at TEXT,
    done_at TEXT
);
CREATE INDEX inbox_pending ON inbox(status, seq);
CREATE INDEX inbox_at ON inbox(at);
"""

MIGRATIONS: list[str] = [_V1, _V2]
LATEST = len(MIGRATIONS)
