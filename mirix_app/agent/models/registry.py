"""The backend registry (simonw/llm style: `@register`, plus the `mirix_app.models` entry
point group for third-party backends) and the per-process pool of shared model instances."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mirix_app.agent.models.base import Model

log = logging.getLogger(__name__)

# -- registry ------------------------------------------------------------------------------------
BACKENDS: dict[str, type[Model]] = {}
_PLUGINS_LOADED = False


def register(cls: type[Model]) -> type[Model]:
    """Class decorator (and plugin hook argument): make a backend available by its name."""
    if not cls.backend:
        raise ValueError(f"{cls.__name__} needs a `backend` name")
    BACKENDS[cls.backend] = cls
    return cls


def backends() -> dict[str, type[Model]]:
    global _PLUGINS_LOADED
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        from importlib.metadata import entry_points

        for ep in entry_points(group="mirix_app.models"):
            try:
                ep.load()(register)
            except Exception as e:  # a broken plugin must not break the app
                log.warning("model plugin %s failed to load: %s", ep.name, type(e).__name__)
    return BACKENDS


@dataclass
class _Pool:
    models: dict[tuple[Any, ...], Model] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_POOL = _Pool()


def shared_model(key: tuple[Any, ...], factory: Callable[[], Model]) -> Model:
    """One instance per configuration per process (the GUI, chat and the job share weights)."""
    with _POOL.lock:
        if key not in _POOL.models:
            _POOL.models[key] = factory()
        return _POOL.models[key]
