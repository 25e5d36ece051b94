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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from mirix_app.agent import settings as model_settings
from mirix_app.capture.settings import CaptureSettings
from mirix_app.config import Settings
from mirix_app.errors import MirixError
from mirix_app.memory.clock import now_iso, to_iso
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.transfer import ImportReport, export_lines, import_memories, parse_lines
from mirix_app.memory.types import SCHEMAS, Filters, HistoryEntry, Memory, MemoryType, SearchHit
from mirix_app.paths import Paths
from mirix_app.runtime import Runtime, RuntimeSettings

log = logging.getLogger(__name__)

# The [capture] and [model] defaults come from their settings classes; [ui] has only these.
UI_DEFAULTS: dict[str, Any] = {"consent_at": "", "start_at_login": False}
MIN_PREFIX = 3  # letters of a last word before search-as-you-type matches it as a prefix
_WORD = re.compile(r"\w+")


@dataclass
class CaptureStatus:
    state: str  # recording | paused | error | off | unavailable | no-consent
    detail: str = ""
    paused_until: str | None = None
    backlog: int = 0


@dataclass
class ModelStatus:
    state: str  # ready | loading | error | unavailable | idle
    detail: str = ""
    progress: float | None = None
    roles: dict[str, str] = field(default_factory=dict)  # {"chat": "name (mode)", "agent": ...}


@dataclass
class ChatChunk:
    """One step of an answer. kind: `replace` (the answer's whole text: the extractive answer
    first, a verified rephrasing later), `draft` (a piece of the model's rephrasing, not yet
    checked), `rejected` (the rephrasing failed its check; `text` says why), `append` (more
    text for the answer). `citations` name memory ids; `done` ends the reply."""

    text: str = ""
    citations: list[str] = field(default_factory=list)
    done: bool = False
    kind: str = "append"


class CaptureService(Protocol):
    """What the UI asks of capture (ui/adapters.CaptureAdapter). `monitors` and
    `apply_settings` are optional: looked up with getattr."""

    def status(self) -> CaptureStatus: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def pause(self, minutes: int | None) -> None: ...
    def resume(self) -> None: ...


class AgentService(Protocol):
    """What the UI asks of the agent (ui/adapters.AgentAdapter). `process` and
    `apply_settings` are optional: looked up with getattr."""

    def status(self) -> ModelStatus: ...
    def load(self, progress: Callable[[int, int], None] | None = None) -> None: ...
    def chat(self, question: str, cancel: Any = None) -> Iterator[ChatChunk]: ...
    def ask(
        self, question: str, mode: str | None = None, remember: bool = True
    ) -> dict[str, Any]: ...
    def chat_mode(self) -> str: ...
    def stop(self) -> None: ...


def local_day_bounds(day: datetime) -> tuple[str, str]:
    """The UTC ISO bounds [start, end) of the local calendar day containing `day`."""
    start = day.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return to_iso(start), to_iso(start + timedelta(days=1))


def to_local(iso: str) -> datetime:
    s = iso[:-1] + "+00:00" if iso.endswith("Z") else iso
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone()


class Services:
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

    # -- settings --------------------------------------------------------------------------------
    def section(self, name: str) -> dict[str, Any]:
        """The [name] table as the settings page shows it: defaults, then what is saved."""
        defaults: dict[str, Any] = {}
        if name == "capture":
            defaults = CaptureSettings().to_dict()
        elif name == "model":
            defaults = dataclasses.asdict(model_settings.ModelSettings())
        elif name == "ui":
            defaults = dict(UI_DEFAULTS)
        have = self.settings.extra.get(name, {})
        return {**defaults, **(have if isinstance(have, dict) else {})}

    def save_section(self, name: str, values: dict[str, Any]) -> Path:
        """Merge `values` into [name] of settings.toml, validated by the owning module first
        (InvalidInput says what is wrong); keys the UI doesn't show are kept."""
        with self._lock:
            fresh = Settings.load(self.paths)
            current = fresh.extra.get(name, {})
            merged = {**(current if isinstance(current, dict) else {}), **values}
            if name == "capture":
                CaptureSettings.from_dict(merged)
            elif name == "model":
                fresh.extra["model"] = merged
                model_settings.ModelSettings.from_settings(fresh)
            fresh.extra[name] = merged
            path = fresh.save(self.paths)
            self.settings.extra[name] = merged
        target = self.capture if name == "capture" else self.agent if name == "model" else None
        apply = getattr(target, "apply_settings", None)
        if apply:
            try:
                apply(self.settings)
            except Exception as e:  # saved anyway; the service reports its own state
                log.warning("%s did not take the new settings: %s", name, e)
        return path

    # The model endpoint's API key lives in the OS keyring (agent.settings), never in the file.
    def set_api_key(self, endpoint: str, key: str) -> None:
        if key:
            model_settings.set_api_key(endpoint, key)
        else:
            model_settings.delete_api_key(endpoint)

    def has_api_key(self, endpoint: str) -> bool:
        try:
            return bool(model_settings.get_api_key(endpoint))
        except Exception as e:  # a broken keyring backend: say "no key", the field stays empty
            log.warning("keyring lookup failed: %s", type(e).__name__)
            return False

    def keyring_status(self) -> tuple[bool, str]:
        """(usable, what to tell the user)."""
        import keyring
        from keyring.backends import fail

        try:
            backend = keyring.get_keyring()
        except Exception as e:
            log.warning("keyring error (%s)", type(e).__name__)
            return False, f"keyring error: {e}"
        if isinstance(backend, fail.Keyring):
            return (
                False,
                "No OS keyring here: start a Secret Service (e.g. gnome-keyring) to store keys, "
                "or set MIRIX_API_KEY for this session.",
            )
        return True, f"Keys are kept in {type(backend).__name__}."

    # consent and login
    def consent_given(self) -> bool:
        return bool(self.section("ui").get("consent_at"))

    def give_consent(self) -> None:
        self.save_section("ui", {"consent_at": now_iso()})

    def autostart_file(self) -> Path:
        from mirix_app import autostart

        return autostart.xdg_autostart_file()

    def set_start_at_login(self, on: bool) -> None:
        """XDG autostart file, macOS LaunchAgent or Windows Run key: mirix_app/autostart.py."""
        from mirix_app import autostart

        autostart.set_enabled(on)
        self.save_section("ui", {"start_at_login": on})

    # export / import / delete
    def export_to(
        self,
        path: Path,
        *,
        reveal_secrets: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        total = sum(self.core.count().values()) + sum(self.core.count(deleted=True).values())
        n = 0
        tmp = path.with_suffix(path.suffix + ".part")
        with tmp.open("w", encoding="utf-8") as f:
            for line in export_lines(self.core, reveal_secrets=reveal_secrets):
                f.write(line + "\n")
                n += 1
                if progress and n % 200 == 0:
                    progress(n, total)
        tmp.replace(path)
        return n

    def import_from(self, path: Path) -> ImportReport:
        with path.open("rb") as f:
            memories = parse_lines(f, path.name)
        return import_memories(self.core, memories)

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

    # -- models: roles, local servers, the catalogue and downloads ---------------------------
    # All of these may block (network, disk, hashing): the UI calls them from workers, except
    # the download controls, which only set flags and read counters.
    def model_roles(self) -> dict[str, dict[str, Any]]:
        """{"chat": fields, "agent": fields} of each role's model as configured."""
        ms = model_settings.ModelSettings
        return {role: ms.for_role(self.settings, role).model_fields() for role in ("chat", "agent")}

    def use_model(self, role: str, fields: dict[str, Any]) -> None:
        """Use a model (a GGUF path or an endpoint + name) for chat, agent or both, save it and
        rebuild the agent with it; the caller loads it (`load_model`), no restart needed."""
        from mirix_app.agent.settings import ModelSettings, set_role_model

        with self._lock:
            fresh = Settings.load(self.paths)
            base = ModelSettings.for_role(fresh, "chat" if role == "both" else role)
            ms = dataclasses.replace(base, **fields)
            set_role_model(fresh, role, ms)
            fresh.save(self.paths)
            self.settings.extra["model"] = fresh.extra["model"]
        apply = getattr(self.agent, "apply_settings", None)
        if apply is not None:
            apply(self.settings)

    def server_addresses(self) -> list[str]:
        return list(self.section("model").get("servers", []))

    def set_server_addresses(self, addresses: list[str]) -> list[str]:
        from mirix_app.agent.discovery import normalize_address

        roots: list[str] = []
        for a in addresses:
            root = normalize_address(a)
            if root not in roots:
                roots.append(root)
        self._save_model_notes({"servers": roots})
        return roots

    def _save_model_notes(self, values: dict[str, Any]) -> None:
        """Discovery bookkeeping into [model] (addresses, the first-run mark): saved, validated,
        but the agent is not rebuilt (its models did not change)."""
        from mirix_app.agent.settings import ModelSettings

        with self._lock:
            fresh = Settings.load(self.paths)
            current = fresh.extra.get("model", {})
            merged = {**(current if isinstance(current, dict) else {}), **values}
            fresh.extra["model"] = merged
            ModelSettings.from_settings(fresh)
            fresh.save(self.paths)
            self.settings.extra["model"] = merged

    def discover_servers(self, *, first_run: bool = False) -> list[Any]:
        """Model servers answering on 127.0.0.1's usual ports and at the user's addresses (a
        worker calls this: it takes up to about a second). `first_run` records that the
        first-run look happened, so it is not repeated at every start."""
        from mirix_app.agent import discovery

        found = discovery.discover(self.server_addresses())
        if first_run:
            self._save_model_notes({"discovered_at": now_iso()})
        return found

    def first_run_discovery_due(self) -> bool:
        """The first-run look for local servers is due: the user went through the welcome
        (consent) and it has not run yet. Before consent the app touches nothing, not even
        127.0.0.1."""
        if self.agent is None or not self.consent_given():
            return False
        return not self.section("model").get("discovered_at")

    def catalogue(self) -> list[Any]:
        """Catalogue rows with this machine's estimates (RAM, speed)."""
        from mirix_app.agent import catalogue

        return catalogue.estimates(self.paths)

    def installed_model(self, entry_id: str) -> Path | None:
        from mirix_app.agent import catalogue

        return catalogue.installed_path(self.paths, catalogue.entry(entry_id))

    def measure_speed(self) -> Any:
        """Time the shipped model once (seconds of CPU), the basis of the speed estimates."""
        from mirix_app.agent import catalogue

        return catalogue.measure_reference_speed(self.paths)

    def download(self, entry_id: str, *, endpoint: str | None = None) -> Any:
        """Start (or resume) downloading a catalogue model in its own thread; the returned
        `Download` has `state`, `done`, `total`, `error`, `pause()`, `cancel()`."""
        from mirix_app.agent import catalogue
        from mirix_app.agent.download import Download

        with self._lock:
            dl = self._downloads.get(entry_id)
            if dl is None or dl.state in ("cancelled", "done"):
                dl = Download(catalogue.entry(entry_id), self.paths, endpoint=endpoint)
                self._downloads[entry_id] = dl
            if dl.state not in ("running", "verifying"):
                dl.start()
            return dl

    def downloads(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._downloads)

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
