"""Excluded windows and secrets never reach the queue or the stored image."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from mirix_app.capture.privacy import ExclusionRules
from mirix_app.capture.windows import WindowInfo
from mirix_app.safety.redaction import redact
from mirix_app.safety.secrets import MARKER, luhn_ok
from tests.capture.conftest import QtWindows

CARD = "4111 1111 1111 1111"  # Visa test number, Luhn-valid


def test_redacts_seeded_secrets() -> None:
    text = "\n".join(
        [
            "Card: 4111-1111-1111-1111 exp 12/29",
            "Other card 5500 0000 0000 0004 ok",
            "AWS AKIAIOSFODNN7EXAMPLE in env",
            "token ghp_" + "a1B2" * 9,
            "Stripe sk_live_" + "x9" * 12,
            "OpenAI sk-proj-" + "Ab3_" * 8,
            "Slack xoxb-123456789012-abcdefABCDEF",
            "Google AIza" + "B" * 35,
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA7bq98",
            "-----END RSA PRIVATE KEY-----",
            "Password: hunter2!x",
            "api_key = 9f8e7d6c5b4a",
            "https://bob:s3cr3tpw@example.com/x",
            "Bearer abcdefghijklmnopqrstuvwxyz012345",
        ]
    )
    out, found = redact(text)
    for secret in (
        "4111-1111-1111-1111",
        "5500 0000 0000 0004",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_a1B2",
        "sk_live_",
        "sk-proj-",
        "xoxb-",
        "AIzaBBB",
        "eyJhbGci",
        "MIIEowIBAAKCAQEA7bq98",
        "hunter2",
        "9f8e7d6c5b4a",
        "s3cr3tpw",
        "abcdefghijklmnopqrstuvwxyz012345",
    ):
        assert secret not in out, secret
    assert out.count(MARKER) >= 14
    assert found["card"] == 2 and found["private_key"] == 1 and found["password"] >= 1
    assert "Password: " + MARKER in out
    assert "exp 12/29" in out and "in env" in out  # context around secrets stays


def test_redaction_leaves_ordinary_text_alone() -> None:
    text = (
        "Order 1234 5678 9012 3456 shipped\nPhone +49 30 1234567\nTotal 1,234.56 EUR on 2024-05-01"
    )
    assert not luhn_ok("1234567890123456")
    out, found = redact(text)
    assert out == text and found == {}


def test_default_exclusions_match_password_managers_and_private_windows() -> None:
    rules = ExclusionRules.build([], [r"^Payroll"])
    assert rules.excludes(WindowInfo(app="KeePassXC", title="db.kdbx"))
    assert rules.excludes(WindowInfo(app="1Password", title="Vault"))
    assert rules.excludes(WindowInfo(app="firefox", title="Mozilla Firefox Private Browsing"))
    assert rules.excludes(
        WindowInfo(app="Google-chrome", title="New Tab - Google Chrome (Incognito)")
    )
    assert rules.excludes(WindowInfo(app="gedit", title="Payroll 2024.ods"))
    assert not rules.excludes(WindowInfo(app="gedit", title="notes.txt"))
    assert not ExclusionRules.build([], [], defaults=False).excludes(WindowInfo(app="KeePassXC"))


@pytest.fixture
def keepass(xdisplay: str) -> Iterator[QtWindows]:
    w = QtWindows(xdisplay, app_name="KeePassXC")
    yield w
    w.quit()


@pytest.mark.slow
def test_excluded_windows_are_blank_in_image_and_absent_from_text(
    qtwin: Any, keepass: QtWindows, core: Any, xdisplay: str
) -> None:
    from mirix_app.capture.capturer import Capturer
    from mirix_app.capture.settings import CaptureSettings
    from mirix_app.capture.windows import X11Adapter

    settings = CaptureSettings(
        idle_after_seconds=0,
        keep_screenshots=True,
        screenshot_max_width=1920,
        screenshot_quality=80,
    )
    qtwin.open("notes", "Shopping list", ["Buy oat milk and bananas"], x=0, y=0, w=900, h=200)
    qtwin.open(
        "incog",
        "Secret plans - Private Browsing",
        ["Surprise party for Dana"],
        x=0,
        y=500,
        w=900,
        h=200,
    )
    keepass.open("kp", "vault.kdbx", ["Gmail entry mypassword99"], x=1000, y=0, w=900, h=300)
    c = Capturer(core, settings, adapter=X11Adapter())
    try:
        [r] = [r for r in c.capture() if r.kept]
    finally:
        c.close()
    item = core.inbox.get(r.item.id)
    assert "oat milk" in item.text
    for private in ("Surprise", "Dana", "Gmail", "mypassword99", "vault", "Private"):
        assert private not in item.text, private
    assert item.meta["excluded_windows"] == 2
    assert item.window == "Shopping list" or item.window is None
    # The stored image: encrypted on disk, blank where excluded windows were.
    path = core.paths.data / item.image
    raw = path.read_bytes()
    assert raw.startswith(b"MXE1") and b"WEBP" not in raw[:64]
    assert (path.stat().st_mode & 0o777) == 0o600
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(core.secrets.open_bytes(raw))).convert("L"))
    assert img.shape == (1080, 1920)
    assert img[520:680, 20:880].max() < 16  # incognito window area: black
    assert img[20:280, 1020:1880].max() < 16  # password manager area: black
    assert img[10:190, 10:890].mean() > 200  # the ordinary window is there (white)


@pytest.mark.slow
def test_fully_excluded_frame_is_dropped(qtwin: Any, capturer: Any, core: Any) -> None:
    qtwin.open(
        "full", "Bank - Mozilla Firefox Private Browsing", ["Account 123"], x=0, y=0, w=1920, h=1080
    )
    results = capturer.capture()
    assert [r.reason for r in results] == ["excluded"]
    assert core.inbox.recent(kind="capture") == []


@pytest.mark.slow
def test_secrets_on_screen_are_redacted(qtwin: Any, capturer: Any, core: Any) -> None:
    qtwin.open(
        "s",
        "Terminal",
        [
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            f"card {CARD} expires 08/27",
            "password: Tr0ub4dor",
            "deploy finished",
        ],
        w=1000,
        h=300,
    )
    [r] = [r for r in capturer.capture() if r.kept]
    text = core.inbox.get(r.item.id).text
    assert "deploy finished" in text and "expires" in text
    for secret in ("AKIAIOSFODNN7EXAMPLE", "4111", "Tr0ub4dor"):
        assert secret not in text, secret
    assert text.count(MARKER) >= 3
    assert r.item.meta["redacted"]["card"] == 1


def test_an_excluded_window_is_blanked_only_where_it_shows() -> None:
    """mirix's own window (or a password manager) behind a browser: the browser stays readable,
    the part of the excluded window that shows is black, and a window that was not in the
    stacking (moved or closed since the last look) is blanked whole."""
    from mirix_app.capture.privacy import blank_excluded, excluded_mask
    from mirix_app.capture.screen import Frame

    frame = Frame(1, 0, 0, np.full((100, 200, 4), 200, dtype=np.uint8))
    ours = WindowInfo("mirix", "mirix", x=50, y=0, width=150, height=100, own=True)
    browser = WindowInfo("firefox", "Docs", x=0, y=0, width=120, height=100)
    covered = blank_excluded(frame, [ours], stacking=[ours, browser])  # browser on top
    assert (frame.bgra[:, :120] == 200).all()  # the browser, whole
    assert (frame.bgra[:, 120:] == 0).all()  # what shows of ours
    assert covered == pytest.approx(80 / 200)
    # Ours on top of the browser: all of ours is black.
    mask = excluded_mask(frame, [ours], stacking=[browser, ours])
    assert mask[:, 50:].all() and not mask[:, :50].any()
    # Not in the stacking any more: the whole old rectangle.
    assert excluded_mask(frame, [ours], stacking=[browser])[:, 50:].all()
