"""The meta table (key/value: link keys, one-time migrations) and wiping everything."""

from __future__ import annotations

from mirix_app.memory.store.connection import Connections


class Meta(Connections):
    """Key/value settings of this database, and wiping it."""

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as con:
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))

    def wipe(self, *, inbox: bool = False) -> None:
        """Delete every memory and its history (and the inbox too, for 'delete everything')."""
        tables = ["memory_fts", "sources", "history", "memories", "vector_outbox"]
        with self.write() as con:
            for table in [*tables, "inbox"] if inbox else tables:
                con.execute(f"DELETE FROM {table}")
