"""AES-GCM for knowledge-vault values and kept screenshots, under the data folder's master key
(see keys.py): a second layer inside the encrypted database, and the only one for files."""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mirix_app.memory.keys import KeyUnavailable

_PREFIX = "mirix-enc:v1:"


class SecretBox:
    """AES-256-GCM over short strings and files."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @staticmethod
    def is_sealed(value: object) -> bool:
        return isinstance(value, str) and value.startswith(_PREFIX)

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return _PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")

    def open(self, sealed: str) -> str:
        if not self.is_sealed(sealed):
            return sealed
        try:
            blob = base64.urlsafe_b64decode(sealed[len(_PREFIX) :])
        except (ValueError, binascii.Error):
            raise KeyUnavailable("a knowledge-vault value is damaged (not valid base64)") from None
        if len(blob) < 12 + 16:
            raise KeyUnavailable("a knowledge-vault value is damaged (too short)")
        try:
            return self._aead.decrypt(blob[:12], blob[12:], None).decode("utf-8")
        except InvalidTag:
            raise KeyUnavailable(
                "a knowledge-vault value cannot be decrypted with this key",
                "the key in the keyring (or MIRIX_PASSPHRASE) is not the one it was written with",
            ) from None

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return b"MXE1" + nonce + self._aead.encrypt(nonce, data, None)

    def open_bytes(self, blob: bytes) -> bytes:
        if not blob.startswith(b"MXE1"):
            raise KeyUnavailable("not an encrypted mirix file")
        if len(blob) < 4 + 12 + 16:
            raise KeyUnavailable("the encrypted file is truncated")
        try:
            return self._aead.decrypt(blob[4:16], blob[16:], None)
        except InvalidTag:
            raise KeyUnavailable("the file cannot be decrypted with this key") from None
