"""People and organisations named on a screen or in a message, with what the text says of them.

Found in: mail headers (From/To/Cc with a display name and address) and sign-offs ("Best regards,
Carla Mendes, Brightline Studio"); chat speakers ("Jonas Berg 09:14" then the message, or the
partner in a direct chat's window title); @mentions; names next to roles ("Organizer: Hana Sato",
"Assignee: Sam Okafor", "with Dr. Helena Voss"). Each entity carries facts: short lines saying
where it was seen and in what role. Pure functions, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mirix_app.agent.extract.events import CHAT_APPS, chat_line
from mirix_app.agent.extract.text import lines_of, plausible
from mirix_app.agent.extract.times import WEEKDAY_NAMES

PERSON, ORG = "person", "organisation"

_CAP = r"[A-Z][a-zà-öø-ÿ'’-]+"  # a capitalised name word: "Jonas", "O'Neil", "Lopez"
_PERSON_NAME = re.compile(
    rf"^(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof)\.?\s+)?{_CAP}(?:\s+(?:van|de|da|von|der|di|le)?\s*{_CAP}){{0,2}}$"
)
ORG_WORDS = frozenset(
    [
        "inc",
        "inc.",
        "ltd",
        "ltd.",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "co",
        "co.",
        "corp",
        "corp.",
        "company",
        "clinic",
        "studio",
        "studios",
        "bank",
        "airlines",
        "airline",
        "air",
        "travel",
        "hotel",
        "hotels",
        "group",
        "labs",
        "lab",
        "agency",
        "university",
        "school",
        "college",
        "institute",
        "foundation",
        "services",
        "solutions",
        "systems",
        "software",
        "technologies",
        "media",
        "partners",
        "express",
        "post",
        "postal",
        "insurance",
        "energy",
        "telecom",
        "shop",
        "store",
        "market",
        "dental",
        "medical",
        "health",
        "restaurant",
        "cafe",
        "café",
        "bakery",
        "trattoria",
        "pharmacy",
        "gym",
        "club",
        "council",
        "office",
        "ministry",
    ]
)
DEPARTMENT_WORDS = frozenset(
    [
        "reservations",
        "accounts",
        "accounting",
        "billing",
        "support",
        "customer",
        "service",
        "services",
        "team",
        "notifications",
        "notification",
        "noreply",
        "no-reply",
        "info",
        "newsletter",
        "news",
        "sales",
        "bookings",
        "booking",
        "orders",
    ]
)
ROBOT_LOCAL = re.compile(
    r"^(?:no-?reply|do-?not-?reply|notify|notifications?|info|hello|hi|support|help|team|news|"
    r"newsletter|booking|bookings|accounts?|billing|orders?|sales|service|contact|mail|admin)$",
    re.I,
)
ROLES = (
    "organizer|organiser|assignee|assigned to|reporter|owner|author|reviewers?|host|attendees?|"
    "guests?|participants?|invitees?|passenger|manager|contact|lead|presenter|speaker|approver|"
    "created by|requested by|landlord|tenant|doctor|teacher|driver|sender|recipient|"
    "account holder|customer|client|cc"
)
_ROLE = re.compile(
    rf"(?<![\w-])(?P<role>(?i:{ROLES}))\s*:\s*(?P<value>[^:]+?)(?=\s+[A-Z][\w-]*(?: [a-z][\w-]*)?:|$)"
)
_HEADER = re.compile(r"(?i)^(?P<h>from|to|cc|reply-to|sender)\s*:\s*(?P<value>.+)$")
_ADDRESS = re.compile(r"^(?P<name>[^<>\"]*?)\s*<?(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>?$")
_TITLED = re.compile(rf"\b(?P<t>Dr|Prof|Mr|Mrs|Ms)\.?\s+(?P<name>{_CAP}(?:\s+{_CAP}){{0,2}})")
_MENTION = re.compile(r"(?<![\w.@])@(?P<h>[A-Za-z][\w.-]{1,30}[A-Za-z0-9])")
_SIGNOFF = re.compile(
    r"(?i)^(?:best regards|kind regards|warm regards|regards|best wishes|best|thanks|thank you|"
    r"many thanks|cheers|sincerely|yours sincerely|yours|all the best|br)\s*[,!.]?\s*(?P<rest>.*)$"
)
_GREETING = re.compile(
    r"(?i)^(?:dear|hello|hi|hey)\s+(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?)\s*[,!]"
)
# A chat's message box placeholder ("Message #platform-team"), not part of anyone's message.
_COMPOSER = re.compile(
    r"(?i)^(?:message\s+[#@]|type a message|write a message|send a message|reply to|"
    r"aa?\s*message\s)"
)
MAIL_APPS = frozenset(
    [
        "thunderbird",
        "outlook",
        "evolution",
        "geary",
        "mail",
        "kmail",
        "mailspring",
        "betterbird",
        "mutt",
    ]
)
_NOT_A_NAME = frozenset(
    [
        "you",
        "me",
        "all",
        "team",
        "everyone",
        "inbox",
        "today",
        "yesterday",
        "tomorrow",
        *(d.lower() for d in WEEKDAY_NAMES),
        "message",
        "reply",
        "home",
        "the",
        "new",
        "open",
        "close",
        "search",
        "settings",
        "hi",
        "hello",
        "dear",
        "thanks",
        "regards",
        "best",
        "notes",
        "location",
        "guests",
    ]
)


@dataclass
class Entity:
    name: str
    kind: str  # person | organisation
    facts: list[str] = field(default_factory=list)
    email: str = ""
    org: str = ""  # the organisation a person belongs to, when the text says

    @property
    def key(self) -> str:
        return f"entity:{self.kind}/{self.name.lower()}"[:200]


def _clean_name(raw: str) -> str:
    name = re.sub(r"\s*\([^)]{0,40}\)", "", raw)  # "(optional)", "(on call this week)"
    name = re.sub(r"[\"“”]", "", name)
    return " ".join(name.split()).strip(" ,.;:-")


def is_person_name(name: str) -> bool:
    if not _PERSON_NAME.match(name):
        return False
    words = [w.lower().rstrip(".") for w in name.split()]
    return not any(w in _NOT_A_NAME or w in ORG_WORDS or w in DEPARTMENT_WORDS for w in words)


def org_name(display: str) -> str:
    """'SkyNordic Reservations' -> 'SkyNordic'; 'Brightline Studio Accounts' -> 'Brightline
    Studio' (department words dropped from the end)."""
    words = display.split()
    while len(words) > 1 and words[-1].lower() in DEPARTMENT_WORDS:
        words.pop()
    return " ".join(words)


def _looks_org(display: str, email: str = "") -> bool:
    words = [w.lower().strip(".,") for w in display.split()]
    if any(w in ORG_WORDS or w in DEPARTMENT_WORDS for w in words):
        return True
    local = email.split("@")[0] if email else ""
    return bool(local and ROBOT_LOCAL.match(local))


class _Found:
    def __init__(self) -> None:
        self.by_key: dict[str, Entity] = {}

    def add(self, name: str, kind: str, fact: str, email: str = "", org: str = "") -> Entity | None:
        name = _clean_name(name)
        if len(name) < 2 or len(name) > 60:
            return None
        e = Entity(name, kind, email=email, org=org)
        old = self.by_key.get(e.key)
        if old is None:
            self.by_key[e.key] = old = e
        if fact and fact not in old.facts:
            old.facts.append(fact[:300])
        old.email = old.email or email
        old.org = old.org or org
        return old

    def person_by_first(self, first: str) -> Entity | None:
        hits = [
            e
            for e in self.by_key.values()
            if e.kind == PERSON and e.name.split()[0].lower() == first.lower() and " " in e.name
        ]
        return hits[0] if len(hits) == 1 else None


_APP_TAIL = re.compile(
    r"\s+[-–—|]\s+(?:Mozilla Firefox|Google Chrome|Chromium|Microsoft Edge|Brave|Safari|Visual Studio Code|Mozilla Thunderbird|Thunderbird|Calendar|Slack|Discord|Signal|Microsoft Teams|Obsidian|Outlook|LibreOffice \w+)\s*$"
)


def _where(app: str, window: str) -> str:
    """'[OPS-1182] Renew ... - Jira' (firefox): the window without the app's own name."""
    title = _APP_TAIL.sub("", " ".join(window.split()))
    if app and title.lower().endswith(app.lower()):
        title = title[: -len(app)].rstrip(" -–—|")
    app = app.strip()
    if title and app:
        return f"'{title}' ({app})"
    return title or app or "a screen"


def find_entities(text: str, app: str = "", window: str = "") -> list[Entity]:
    """People and organisations in one capture or message, each with facts about it."""
    src = lines_of(text or "")
    lines = [ln for ln in src.lines if plausible(ln)]
    app_l = (app or "").strip().lower()
    where = _where(app, window)
    subject = ""
    for ln in lines:
        m = re.match(r"(?i)^subject\s*:\s*(.+)$", ln)
        if m:
            subject = m.group(1).strip()
            break
    about = f"'{subject}'" if subject else where
    found = _Found()
    mail = app_l in MAIL_APPS or bool(subject)
    # -- mail headers
    senders: list[Entity] = []
    for ln in lines:
        m = _HEADER.match(ln)
        if not m or not mail:
            continue
        h = m.group("h").lower()
        for part in re.split(r"[,;]\s*(?=[^,;]*(?:@|$))", m.group("value")):
            a = _ADDRESS.match(part.strip())
            display = _clean_name(a.group("name") if a else part)
            email = a.group("email") if a else ""
            if not display and email:
                display = email.split("@")[0].replace(".", " ").title()
            role = {"from": "sent", "sender": "sent", "reply-to": "sent"}.get(h, "received")
            fact = f"{role} the mail {about}" + (f" ({email})" if email else "")
            if _looks_org(display, email):
                e = found.add(org_name(display), ORG, fact, email)
            elif is_person_name(display):
                e = found.add(display, PERSON, fact, email)
            else:
                e = None
            if e is not None and h in ("from", "sender"):
                senders.append(e)
    # -- roles ("Organizer: Hana Sato", "Guests: Alex Morgan, Maria Lopez")
    for ln in lines:
        for m in _ROLE.finditer(ln):
            role = m.group("role").strip().lower()
            role = {"guests": "guest", "attendees": "attendee", "reviewers": "reviewer"}.get(
                role, role
            )
            for raw in re.split(r",\s*|\s+and\s+", m.group("value")):
                name = _clean_name(raw)
                if is_person_name(name):
                    found.add(name, PERSON, f"{role} of {about}")
                elif name and _looks_org(name) and len(name.split()) <= 4:
                    found.add(name, ORG, f"{role} of {about}")
    # -- titled names ("check-up with Dr. Helena Voss")
    for ln in lines:
        for m in _TITLED.finditer(ln):
            name = m.group("name")
            if is_person_name(name):
                found.add(f"{name}", PERSON, f"{m.group('t')}. {name}, in {about}: {ln[:160]}")
    # -- sign-offs
    for i, ln in enumerate(lines):
        m = _SIGNOFF.match(ln)
        if not m or i < len(lines) - 4:
            continue  # a closing is one of the last lines
        rest = m.group("rest").strip() or (lines[i + 1] if i + 1 < len(lines) else "")
        parts = [p.strip() for p in rest.split(",") if p.strip()][:2]
        if not parts:
            continue
        person, org = parts[0], parts[1] if len(parts) > 1 else ""
        if _looks_org(person) and not org:
            found.add(org_name(person), ORG, f"signed the mail {about}")
            continue
        if " " not in person and is_person_name(person):
            full = found.person_by_first(person) or next(
                (s for s in senders if s.kind == PERSON and s.name.split()[0] == person), None
            )
            if full is not None:
                person = full.name
        if is_person_name(person):
            e = found.add(
                person, PERSON, f"signed {about}" + (f" for {org}" if org else ""), org=org
            )
            if org and e is not None:
                found.add(org_name(org), ORG, f"{person} writes for it ({about})")
    # -- a mail's last lines: "Marta Silva, Lumen Travel" with no closing word before it
    if mail:
        for ln in lines[-2:]:
            parts = [p.strip() for p in ln.split(",")]
            if (
                len(parts) == 2
                and is_person_name(parts[0])
                and 1 <= len(parts[1].split()) <= 4
                and re.fullmatch(r"[A-Z][\w&.'’-]*(?:\s+[A-Z&][\w&.'’-]*)*", parts[1])
            ):
                found.add(parts[0], PERSON, f"signed {about} for {parts[1]}", org=parts[1])
                found.add(org_name(parts[1]), ORG, f"{parts[0]} writes for it ({about})")
    # -- greetings name the recipient ("Dear Alex Morgan,")
    for ln in lines[:12]:
        m = _GREETING.match(ln)
        if m and " " in m.group("name") and is_person_name(m.group("name")):
            found.add(m.group("name"), PERSON, f"addressed in {about}")
    # -- chat speakers and a direct chat's partner
    partner = ""
    if app_l in CHAT_APPS:
        title = re.split(r"\s+[-–—|]\s+", window or "")
        for part in title if len(title) == 2 and "#" not in (window or "") else []:
            part = part.strip()
            if part.lower() != app_l and is_person_name(part) and part.lower() not in CHAT_APPS:
                partner = part
                break
        if partner:
            found.add(partner, PERSON, f"direct chat in {app}")
    heads = [(i, chat_line(ln)) for i, ln in enumerate(lines)]
    speakers = [(i, h) for i, h in heads if h is not None]
    conversation = app_l in CHAT_APPS or len(speakers) >= 2
    if conversation:
        channel = "a direct chat" if partner else (window or "").split(" - ")[0].strip() or app
        for n, (i, h) in enumerate(speakers):
            assert h is not None
            speaker, _t, message = h
            if speaker.lower() in ("you", "me") or not is_person_name(speaker.split(":")[0]):
                continue
            if not message:  # "Jonas Berg 09:14" and the message on the lines below
                stop = speakers[n + 1][0] if n + 1 < len(speakers) else len(lines)
                body = [
                    ln
                    for ln in lines[i + 1 : stop]
                    if chat_line(ln) is None and not _COMPOSER.match(ln)
                ][:3]
                message = " ".join(body)
            if partner and " " not in speaker and partner.split()[0] == speaker:
                speaker = partner
            if message:
                found.add(speaker, PERSON, f"in {channel} ({app}): {message[:200]}")
            else:
                found.add(speaker, PERSON, f"in {channel} ({app})")
    # -- @mentions
    for ln in lines:
        for m in _MENTION.finditer(ln):
            found.add("@" + m.group("h"), PERSON, f"mentioned in {where}: {ln[:160]}")
    return list(found.by_key.values())
