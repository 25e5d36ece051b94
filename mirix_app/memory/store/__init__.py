"""SQLite, the record of truth: rows, sources, FTS5, history (undo, trash) and the vector outbox.

One class, Store, assembled from one module per job:
connection (connections, key, migrations), records, history (and undo), queries, fts (BM25),
outbox (vector outbox), meta.
"""

from __future__ import annotations

from mirix_app.memory.store.connection import Connections, storage_error
from mirix_app.memory.store.fts import BM25_WEIGHTS, Fts, fts_query, fts_terms
from mirix_app.memory.store.history import HISTORY_BURST_SECONDS
from mirix_app.memory.store.meta import Meta
from mirix_app.memory.store.queries import Queries, filter_sql
from mirix_app.memory.types import STOP_WORDS, Filters, HistoryEntry

__all__ = [
    "BM25_WEIGHTS",
    "HISTORY_BURST_SECONDS",
    "STOP_WORDS",
    "Connections",
    "Filters",
    "HistoryEntry",
    "Store",
    "filter_sql",
    "fts_query",
    "fts_terms",
    "storage_error",
]


class Store(Queries, Fts, Meta):
    """One SQLite file; one connection per thread; every write in one IMMEDIATE transaction.
    Layers: Connections <- Outbox <- History <- Records <- Queries, plus Fts and Meta."""
