"""`mirix capture`: run the capture service in the foreground, once, or pause/resume it; export
a kept screenshot (decrypted) to look at it."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capture",
        help="capture the screen into the memory queue (foreground; Ctrl+C stops)",
        description=(
            "Grab every monitor at an interval, OCR what changed, drop excluded windows and "
            "secrets, and queue the text for the agent. Runs until Ctrl+C or SIGTERM."
        ),
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--once", action="store_true", help="take one capture and print what was kept")
    g.add_argument(
        "--pause",
        metavar="DURATION",
        help="pause capture (also a running app's): 15m, 1h, or forever (until --resume)",
    )
    g.add_argument("--resume", action="store_true", help="resume a paused capture")
    g.add_argument("--status", action="store_true", help="say whether capture is paused")
    g.add_argument(
        "--export-image",
        nargs=2,
        metavar=("CAPTURE_ID", "FILE"),
        help="decrypt a kept screenshot and write it as an image file (PNG, or by FILE's suffix: "
        ".jpg, .webp), to look at exactly what was kept",
    )
    p.add_argument(
        "--interval", type=float, help="seconds between captures (default from settings)"
    )
    p.add_argument(
        "--screenshots",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep encrypted screenshots (default from settings: off)",
    )
    p.add_argument("--json", action="store_true", help="print kept captures as JSON lines")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace, core: Any) -> Any:
    from mirix_app.capture.settings import CaptureSettings

    s = CaptureSettings.from_settings(core.settings)
    if args.interval is not None:
        s.interval_seconds = args.interval
    if args.screenshots is not None:
        s.keep_screenshots = args.screenshots
    s.validate()
    return s


def run(args: argparse.Namespace) -> int:
    from mirix_app.capture.service import parse_duration, pause_file
    from mirix_app.paths import Paths

    paths = Paths.default().ensure()
    pf = pause_file(paths)
    if args.pause is not None:
        seconds = parse_duration(args.pause)
        import time

        pf.set(time.time() + seconds if seconds else None)
        print(f"capture paused {'for ' + args.pause if seconds else 'until resumed'}")
        return 0
    if args.resume:
        pf.clear()
        print("capture resumed")
        return 0
    if args.status:
        paused, until = pf.get()
        if not paused:
            print("capture: not paused")
        elif until is None:
            print("capture: paused until resumed")
        else:
            from datetime import datetime

            print(
                f"capture: paused until {datetime.fromtimestamp(until).isoformat(timespec='seconds')}"
            )
        return 0

    from mirix_app.memory.core import MemoryCore

    core = MemoryCore.open(paths, repair=False)
    try:
        if args.export_image:
            return export_image(core, *args.export_image)
        settings = _settings(args, core)
        if args.once:
            return _once(core, settings, args.json)
        return _foreground(core, settings, args.json)
    finally:
        core.close()


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def export_image(core: Any, capture_id: str, file: str) -> int:
    """Write the kept screenshot of `capture_id`, decrypted, to `file` (0600: it is plain)."""
    import os
    from pathlib import Path

    from mirix_app.capture.storage import ScreenshotStore
    from mirix_app.errors import InvalidInput, NotFound

    item = core.inbox_get(capture_id)
    if item is None or item.kind != "capture":
        raise NotFound(
            f"no capture {capture_id!r}",
            "capture ids look like cap_...; `mirix capture --once` prints them",
        )
    if not item.image:
        raise NotFound(
            f"capture {capture_id} has no kept screenshot",
            "screenshots are kept only with capture.keep_screenshots (or --screenshots)",
        )
    out = Path(file)
    fmt = IMAGE_FORMATS.get(out.suffix.lower(), "PNG" if not out.suffix else "")
    if not fmt:
        raise InvalidInput(
            f"cannot write a {out.suffix} image", "name the file .png, .jpg or .webp"
        )
    shots = ScreenshotStore(core.paths.screenshots, core.paths.data, core.secrets)
    image = shots.load(item.image)
    if fmt == "JPEG":
        image = image.convert("RGB")
    tmp = out.with_name(out.name + ".part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            image.save(f, fmt)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {out}: {e.strerror or e}") from e
    print(f"wrote {out} ({image.width}x{image.height}) from {item.image}")
    return 0


def _print_result(r: Any, as_json: bool) -> None:
    import json

    item = r.item
    if as_json:
        out = {
            "id": item.id,
            "at": item.at,
            "monitor": item.monitor,
            "app": item.app,
            "window": item.window,
            "url": item.url,
            "image": item.image,
            "text": item.text,
            "meta": item.meta,
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        print(f"kept {item.id} monitor {item.monitor} at {item.at}")
        print(f"  app: {item.app or '-'}  window: {item.window or '-'}")
        if item.image:
            print(f"  image: {item.image}")
        print(f"  words: {item.meta.get('words')}  confidence: {item.meta.get('confidence')}")
        for line in item.text.splitlines():
            print(f"  | {line}")
    sys.stdout.flush()


def _once(core: Any, settings: Any, as_json: bool) -> int:
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.service import exclude_own_windows
    from mirix_app.capture.windows import adapter_for_platform

    capturer = Capturer(core, settings, adapter=adapter_for_platform())
    exclude_own_windows(capturer)  # mirix's windows are never captured, here as in the service
    try:
        capturer.ocr.version()
        results = capturer.capture()
    finally:
        capturer.close()
    kept = [r for r in results if r.kept]
    for r in kept:
        _print_result(r, as_json)
    for r in results:
        if not r.kept and not as_json:
            print(f"monitor {r.monitor}: nothing kept ({r.reason})")
    return 0


def _foreground(core: Any, settings: Any, as_json: bool) -> int:
    import signal
    import threading

    from mirix_app.capture.service import CaptureService, Status

    stop = threading.Event()
    service = CaptureService(core, settings)
    service.capturer.ocr.version()  # no tesseract: say so now, not on every cycle
    last_status: list[Status] = []

    def on_event(state: Any, results: list[Any]) -> None:
        for r in results:
            if r.kept:
                if as_json:
                    _print_result(r, True)
                else:
                    m = r.item.meta
                    print(
                        f"kept {r.item.id} monitor {r.monitor}: {m.get('words')} words, "
                        f"{m.get('ocr_boxes')} box(es), {r.ocr_fraction * 100:.1f}% read",
                        flush=True,
                    )
        if not last_status or last_status[-1] != state.status:
            last_status.append(state.status)
            note = f": {state.message}" if state.message else ""
            hint = f" ({state.hint})" if state.hint else ""
            print(f"status: {state.status}{note}{hint}", file=sys.stderr, flush=True)

    service.add_listener(on_event)

    def handle(signum: int, _frame: Any) -> None:
        stop.set()

    old = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.start()
        print(
            f"capturing every {settings.interval_seconds:g} s; Ctrl+C stops",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
        for s, h in old.items():
            signal.signal(s, h)
    return 0
