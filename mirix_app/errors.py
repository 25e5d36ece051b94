"""Errors a user can act on: each says what went wrong and what to do."""

from __future__ import annotations


class MirixError(Exception):
    """An error with a message for the user and an optional hint on how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotFound(MirixError):
    """No memory (or trash item) with that id."""


class InvalidInput(MirixError):
    """Input that does not fit a schema: bad JSON, unknown type, missing field, too large."""


class StorageError(MirixError):
    """The database cannot be read or written: locked, read-only, full, corrupt."""


class MemoryClosed(MirixError):
    """The memory core was closed (the app is quitting): a thread that outlived the shutdown's
    timeout gets this instead of touching a closed database. Background work treats it as
    "stopping"."""


class ModelMissing(MirixError):
    """A model file or model package is not installed."""
