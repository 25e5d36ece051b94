"""The one door from the UI to the app's services (memory core, capture, agent). No Qt here.

The window calls only this adapter, from worker threads (see workers.py). Capture and the agent are
optional: when their packages are missing or fail to start, the adapter says so (`capture_state`,
`model_state`) and the UI shows it instead of crashing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mirix_app.agent import settings as model_settings
from mirix_app.config import Settings
from mirix_app.errors import MirixError
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import SCHEMAS, Filters, HistoryEntry, Memory, MemoryType, SearchHit
from mirix_app.paths import Paths
from mirix_app.runtime import Runtime, RuntimeSettings
from mirix_app.ui.service_types import (
    AgentService,
    CaptureService,
    CaptureStatus,
    ChatChunk,
    ModelStatus,
    local_day_bounds,
    to_local,
)
from mirix_app.ui.services_models import ModelServices

log = logging.getLogger(__name__)

# Importers have always found these here.
__all__ = [
    "AgentService",
    "CaptureService",
    "CaptureStatus",
    "ChatChunk",
    "ModelStatus",
    "Services",
    "local_day_bounds",
    "to_local",
]

MIN_PREFIX = 3  # letters of a last word before search-as-you-type matches it as a prefix
_WORD = re.compile(r"\w+")


class Services(ModelServices):
    """Memory, capture and agent behind one object the UI holds."""

    def __init__(
        self,
        core: MemoryCore,
        *,
        settings: Settings | None = None,
        capture: CaptureService | None = None,
        agent: AgentService | None = None,
    ) -> None:
        self.core = core
        self.paths: Paths = core.paths
        self.settings = settings or core.settings
        self.capture: CaptureService | None = capture
        self.agent: AgentService | None = agent
        self._lock = threading.RLock()
        self._paused_until: float | None = None  # used when no capture service is present
        self._paused_forever = False
        self._model = ModelStatus("idle")
        self.capture_error: str = ""
        self._pool: ThreadPoolExecutor | None = None
        self._priority: Any = None
        self._downloads: dict[str, Any] = {}  # catalogue id -> agent.download.Download
        # The one owner of background work (pools, loops, what they hold): mirix_app/runtime.py
        self.runtime = Runtime()

    @classmethod
    def open(
        cls,
        paths: Paths | None = None,
        *,
        load_plugins: bool = True,
        vectors_process: bool = True,
    ) -> Services:
        """The app's services. With `vectors_process`, an embedded vector index runs in a helper
        process (vectors.py, mode "process"): Chroma's Rust calls hold the GIL for their whole
        length (an upsert into a 100k index: 20-360 ms), which would freeze the Qt thread while
        the agent stores memories. The settings file keeps saying "embedded"."""
        paths = (paths or Paths.default()).ensure()
        settings = Settings.load(paths)
        core_settings = settings
        if vectors_process and settings.vectors.mode == "embedded":
            core_settings = dataclasses.replace(
                settings, vectors=dataclasses.replace(settings.vectors, mode="process")
            )
        core = MemoryCore.open(paths, settings=core_settings, repair=False)
        svc = cls(core, settings=settings)
        if load_plugins:
            svc.capture = _optional_service("mirix_app.ui.adapters", "make_capture", svc)
            svc.agent = _optional_service("mirix_app.ui.adapters", "make_agent", svc)
            if svc.capture is not None or svc.agent is not None:
                # tesseract and the model's compute threads below the Qt thread (adapters.py)
                svc._priority = _optional_service("mirix_app.ui.adapters", "make_priority", svc)
        return svc

    def close(self) -> None:
        for dl in self.downloads().values():  # a download resumes from its part file later
            with contextlib.suppress(Exception):
                dl.pause()
        self.runtime.stop()  # its loops and tasks end, then what it owns (capture, agent, ...)
        for s in (self.capture, self.agent, self._priority):
            stop = getattr(s, "stop", None) or getattr(s, "close", None)
            if stop:
                with contextlib.suppress(Exception):
                    stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.core.close()  # closes the vector index too (and stops its helper process)

    # -- memories ----------------------------------------------------------------------------
    def browse(
        self, mtype: MemoryType | None, *, limit: int = 500, offset: int = 0, deleted: bool = False
    ) -> list[Memory]:
        f = Filters(types=[mtype]) if mtype else None
        return self.core.browse(f, deleted=deleted, limit=limit, offset=offset)

    def get(self, memory_id: str) -> Memory:
        return self.core.get(memory_id)

    def update(
        self, memory_id: str, *, fields: dict[str, Any] | None = None, tags: list[str] | None = None
    ) -> Memory:
        changes: dict[str, Any] = {}
        if fields is not None:
            changes["fields"] = fields
        if tags is not None:
            changes["tags"] = tags
        return self.core.update(memory_id, **changes)

    def add(
        self, mtype: MemoryType, fields: dict[str, Any], tags: list[str] | None = None
    ) -> Memory:
        return self.core.new(mtype, fields, tags=tags)

    def trash(self, memory_id: str) -> Memory:
        return self.core.trash(memory_id)

    def restore(self, memory_id: str) -> Memory:
        return self.core.restore(memory_id)

    def undo(self, memory_id: str) -> Memory:
        return self.core.undo(memory_id)

    def history(self, memory_id: str) -> list[HistoryEntry]:
        return self.core.history(memory_id)

    def reveal(self, memory_id: str) -> str:
        return self.core.reveal_secret(memory_id)

    def counts(self) -> dict[str, int]:
        return self.core.count()

    def search(
        self,
        query: str,
        *,
        types: list[MemoryType] | None = None,
        since: str | None = None,
        until: str | None = None,
        app: str | None = None,
        limit: int = 30,
        mode: str = "hybrid",
    ) -> list[SearchHit]:
        """Search as you type: the last word matches as a prefix once it has MIN_PREFIX letters
        (a one-letter prefix expands to a tenth of the vocabulary: 130-450 ms of BM25 at 100k
        memories, for results nobody wanted). BM25 and the vector half run in parallel, and the
        search does not wait for another thread's pending vector writes."""
        filters = Filters(types=types or None, since=since, until=until, app=app or None)
        words = _WORD.findall(query)
        prefix = bool(words) and len(words[-1]) >= MIN_PREFIX
        return self.core.search(
            query,
            filters=filters,
            limit=limit,
            mode=mode,
            prefix=prefix,
            sync=False,
            pool=self._search_pool(),
        )

    def _search_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = pool = ThreadPoolExecutor(2, thread_name_prefix="mirix-search")
                self.runtime.own("search pool", lambda: pool.shutdown(cancel_futures=True))
            return self._pool

    def warm_up(self) -> None:
        """Load the embedder, open the vector index (and its helper process) and apply pending
        vector changes, so the first search is fast."""
        self.core.warm_up()

    # -- sources, inbox, timeline ----------------------------------------------------------------
    def captures(self, since: str, until: str, limit: int = 500) -> list[InboxItem]:
        items = self.core.inbox_recent(limit=limit, kind="capture", since=since, until=until)
        return sorted(items, key=lambda i: i.at)

    def inbox_item(self, item_id: str) -> InboxItem | None:
        return self.core.inbox_get(item_id)

    def memories_from(self, kind: str, ref: str) -> list[Memory]:
        return self.core.memories_from(kind, ref)

    def image_bytes(self, rel: str | None) -> bytes | None:
        """A screenshot's bytes (decrypted when capture keeps them encrypted), or None."""
        if not rel:
            return None
        path = Path(rel)
        if not path.is_absolute():
            path = self.paths.data / rel
        try:
            data = path.read_bytes()
        except (OSError, ValueError):  # gone, a folder, a NUL in the name
            return None
        if data.startswith(b"MXE1"):
            try:
                return self.core.secrets.open_bytes(data)
            except (MirixError, ValueError):  # ValueError: too short to hold a nonce
                return None
        return data

    def backlog(self) -> int:
        return self.core.inbox_backlog()

    def capture_days(self, since: str, until: str) -> list[str]:
        """Local dates (YYYY-MM-DD) with at least one capture in the range, newest first."""
        days = {to_local(i.at).date().isoformat() for i in self.captures(since, until, 5000)}
        return sorted(days, reverse=True)

    # delete (export and import: services_settings)
    def delete_everything(self) -> None:
        """Every memory, history, inbox item, screenshot, log and cache, the data key's and the
        model endpoints' keyring entries, for good. Capture stops first."""
        self.stop_capture()
        self.core.delete_everything()
        mod = model_settings
        roles = [mod.ModelSettings.from_settings(self.settings)]
        with contextlib.suppress(Exception):
            roles += [mod.ModelSettings.for_role(self.settings, r) for r in ("chat", "agent")]
        for endpoint in {ms.endpoint for ms in roles if ms.endpoint}:
            mod.delete_api_key(endpoint)

    # -- capture -----------------------------------------------------------------------------
    @property
    def capture_available(self) -> bool:
        return self.capture is not None

    def capture_status(self) -> CaptureStatus:
        backlog = self.backlog()
        if self.capture is None:
            return CaptureStatus("unavailable", "capture is not installed", backlog=backlog)
        if not self.consent_given():
            return CaptureStatus("no-consent", "waiting for your consent", backlog=backlog)
        try:
            st: CaptureStatus = self.capture.status()
        except Exception as e:
            log.warning("capture status failed (%s)", type(e).__name__)
            return CaptureStatus("error", str(e), backlog=backlog)
        st.backlog = backlog
        return st

    def start_capture(self) -> bool:
        """Start capturing, only once the user has consented."""
        if self.capture is None or not self.consent_given():
            return False
        self.capture.start()
        return True

    def stop_capture(self) -> None:
        if self.capture is not None:
            with contextlib.suppress(Exception):
                self.capture.stop()

    def pause(self, minutes: int | None) -> None:
        """Pause capture for `minutes` (None = until resumed)."""
        if self.capture is not None:
            self.capture.pause(minutes)

    def resume(self) -> None:
        if self.capture is not None:
            self.capture.resume()

    def monitors(self) -> list[str]:
        fn = getattr(self.capture, "monitors", None)
        if fn:
            with contextlib.suppress(Exception):
                return [str(m) for m in fn()]
        return []

    # -- agent -------------------------------------------------------------------------------
    @property
    def chat_available(self) -> bool:
        return self.agent is not None

    def model_status(self) -> ModelStatus:
        if self.agent is None:
            return ModelStatus("unavailable", "model not available")
        try:
            st: ModelStatus = self.agent.status()
            return st
        except Exception as e:
            log.warning("model status failed (%s)", type(e).__name__)
            return ModelStatus("error", str(e))

    def load_model(self, progress: Callable[[int, int], None] | None = None) -> None:
        if self.agent is not None:
            self.agent.load(progress)

    def prepare_model(self) -> None:
        """At start: load the model now when [runtime] eager_model (or MIRIX_EAGER_MODEL=1) says
        so; otherwise it loads on first use (only a missing capability result loads it now)."""
        if self.agent is None:
            return
        prepare = getattr(self.agent, "prepare", None)
        if RuntimeSettings.read(self.settings).eager_model or prepare is None:
            self.agent.load()
        else:
            prepare()

    def process_inbox(self) -> bool:
        """Let the agent turn waiting captures/messages into memories (in its own thread)."""
        process = getattr(self.agent, "process", None)
        if process is None or self.backlog() == 0:
            return False
        if self.model_status().state not in ("ready", "idle"):
            return False
        return bool(process())

    def chat(self, question: str, emit: Callable[[ChatChunk], None], cancel: Any = None) -> str:
        """Stream an answer: `emit` gets ChatChunks; returns the whole answer text."""
        if self.agent is None:
            raise MirixError(
                "model not available",
                "install the agent and a model (Settings > Model), then try again",
            )
        answer = ""
        for chunk in self.agent.chat(question, cancel):
            if cancel is not None and getattr(cancel, "cancelled", False):
                break
            if chunk.kind == "replace":
                answer = chunk.text
            elif chunk.kind == "append":
                answer += chunk.text
            emit(chunk)
        return answer

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a request from `mirix ask` ({"question", "mode", "remember"}); blocks."""
        question = request.get("question")
        mode = request.get("mode")
        if not isinstance(question, str) or mode not in (None, "off", "phrase"):
            return {"error": "bad request"}
        if self.agent is None:
            return {"error": "chat not available"}
        reply = dict(self.agent.ask(question, mode, bool(request.get("remember", True))))
        reply["via"] = "app"
        return reply

    def chat_mode(self) -> str:
        """How the model takes part in chat: phrase | summarize | off | unchecked."""
        if self.agent is None:
            return "off"
        try:
            return str(self.agent.chat_mode())
        except Exception as e:
            log.debug("chat mode unknown (%s)", type(e).__name__)
            return "unchecked"

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def schema(mtype: MemoryType) -> list[tuple[str, str]]:
        return [(name, spec.kind) for name, spec in SCHEMAS[mtype].items()]


def _optional_service(module: str, factory: str, svc: Services) -> Any:
    try:
        mod = importlib.import_module(module)
        return getattr(mod, factory)(svc)
    except Exception as e:  # a missing or broken service must not stop the window
        log.info("optional service %s.%s unavailable: %s", module, factory, e)
        return None
