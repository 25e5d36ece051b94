"""Where the LoCoMo development split lives: $MIRIX_LOCOMO, else ../shared beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [
    ROOT.parent / "shared" / "bench" / "locomo" / "locomo_dev.json",
    Path("/work/shared/bench/locomo/locomo_dev.json"),
]


def locomo_path() -> Path | None:
    env = os.environ.get("MIRIX_LOCOMO")
    if env:
        return Path(env) if Path(env).exists() else None
    return next((p for p in CANDIDATES if p.exists()), None)
