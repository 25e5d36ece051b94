"""Activity sessions: consecutive captures of one app and window (or document / URL) as one episode.

A session is what the user did in one place: "Edited reconcile.py in VS Code (billing-service),
09:40–10:25", "Read 'Your Porto trip is confirmed' in Thunderbird, 08:12". Its details are the
distinct lines seen (de-duplicated: a line typed character by character is kept once, at its
longest), its sources every capture of it.

A session goes on while its window is in front, and also across a short switch away: it ends only
when the user switched to something else *and* the gap since its last capture exceeds
`switch_gap` (the agent's `episode_merge_minutes`), or when nothing was captured of it for
`IDLE_GAP` (away, locked, or a screen nobody touched). Coming back later starts a new session,
linked to the earlier one (a revisit). Pure functions and plain data: no storage, no model; the
agent's episodic manager keeps the open sessions and writes them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from mirix_app.memory.clock import parse_time

SESSION_TAG = "session"  # every session memory
KEY_TAG = "session:"  # + a short hash of the key: every session of the same app and window
REVISIT_TAG = "revisit-of:"  # + the id of the session before it, of the same thing
CONTINUES_TAG = "continues:"  # + the id of the part before (a session too long for one memory)
TYPED_TAG = "typed"  # the user typed during the session
SESSION_EVENT = "activity"  # the episodic event_type of a session (what search and the UI know)

SWITCH_GAP = timedelta(minutes=10)
IDLE_GAP = timedelta(minutes=30)
SESSION_CHARS = 12000  # details of one session memory; a longer one continues in a new part
CAPTURE_CHARS = 3000  # what one capture may add to its session (the top of a huge screen)
TITLE_CHARS = 80

# -- apps ------------------------------------------------------------------------------------------
# Keys are compared lower case: WM_CLASS class or instance, a process name, a macOS app name.
_KINDS: dict[str, tuple[str, ...]] = {
    "editor": (
        "code", "code-oss", "vscodium", "codium", "visual studio code", "sublime_text",
        "sublime text", "gedit", "gnome-text-editor", "kate", "kwrite", "emacs", "gvim", "vim",
        "nvim", "neovim", "atom", "zed", "notepad", "notepad++", "textedit", "xed", "mousepad",
        "pluma", "jetbrains-pycharm", "jetbrains-idea", "jetbrains-goland", "pycharm", "idea",
        "goland", "webstorm", "clion", "rider", "android studio", "xcode", "geany",
    ),
    "mail": (
        "thunderbird", "evolution", "geary", "outlook", "mail", "kmail", "mailspring", "claws-mail",
        "betterbird", "spark",
    ),
    "chat": (
        "slack", "discord", "teams", "microsoft teams", "element", "signal", "telegram",
        "telegramdesktop", "whatsapp", "mattermost", "zulip", "rocket.chat", "skype", "zoom",
        "messages",
    ),
    "browser": (
        "firefox", "firefox-esr", "navigator", "chromium", "chromium-browser", "google-chrome",
        "chrome", "brave-browser", "brave", "microsoft-edge", "msedge", "safari", "vivaldi",
        "vivaldi-stable", "opera", "epiphany", "librewolf", "falkon",
    ),
    "terminal": (
        "xterm", "uxterm", "gnome-terminal", "gnome-terminal-server", "konsole", "alacritty",
        "kitty", "terminator", "tilix", "wezterm", "urxvt", "rxvt", "st", "st-256color",
        "terminal", "iterm2", "windowsterminal", "cmd", "powershell", "xfce4-terminal",
        "lxterminal", "foot", "ptyxis", "warp",
    ),
    "document": (
        "evince", "okular", "acrobat", "acrobat reader", "adobe acrobat", "preview", "word",
        "microsoft word", "winword", "excel", "powerpoint", "libreoffice", "soffice",
        "libreoffice-writer", "libreoffice-calc", "zathura", "foxit reader", "sumatrapdf", "atril",
        "papers", "xreader", "calibre", "pages", "numbers", "keynote",
    ),
    "calendar": ("gnome-calendar", "calendar", "korganizer", "fantastical", "ical"),
}  # fmt: skip
APP_KINDS = {name: kind for kind, names in _KINDS.items() for name in names}
# Documents one writes in (the rest of "document" are viewers).
OFFICE_APPS = {
    "word", "microsoft word", "winword", "excel", "powerpoint", "libreoffice", "soffice",
    "libreoffice-writer", "libreoffice-calc", "libreoffice-impress", "pages", "numbers", "keynote",
}  # fmt: skip

APP_NAMES = {
    "code": "VS Code",
    "code-oss": "VS Code",
    "visual studio code": "VS Code",
    "vscodium": "VSCodium",
    "codium": "VSCodium",
    "sublime_text": "Sublime Text",
    "gedit": "Text Editor",
    "gnome-text-editor": "Text Editor",
    "firefox": "Firefox",
    "firefox-esr": "Firefox",
    "navigator": "Firefox",
    "google-chrome": "Chrome",
    "chrome": "Chrome",
    "chromium": "Chromium",
    "chromium-browser": "Chromium",
    "brave-browser": "Brave",
    "microsoft-edge": "Edge",
    "msedge": "Edge",
    "thunderbird": "Thunderbird",
    "evolution": "Evolution",
    "slack": "Slack",
    "discord": "Discord",
    "teams": "Teams",
    "microsoft teams": "Teams",
    "telegramdesktop": "Telegram",
    "gnome-terminal-server": "Terminal",
    "gnome-terminal": "Terminal",
    "xfce4-terminal": "Terminal",
    "evince": "Document Viewer",
    "okular": "Okular",
    "libreoffice": "LibreOffice",
    "soffice": "LibreOffice",
    "libreoffice-writer": "LibreOffice Writer",
    "libreoffice-calc": "LibreOffice Calc",
    "gnome-calendar": "Calendar",
    "jetbrains-pycharm": "PyCharm",
    "jetbrains-idea": "IntelliJ IDEA",
    "windowsterminal": "Windows Terminal",
}
# Parts of a window title that only name the app ("… - Mozilla Firefox").
_APP_PARTS = re.compile(
    r"(?i)^(?:mozilla |google |microsoft |gnu )?(?:firefox|thunderbird|chrome|chromium|edge|"
    r"visual studio code|code - oss|vscodium|sublime text|slack|discord|teams|telegram|"
    r"libreoffice(?: writer| calc| impress)?|document viewer|okular|evince|calendar|"
    r"terminal|konsole|xterm|brave|vivaldi|opera|safari|outlook|word|excel|powerpoint|"
    r"(?:private|incognito) browsing)(?: (?:esr|nightly|beta|\(private browsing\)))?$"
)
_SEPARATORS = re.compile(r"\s+[-—–|·]\s+|\s+[—–]\s*|\s*[—–]\s+")
_MARKERS = re.compile(r"^(?:[●•◉*✱⬤]+\s*|\(\d+\)\s*|\[\d+\]\s*|\d+\s+unread\s*[-—–|:]?\s*)+", re.I)
_COUNTS = re.compile(r"\s*[(\[]\d+(?: unread| new)?[)\]]")
_COMPOSE = re.compile(r"(?i)^(?:write|compose|new message|reply|draft)\s*[:\-—–]\s*")
_MAIL_FOLDERS = {"inbox", "sent", "drafts", "archive", "junk", "spam", "trash", "outbox"}
_URL_KEY = re.compile(r"(?i)^(?:https?://)?(?:www\.)?([^?#]*)")


def _low(text: str | None) -> str:
    return " ".join((text or "").split()).lower()


def app_kind(app: str | None) -> str:
    """editor | mail | chat | browser | terminal | document | calendar | other."""
    a = _low(app)
    if a in APP_KINDS:
        return APP_KINDS[a]
    if a.startswith("jetbrains-"):
        return "editor"
    if a.startswith("libreoffice"):
        return "document"
    return "other"


def app_name(app: str | None) -> str:
    """How the user calls the app: "VS Code" for WM_CLASS "Code", "Firefox" for "firefox"."""
    raw = " ".join((app or "").split())
    if not raw:
        return "an app"
    if raw.lower() in APP_NAMES:
        return APP_NAMES[raw.lower()]
    return raw if any(c.isupper() for c in raw) else raw[:1].upper() + raw[1:]


@dataclass(frozen=True)
class Subject:
    """What a session is about, read from the app and window title."""

    app: str  # display name
    kind: str  # see app_kind
    title: str  # the document, file, page, message or channel ("" when the title says nothing)
    context: str = ""  # the project folder, site or account ("billing-service", "Confluence")
    compose: bool = False  # a mail being written


def _parts(app: str | None, window: str | None) -> tuple[list[str], bool]:
    title = " ".join((window or "").split())
    title = _MARKERS.sub("", title)
    compose = bool(_COMPOSE.match(title))
    title = _COMPOSE.sub("", title)
    title = _COUNTS.sub("", title).strip()
    names = {_low(app), _low(app_name(app))}
    parts = [p.strip(" -—–|·") for p in _SEPARATORS.split(title)]
    parts = [p for p in parts if p and _low(p) not in names and not _APP_PARTS.match(p)]
    return parts, compose


def subject_of(app: str | None, window: str | None, url: str | None = None) -> Subject:
    parts, compose = _parts(app, window)
    kind = app_kind(app)
    title = parts[0] if parts else ""
    context = parts[1] if len(parts) > 1 else ""
    if not title and url:
        title = url
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rstrip() + "…"
    return Subject(app_name(app), kind, title, context[:TITLE_CHARS], compose and kind == "mail")


def session_key(app: str | None, window: str | None, url: str | None = None) -> str:
    """The identity of "the same app and window": the app, and the page's URL when known, else
    the title without what changes while one works there (unread counts, a modified marker, the
    app's name). "" when neither app nor title is known."""
    a = _low(app)
    if url:
        m = _URL_KEY.match(url.strip())
        where = _low(m.group(1) if m else url).rstrip("/")
        if where:
            return f"{a}|url:{where}"
    parts, compose = _parts(app, window)
    if not a and not parts:
        return ""
    return "|".join([a, *(_low(p) for p in parts[:2])]) + ("|compose" if compose else "")


def key_tag(key: str) -> str:
    """The tag every session of one key carries: links revisits, finds the open one."""
    return KEY_TAG + hashlib.blake2b(key.encode("utf-8"), digest_size=6).hexdigest()


# -- lines -----------------------------------------------------------------------------------------
_NORM = re.compile(r"[^0-9a-z]+")


def _norm(line: str) -> str:
    return _NORM.sub("", line.lower())


def merge_lines(
    old: Sequence[str], new: Iterable[str], max_chars: int = SESSION_CHARS
) -> list[str]:
    """`old` plus the lines of `new` not seen yet, at most `max_chars` in all. A line that only
    extends one already kept (typing: "Dear Mar" -> "Dear Marta, thanks") replaces it; the same
    line again, or again with different spacing or punctuation (OCR), is kept once."""
    out = list(old)
    norms = [_norm(x) for x in out]
    size = sum(len(x) + 1 for x in out)
    for line in new:
        n = _norm(line)
        if not n or n in norms:
            continue
        grown = next((i for i, o in enumerate(norms) if len(o) >= 4 and n.startswith(o)), None)
        if grown is not None:
            size += len(line) - len(out[grown])
            out[grown], norms[grown] = line, n
            continue
        if any(len(n) >= 4 and o.startswith(n) for o in norms):
            continue  # a shorter copy of a kept line (typing seen out of order, a cut-off line)
        if size + len(line) + 1 > max_chars:
            if not out:
                out.append(line[:max_chars])
            break
        out.append(line)
        norms.append(n)
        size += len(line) + 1
    return out


def typed(
    before: Sequence[str], after: Sequence[str], *, app: str | None = None, window: str = ""
) -> bool:
    """Whether `after` (a capture) shows typing on `before` (the capture before it, same
    window): a line grew at its end by a few characters (a prefix of at least four kept); in an
    editor or an office app also a title marking the document modified ("● reconcile.py",
    "*notes.txt"), or lines added while every earlier one stayed (writing, not scrolling). Never
    in a document viewer, nor in a mail being read: there the screen changes, the user reads."""
    kind = app_kind(app)
    if kind == "document" and _low(app) not in OFFICE_APPS:
        return False
    if kind == "mail" and not subject_of(app, window).compose:
        return False
    olds = [_norm(x) for x in before]
    news = [_norm(x) for x in after]
    for n in news:
        if any(len(o) >= 4 and len(n) >= len(o) + 3 and n.startswith(o) for o in olds):
            return True
    if kind != "editor" and _low(app) not in OFFICE_APPS:
        return False
    if modified(window):
        return True
    kept = set(news)
    return bool(olds) and all(o in kept for o in olds if o) and len(kept - set(olds)) > 0


def modified(window: str) -> bool:
    """A title marking its document modified ("● reconcile.py", "*notes.txt", "x (modified)")."""
    return bool(_MODIFIED.match(" ".join(window.split())))


_MODIFIED = re.compile(r"^(?:[●•*✱]\s*\S|\S.*\s\*$|\S.*\(modified\))")


# -- summaries -------------------------------------------------------------------------------------
def local_clock(iso: str, tz: tzinfo | None = None) -> str:
    dt = parse_time(iso)
    return (dt.astimezone(tz) if tz is not None else dt.astimezone()).strftime("%H:%M")


def span_text(start: str, end: str, tz: tzinfo | None = None) -> str:
    """The local time span, "09:40–10:25" (or "09:40" within one minute)."""
    a, b = local_clock(start, tz), local_clock(end or start, tz)
    return a if a == b else f"{a}–{b}"


def _quoted(title: str) -> str:
    if not title:
        return ""
    if " " not in title or title.startswith(("#", "@", "~", "/")):
        return title
    return f"'{title}'"


def headline(s: Subject, typing: bool = False) -> str:
    """What the user did, without the time: "Read 'Your Porto trip is confirmed' in
    Thunderbird", "Edited reconcile.py in VS Code (billing-service)"."""
    t = _quoted(s.title)
    ctx = f" ({s.context})" if s.context and s.context.lower() != s.app.lower() else ""
    if not t:
        return f"Worked in {s.app}" if typing else f"Used {s.app}"
    if s.kind == "editor" or (s.kind == "document" and typing):  # typing: an office app
        verb = "Edited" if typing else "Viewed"
        return f"{verb} {t} in {s.app}{ctx}"
    if s.kind == "document":
        return f"Read {t} in {s.app}{ctx}"
    if s.kind == "mail":
        if s.compose:
            return f"Wrote {t} in {s.app}{ctx}"
        if s.title.lower() in _MAIL_FOLDERS:
            return f"Checked the {s.title} in {s.app}{ctx}"
        return f"Read {t} in {s.app}{ctx}"
    if s.kind == "chat":
        return f"{'Chatted' if typing else 'Read messages'} in {t} on {s.app}{ctx}"
    if s.kind == "browser":
        return f"{'Typed in' if typing else 'Read'} {t} in {s.app}{ctx}"
    if s.kind == "terminal":
        return f"Worked in {s.app} ({s.title})"
    if s.kind == "calendar":
        return f"Looked at {t} in {s.app}"
    return f"{'Typed in' if typing else 'Viewed'} {t} in {s.app}{ctx}"


def summary(
    s: Subject, start: str, end: str, typing: bool = False, tz: tzinfo | None = None
) -> str:
    """The session's title: headline and local time span."""
    return f"{headline(s, typing)}, {span_text(start, end, tz)}"


# -- sessions --------------------------------------------------------------------------------------
@dataclass
class Capture:
    """What sessions need of one capture."""

    id: str
    at: str  # ISO UTC
    app: str = ""
    window: str = ""
    url: str | None = None
    monitor: int | None = None
    lines: list[str] = field(default_factory=list)  # cleaned, secrets masked


@dataclass
class SessionState:
    """An open session (a memory written, or about to be)."""

    key: str
    start: str
    end: str
    app: str = ""
    window: str = ""
    url: str | None = None
    memory_id: str = ""  # "" until written
    lines: list[str] = field(default_factory=list)
    captures: int = 0
    typing: bool = False
    last_lines: list[str] = field(default_factory=list)  # the latest capture's (not stored)

    def subject(self) -> Subject:
        return subject_of(self.app, self.window, self.url)

    def title(self, tz: tzinfo | None = None) -> str:
        return summary(self.subject(), self.start, self.end, self.typing, tz)


@dataclass
class Group:
    """Captures of one batch that belong to one session, in order."""

    key: str
    state: SessionState  # the session after these captures
    captures: list[Capture] = field(default_factory=list)
    new_lines: list[str] = field(default_factory=list)  # lines these captures added
    grows: bool = False  # continues a session written before (state.memory_id set)
    after: SessionState | None = None  # the earlier session this one follows (same key)
    part: bool = False  # `after` ran out of room: this continues it, it is no revisit


def continues(
    end: str,
    at: str,
    switched: bool,
    *,
    switch_gap: timedelta = SWITCH_GAP,
    idle: timedelta = IDLE_GAP,
) -> bool:
    """Whether a capture at `at` belongs to the session whose last capture was at `end`: no switch
    and not idle that long, or back within `switch_gap` after a switch. A capture a little older
    than the session's end (another monitor's, a retried item) belongs to it too."""
    gap = parse_time(at) - parse_time(end)
    if gap < -switch_gap:
        return False
    return gap <= (switch_gap if switched else max(idle, switch_gap))


@dataclass
class Tracker:
    """Assigns captures to sessions. `lookup(key)` gives the latest session of a key that was
    written before (after a restart: read back from memory), `latest()` the newest session of
    all (which window the user was at); the tracker keeps what it learned since. `plan` changes
    nothing: `commit` records a batch once it is written, `forget` drops it all after a failure."""

    lookup: Callable[[str], SessionState | None]
    latest: Callable[[], SessionState | None] | None = None
    switch_gap: timedelta = SWITCH_GAP
    idle: timedelta = IDLE_GAP
    max_chars: int = SESSION_CHARS
    capture_chars: int = CAPTURE_CHARS
    open: dict[str, SessionState] = field(default_factory=dict)
    last_key: dict[int | None, str] = field(default_factory=dict)  # per monitor; None: any
    _looked: set[str] = field(default_factory=set)
    _started: bool = False

    def _state(self, key: str) -> SessionState | None:
        if key not in self.open and key not in self._looked:
            self._looked.add(key)
            found = self.lookup(key)
            if found is not None:
                self.open[key] = found
        return self.open.get(key)

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        newest = self.latest() if self.latest is not None else None
        if newest is not None and not self.last_key:
            self.open.setdefault(newest.key, newest)
            self._looked.add(newest.key)
            self.last_key[None] = newest.key

    def plan(
        self, captures: Sequence[Capture]
    ) -> tuple[list[Group], dict[str, SessionState], dict[int | None, str]]:
        """Groups in order of their first capture, plus the open sessions and last keys as they
        will be once the groups are written (for `commit`)."""
        self._start()
        opened = {
            k: replace(v, lines=list(v.lines), last_lines=list(v.last_lines))
            for k, v in self.open.items()
        }
        last = dict(self.last_key)
        groups: list[Group] = []
        current: dict[str, Group] = {}  # key -> its latest group in this batch
        for cap in sorted(captures, key=lambda c: parse_time(c.at)):
            prev_key = last.get(cap.monitor, last.get(None))
            # Nothing known of the window (our own popup was in front, say): the screen behind
            # is most likely what the user was at.
            key = session_key(cap.app, cap.window, cap.url) or prev_key or "|"
            state = opened.get(key)
            if state is None:
                base = self._state(key)
                if base is not None:
                    state = opened[key] = replace(base, lines=list(base.lines))
            lines = trim_lines(cap.lines, self.capture_chars)
            switched = prev_key is not None and prev_key != key
            joins = state is not None and continues(
                state.end, cap.at, switched, switch_gap=self.switch_gap, idle=self.idle
            )
            last[cap.monitor] = last[None] = key
            if state is not None and joins and not _overflows(state.lines, lines, self.max_chars):
                merged = merge_lines(state.lines, lines, self.max_chars)
                added = [x for x in merged if x not in state.lines]
                before = state.last_lines or state.lines
                state.typing = state.typing or typed(before, lines, app=cap.app, window=cap.window)
                state.last_lines = lines
                state.lines = merged
                if parse_time(cap.at) > parse_time(state.end):
                    state.end = cap.at
                state.captures += 1
                if cap.window and session_key(cap.app, cap.window, cap.url):
                    state.app, state.window, state.url = cap.app, cap.window, cap.url
                group = current.get(key)
                if group is None or group.state is not state:
                    group = Group(key, state, grows=bool(state.memory_id))
                    groups.append(group)
                    current[key] = group
                group.captures.append(cap)
                group.new_lines = merge_lines(group.new_lines, added, self.max_chars)
                continue
            # A new session: the first, a revisit, or the next part of one too long to hold more.
            part = state is not None and joins
            if part and state is not None:
                known = {_norm(x) for x in state.lines}
                lines = [x for x in lines if _norm(x) not in known]
            new = SessionState(
                key=key,
                start=cap.at,
                end=cap.at,
                app=cap.app,
                window=cap.window,
                url=cap.url,
                lines=merge_lines([], lines, self.max_chars),
                captures=1,
                typing=(app_kind(cap.app) == "editor" or _low(cap.app) in OFFICE_APPS)
                and modified(cap.window),
                last_lines=lines,
            )
            opened[key] = new
            group = Group(key, new, [cap], list(new.lines), after=state, part=part)
            groups.append(group)
            current[key] = group
        return groups, opened, last

    def commit(self, opened: dict[str, SessionState], last: dict[int | None, str]) -> None:
        self.open = opened
        self.last_key = last
        self._looked.update(opened)

    def forget(self) -> None:
        """Drop what was learned (a batch failed): the next plan reads the store again."""
        self.open.clear()
        self.last_key.clear()
        self._looked.clear()
        self._started = False


def trim_lines(lines: Sequence[str], max_chars: int) -> list[str]:
    """The first lines of a capture, at most `max_chars` (a 100k-character screen adds its top,
    not a hundred session parts)."""
    out: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > max_chars:
            if not out:
                out.append(line[:max_chars])
            break
        out.append(line)
        size += len(line) + 1
    return out


def _overflows(old: Sequence[str], new: Sequence[str], max_chars: int) -> bool:
    """Whether `new` brings lines that no longer fit next to `old`."""
    if not old:
        return False
    return len(merge_lines(old, new, 1 << 30)) > len(merge_lines(old, new, max_chars))


def span(memory_sources: Iterable[tuple[str, str | None]], occurred_at: str) -> tuple[str, str]:
    """(start, end) of a session memory from its (source kind, time) pairs and occurred_at: it
    starts at occurred_at and ends at its last capture."""
    times = [at for kind, at in memory_sources if kind == "capture" and at]
    end = max(times, key=lambda t: parse_time(t)) if times else occurred_at
    return occurred_at, end


def duration(start: str, end: str) -> timedelta:
    return parse_time(end) - parse_time(start)


def in_zone(iso: str, tz: tzinfo | None = None) -> datetime:
    dt = parse_time(iso)
    return dt.astimezone(tz) if tz is not None else dt.astimezone()
