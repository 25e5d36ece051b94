"""Capture errors the user can act on."""

from __future__ import annotations

from mirix_app.errors import MirixError


class CaptureError(MirixError):
    """A capture step failed (screen grab, image, storage); the service keeps running."""


class ScreenUnavailable(CaptureError):
    """No screen to grab: no display, or the grab returned nothing usable."""


class OcrUnavailable(CaptureError):
    """tesseract is missing or cannot run."""


class ScreenshotUnreadable(CaptureError):
    """A kept screenshot is empty, corrupt or cannot be decrypted."""
