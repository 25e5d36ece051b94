"""The app's log: a rotating file in the user log dir (and stderr with --verbose).

Captured text and secrets are never logged; a dropped error is logged by its type and where.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mirix_app.paths import Paths


def setup_logging(paths: Paths, verbose: bool = False) -> None:
    """Rotating log file in the user log dir. Captured text and secrets are never logged."""
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_mirix", False)]:
        if Path(getattr(h, "baseFilename", "")) == paths.log_file.absolute():
            return
        root.removeHandler(h)  # the data dir moved (--data-dir): log there instead
        h.close()
    paths.ensure()
    handler = RotatingFileHandler(
        paths.log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._mirix = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if verbose:
        err = logging.StreamHandler()
        err.setLevel(logging.INFO)
        root.addHandler(err)
