"""Extraction benchmark: the screen QA screens through real capture, then today's pipeline and the
pipeline with model-free extraction (mirix_app/agent/extract), on the same captures.

    .venv/bin/python tests/bench/bench_extract.py [--json OUT.json] [--ocr-out FILE.json]
        [--from-ocr FILE.json]

Every screen of screen_qa_data.py is shown as a real Qt window on a private Xvfb and read by the
real capture path (CaptureService.tick: mss, tesseract, redaction, X11 window context). The
capture times are set as if "now" were Tuesday 12 November 2024, 15:00 local time, minus each
screen's `minutes_ago` (the screens' own dates are in November 2024). `--from-ocr` skips the X
screen and replays saved captures (e.g. tests/agent/extract_ocr_screens.json).

The same captures are then drained twice with no model (deterministic notes only), into two
fresh memory dirs: "today" with the extraction hook switched off, "ours" with it on. Reported:
memories per type; how many of the dated items a person sees on these screens (hand-listed in
EXPECTED_TIMES below) have an episodic memory at their own time; people/organisations found
(EXPECTED_ENTITIES) and distinct documents/pages with a resource memory (EXPECTED_RESOURCES).

Not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
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

from screen_qa_data import SCREENS, Screen  # noqa: E402

# "Now" for the capture times: the screens' world is the week of 11 November 2024.
NOW = datetime(2024, 11, 12, 15, 0).astimezone()

# Dated items a person reads on these screens: (screen, local "YYYY-MM-DD" or "YYYY-MM-DD HH:MM").
# Message timestamps ("Jonas Berg 09:14") and opening hours are not listed.
EXPECTED_TIMES: list[tuple[str, str]] = [
    ("mail_flight", "2024-11-11 10:12"),  # the mail's date
    ("mail_flight", "2024-11-21 07:45"),
    ("mail_flight", "2024-11-24 18:30"),
    ("mail_invoice", "2024-11-30"),
    ("mail_meeting", "2024-11-13 15:30"),
    ("mail_dentist", "2024-11-15 08:20"),
    ("slack_platform", "2024-11-14"),  # deploys frozen until Thursday
    ("slack_platform", "2024-11-11 11:00"),  # resize at 11:00 (the day of the capture)
    ("signal_mum", "2024-11-16"),  # dinner on Saturday
    ("wiki_runbook", "2024-10-02"),
    ("term_gitlog", "2024-11-10"),  # "yesterday" (captured on 11 Nov)
    ("term_gitlog", "2024-11-09"),  # "2 days ago"
    ("term_ssh", "2024-11-12 08:51"),
    ("calendar_week", "2024-11-11 09:30"),
    ("calendar_week", "2024-11-11 14:00"),
    ("calendar_week", "2024-11-12 09:30"),
    ("calendar_week", "2024-11-12 11:00"),
    ("calendar_week", "2024-11-13 09:30"),
    ("calendar_week", "2024-11-13 15:30"),
    ("calendar_week", "2024-11-14 10:00"),
    ("calendar_week", "2024-11-14 13:00"),
    ("calendar_week", "2024-11-15 08:20"),
    ("calendar_week", "2024-11-15 12:30"),
    ("calendar_week", "2024-11-16 19:00"),
    ("calendar_event", "2024-11-14 13:00"),
    ("jira_tls", "2024-11-18"),
    ("jira_tls", "2024-11-22"),
    ("bank_transfer", "2024-11-12"),
    ("discord_games", "2024-11-23 19:30"),
    ("mail_parcel", "2024-11-19"),
    ("notes_packing", "2024-11-13"),  # bins out on Wednesday evening
    ("notes_packing", "2024-11-15"),  # cancel the Friday yoga class
    ("mail_streaming", "2025-01-01"),
    ("signal_tom", "2024-11-15 12:30"),  # Friday lunch at 12:30
]

EXPECTED_ENTITIES = [
    "Alex Morgan", "Carla Mendes", "Priya Raman", "Helena Voss", "Jonas Berg", "Maria Lopez",
    "Sam Okafor", "Mum", "Hana Sato", "Tom Becker", "Kira", "Ben", "Ruth", "SkyNordic",
    "Brightline Studio", "Smile Dental Clinic", "PostExpress", "Streamly",
]  # fmt: skip

# Screens that show one document, page, file or mail each.
EXPECTED_RESOURCES = [
    "mail_flight", "mail_invoice", "mail_meeting", "mail_dentist", "wiki_runbook", "recipe",
    "readme", "editor_billing", "sheet_budget", "pdf_lease", "browser_pr", "chromium_docs",
    "notes_packing", "jira_tls", "bank_transfer", "mail_parcel", "editor_yaml", "mail_streaming",
    "maps_route", "canteen_menu",
]  # fmt: skip


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}\n")
    for n, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


# -- capture ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _patched_now(at: str) -> Iterator[None]:
    import mirix_app.capture.capturer as capturer_mod

    real = capturer_mod.now_iso
    capturer_mod.now_iso = lambda: at  # type: ignore[assignment]
    try:
        yield
    finally:
        capturer_mod.now_iso = real


def capture_real(screens: list[Screen], now: datetime = NOW) -> list[dict[str, Any]]:
    """Show each screen on a private Xvfb and read it through CaptureService.tick; returns the
    kept captures as dicts (screen, at, app, window, url, text), oldest first."""
    from bench_screen_qa import show, x_screen

    from mirix_app.capture.service import CaptureService
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter
    from mirix_app.memory.clock import to_iso
    from mirix_app.memory.core import MemoryCore
    from mirix_app.paths import Paths
    from tests.capture.conftest import QtWindows

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mirix-bench-extract-cap-") as tmp:
        core = MemoryCore.open(Paths.under(Path(tmp) / "home"))
        try:
            with x_screen(False) as (display, _wm), QtWindows(display) as win:
                settings = CaptureSettings(idle_after_seconds=0, on_focus_change=False)
                svc = CaptureService(core, settings, adapter=X11Adapter())
                try:
                    for s in sorted(screens, key=lambda s: -s["minutes_ago"]):
                        show(win, s)
                        at = to_iso(now - timedelta(minutes=s["minutes_ago"]))
                        with _patched_now(at):
                            results = svc.tick()
                        for r in results:
                            if r.kept and r.item is not None:
                                it = r.item
                                out.append(
                                    {
                                        "screen": s["id"],
                                        "at": it.at,
                                        "app": it.app,
                                        "window": it.window,
                                        "url": it.url,
                                        "text": it.text,
                                    }
                                )
                                break
                finally:
                    svc.capturer.close()
        finally:
            core.close()
    return out


# -- pipelines -------------------------------------------------------------------------------------
def run(captures: list[dict[str, Any]], *, extract: bool) -> dict[str, Any]:
    """Drain the captures with no model into a fresh memory dir; returns the memories."""
    import mirix_app.agent.extract.apply as extract_apply
    from mirix_app.agent.pipeline import Pipeline
    from mirix_app.agent.settings import AgentSettings
    from mirix_app.memory.core import MemoryCore
    from mirix_app.memory.inbox import InboxItem
    from mirix_app.paths import Paths

    with tempfile.TemporaryDirectory(prefix="mirix-bench-extract-") as tmp:
        core = MemoryCore.open(Paths.under(Path(tmp) / "home"))
        try:
            for c in captures:
                core.inbox.put(
                    InboxItem(
                        "capture",
                        c["text"],
                        c["at"],
                        app=c["app"],
                        window=c["window"],
                        url=c["url"],
                        meta={"screen": c["screen"]},
                    )
                )
            settings = AgentSettings()
            settings.notes_backlog_limit = 0
            settings.decide_with_model = False
            was = extract_apply.ENABLED
            extract_apply.ENABLED = extract
            t = time.perf_counter()
            try:
                Pipeline(core, None, settings).drain()
            finally:
                extract_apply.ENABLED = was
            secs = time.perf_counter() - t
            mems = core.browse(limit=10_000)
            by_cap = {c["screen"]: c for c in captures}
            return {"memories": mems, "seconds": secs, "captures": by_cap}
        finally:
            core.close()


def _local(iso: str) -> datetime:
    from mirix_app.memory.clock import parse_time

    return parse_time(iso).astimezone(NOW.tzinfo)


def score(res: dict[str, Any]) -> dict[str, Any]:
    from mirix_app.memory.types import MemoryType

    mems = res["memories"]
    counts = {t.value: 0 for t in MemoryType}
    for m in mems:
        counts[m.type.value] += 1
    epi = [m for m in mems if m.type is MemoryType.EPISODIC]
    times_hit = 0
    missed = []
    for _screen, want in EXPECTED_TIMES:
        ok = False
        cap = res["captures"].get(_screen)
        for m in epi:
            if cap is None or not any(s.at == cap["at"] for s in m.sources):
                continue  # it must come from this screen's capture
            when = _local(str(m.fields["occurred_at"]))
            if " " in want:
                ok = when.strftime("%Y-%m-%d %H:%M") == want
            else:
                ok = when.strftime("%Y-%m-%d") == want and "extracted" in m.tags
            if ok:
                break
        times_hit += ok
        if not ok:
            missed.append(f"{_screen} {want}")
    sem = [m for m in mems if m.type is MemoryType.SEMANTIC]
    names = {str(m.fields["name"]).lower() for m in sem}
    ent_hit = [e for e in EXPECTED_ENTITIES if e.lower() in names]
    entities = [m for m in sem if any(t.startswith("entity:") for t in m.tags)]
    res_mems = [m for m in mems if m.type is MemoryType.RESOURCE]
    res_hit = 0
    caps = res["captures"]
    for screen in EXPECTED_RESOURCES:
        cap = caps.get(screen)
        if cap is None:
            continue
        if any(any(s.at == cap["at"] for s in m.sources) for m in res_mems):
            res_hit += 1
    dated_extracted = [m for m in epi if "extracted" in m.tags]
    return {
        "counts": counts,
        "times_hit": times_hit,
        "missed_times": missed,
        "entities": len(entities),
        "entity_hit": ent_hit,
        "resources": len(res_mems),
        "resource_hit": res_hit,
        "dated_memories": len(dated_extracted),
        "seconds": res["seconds"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--from-ocr", help="replay saved captures instead of capturing")
    ap.add_argument("--ocr-out", help="save the captures (real OCR) to this JSON file")
    ap.add_argument("--json", help="write the scores to this file")
    ap.add_argument("--verbose", action="store_true", help="list what was made and missed")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.from_ocr:
        captures = json.loads(Path(args.from_ocr).read_text())["captures"]
        source = f"replayed from {args.from_ocr}"
    else:
        if shutil.which("tesseract") is None or shutil.which("Xvfb") is None:
            print("needs tesseract and Xvfb (apt-get install tesseract-ocr xvfb)", file=sys.stderr)
            return 2
        captures = capture_real(list(SCREENS))
        source = "captured now (Xvfb + tesseract)"
        if args.ocr_out:
            Path(args.ocr_out).write_text(
                json.dumps({"now": NOW.isoformat(), "captures": captures}, indent=1) + "\n"
            )
    t_cap = time.perf_counter() - t0
    print(f"{len(captures)} captures of {len(SCREENS)} screens, {source} ({t_cap:.0f} s)")
    today = score(run(captures, extract=False))
    ours_raw = run(captures, extract=True)
    ours = score(ours_raw)
    n_t, n_e, n_r = len(EXPECTED_TIMES), len(EXPECTED_ENTITIES), len(EXPECTED_RESOURCES)
    rows = [
        ["dated items -> episodic at their own time", f"{today['times_hit']}/{n_t}",
         f"{ours['times_hit']}/{n_t}"],
        ["episodic memories made by extraction (all dated)", today["dated_memories"],
         ours["dated_memories"]],
        ["people/organisation entity memories", today["entities"], ours["entities"]],
        ["expected people/organisations found", f"{len(today['entity_hit'])}/{n_e}",
         f"{len(ours['entity_hit'])}/{n_e}"],
        ["resource memories", today["resources"], ours["resources"]],
        ["documents/pages/mails with a resource memory", f"{today['resource_hit']}/{n_r}",
         f"{ours['resource_hit']}/{n_r}"],
        *[[f"memories: {k}", today["counts"][k], ours["counts"][k]] for k in today["counts"]],
        ["pipeline drain seconds (no model)", f"{today['seconds']:.1f}", f"{ours['seconds']:.1f}"],
    ]  # fmt: skip
    table(
        f"Extraction on {len(captures)} real captures (no model): today's pipeline vs with extraction",
        ["measure", "today", "ours"],
        rows,
    )
    if ours["missed_times"]:
        by = {c["screen"]: c["text"] for c in captures}
        notes = []
        for miss in ours["missed_times"]:
            screen, want = miss.split(" ", 1)
            hhmm = want.split(" ")[1] if " " in want else ""
            lost = hhmm and hhmm not in by.get(screen, "")
            notes.append(miss + (" (the time is not in the OCR text)" if lost else ""))
        print("\nmissed dated items (ours): " + ", ".join(notes))
    missing = [e for e in EXPECTED_ENTITIES if e not in ours["entity_hit"]]
    if missing:
        print("entities not found (ours): " + ", ".join(missing))
    if args.verbose:
        from mirix_app.memory.types import MemoryType

        for m in ours_raw["memories"]:
            if "extracted" in m.tags or any(t.startswith("entity:") for t in m.tags):
                when = (
                    _local(str(m.fields["occurred_at"])).strftime("%a %d %b %Y %H:%M")
                    if m.type is MemoryType.EPISODIC
                    else ""
                )
                print(f"- {m.type.value:8s} {when:22s} {m.title[:110]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"today": today, "ours": ours}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
