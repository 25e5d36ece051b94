"""The memory core: six typed stores, history, hybrid search. Imports no Qt."""

from mirix_app.memory.types import Memory, MemoryType, Source

__all__ = ["Memory", "MemoryType", "Source"]
