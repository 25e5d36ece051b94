"""Documents, web pages, files, mails and links seen on a screen, as resource descriptions.

The window title names what is open ("README.md - tidewatch - Visual Studio Code", "Runbook: ... -
Confluence - Mozilla Firefox", "lease-agreement-2024.pdf - Page 3 of 12"), the capture's URL or
the first URL-like line locates a page (OCR breaks URLs: "https ://gith ub.com/..." is mended
where it can be), an editor's breadcrumb gives a file's path, a mail's Subject line its title.
Each resource has a stable key, so a revisit updates the same memory. Pure functions, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mirix_app.agent.extract.entities import MAIL_APPS
from mirix_app.agent.extract.text import lines_of, plausible
from mirix_app.agent.signals import DOC_APPS

BROWSERS = frozenset(
    [
        "firefox",
        "firefox-esr",
        "navigator",
        "chromium",
        "chromium-browser",
        "chrome",
        "google-chrome",
        "brave",
        "brave-browser",
        "safari",
        "msedge",
        "microsoft-edge",
        "vivaldi",
        "opera",
        "epiphany",
        "librewolf",
        "falkon",
    ]
)
EDITORS = frozenset(
    [
        "code",
        "code-oss",
        "vscodium",
        "codium",
        "sublime_text",
        "subl",
        "gedit",
        "gnome-text-editor",
        "kate",
        "kwrite",
        "mousepad",
        "pluma",
        "xed",
        "jetbrains-pycharm",
        "pycharm",
        "jetbrains-idea",
        "idea",
        "intellij",
        "webstorm",
        "goland",
        "clion",
        "rider",
        "zed",
        "emacs",
        "gvim",
        "vim",
        "nvim",
        "neovide",
        "notepad++",
        "textedit",
        "bbedit",
        "helix",
    ]
)
NOTE_APPS = frozenset(
    ["obsidian", "logseq", "joplin", "notion", "zim", "simplenote", "standard-notes", "typora"]
)
EXTRA_DOC_APPS = frozenset(
    [
        "libreoffice-calc",
        "libreoffice-writer",
        "libreoffice-impress",
        "soffice.bin",
        "calc",
        "writer",
        "gnumeric",
        "abiword",
        "xreader",
        "papers",
        "qpdfview",
        "mupdf",
    ]
)
_DOC_EXT = {
    "pdf": "pdf",
    "doc": "document",
    "docx": "document",
    "odt": "document",
    "rtf": "document",
    "txt": "text",
    "md": "text",
    "epub": "book",
    "xls": "spreadsheet",
    "xlsx": "spreadsheet",
    "ods": "spreadsheet",
    "csv": "spreadsheet",
    "ppt": "presentation",
    "pptx": "presentation",
    "odp": "presentation",
}
_FILE = re.compile(r"(?P<name>[\w][\w .()+-]*?\.(?P<ext>[A-Za-z0-9]{1,5}))\b")
_URL = re.compile(r"(?i)\bhttps?\s*:\s*/\s*/\s*\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)+")
_BROWSER_SUFFIX = re.compile(
    r"\s+[-–—]\s+(?:Mozilla Firefox|Firefox|Chromium|Google Chrome|Chrome|Brave|Safari|"
    r"Microsoft Edge|Vivaldi|Opera|Web)\s*$",
    re.I,
)
_EDITOR_SUFFIX = re.compile(
    r"\s+[-–—]\s+(?:Visual Studio Code|VS ?Code|Code - OSS|VSCodium|Sublime Text|gedit|Kate|"
    r"PyCharm[\w ]*|IntelliJ IDEA[\w ]*|Zed|Emacs|Vim|GVIM|NVIM|Text Editor|Obsidian|Logseq|"
    r"Joplin|Notion|Typora)\s*$",
    re.I,
)
_MAIL_SUFFIX = re.compile(
    r"\s+[-–—]\s+(?:Inbox|Sent|Drafts|Archive|All Mail)?(?:\s+[-–—]\s+)?"
    r"(?:Mozilla Thunderbird|Thunderbird|Outlook|Evolution|Geary|Mail|Betterbird|KMail)\s*$",
    re.I,
)
_MAIL_HEADER = re.compile(r"(?i)^(?:from|to|cc|bcc|subject|date|reply-to|sent)\s*:")
_PAGE_OF = re.compile(r"(?i)\s+[-–—]\s+page\s+\d+\s+of\s+\d+\s*$")
_APP_SUFFIX = re.compile(
    r"\s+[-–—]\s+(?:LibreOffice(?: \w+)?|Document Viewer|Evince|Okular|Adobe Acrobat[\w ]*|"
    r"Microsoft (?:Word|Excel|PowerPoint))\s*$",
    re.I,
)


@dataclass
class Resource:
    title: str
    resource_type: str  # web page | file | document | pdf | spreadsheet | email | note | link ...
    app: str
    locator: str = ""  # URL or path
    first_lines: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        ident = self.locator or self.title
        return f"resource:{self.resource_type}/{_norm(ident)}"[:200]


def _norm(s: str) -> str:
    s = s.lower().strip()
    s = re.sub(r"^https?://", "", s)
    s = re.sub(r"[#?].*$", "", s)
    return re.sub(r"\s+", " ", s).rstrip("/")


def mend_url(raw: str) -> str:
    """An OCR-read URL without the spaces OCR puts in it ("https ://gith ub.com/a/pull/2 14")."""
    u = re.sub(r"\s+", "", raw.strip()).rstrip(".,;)")
    u = u.replace(":/f", "://").replace("examplef", "example/")
    if u.lower().startswith("http") and "://" not in u:
        u = re.sub(r"(?i)^(https?):/*", r"\1://", u)
    return u


def _url_in(lines: list[str]) -> str:
    for ln in lines[:4]:
        m = _URL.search(ln)
        if m and len(m.group(0)) >= 8:
            # A URL alone on its line may be split by OCR spaces: take the whole line then.
            raw = (
                ln
                if ln.strip().lower().startswith(("http", m.group(0)[:6].lower()))
                else m.group(0)
            )
            return mend_url(raw)
    return ""


def _first_lines(lines: list[str], skip: set[str], n: int = 8) -> list[str]:
    out = []
    for ln in lines:
        if ln in skip or not plausible(ln) or _URL.fullmatch(ln.strip()):
            continue
        out.append(ln)
        if len(out) >= n:
            break
    return out


def find_resources(
    text: str, app: str = "", window: str = "", url: str | None = None
) -> list[Resource]:
    """What document, page, file or mail the screen shows (0 or 1), plus links written in it."""
    app_l = (app or "").strip().lower()
    title = " ".join((window or "").split())
    src = lines_of(text or "")
    lines = src.lines
    out: list[Resource] = []
    main: Resource | None = None
    if app_l in BROWSERS or _BROWSER_SUFFIX.search(title):
        page = _BROWSER_SUFFIX.sub("", title)
        loc = mend_url(url) if url else _url_in(lines)
        if loc and page.endswith(loc.split("://")[-1]):
            page = page[: -len(loc.split("://")[-1])].rstrip(" -–—")
        if page or loc:
            main = Resource(page or loc, "web page", app, loc)
    elif app_l in MAIL_APPS or _MAIL_SUFFIX.search(title):
        subject = next(
            (
                m.group(1).strip()
                for ln in lines
                if (m := re.match(r"(?i)^subject\s*:\s*(.+)$", ln))
            ),
            "",
        )
        sender = next(
            (m.group(1).strip() for ln in lines if (m := re.match(r"(?i)^from\s*:\s*(.+)$", ln))),
            "",
        )
        name = subject or _MAIL_SUFFIX.sub("", title)
        addr = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", sender)
        who = addr.group(0) if addr else sender
        if name and name.lower() not in ("inbox", "thunderbird"):
            main = Resource(name, "email", app, f"mail:{who.lower()}|{name.lower()}")
    else:
        doc_app = app_l in DOC_APPS or app_l in EXTRA_DOC_APPS
        head = _PAGE_OF.sub("", _APP_SUFFIX.sub("", _EDITOR_SUFFIX.sub("", title)))
        parts = [p.strip() for p in re.split(r"\s+[-–—]\s+", head) if p.strip()]
        f = _FILE.fullmatch(parts[0]) if parts else None
        if f and (app_l in EDITORS or doc_app or f.group("ext").lower() in _DOC_EXT):
            ext = f.group("ext").lower()
            kind = _DOC_EXT.get(ext, "file")
            path = f.group("name")
            crumb = next(
                (
                    ln
                    for ln in lines[:3]
                    if ln.count(" > ") >= 1 and path.split(".")[0] in ln.replace(" ", "")
                ),
                "",
            )
            if crumb:
                segs = [s.strip().replace(" ", "") for s in crumb.split(">")]
                if f.group("name").replace(" ", "") in segs:
                    segs = segs[: segs.index(f.group("name").replace(" ", "")) + 1]
                path = "/".join(segs)
            elif len(parts) > 1:
                path = f"{parts[1]}/{path}"  # "README.md - tidewatch": the project folder
            main = Resource(
                f.group("name"),
                kind if kind != "text" or app_l not in EDITORS else "file",
                app,
                path,
            )
        elif app_l in NOTE_APPS and parts:
            main = Resource(parts[0], "note", app, f"{app_l}:{' / '.join(parts[:2]).lower()}")
        elif doc_app and parts:
            main = Resource(parts[0], "document", app, "")
    if main is not None:
        skip = {ln for ln in lines[:2] if main.locator and _URL.search(ln)}
        body = lines
        if main.resource_type == "email":  # the body starts after the header block
            heads = [i for i, ln in enumerate(lines[:12]) if _MAIL_HEADER.match(ln)]
            body = lines[heads[-1] + 1 :] if heads else lines
        main.first_lines = _first_lines(body, skip)
        out.append(main)
    # Links written in the text (a URL in a chat, a mail, a terminal), not the page's own.
    own = _norm(main.locator) if main is not None else ""
    for ln in lines:
        for m in re.finditer(r"(?i)\bhttps?://[^\s<>\"')\]]+", ln):
            u = m.group(0).rstrip(".,;:")
            n = _norm(u)
            if own and (own.startswith(n) or n.startswith(own)):
                continue  # the page's own address (maybe broken by OCR)
            if len(out) < 12 and all(n != _norm(r.locator) for r in out):
                out.append(Resource(u, "link", app, u, [ln[:200]]))
    return out
