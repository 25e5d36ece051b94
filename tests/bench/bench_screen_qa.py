"""Screen QA benchmark: realistic screens -> real capture -> agent -> chat answers, scored.

    .venv/bin/python tests/bench/bench_screen_qa.py [--quick] [--no-model] [--model FILE.gguf]
        [--json OUT.json] [--no-wm]

Every screen of screen_qa_data.py is shown as a real Qt window on a private Xvfb (1920x1080) with
openbox as window manager when it is installed (so _NET_ACTIVE_WINDOW is set, as on a desktop),
its WM_CLASS and title set like the real app's. The real capture path reads it: CaptureService.tick
(mss grab, change detection, tesseract OCR, privacy redaction, window context via X11Adapter) into
the inbox of a fresh memory dir; the capture's timestamp is set to the screen's `minutes_ago` (the
only thing patched: `mirix_app.capture.capturer.now_iso`). Pipeline(core, model).drain() turns the
inbox into memories with the shipped model (SmolLM2-135M); `--no-model` sorts captures by the
deterministic signals alone (no model notes, no model add/update decisions: AgentSettings
notes_backlog_limit=0, decide_with_model=False); the chat still answers with the model.

Each question is asked with a fresh ChatAgent(core, model).ask(q, remember=False).text(). An
answer counts when it has <= 40 words (citation markers like [epi_01J...] removed) and holds every
expected fact; when the reply has `.extractive` (the evidence-first answer), its `.text` is scored
too, in its own column. Unanswerable questions count when the answer says it does not know and
holds none of the facts a guess would borrow. Diagnostics per question: whether the facts survived
OCR + redaction (in some capture's text), and whether they reached the chat's retrieved context.

Not collected by pytest (tests/bench/test_bench_screen_qa_quick.py runs it with --quick).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MIRIX_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from screen_qa_data import (  # noqa: E402
    CATEGORIES,
    QUESTIONS,
    QUICK_QUESTIONS,
    QUICK_SCREENS,
    QUICK_UNANSWERABLE,
    SCREENS,
    UNANSWERABLE,
    Question,
    Screen,
    Unanswerable,
)

from tests.capture.conftest import QtWindows, start_xvfb  # noqa: E402

MAX_WORDS = 40
WINDOW = {"x": 20, "y": 20, "w": 1860, "h": 1000}
DARK = {"bg": "#1e1e1e", "fg": "#e6e6e6"}
_CITE = re.compile(r"\[(?:cor|epi|sem|pro|res|vlt)_[0-9A-Za-z]{6,}\]")
ABSTAIN = re.compile(
    r"(?i)\b(?:(?:do|did|does) ?n[o']t|can ?n[o']t|cannot|could ?n[o']t|could not|unable to)\s+"
    r"(?:know|find|see|tell|say|recall|remember|locate|determine)"
    r"|\bno (?:record|memor(?:y|ies)|information|info|mention|details?|data|notes?|evidence|"
    r"answer|screens?|captures?)\b"
    r"|\bnot (?:sure|found|mentioned|known|in (?:my|your|the) (?:memor|notes|screens))"
    r"|\bnothing (?:about|on|found|in|that)\b|\bunknown\b|\bi don'?t have\b|\bisn'?t (?:mentioned|shown)"
    r"|\bnot (?:available|recorded|stated|specified)\b"
)


# -- scoring ---------------------------------------------------------------------------------------
def strip_citations(text: str) -> str:
    return " ".join(_CITE.sub(" ", text).split())


def word_count(text: str) -> int:
    return len(strip_citations(text).split())


def has_fact(text: str, fact: str) -> bool:
    """Case-insensitive; a fact starting/ending with a digit or letter must not run into another
    of the same kind ("4" is not in "14A", "no" is not in "not", "250" is in "250g"); a trailing
    plural "s" is allowed."""
    pat = re.escape(fact.lower())
    if fact[:1].isdigit():
        pat = r"(?<!\d)" + pat
    elif fact[:1].isalpha():
        pat = r"(?<![a-z0-9])" + pat
    if fact[-1:].isdigit():
        pat += r"(?!\d)"
    elif fact[-1:].isalpha():
        pat += r"s?(?![a-z])"  # a plural still counts ("leap year" in "leap years")
    return re.search(pat, text.lower()) is not None


def correct(text: str, expect: list[str]) -> bool:
    clean = strip_citations(text)
    return word_count(clean) <= MAX_WORDS and all(has_fact(clean, f) for f in expect)


def abstains(text: str, forbidden: list[str]) -> bool:
    """Says it does not know, borrowing no fact. A list the reply labels as other memories
    ("The nearest memories: ...") is not an answer, so it is not scored."""
    clean = strip_citations(re.split(r"(?i)\bthe nearest memories\b", text)[0])
    return (
        word_count(clean) <= MAX_WORDS
        and bool(ABSTAIN.search(clean))
        and not any(has_fact(clean, f) for f in forbidden)
    )


# -- results ---------------------------------------------------------------------------------------
@dataclass
class CaptureRow:
    screen: str
    kept: bool
    reason: str
    app: str | None
    window: str | None
    url: str | None
    words: int
    ocr_ms: float
    tick_ms: float
    redacted: dict[str, int] = field(default_factory=dict)
    text: str = ""


@dataclass
class Answer:
    q: str
    category: str
    expect: list[str]
    text: str
    seconds: float
    ok: bool
    words: int
    extractive: str | None = None
    extractive_ok: bool | None = None
    on_screen: bool = True  # every fact is in some capture's text (after OCR + redaction)
    in_context: bool = False  # every fact is in the chat's retrieved context
    unanswerable: bool = False


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}\n")
    for n, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f}%" if d else "-"


def cut(s: str, n: int = 110) -> str:
    s = " ".join(s.split()).replace("|", "/")
    return s if len(s) <= n else s[: n - 3] + "..."


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# -- the X screen ----------------------------------------------------------------------------------
def wm_ready(display: str, timeout: float = 10.0) -> bool:
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    try:
        atom = d.intern_atom("_NET_SUPPORTING_WM_CHECK")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if d.screen().root.get_full_property(atom, 0) is not None:
                return True
            time.sleep(0.05)
        return False
    finally:
        d.close()


@contextlib.contextmanager
def x_screen(use_wm: bool) -> Iterator[tuple[str, str]]:
    """A private Xvfb (and openbox when asked and installed); yields (display, wm name)."""
    xvfb, display = start_xvfb(1920, 1080)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    wm: subprocess.Popen[bytes] | None = None
    wm_name = "none"
    try:
        if use_wm and shutil.which("openbox"):
            wm = subprocess.Popen(
                ["openbox", "--sm-disable"],
                env={**os.environ, "DISPLAY": display},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wm_name = "openbox" if wm_ready(display) else "openbox (not ready)"
        yield display, wm_name
    finally:
        if wm is not None:
            wm.terminate()
            try:
                wm.wait(timeout=5)
            except subprocess.TimeoutExpired:
                wm.kill()
                wm.wait()
        xvfb.terminate()
        xvfb.wait(timeout=10)
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


def show(win: QtWindows, s: Screen) -> None:
    win.close_all()
    style: dict[str, Any] = {"app": s["app"], "font": s.get("font", "mono")}
    if s.get("app_instance"):
        style["app_instance"] = s["app_instance"]
    if s.get("font_px"):
        style["font_px"] = s["font_px"]
    if s.get("dark"):
        style.update(DARK)
    win.open(s["id"], s["title"], s["lines"], **WINDOW, **style)
    time.sleep(0.35)  # the WM maps, decorates and focuses it


# -- stages ----------------------------------------------------------------------------------------
def capture_screens(core: Any, win: QtWindows, screens: list[Screen]) -> list[CaptureRow]:
    import mirix_app.capture.capturer as capturer_mod
    from mirix_app.capture.service import CaptureService
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter
    from mirix_app.memory.clock import to_iso

    settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False)
    svc = CaptureService(core, settings, adapter=X11Adapter())
    now = datetime.now(UTC)
    real_now_iso = capturer_mod.now_iso
    rows: list[CaptureRow] = []
    try:
        for s in sorted(screens, key=lambda s: -s["minutes_ago"]):  # oldest first
            show(win, s)
            at = to_iso(now - timedelta(minutes=s["minutes_ago"]))
            capturer_mod.now_iso = lambda at=at: at  # type: ignore[misc]
            t = time.perf_counter()
            results = svc.tick()
            tick_ms = (time.perf_counter() - t) * 1000
            capturer_mod.now_iso = real_now_iso
            kept = [r for r in results if r.kept and r.item is not None]
            if not kept:
                reason = ",".join(r.reason for r in results) or svc.state.message or "nothing"
                rows.append(CaptureRow(s["id"], False, reason, None, None, None, 0, 0.0, tick_ms))
                continue
            r = kept[0]
            it = r.item
            assert it is not None
            rows.append(
                CaptureRow(
                    s["id"],
                    True,
                    r.reason,
                    it.app,
                    it.window,
                    it.url,
                    int(it.meta.get("words", 0)),
                    float(r.timings.get("ocr_ms", 0.0)),
                    tick_ms,
                    dict(it.meta.get("redacted", {})),
                    it.text,
                )
            )
    finally:
        capturer_mod.now_iso = real_now_iso
        svc.capturer.close()
    return rows


def make_model(path: str | None, threads: int | None) -> Any:
    from mirix_app.agent.models import LlamaCppModel
    from mirix_app.agent.settings import ModelSettings

    ms = ModelSettings()
    return LlamaCppModel(path, n_ctx=ms.n_ctx, n_threads=threads or ms.n_threads)


def run_pipeline(core: Any, model: Any, no_model: bool) -> tuple[int, dict[str, int]]:
    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.agent.settings import AgentSettings

    settings = AgentSettings()
    if no_model:
        settings.notes_backlog_limit = 0  # every capture is "behind": deterministic notes only
        settings.decide_with_model = False
    done = Pipeline(core, model, settings).drain()
    counts = dict(core.stats().live)
    return done, counts


def reply_extractive(reply: Any) -> str | None:
    """The evidence-first answer's text: `.text`, else `.short()` (the answer words alone), else
    `.render()`; None when the reply has no `extractive`."""
    ext = getattr(reply, "extractive", None)
    if ext is None:
        return None
    if isinstance(ext, str):
        return ext
    if getattr(ext, "found", True) is False and callable(getattr(ext, "render", None)):
        return str(ext.render())  # "I couldn't find that ...": what the user reads
    for name in ("text", "short", "render"):
        value = getattr(ext, name, None)
        if callable(value):
            value = value()
        if isinstance(value, str):
            return value
    return str(ext)


def ask_all(
    core: Any,
    model: Any,
    questions: list[Question],
    unanswerable: list[Unanswerable],
    screen_text: str,
) -> list[Answer]:
    from mirix_app.agent.chat import ChatAgent

    out: list[Answer] = []
    errors = 0
    jobs: list[tuple[str, str, list[str], bool]] = [
        (q["q"], q["category"], q["expect"], False) for q in questions
    ] + [(u["q"], "unanswerable", u["forbidden"], True) for u in unanswerable]
    for n, (q, cat, facts, unans) in enumerate(jobs, 1):
        chat = ChatAgent(core, model)  # a fresh agent: no earlier question in the history
        t = time.perf_counter()
        try:
            reply = chat.ask(q, remember=False)
            text = reply.text()
            ext = reply_extractive(reply)
            context = " ".join(r.text for r in getattr(reply, "retrieved", []))
        except Exception as e:  # the table is printed whatever the answers
            text, ext, context = f"(error: {type(e).__name__}: {e})", None, ""
            if not errors:
                traceback.print_exc()
            errors += 1
        secs = time.perf_counter() - t
        if unans:
            a = Answer(q, cat, facts, text, secs, abstains(text, facts), word_count(text))
            a.unanswerable = True
            if ext is not None:
                a.extractive, a.extractive_ok = ext, abstains(ext, facts)
        else:
            a = Answer(q, cat, facts, text, secs, correct(text, facts), word_count(text))
            a.on_screen = all(has_fact(screen_text, f) for f in facts)
            a.in_context = all(has_fact(context, f) for f in facts)
            if ext is not None:
                a.extractive, a.extractive_ok = ext, correct(ext, facts)
        out.append(a)
        mark = "ok " if a.ok else "-- "
        print(f"  [{n:2d}/{len(jobs)}] {mark}{secs:5.1f}s  {cut(q, 60)}  ->  {cut(text, 70)}")
        sys.stdout.flush()
    return out


# -- report ----------------------------------------------------------------------------------------
def report_captures(rows: list[CaptureRow], screens: list[Screen], wm: str) -> None:
    by_id = {s["id"]: s for s in screens}
    t_rows = []
    for r in rows:
        s = by_id[r.screen]
        app_ok = (r.app or "") == s["app"]
        title_ok = (r.window or "") == s["title"]
        t_rows.append(
            [
                r.screen,
                r.reason if not r.kept else "kept",
                r.words,
                f"{r.ocr_ms:.0f}",
                ("" if app_ok else "!= ") + cut(str(r.app), 22),
                "same" if title_ok else "!= " + cut(str(r.window), 50),
                r.url or "",
                ",".join(f"{k}:{v}" for k, v in r.redacted.items()),
            ]
        )
    table(
        f"Captures ({len(rows)} screens, window manager: {wm})",
        ["screen", "kept", "words", "OCR ms", "app seen", "title seen", "url", "redacted"],
        t_rows,
    )


def report_answers(answers: list[Answer]) -> None:
    has_ext = any(a.extractive is not None for a in answers)
    cats = [c for c in CATEGORIES if any(a.category == c for a in answers)]
    header = ["category", "count", "correct", "rate"]
    if has_ext:
        header += ["extractive correct", "extractive rate"]
    header += ["facts on screen (OCR)", "facts in context"]
    rows: list[list[Any]] = []

    def row(name: str, group: list[Answer], diag: bool = True) -> list[Any]:
        ok = sum(a.ok for a in group)
        r: list[Any] = [name, len(group), ok, pct(ok, len(group))]
        if has_ext:
            e = sum(bool(a.extractive_ok) for a in group)
            r += [e, pct(e, len(group))]
        if diag:
            r += [
                f"{sum(a.on_screen for a in group)}/{len(group)}",
                f"{sum(a.in_context for a in group)}/{len(group)}",
            ]
        else:
            r += ["-", "-"]
        return r

    answerable = [a for a in answers if not a.unanswerable]
    for c in cats:
        rows.append(row(c, [a for a in answerable if a.category == c]))
    rows.append(row("**overall (answerable)**", answerable))
    unans = [a for a in answers if a.unanswerable]
    if unans:
        rows.append(row("unanswerable (says it doesn't know)", unans, diag=False))
    table(
        f"Screen QA: answer <= {MAX_WORDS} words holding every expected fact",
        header,
        rows,
    )

    fails = [a for a in answers if not a.ok or a.extractive_ok is False]
    print(f"\nFailures ({len(fails)} of {len(answers)}; final answer or extractive wrong)\n")
    for a in fails:
        if a.unanswerable:
            why = "did not abstain" if not ABSTAIN.search(strip_citations(a.text)) else "guessed"
        elif not a.on_screen:
            why = "fact lost in OCR/redaction"
        elif a.words > MAX_WORDS and all(has_fact(strip_citations(a.text), f) for f in a.expect):
            why = f"too long ({a.words} words)"
        elif not a.in_context:
            why = "not retrieved"
        else:
            why = "retrieved, not answered"
        want = ("not: " if a.unanswerable else "") + ", ".join(a.expect)
        if a.ok:
            why = "final answer ok, extractive wrong"
        print(f"- [{a.category}] {a.q}  expected [{want}]  ({why}, {a.words} words)")
        print(f"    got: {cut(strip_citations(a.text), 160)}")
        if a.extractive is not None:
            print(
                f"    extractive ({'ok' if a.extractive_ok else 'wrong'}): {cut(a.extractive, 160)}"
            )
    lat = [a.seconds for a in answers]
    print(
        f"\nAnswer latency (in-process, ask + full text): p50 {percentile(lat, 0.5):.2f} s, "
        f"p95 {percentile(lat, 0.95):.2f} s, mean {statistics.fmean(lat):.2f} s, n={len(lat)}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="a handful of screens and questions")
    ap.add_argument(
        "--no-model",
        action="store_true",
        help="sort captures without model notes or model decisions (chat still uses the model)",
    )
    ap.add_argument("--model", help="a GGUF file (default: the shipped SmolLM2-135M)")
    ap.add_argument(
        "--threads",
        type=int,
        help="llama.cpp threads (default: the app's model.n_threads; 1 is faster on a busy box)",
    )
    ap.add_argument("--no-wm", action="store_true", help="no window manager (bare Xvfb)")
    ap.add_argument("--json", help="write every capture and answer to this file")
    ap.add_argument(
        "--store",
        help="keep the memory dir here; when it already holds a run, only ask the questions again "
        "(for working on answers without capturing and sorting anew)",
    )
    args = ap.parse_args()
    if shutil.which("tesseract") is None or shutil.which("Xvfb") is None:
        print("needs tesseract and Xvfb (apt-get install tesseract-ocr xvfb)", file=sys.stderr)
        return 2

    screens = list(SCREENS)
    questions = list(QUESTIONS)
    unanswerable = list(UNANSWERABLE)
    if args.quick:
        screens = [s for s in screens if s["id"] in QUICK_SCREENS]
        questions = [q for q in questions if q["q"] in QUICK_QUESTIONS]
        unanswerable = unanswerable[:QUICK_UNANSWERABLE]
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mirix-bench-screenqa-") as tmp:
        home = Path(args.store or tmp) / "home"
        saved = Path(args.store or tmp) / "captures.json"
        os.environ["MIRIX_HOME"] = str(home)
        from mirix_app.memory.core import MemoryCore
        from mirix_app.paths import Paths

        if args.store and saved.exists():
            caps = [CaptureRow(**c) for c in json.loads(saved.read_text())]
            counts = {}
            model = make_model(args.model, args.threads)
            model.load()
            screen_text = "\n".join(f"{c.window or ''}\n{c.text}" for c in caps)
            with MemoryCore.open(Paths.under(home)) as core:
                print(f"asking {len(questions) + len(unanswerable)} questions of {home}")
                t = time.perf_counter()
                answers = ask_all(core, model, questions, unanswerable, screen_text)
                timings["chat (all questions)"] = time.perf_counter() - t
            report_answers(answers)
            return 0
        t = time.perf_counter()
        with x_screen(not args.no_wm) as (display, wm), QtWindows(display) as win:
            timings["X screen + window helper start"] = time.perf_counter() - t
            core = MemoryCore.open(Paths.under(home))
            try:
                print(
                    f"screen QA bench ({'quick' if args.quick else 'full'}): {len(screens)} "
                    f"screens, {len(questions)} questions + {len(unanswerable)} unanswerable, "
                    f"display {display}, wm {wm}, {os.cpu_count()} cores, "
                    f"load average {os.getloadavg()[0]:.2f}"
                )
                sys.stdout.flush()
                t = time.perf_counter()
                caps = capture_screens(core, win, screens)
                timings["capture (tick per screen: grab, OCR, redact, store)"] = (
                    time.perf_counter() - t
                )
                timings["  per screen (mean)"] = timings[
                    "capture (tick per screen: grab, OCR, redact, store)"
                ] / max(1, len(caps))
                win.close_all()
                report_captures(caps, screens, wm)

                t = time.perf_counter()
                model = make_model(args.model, args.threads)
                model.load()
                timings["model load"] = time.perf_counter() - t

                t = time.perf_counter()
                done, counts = run_pipeline(core, model, args.no_model)
                timings[
                    f"agent pipeline drain ({done} items, model notes {'off' if args.no_model else 'on'})"
                ] = time.perf_counter() - t
                print(
                    "\nmemories after the pipeline: "
                    + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                )
                screen_text = "\n".join(f"{c.window or ''}\n{c.text}" for c in caps)
                print(f"\nasking {len(questions) + len(unanswerable)} questions")
                t = time.perf_counter()
                answers = ask_all(core, model, questions, unanswerable, screen_text)
                timings["chat (all questions)"] = time.perf_counter() - t
            finally:
                core.close()
        if args.store:
            saved.write_text(json.dumps([asdict(c) for c in caps]))
    timings["total"] = time.perf_counter() - t_all
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report_answers(answers)
    table("Stage timings", ["stage", "seconds"], [[k, f"{v:.1f}"] for k, v in timings.items()])
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "captures": [asdict(c) for c in caps],
                    "answers": [asdict(a) for a in answers],
                    "timings": timings,
                    "memories": counts,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
