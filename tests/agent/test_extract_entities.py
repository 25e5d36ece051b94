"""People, organisations and key facts (agent/extract/entities.py, facts.py) on real OCR output
and on text the extractors were not written against."""

from __future__ import annotations

import json
from pathlib import Path

from mirix_app.agent.extract.entities import ORG, PERSON, find_entities
from mirix_app.agent.extract.facts import find_facts

FIXTURE = Path(__file__).with_name("extract_ocr_screens.json")


def cap(screen: str) -> dict:
    return next(c for c in json.loads(FIXTURE.read_text())["captures"] if c["screen"] == screen)


def names(screen: str) -> dict[str, str]:
    c = cap(screen)
    return {e.name: e.kind for e in find_entities(c["text"], c["app"] or "", c["window"] or "")}


def test_mail_headers_and_signatures() -> None:
    assert names("mail_flight") == {"SkyNordic": ORG, "Alex Morgan": PERSON}
    got = names("mail_invoice")
    assert got == {"Brightline Studio": ORG, "Carla Mendes": PERSON}
    c = cap("mail_invoice")
    carla = next(
        e for e in find_entities(c["text"], c["app"], c["window"]) if e.name == "Carla Mendes"
    )
    assert carla.org == "Brightline Studio"
    priya = next(
        e for e in find_entities(cap("mail_meeting")["text"], "thunderbird") if e.kind == PERSON
    )
    assert priya.name == "Priya Raman" and priya.email == "priya.raman@northwind.example"
    assert any(f.startswith("signed") for f in priya.facts)  # "Thanks, Priya" is her


def test_chat_speakers_roles_and_titles() -> None:
    assert names("slack_platform") == {
        "Jonas Berg": PERSON,
        "Maria Lopez": PERSON,
        "Sam Okafor": PERSON,
    }
    assert names("signal_tom") == {"Tom Becker": PERSON}  # "Tom" in the chat is the partner
    assert set(names("discord_games")) == {"Kira", "Ben", "Ruth"}
    assert names("jira_tls") == {"Sam Okafor": PERSON, "Jonas Berg": PERSON}
    assert "Helena Voss" in names("mail_dentist")
    c = cap("slack_platform")
    sam = next(e for e in find_entities(c["text"], c["app"], c["window"]) if e.name == "Sam Okafor")
    assert any("resizing" in f and "#platform-team" in f for f in sam.facts)


def test_unseen_text() -> None:
    text = (
        "From: Marta Silva <marta.silva@lumentravel.example>\nTo: Dana Kim\n"
        "Subject: Your Porto trip\nHi Dana,\nyour flight TP1947 leaves from gate A14.\n"
        "Booking reference: QX7-22841\nBest regards,\nMarta Silva, Lumen Travel"
    )
    es = {e.name: e for e in find_entities(text, "Outlook", "Your Porto trip - Outlook")}
    assert es["Marta Silva"].org == "Lumen Travel" and es["Lumen Travel"].kind == ORG
    assert "Dana Kim" in es
    chat = "Ines Duarte 10:02\nping @jweber about the API rate limit\nJonas Weber 10:05\nmoved the design review to Thursday 3 pm, room Aurora"
    es = {e.name: e for e in find_entities(chat, "Slack", "#design-team - Acme - Slack")}
    assert {"Ines Duarte", "Jonas Weber", "@jweber"} <= set(es)
    assert any("Aurora" in f and "#design-team" in f for f in es["Jonas Weber"].facts)
    assert find_entities("Status: Open   Owner: ", "firefox", "x") == []


def test_key_facts() -> None:
    got = {f.label: f.value for f in find_facts(cap("mail_flight")["text"])}
    assert got["Booking reference"] == "K7Q2ZP"
    got = {f.label: f.value for f in find_facts(cap("mail_parcel")["text"])}
    assert got["Pickup code"] == "4417"
    facts = {
        f.line()
        for f in find_facts(
            "The public API has a rate limit of 120 requests per minute.\n"
            "Your booking reference is QX7-22841. Flight TP1947, gate A14.\n"
            "password: [secret]   Token: [REDACTED]"
        )
    }
    assert {
        "rate limit: 120 requests per minute",
        "booking reference: QX7-22841",
        "flight: TP1947",
        "gate: A14",
    } <= facts
    assert not any("secret" in f.lower() or "redacted" in f.lower() for f in facts)
