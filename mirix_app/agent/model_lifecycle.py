"""When a language model holds memory: loaded on first use, unloaded after some idle minutes.

A GGUF model is most of the app's resident memory (weights mapped in, the KV cache, llama.cpp's
buffers), yet it is needed only while a chat answer is phrased or the agent sorts the inbox. The
owner wraps each use in `using()`; the runtime's housekeeping calls `unload_if_idle()` now and
then. A model in use is never unloaded (the count of users), and a use after an unload simply
loads it again (LlamaCppModel loads on first use).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from mirix_app.agent.models import Model

log = logging.getLogger(__name__)


class ModelLifecycle:
    """`idle_seconds` 0 keeps models loaded for good (eager mode)."""

    def __init__(
        self,
        models: Callable[[], list[Model]],
        idle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_unload: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.models, self.idle_seconds, self.clock = models, idle_seconds, clock
        self.on_unload = on_unload
        self._lock = threading.Lock()
        self._users = 0
        self.last_used = clock()
        self.unloads = 0

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """Around every use of the models: they stay loaded until it ends."""
        with self._lock:
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                self.last_used = self.clock()

    @property
    def in_use(self) -> bool:
        return self._users > 0

    def idle_for(self) -> float:
        return 0.0 if self._users else self.clock() - self.last_used

    def unload_if_idle(self) -> list[str]:
        """Unload the loaded models when none has been used for `idle_seconds`; their names."""
        if self.idle_seconds <= 0:
            return []
        with self._lock:  # no use starts while we unload (it waits, then loads again)
            if self._users or self.clock() - self.last_used < self.idle_seconds:
                return []
            names = [m.name for m in self.models() if _unload(m)]
        if names:
            self.unloads += 1
            log.info(
                "unloaded %s after %.0f idle minutes", ", ".join(names), self.idle_seconds / 60
            )
            if self.on_unload is not None:
                self.on_unload(names)
        return names


def _unload(model: Model) -> bool:
    try:
        return model.unload()
    except Exception as e:  # a model that fails to free itself stays loaded
        log.warning("could not unload %s: %s", model.name, e)
        return False
