"""Documents, pages, files and mails on screen (agent/extract/resources.py), on real OCR output."""

from __future__ import annotations

import json
from pathlib import Path

from mirix_app.agent.extract.resources import find_resources, mend_url

FIXTURE = Path(__file__).with_name("extract_ocr_screens.json")


def res(screen: str) -> list:
    c = next(c for c in json.loads(FIXTURE.read_text())["captures"] if c["screen"] == screen)
    return find_resources(c["text"], c["app"] or "", c["window"] or "", c["url"])


def test_pages_files_documents_and_mails() -> None:
    (pr,) = res("browser_pr")
    assert (
        pr.resource_type == "web page"
        and pr.locator == "https://github.com/northwind/payments-api/pull/214"
    )
    assert pr.title.startswith("Add retry to webhook sender")
    (readme,) = res("readme")
    assert (readme.resource_type, readme.locator) == ("file", "tidewatch/README.md")
    (yaml,) = res("editor_yaml")
    assert yaml.locator == "homelab/influx/config.yaml"  # from the breadcrumb, OCR spaces mended
    (lease,) = res("pdf_lease")
    assert (lease.resource_type, lease.title) == ("pdf", "lease-agreement-2024.pdf")
    (mail,) = res("mail_flight")
    assert mail.resource_type == "email" and mail.title == "Your booking is confirmed - ref K7Q2ZP"
    assert mail.first_lines[0] == "Hello Alex,"  # the body, not the header block
    assert res("term_k8s") == [] and res("slack_platform") == []


def test_same_page_same_key_links_in_text() -> None:
    a = find_resources(
        "docs.example.org/guide/install\nInstall\nRun it",
        "firefox",
        "Install - Guide - Mozilla Firefox",
    )
    b = find_resources(
        "https://docs.example.org/guide/install#step-2\nInstall",
        "firefox",
        "Install - Guide - Mozilla Firefox",
    )
    assert a[0].key == b[0].key
    chat = find_resources(
        "Sam 10:01\nsee https://status.example.com/incidents/42 for details",
        "Slack",
        "#ops - Slack",
    )
    assert [(r.resource_type, r.locator) for r in chat] == [
        ("link", "https://status.example.com/incidents/42")
    ]
    assert mend_url("https ://gith ub.com/a/b/pull/2 14") == "https://github.com/a/b/pull/214"
