"""The daily digest: one episodic memory per day, extractive and cited.

It says what the day's memories say, nothing more: the activity by app and time (from the day's
episodic memories made from captures, whatever their shape: one per window or one per session),
the people and organisations seen that day (entity memories, see agent/extract), and what is
scheduled next (dated items extracted at their own time, in the seven days after). Every line cites
the memories it comes from, and the digest lists them as its sources.

Written on demand (`mirix digest [DATE]`, the Timeline's Today card) and at the end of each day:
`EndOfDay` is a capture listener that, on the first capture of a new day (or the first capture
after a start), writes the digests of the past days that have activity and no digest yet. The same
day written again updates its one memory (key tag "digest:YYYY-MM-DD").
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from mirix_app.errors import InvalidInput
from mirix_app.memory.clock import parse_time, to_iso
from mirix_app.memory.types import Filters, Memory, MemoryType, Source

if TYPE_CHECKING:
    from mirix_app.memory.core import MemoryCore

log = logging.getLogger(__name__)

DIGEST_EVENT = "digest"
DIGEST_TAG = "digest"
EXTRACTED = "extracted"  # the tag of memories made by agent/extract
AHEAD_DAYS = 7
CATCH_UP_DAYS = 7
MAX_ROWS = 2000


def digest_tag(day: date) -> str:
    return f"digest:{day.isoformat()}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0)).astimezone()
    return start, datetime.combine(day + timedelta(days=1), time(0, 0)).astimezone()


def _local(iso: str) -> datetime:
    return parse_time(iso).astimezone()


def _hm(minutes: float) -> str:
    m = max(1, round(minutes))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


@dataclass
class Session:
    app: str
    start: datetime
    end: datetime
    titles: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    captures: int = 0

    @property
    def minutes(self) -> float:
        return max(1.0, (self.end - self.start).total_seconds() / 60)


@dataclass
class Digest:
    day: date
    summary: str
    details: str
    sources: list[Source]
    sessions: list[Session]
    people: list[Memory]
    upcoming: list[Memory]
    messages: int = 0

    @property
    def empty(self) -> bool:
        return not (self.sessions or self.people or self.upcoming or self.messages)


def _is_digest(m: Memory) -> bool:
    return DIGEST_TAG in m.tags or m.fields.get("event_type") == DIGEST_EVENT


def _browse_all(core: MemoryCore, filters: Filters) -> list[Memory]:
    return core.browse(filters, limit=MAX_ROWS, newest_first=False)


def build_digest(core: MemoryCore, day: date) -> Digest:
    """The digest of `day` (local calendar day) from the memories stored now."""
    start, end = _bounds(day)
    s_iso, e_iso = to_iso(start), to_iso(end)
    sessions: dict[tuple[str, str], Session] = {}
    messages = 0
    for m in _browse_all(core, Filters(types=[MemoryType.EPISODIC], since=s_iso, until=e_iso)):
        if _is_digest(m) or EXTRACTED in m.tags or m.fields.get("event_type") == "question":
            continue
        caps = [s for s in m.sources if s.kind == "capture" and s.at]
        if not caps:
            if any(s.kind == "chat" for s in m.sources):
                messages += 1
            continue
        times = sorted(_local(s.at) for s in caps if s.at)
        times = [t for t in times if start <= t < end] or times
        app = (caps[0].app or "unknown app").strip()
        title = str(m.fields.get("summary") or "")
        key = (app.lower(), m.id)
        sessions[key] = Session(app, times[0], times[-1], [title], [m.id], len(caps))
    by_app: dict[str, list[Session]] = defaultdict(list)
    for s in sessions.values():
        by_app[s.app].append(s)
    people: list[Memory] = []
    for m in _browse_all(core, Filters(types=[MemoryType.SEMANTIC])):
        if not any(t.startswith("entity:") for t in m.tags):
            continue
        if any(s.at and start <= _local(s.at) < end for s in m.sources):
            people.append(m)
    upcoming = [
        m
        for m in _browse_all(
            core,
            Filters(
                types=[MemoryType.EPISODIC],
                since=s_iso,
                until=to_iso(end + timedelta(days=AHEAD_DAYS)),
            ),
        )
        if EXTRACTED in m.tags and not _is_digest(m)
    ]
    on_day = [m for m in upcoming if _local(m.fields["occurred_at"]) < end]
    after = [m for m in upcoming if _local(m.fields["occurred_at"]) >= end]
    return _compose(day, by_app, people, on_day, after, messages)


def _compose(
    day: date,
    by_app: dict[str, list[Session]],
    people: list[Memory],
    on_day: list[Memory],
    after: list[Memory],
    messages: int,
) -> Digest:
    from mirix_app.agent.extract.times import format_day

    lines: list[str] = []
    sources: list[Source] = []
    cited: set[str] = set()

    def cite(m_ids: list[str], at: str | None = None) -> str:
        for mid in m_ids:
            if mid not in cited and len(sources) < 300:
                cited.add(mid)
                sources.append(Source("agent", mid, at))
        return " ".join(f"[{i}]" for i in m_ids[:6])

    apps = sorted(by_app.items(), key=lambda kv: -sum(s.minutes for s in kv[1]))
    total = sum(s.minutes for ss in by_app.values() for s in ss)
    all_sessions: list[Session] = []
    if apps:
        lines.append("Activity by app")
        for app, ss in apps:
            ss.sort(key=lambda s: s.start)
            all_sessions.extend(ss)
            first, last = ss[0].start, max(s.end for s in ss)
            titles: list[str] = []
            for s in ss:
                for t in s.titles:
                    t = " ".join(t.split())[:90]
                    if t and t not in titles:
                        titles.append(t)
            shown = "; ".join(titles[:4]) + (
                f"; and {len(titles) - 4} more" if len(titles) > 4 else ""
            )
            ids = [i for s in ss for i in s.ids]
            lines.append(
                f"- {first:%H:%M}–{last:%H:%M} {app} ({_hm(sum(s.minutes for s in ss))}, "
                f"{sum(s.captures for s in ss)} capture(s)): {shown} {cite(ids)}"
            )
    if messages:
        lines.append(f"Chat: {messages} message(s) with mirix")
    if people:
        lines.append("People and organisations")
        for p in people[:30]:
            head = str(p.fields.get("summary", "")).split(" — ")[0]
            lines.append(f"- {head} {cite([p.id])}")
    if on_day:
        lines.append("On the day")
        for m in on_day[:20]:
            lines.append(
                f"- {str(m.fields['summary'])[:160]} {cite([m.id], m.fields['occurred_at'])}"
            )
    if after:
        lines.append("Scheduled next")
        for m in after[:20]:
            lines.append(
                f"- {str(m.fields['summary'])[:160]} {cite([m.id], m.fields['occurred_at'])}"
            )
    bits = []
    if apps:
        top = ", ".join(f"{a} {_hm(sum(s.minutes for s in ss))}" for a, ss in apps[:3])
        bits.append(f"{_hm(total)} of activity in {len(apps)} app(s) ({top})")
    if people:
        names = ", ".join(str(p.fields["name"]) for p in people[:5])
        bits.append(
            f"{len(people)} people/organisations ({names}{', …' if len(people) > 5 else ''})"
        )
    if after:
        nxt = after[0]
        bits.append(f"next: {str(nxt.fields['summary'])[:90]}")
    head = f"Day digest, {format_day(day, weekday=True)}"
    summary = f"{head}: " + ("; ".join(bits) if bits else "nothing recorded")
    return Digest(
        day, summary[:1000], "\n".join(lines), sources, all_sessions, people, after, messages
    )


def find_digest(core: MemoryCore, day: date) -> Memory | None:
    start, end = _bounds(day)
    for m in _browse_all(
        core, Filters(types=[MemoryType.EPISODIC], since=to_iso(start), until=to_iso(end))
    ):
        if digest_tag(day) in m.tags and m.deleted_at is None:
            return m
    return None


def write_digest(core: MemoryCore, day: date, *, now: datetime | None = None) -> Memory | None:
    """Write (or rewrite) the day's digest; None when the day has nothing to digest."""
    d = build_digest(core, day)
    if d.empty:
        return None
    start, end = _bounds(day)
    now = now or datetime.now().astimezone()
    at = min(end - timedelta(seconds=1), max(start, now))
    fields = {
        "occurred_at": to_iso(at),
        "actor": "mirix",
        "event_type": DIGEST_EVENT,
        "summary": d.summary,
        "details": d.details,
    }
    tags = [DIGEST_TAG, digest_tag(day)]
    old = find_digest(core, day)
    if old is None:
        return core.add(
            Memory(MemoryType.EPISODIC, fields, tags=tags, sources=d.sources, origin="agent"),
            actor="agent",
        )
    if old.fields.get("summary") == d.summary and old.fields.get("details") == d.details:
        return old
    return core.update(old.id, actor="agent", fields=fields, sources=d.sources)


def active_days(core: MemoryCore, since: date, until: date) -> list[date]:
    """Days in [since, until) with episodic memories made from captures or chat."""
    s, _ = _bounds(since)
    e, _ = _bounds(until)
    days: set[date] = set()
    for m in _browse_all(
        core, Filters(types=[MemoryType.EPISODIC], since=to_iso(s), until=to_iso(e))
    ):
        if not _is_digest(m) and EXTRACTED not in m.tags:
            days.add(_local(m.fields["occurred_at"]).date())
    return sorted(days)


def write_due(core: MemoryCore, today: date | None = None) -> list[Memory]:
    """Digests of the past days (up to CATCH_UP_DAYS) with activity and no digest yet."""
    today = today or datetime.now().astimezone().date()
    out: list[Memory] = []
    for day in active_days(core, today - timedelta(days=CATCH_UP_DAYS), today):
        if find_digest(core, day) is None:
            m = write_digest(core, day)
            if m is not None:
                out.append(m)
    return out


class EndOfDay:
    """A capture listener: on the first capture of a new local day (and once after a start), the
    past days' digests are written on a short-lived thread. Cheap on every other call."""

    def __init__(self, core: MemoryCore) -> None:
        self.core = core
        self.day: date | None = None
        self._busy = threading.Lock()

    def __call__(self, *_: Any) -> None:
        today = datetime.now().astimezone().date()
        if self.day == today or not self._busy.acquire(blocking=False):
            return
        self.day = today

        def run() -> None:
            try:
                written = write_due(self.core, today)
                if written:
                    log.info("daily digest: %d day(s) written", len(written))
            except Exception as e:  # the digest never takes capture down
                log.warning("daily digest failed: %s", type(e).__name__)
            finally:
                self._busy.release()

        threading.Thread(target=run, name="mirix-digest", daemon=True).start()


# -- CLI -------------------------------------------------------------------------------------------
def parse_day(text: str | None, today: date | None = None) -> date:
    today = today or datetime.now().astimezone().date()
    if not text or text.strip().lower() == "today":
        return today
    t = text.strip()
    try:
        return date.fromisoformat(t)
    except ValueError:
        pass
    from mirix_app.agent.extract.times import find_times

    days = [m.day for m in find_times(t, today) if m.day is not None]
    if len(days) == 1:
        return days[0]
    raise InvalidInput(
        f"not a day: {t!r}", "give a date such as 2024-11-12, 'today', 'yesterday' or 'last friday'"
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("digest", help="write and show the digest of a day (default: today)")
    p.add_argument("date", nargs="?", help="YYYY-MM-DD, today, yesterday, 'last friday' ...")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.add_argument("--dry-run", action="store_true", help="show it without storing it")
    p.set_defaults(func=cmd_digest)


def cmd_digest(args: argparse.Namespace) -> int:
    from mirix_app.memory.core import MemoryCore

    day = parse_day(args.date)
    with MemoryCore.open() as core:
        if args.dry_run:
            d = build_digest(core, day)
            summary, details, mid = d.summary, d.details, None
            empty = d.empty
        else:
            m = write_digest(core, day)
            empty = m is None
            summary = str(m.fields["summary"]) if m else ""
            details = str(m.fields["details"]) if m else ""
            mid = m.id if m else None
    if args.json:
        from mirix_app.output import print_json

        print_json(
            {
                "day": day.isoformat(),
                "id": mid,
                "summary": summary,
                "details": details,
                "empty": empty,
            }
        )
        return 0
    if empty:
        print(f"Nothing recorded on {day.isoformat()}: no digest written.")
        return 0
    print(summary)
    if details:
        print()
        print(details)
    if mid:
        print(f"\nstored as {mid}")
    return 0
