"""The service: scheduled cycles, pause/resume, idle, errors that do not kill it, clean stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mirix_app.capture.capturer import Capturer
from mirix_app.capture.errors import CaptureError, OcrUnavailable
from mirix_app.capture.screen import Frame, MssGrabber
from mirix_app.capture.service import CaptureService, ServiceState, Status, parse_duration
from mirix_app.capture.windows import NullAdapter, X11Adapter
from mirix_app.errors import InvalidInput


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class FlakyGrabber:
    """Real grabs, except when told to return a broken buffer."""

    def __init__(self) -> None:
        self.real = MssGrabber()
        self.mode = "ok"

    def grab_all(self) -> list[Frame]:
        if self.mode == "empty":
            return [Frame.from_bgra(b"", 0, 0)]
        if self.mode == "short":
            return [Frame.from_bgra(b"\0" * 100, 1920, 1080)]
        return self.real.grab_all()

    def close(self) -> None:
        self.real.close()


class Idle(NullAdapter):
    def __init__(self) -> None:
        self.idle = 0.0
        self.lock = False

    def idle_seconds(self) -> float | None:
        return self.idle

    def locked(self) -> bool | None:
        return self.lock


def test_parse_duration() -> None:
    assert parse_duration("15m") == 900
    assert parse_duration("1h") == 3600
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90
    assert parse_duration("forever") is None
    with pytest.raises(InvalidInput):
        parse_duration("soon")


def test_frame_rejects_zero_size_and_short_buffers() -> None:
    with pytest.raises(CaptureError, match="no pixels"):
        Frame.from_bgra(b"", 0, 0)
    with pytest.raises(CaptureError, match="expected 8294400"):
        Frame.from_bgra(b"\0" * 10, 1920, 1080)


@pytest.mark.slow
def test_missing_tesseract_is_a_clear_error_and_the_service_recovers(
    qtwin: Any, core: Any, capture_settings: Any, xdisplay: str
) -> None:
    import pytesseract

    qtwin.open("a", "Notes", ["Remember the milk please"])
    capture_settings.interval_seconds = 0.2
    capture_settings.tesseract_cmd = "/nonexistent/bin/tesseract"
    svc = CaptureService(core, capture_settings, adapter=X11Adapter())
    with pytest.raises(OcrUnavailable) as e:
        svc.capturer.ocr.version()
    assert "tesseract not found" in e.value.message and "apt-get install" in (e.value.hint or "")
    states: list[ServiceState] = []
    svc.add_listener(lambda st, _r: states.append(st))
    svc.start()
    try:
        wait_for(lambda: svc.state.errors >= 2)
        assert svc.state.status is Status.ERROR
        assert "tesseract not found" in svc.state.message and "tesseract-ocr" in (
            svc.state.hint or ""
        )
        assert core.inbox.recent(kind="capture") == []
        # Fix it while running: the next cycle works.
        svc.capturer.ocr.tesseract_cmd = "tesseract"
        wait_for(lambda: svc.state.kept >= 1)
        assert svc.state.status is Status.RECORDING
        assert "milk" in core.inbox.recent(kind="capture")[0].text
    finally:
        svc.stop()
        pytesseract.pytesseract.tesseract_cmd = "tesseract"
    assert svc.state.status is Status.STOPPED
    assert Status.ERROR in [s.status for s in states]


@pytest.mark.slow
def test_corrupt_and_zero_size_grabs_do_not_kill_the_service(
    qtwin: Any, core: Any, capture_settings: Any, xdisplay: str
) -> None:
    qtwin.open("a", "Notes", ["Pick up the parcel tomorrow"])
    capture_settings.interval_seconds = 0.2
    grabber = FlakyGrabber()
    cap = Capturer(core, capture_settings, grabber=grabber, adapter=X11Adapter())
    svc = CaptureService(core, capture_settings, capturer=cap)
    grabber.mode = "empty"
    svc.start()
    try:
        wait_for(lambda: svc.state.errors >= 1)
        assert svc.state.status is Status.ERROR and "no pixels" in svc.state.message
        grabber.mode = "short"
        wait_for(lambda: "expected" in svc.state.message)
        grabber.mode = "ok"
        wait_for(lambda: svc.state.kept >= 1)
        assert svc.state.status is Status.RECORDING and svc.running
    finally:
        svc.stop()
    assert "parcel" in core.inbox.recent(kind="capture")[0].text


def test_pause_resume_and_idle_skip(core: Any, capture_settings: Any) -> None:
    calls = []

    class Counting(Capturer):
        def capture(self, cancelled: Callable[[], bool] = lambda: False) -> list[Any]:
            calls.append(1)
            return []

    adapter = Idle()
    capture_settings.idle_after_seconds = 60
    cap = Counting(core, capture_settings, adapter=adapter)
    now = [1_000_000.0]
    svc = CaptureService(core, capture_settings, capturer=cap, clock=lambda: now[0])
    svc.tick()
    assert len(calls) == 1
    svc.pause(900)
    assert svc.state.status is Status.PAUSED and svc.state.paused_until
    svc.tick()
    assert len(calls) == 1  # paused
    now[0] += 901
    svc.tick()
    assert len(calls) == 2  # the 15 minutes are over
    svc.pause(None)
    now[0] += 10 * 86400
    svc.tick()
    assert len(calls) == 2 and svc.state.paused_until is None  # until resumed
    # A pause set by another process (`mirix capture --pause`) is seen too.
    svc.resume()
    svc.tick()
    assert len(calls) == 3
    svc.pause_file.set(now[0] + 3600)
    svc.tick()
    assert len(calls) == 3 and svc.state.status is Status.PAUSED
    svc.resume()
    adapter.idle = 61
    svc.tick()
    assert len(calls) == 3 and svc.state.status is Status.IDLE and svc.state.message == "no input"
    adapter.idle = 0
    adapter.lock = True
    svc.tick()
    assert len(calls) == 3 and svc.state.message == "screen locked"
    adapter.lock = False
    svc.tick()
    assert len(calls) == 4
    assert (svc.pause_file.path.parent.stat().st_mode & 0o777) == 0o700


def test_stop_cancels_a_running_cycle_and_is_clean(core: Any, capture_settings: Any) -> None:
    started = threading.Event()
    saw_cancel = threading.Event()

    class Slow(Capturer):
        def capture(self, cancelled: Callable[[], bool] = lambda: False) -> list[Any]:
            started.set()
            deadline = time.monotonic() + 10
            while not cancelled() and time.monotonic() < deadline:
                time.sleep(0.01)
            if cancelled():
                saw_cancel.set()
            return []

    capture_settings.interval_seconds = 0.1
    svc = CaptureService(core, capture_settings, capturer=Slow(core, capture_settings))
    svc.start()
    assert started.wait(5)
    t0 = time.monotonic()
    svc.stop()
    assert time.monotonic() - t0 < 3
    assert saw_cancel.is_set()
    assert svc.state.status is Status.STOPPED and not svc.running
    svc.stop()  # idempotent
    names = [t.name for t in threading.enumerate()]
    assert not any("APScheduler" in n or "ThreadPoolExecutor" in n for n in names), names


@pytest.mark.slow
def test_focus_change_triggers_a_capture(core: Any, capture_settings: Any, xdisplay: str) -> None:
    from Xlib import X, Xatom, display

    ticks: list[float] = []

    class Counting(Capturer):
        def capture(self, cancelled: Callable[[], bool] = lambda: False) -> list[Any]:
            ticks.append(time.monotonic())
            return []

    capture_settings.interval_seconds = 3600
    capture_settings.on_focus_change = True
    adapter = X11Adapter()
    svc = CaptureService(
        core, capture_settings, capturer=Counting(core, capture_settings, adapter=adapter)
    )
    svc.start()
    try:
        wait_for(lambda: len(ticks) == 1)  # the first run is immediate
        time.sleep(0.6)
        d = display.Display(xdisplay)
        root = d.screen().root
        root.change_property(
            d.intern_atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW, 32, [root.id], X.PropModeReplace
        )
        d.flush()
        wait_for(lambda: len(ticks) == 2, timeout=5)
        root.delete_property(d.intern_atom("_NET_ACTIVE_WINDOW"))
        d.close()
    finally:
        svc.stop()
