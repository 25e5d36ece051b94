"""Download a catalogue GGUF from its Hugging Face repository, only when the user asks.

`Download(entry, paths).run()` (blocking; `start()` runs it in its own thread):
- checks the free disk space before it sends anything (the catalogue knows the size);
- streams to `<models>/<file>.<sha12>.part`, reporting `done`/`total` as it goes;
- `pause()` stops and keeps the part file; `run()`/`start()` again continues it with an HTTP
  Range request (also after a restart of the app); a connection cut mid-way is resumed the same
  way, automatically, a few times;
- `cancel()` stops and deletes the part file;
- hashes while it writes and, at the end, compares with the catalogue's sha256: a mismatch
  deletes the file (ChecksumMismatch); only a verified file is renamed to its final name;
- offline (no route, no DNS), it fails at once with an error that says so.

The URL is `{endpoint}/{repo}/resolve/{revision}/{file}`, the Hugging Face layout; the endpoint is
https://huggingface.co unless HF_ENDPOINT (huggingface_hub's own variable, e.g. a mirror) or the
caller says otherwise. No Qt here.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from mirix_app.agent.catalogue import CatalogueEntry, models_dir
from mirix_app.errors import MirixError
from mirix_app.paths import Paths, make_private_dir

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
CHUNK = 1 << 20
SPACE_MARGIN = 16 * 1024 * 1024  # free space kept beyond the file itself
RETRIES = 3  # automatic resumes after a cut connection, per run


class DownloadError(MirixError):
    """The download did not complete; `hint` says what to do."""


class Offline(DownloadError):
    pass


class DiskFull(DownloadError):
    pass


class ChecksumMismatch(DownloadError):
    pass


class DownloadStopped(DownloadError):
    """Paused or cancelled by the user (`state` tells which)."""


def endpoint_default() -> str:
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or DEFAULT_ENDPOINT


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "::1", "localhost")


Progress = Callable[[int, int], None]


class Download:
    """One catalogue file. States: idle, running, paused, cancelled, verifying, done, failed."""

    def __init__(
        self,
        entry: CatalogueEntry,
        paths: Paths,
        *,
        endpoint: str | None = None,
        progress: Progress | None = None,
        check_space: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.entry = entry
        self.paths = paths
        self.endpoint = (endpoint or endpoint_default()).rstrip("/")
        self.progress = progress
        self.check_space = check_space
        self.timeout = timeout
        self.state = "idle"
        self.error: DownloadError | None = None
        self.done = 0
        self.total = entry.size_bytes
        self.resumes = 0  # Range requests made (after a pause, a restart or a cut)
        self.path: Path | None = None  # the verified file once done
        self._stop = threading.Event()
        self._stop_as = ""
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._hasher = hashlib.sha256()

    # -- where -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.entry.url(self.endpoint)

    @property
    def target(self) -> Path:
        return models_dir(self.paths) / self.entry.filename

    @property
    def part(self) -> Path:
        tag = (self.entry.sha256 or "nosha")[:12]
        return models_dir(self.paths) / f"{self.entry.filename}.{tag}.part"

    # -- control (any thread) ----------------------------------------------------------------
    def start(self) -> threading.Thread:
        """Run in a background thread (again after a pause: it resumes)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self._thread
            self._stop.clear()
            self.state = "running"
            self._thread = threading.Thread(
                target=self._run_quietly, name=f"mirix-download-{self.entry.id}", daemon=True
            )
            self._thread.start()
            return self._thread

    def pause(self) -> None:
        self._stop_as = "paused"
        self._stop.set()

    def cancel(self) -> None:
        self._stop_as = "cancelled"
        self._stop.set()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._discard()
            self.state = "cancelled"

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _run_quietly(self) -> None:
        try:
            self.run()
        except DownloadError:
            pass  # the state and error say what happened
        except Exception as e:  # never let a worker thread die silently
            log.warning("download %s failed: %s", self.entry.id, type(e).__name__)
            self.error = DownloadError(f"download failed: {e}")
            self.state = "failed"

    # -- the work ------------------------------------------------------------------------------
    def run(self) -> Path:
        """Download (or resume), verify, and return the final path. Raises DownloadError."""
        self.state, self.error = "running", None
        self._stop.clear()
        try:
            path = self._run()
        except DownloadStopped as e:
            self.state = self._stop_as or "paused"
            if self.state == "cancelled":
                self._discard()
            self.error = e
            raise
        except DownloadError as e:
            self.state, self.error = "failed", e
            raise
        self.state, self.path = "done", path
        return path

    def _run(self) -> Path:
        e = self.entry
        if not e.sha256:
            raise DownloadError(
                f"{e.name}: the catalogue has no checksum for this file",
                "it would not be verified, so it is not downloaded",
            )
        if self.target.is_file() and self.target.stat().st_size == e.size_bytes:
            self._report(e.size_bytes)
            return self._verify_final()
        if self.endpoint == DEFAULT_ENDPOINT and os.environ.get("HF_HUB_OFFLINE", "") not in (
            "",
            "0",
        ):
            raise Offline(
                "downloads from Hugging Face are switched off (HF_HUB_OFFLINE is set)",
                "unset HF_HUB_OFFLINE in the app's environment to download",
            )
        make_private_dir(self.paths.data)
        make_private_dir(models_dir(self.paths))
        have = self.part.stat().st_size if self.part.is_file() else 0
        if have > e.size_bytes:
            self._discard()
            have = 0
        self._check_space(e.size_bytes - have)
        self._hasher = hashlib.sha256()
        if have:
            with self.part.open("rb") as f:
                while block := f.read(CHUNK):
                    if self._stop.is_set():
                        raise DownloadStopped(f"download {self._stop_as or 'paused'}")
                    self._hasher.update(block)
        self._report(have)
        attempts = 0
        while True:
            try:
                have = self._fetch(have)
                break
            except _Cut as cut:
                attempts += 1
                have = cut.have
                if cut.restart:
                    self._hasher = hashlib.sha256()
                if attempts > RETRIES:
                    raise DownloadError(
                        f"the connection to {urlsplit(self.url).hostname} broke {attempts} times",
                        "try again later: the download resumes where it stopped",
                    ) from None
                log.info("download %s cut at %d bytes, resuming", e.id, have)
                time.sleep(min(2.0, 0.2 * attempts))
        if have != e.size_bytes:
            raise DownloadError(
                f"the server sent {have} bytes, the catalogue expects {e.size_bytes}",
                "try again later",
            )
        self.state = "verifying"
        if self._hasher.hexdigest() != e.sha256:
            self._discard()
            raise ChecksumMismatch(
                f"{e.filename}: the checksum does not match the catalogue's, so the file was "
                "deleted",
                "the download was corrupted or the file changed upstream; try again",
            )
        os.replace(self.part, self.target)
        return self.target

    def _fetch(self, have: int) -> int:
        import httpx

        headers = {"User-Agent": "mirix-app"}
        if have:
            headers["Range"] = f"bytes={have}-"
            self.resumes += 1
        host = urlsplit(self.url).hostname or "?"
        try:
            with (
                httpx.Client(
                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
                    follow_redirects=True,
                    trust_env=not _is_loopback(self.url),
                ) as client,
                client.stream("GET", self.url, headers=headers) as r,
            ):
                if r.status_code == 416 and have:  # nothing after `have`: start over
                    self._discard()
                    raise _Cut(0, restart=True)
                if r.status_code in (401, 403):
                    raise DownloadError(
                        f"{host} refused the download ({r.status_code})",
                        "the repository may need you to accept its licence on the website",
                    )
                if r.status_code == 404:
                    raise DownloadError(
                        f"{self.entry.filename} is not at {self.url} (404)",
                        "the file may have moved upstream; update the app's catalogue",
                    )
                if r.status_code >= 400:
                    raise DownloadError(f"{host} answered {r.status_code}", "try again later")
                mode = "ab" if have else "wb"
                if have and r.status_code == 200:  # the server ignored Range: from the start
                    have, mode = 0, "wb"
                    self._hasher = hashlib.sha256()
                    self._report(0)
                try:
                    with self.part.open(mode) as f:
                        for block in r.iter_bytes(CHUNK):
                            if self._stop.is_set():
                                raise DownloadStopped(f"download {self._stop_as or 'paused'}")
                            f.write(block)
                            self._hasher.update(block)
                            have += len(block)
                            self._report(have)
                except OSError as err:  # ENOSPC on a write or on the final flush
                    raise self._disk_error(err) from err
                return have
        except _Cut:
            raise
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            if have:  # it was reachable a moment ago: a cut, not offline
                raise _Cut(have) from err
            raise Offline(
                f"cannot reach {host}: this computer seems to be offline",
                "connect to the internet and click Download again; nothing was downloaded",
            ) from err
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout) as err:
            raise _Cut(self._part_size()) from err
        except httpx.HTTPError as err:
            raise DownloadError(
                f"download from {host} failed: {type(err).__name__}", "try again later"
            ) from err

    def _part_size(self) -> int:
        try:
            return self.part.stat().st_size
        except OSError:
            return 0

    def _disk_error(self, err: OSError) -> DownloadError:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            self._discard()
            return DiskFull(
                f"the disk filled up while downloading {self.entry.filename}; the partial file "
                "was deleted",
                f"free at least {self.entry.size_bytes / 1e9:.1f} GB in {models_dir(self.paths)}",
            )
        return DownloadError(f"cannot write {self.part}: {err.strerror}", "check the folder")

    def _check_space(self, need: int) -> None:
        if not self.check_space:
            return
        folder = models_dir(self.paths)
        free = shutil.disk_usage(folder).free
        if free < need + SPACE_MARGIN:
            raise DiskFull(
                f"not enough free disk space for {self.entry.name}: it needs "
                f"{(need + SPACE_MARGIN) / 1e9:.2f} GB, {free / 1e9:.2f} GB are free in {folder}",
                "free some space and try again; nothing was downloaded",
            )

    def _verify_final(self) -> Path:
        """A complete file already there (an earlier download): check it once more."""
        from mirix_app.agent.catalogue import sha256_file

        self.state = "verifying"
        if sha256_file(self.target) != self.entry.sha256:
            with contextlib.suppress(OSError):
                self.target.unlink()
            raise ChecksumMismatch(
                f"{self.target.name} on disk does not match the catalogue's checksum; deleted",
                "download it again",
            )
        return self.target

    def _discard(self) -> None:
        with contextlib.suppress(OSError):
            self.part.unlink()
        self.done = 0

    def _report(self, done: int) -> None:
        self.done = done
        if self.progress is not None:
            self.progress(done, self.total)


class _Cut(Exception):
    def __init__(self, have: int, restart: bool = False) -> None:
        super().__init__(f"cut at {have}")
        self.have = have
        self.restart = restart
