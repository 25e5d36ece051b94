"""A simulated work day for bench_workday.py: scenes of real-looking windows, each shown for a
few captures (typing grows a line, scrolling shows new lines), with revisits, a meeting invite, a
password manager and the app's own windows. Invented text.

A scene: app (WM_CLASS class), title, minute of the day it starts (from 09:00), and frames (the
window's lines at each capture, a capture a minute apart unless `step` says otherwise). `own`
scenes show mirix itself (its real window, popup and tray menu): frames are commands for the GUI.
"""

from __future__ import annotations

from typing import Any

Scene = dict[str, Any]

INBOX = [
    "Inbox - marta.silva@lumen.example",
    "From            Subject                                   Date",
    "Lumen Travel    Your Porto trip is confirmed              08:41",
    "Jonas Weber     Invitation: Design review                 08:55",
    "Billing CI      build #1182 passed                        08:57",
    "Priya Nair      Q3 report draft attached                  Yesterday",
]
PORTO = [
    "From: Marta Silva <marta.silva@lumentravel.example>",
    "Subject: Your Porto trip is confirmed",
    "Hi Alex,",
    "your trip to Porto is confirmed. Have a good flight!",
    "Flight TP1947 Lisbon to Porto",
    "Thursday 12 March 07:45, gate A14",
    "Booking reference QX7-22841",
    "Hotel: Casa do Rio, 2 nights, breakfast included",
    "Marta Silva, Lumen Travel",
]
INVITE = [
    "From: Jonas Weber <jonas.weber@acme.example>",
    "Subject: Invitation: Design review",
    "When: Thursday 12 March 2026 15:00-16:00",
    "Where: Room Aurora, 3rd floor",
    "Agenda: billing dashboard mockups, rate limits, rollout plan",
    "Accept    Tentative    Decline",
]
SLACK = [
    "#design-team",
    "Jonas Weber  09:10  the design review moved to Thursday 3 pm, room Aurora",
    "Priya Nair  09:11  ok, I will bring the printed mockups",
    "Lena Fischer  09:12  rate limit stays at 120 requests per minute",
]
CODE = [
    "billing-service > src > reconcile.py",
    "import decimal",
    "from billing.ledger import Ledger",
    "",
    "def reconcile(ledger: Ledger) -> decimal.Decimal:",
]
TYPED_CODE = [
    '    """Sum the open entries of a ledger."""',
    "    total = decimal.Decimal(0)",
    "    for entry in ledger.entries:",
    "        if entry.status == 'open':",
    "            total += entry.amount",
    "    return total",
]
TERM = [
    "alex@laptop:~/billing-service$ pytest tests/test_reconcile.py -q",
    "....F.",
    "FAILED tests/test_reconcile.py::test_closed_entries - assert 45 == 0",
    "1 failed, 5 passed in 0.84s",
]
RUNBOOK = [
    "Runbooks / Deploy billing-service",
    "Owner: Platform team   Last updated 3 March 2026",
    "1. Announce the deploy in #deploys",
    "2. Run make release VERSION=x.y.z",
    "3. Watch the error rate on the billing dashboard for 15 minutes",
    "4. If errors rise above 2%, run make rollback",
    "Rate limit: 120 requests per minute per merchant",
    "Contact: Lena Fischer (on call this week)",
]
REPORT = [
    "Q3 report - Acme Billing",
    "Revenue grew 14% to 2.4 million EUR",
    "Churn fell to 1.9% (Q2: 2.6%)",
    "Top request: invoices in PDF with the merchant's logo",
    "Next: self-serve refunds by November",
]
RECIPE = [
    "Shakshuka",
    "Serves 2 - 25 minutes",
    "Ingredients: 4 eggs, 1 can chopped tomatoes, 1 red pepper, 1 onion,",
    "2 cloves garlic, 1 tsp cumin, 1 tsp paprika, feta, parsley",
    "1. Soften the onion and pepper in olive oil for 8 minutes",
    "2. Add garlic and spices, then the tomatoes; simmer 10 minutes",
    "3. Make 4 wells, crack in the eggs, cover and cook 6 minutes",
]
REPLY = "Hi Marta, thanks for the booking. Could you add a late check-out at Casa do Rio?"
NOTES_TYPED = "Design review: Jonas moved it to Thursday 15:00, Aurora. Priya brings mockups."
SLACK_TYPED = "sounds good, I will update the rate limit doc before Thursday"


def typing(base: list[str], text: str, steps: int) -> list[list[str]]:
    """Frames of `text` being typed after `base`, in `steps` captures."""
    cut = [len(text) * (i + 1) // steps for i in range(steps)]
    return [[*base, text[:n]] for n in cut]


def growing(base: list[str], extra: list[str]) -> list[list[str]]:
    return [[*base, *extra[: i + 1]] for i in range(len(extra))]


SCENES: list[Scene] = [
    {"app": "Thunderbird", "title": "Inbox - Mozilla Thunderbird", "at": 0,
     "frames": [INBOX[:5], INBOX]},
    {"app": "Thunderbird", "title": "Your Porto trip is confirmed - Mozilla Thunderbird", "at": 3,
     "frames": [PORTO[:4], PORTO[:7], PORTO]},
    {"app": "Thunderbird", "title": "Invitation: Design review - Mozilla Thunderbird", "at": 7,
     "frames": [INVITE[:4], INVITE]},
    {"app": "Slack", "title": "#design-team - Acme - Slack", "at": 11,
     "frames": [SLACK[:2], SLACK, *typing(SLACK, SLACK_TYPED, 4)], "step": 0.5},
    {"app": "Code", "title": "reconcile.py - billing-service - Visual Studio Code", "at": 16,
     "frames": [CODE, *growing(CODE, TYPED_CODE)], "step": 1.5,
     "dirty_title": "● reconcile.py - billing-service - Visual Studio Code"},
    {"app": "XTerm", "title": "alex@laptop: ~/billing-service", "at": 27,
     "frames": growing([], TERM)},
    {"app": "Code", "title": "reconcile.py - billing-service - Visual Studio Code", "at": 31,
     "frames": [[*CODE, *TYPED_CODE[:3], "        if entry.status != 'closed':"],
                [*CODE, *TYPED_CODE[:3], "        if entry.status != 'closed':", TYPED_CODE[4]],
                [*CODE, *TYPED_CODE]]},
    {"app": "KeePassXC", "title": "billing-db.kdbx - KeePassXC", "at": 35,
     "frames": [["billing-db", "postgres prod   user: billing   password: ********"],
                ["billing-db", "postgres prod   user: billing   password: hunter2-Prod-77"]]},
    {"app": "XTerm", "title": "alex@laptop: ~/billing-service", "at": 37,
     "frames": [[*TERM, "alex@laptop:~/billing-service$ pytest -q", "6 passed in 0.91s"]]},
    {"app": "firefox", "title": "Deploy billing-service - Runbooks - Confluence — Mozilla Firefox",
     "at": 50, "frames": [RUNBOOK[:3], RUNBOOK[:5], RUNBOOK[:7], RUNBOOK]},
    {"own": True, "at": 65, "frames": ["show", "page:timeline", "popup:porto flight", "menu"]},
    {"app": "Code", "title": "reconcile.py - billing-service - Visual Studio Code", "at": 80,
     "frames": [[*CODE, *TYPED_CODE, "", "def test_closed_entries():"],
                [*CODE, *TYPED_CODE, "", "def test_closed_entries():", "    ledger = Ledger([])"],
                [*CODE, *TYPED_CODE, "", "def test_closed_entries():", "    ledger = Ledger([])",
                 "    assert reconcile(ledger) == 0"]]},
    {"app": "Slack", "title": "#design-team - Acme - Slack", "at": 105,
     "frames": [[*SLACK, f"Alex  09:16  {SLACK_TYPED}",
                 "Jonas Weber  10:40  agenda is in the invite"]]},
    {"app": "evince", "title": "Q3-report.pdf — Document Viewer", "at": 120,
     "frames": [REPORT[:3], REPORT]},
    {"app": "Thunderbird", "title": "Write: Re: Your Porto trip is confirmed - Thunderbird",
     "at": 140, "frames": typing(["To: Marta Silva", "Subject: Re: Your Porto trip is confirmed"],
                                 REPLY, 4), "step": 0.5},
    {"app": "gnome-calendar", "title": "Calendar", "at": 160,
     "frames": [["March 2026", "Thu 12  07:45 Flight TP1947 to Porto",
                 "Thu 12  15:00 Design review (Aurora)"]]},
    {"app": "firefox", "title": "Shakshuka recipe - BBC Good Food — Mozilla Firefox", "at": 180,
     "frames": [RECIPE[:4], RECIPE]},
    {"app": "libreoffice-writer", "title": "meeting-notes.odt - LibreOffice Writer", "at": 200,
     "frames": typing(["Meeting notes, 10 March"], NOTES_TYPED, 4), "step": 0.5},
    {"app": "Thunderbird", "title": "Inbox - Mozilla Thunderbird", "at": 220,
     "frames": [[*INBOX, "Marta Silva     Re: Your Porto trip is confirmed          12:35"]]},
    {"app": "XTerm", "title": "alex@laptop: ~/billing-service", "at": 225,
     "frames": [["alex@laptop:~/billing-service$ git commit -am 'reconcile: skip closed entries'",
                 "[main 4be1c2e] reconcile: skip closed entries",
                 " 2 files changed, 14 insertions(+), 3 deletions(-)"],
                ["alex@laptop:~/billing-service$ git push", "To github.example:acme/billing-service",
                 "   9a1f3d0..4be1c2e  main -> main"]]},
    {"app": "firefox", "title": "Deploy billing-service - Runbooks - Confluence — Mozilla Firefox",
     "at": 232, "frames": [RUNBOOK, [*RUNBOOK, "Comments (2)", "Lena Fischer: step 3 is now 15 minutes"]]},
    {"app": "gnome-calendar", "title": "Calendar", "at": 236,
     "frames": [["March 2026", "Thu 12  07:45 Flight TP1947 to Porto",
                 "Thu 12  15:00 Design review (Aurora)", "Fri 13  10:00 Rollout billing v2"]]},
]  # fmt: skip

# --quick: one scene of each kind, the own windows and the password manager included.
QUICK = {1, 4, 7, 10, 11}

QUESTIONS: list[tuple[str, list[str]]] = [
    ("When does my flight to Porto leave?", ["07:45"]),
    ("What is the booking reference of the Porto trip?", ["QX7-22841"]),
    ("When is the design review?", ["Thursday"]),
    ("What is the rate limit per merchant?", ["120"]),
    ("Which gate does flight TP1947 leave from?", ["A14"]),
    ("How do I roll back a billing-service deploy?", ["rollback"]),
    ("How much did revenue grow in Q3?", ["14%"]),
    ("How many eggs go into the shakshuka?", ["4"]),
]


def frames(quick: bool = False) -> list[dict[str, Any]]:
    """Every capture of the day in order: scene index, frame index, minute of the day, the
    scene, and its lines (or GUI command for the app's own windows)."""
    out = []
    for si, s in enumerate(SCENES):
        if quick and si not in QUICK:
            continue
        step = float(s.get("step", 1.0))
        for fi, f in enumerate(s["frames"]):
            out.append({"scene": si, "frame": fi, "minute": s["at"] + fi * step, "s": s, "f": f})
    return out


def apps() -> set[str]:
    return {s["app"] for s in SCENES if not s.get("own")} | {"mirix"}
