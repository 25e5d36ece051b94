"""One safety module: one mask for capture and the agent, the old agent mask still recognised."""

from __future__ import annotations

from mirix_app.safety.redaction import redact
from mirix_app.safety.secrets import MARKER, find_secrets, has_marker, luhn_ok, mask_secrets


def test_capture_and_agent_write_the_same_mask() -> None:
    text = "card 4111 1111 1111 1111 exp, key sk-abcdefghijklmnopqrstuvwxyz0123"
    redacted, found = redact(text)
    masked = mask_secrets(text)
    assert redacted == masked == f"card {MARKER} exp, key {MARKER}"
    assert found == {"card": 1, "openai_key": 1}
    assert [s.kind for s in find_secrets(text)] == ["card number", "api key"]


def test_old_mask_is_still_read_as_a_mask() -> None:
    assert has_marker("wifi password: [secret]") and has_marker("token [redacted]")
    assert not has_marker("a secret plan")
    assert find_secrets("password: [secret]") == []


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
