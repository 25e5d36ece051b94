"""Encryption of knowledge-vault values with a key held in the OS keyring.

The key is created on first use and stored with `keyring`. Where no keyring backend exists (a
headless machine), the user must give a passphrase in MIRIX_PASSPHRASE; we never fall back to a
key file or to plain text silently.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mirix_app.errors import MirixError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "mirix-app"
KEYRING_USER = "data-key"
PASSPHRASE_ENV = "MIRIX_PASSPHRASE"
_PREFIX = "mirix-enc:v1:"


class KeyUnavailable(MirixError):
    pass


class SecretBox:
    """AES-256-GCM over short strings; the key is fetched lazily on first seal/open."""

    def __init__(self, key_loader: Callable[[], bytes]) -> None:
        self._load = key_loader
        self._aead: AESGCM | None = None

    @staticmethod
    def is_sealed(value: object) -> bool:
        return isinstance(value, str) and value.startswith(_PREFIX)

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self._load())
        return self._aead

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        blob = nonce + self._cipher().encrypt(nonce, plaintext.encode("utf-8"), None)
        return _PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")

    def open(self, sealed: str) -> str:
        if not self.is_sealed(sealed):
            return sealed
        blob = base64.urlsafe_b64decode(sealed[len(_PREFIX) :])
        try:
            return self._cipher().decrypt(blob[:12], blob[12:], None).decode("utf-8")
        except InvalidTag:
            raise KeyUnavailable(
                "a knowledge-vault value cannot be decrypted with this key",
                "the key in the keyring (or MIRIX_PASSPHRASE) is not the one it was written with",
            ) from None

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return b"MXE1" + nonce + self._cipher().encrypt(nonce, data, None)

    def open_bytes(self, blob: bytes) -> bytes:
        if not blob.startswith(b"MXE1"):
            raise KeyUnavailable("not an encrypted mirix file")
        try:
            return self._cipher().decrypt(blob[4:16], blob[16:], None)
        except InvalidTag:
            raise KeyUnavailable("the file cannot be decrypted with this key") from None


def keyring_key_loader(salt: bytes) -> Callable[[], bytes]:
    """Key from the OS keyring (created on first use), else from MIRIX_PASSPHRASE."""

    def load() -> bytes:
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase:
            return hashlib.scrypt(passphrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
        try:
            import keyring
            from keyring.errors import KeyringError, NoKeyringError
        except ImportError as e:  # pragma: no cover - keyring is a dependency
            raise KeyUnavailable("the keyring package is missing") from e
        try:
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
            if stored:
                return base64.b64decode(stored)
            key = AESGCM.generate_key(bit_length=256)
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, base64.b64encode(key).decode())
            log.info("created a new data key in the OS keyring")
            return key
        except (NoKeyringError, KeyringError, RuntimeError) as e:
            raise KeyUnavailable(
                "no OS keyring is available to hold the encryption key",
                f"start a Secret Service (e.g. gnome-keyring) or set {PASSPHRASE_ENV} to a passphrase",
            ) from e

    return load
