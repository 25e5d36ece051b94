"""The data key: created on first run, held in the OS keyring or derived from a passphrase.

`data/key.json` records how the key is obtained (never the key): the source, the keyring entry,
the scrypt salt and a check value, so a wrong passphrase or a replaced keyring entry is told
apart from a damaged database before anything is opened. Without a keyring backend the user
must give a passphrase (MIRIX_PASSPHRASE, a terminal prompt, or the app's dialog); there is no
silent fall back to plain text or to a key file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mirix_app.errors import MirixError
from mirix_app.memory import db
from mirix_app.paths import Paths, make_private_file

log = logging.getLogger(__name__)

KEYRING_SERVICE = "mirix-app"
LEGACY_KEYRING_USER = "data-key"
PASSPHRASE_ENV = "MIRIX_PASSPHRASE"
_CHECK_LABEL = b"mirix-app key check v1"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class KeyUnavailable(MirixError):
    """No key, or not the right one. Nothing was opened or changed."""


class PassphraseNeeded(KeyUnavailable):
    """No keyring backend and no passphrase given: ask the user for one."""

    def __init__(self, new: bool) -> None:
        self.new = new
        super().__init__(
            "no OS keyring is available to hold the encryption key, so a passphrase is needed",
            f"start a Secret Service (e.g. gnome-keyring) or set {PASSPHRASE_ENV}"
            + (" (choose one now: it cannot be recovered)" if new else ""),
        )


class WrongPassphrase(KeyUnavailable):
    """The passphrase given does not open this data folder (asking again may help)."""


@dataclass
class KeyInfo:
    source: str  # "keyring" | "passphrase"
    keyring_user: str = ""
    salt: str = ""  # base64, for the passphrase
    check: str = ""  # hex HMAC of a fixed label under the key
    version: int = 1

    @classmethod
    def load(cls, path: Path) -> KeyInfo | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: raw[k] for k in ("source", "keyring_user", "salt", "check")})
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            raise KeyUnavailable(
                f"{path} is damaged ({e})",
                "restore it from a backup; without it the data folder cannot be opened",
            ) from None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        make_private_file(tmp)
        os.replace(tmp, path)


def key_check(key: bytes) -> str:
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


def derive(master: bytes, purpose: str) -> bytes:
    """A separate 256-bit key per use (database pages, files) from the one master key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"mirix-app {purpose}".encode()
    ).derive(master)


_scrypt_cache: dict[tuple[str, bytes], bytes] = {}
_cache_lock = threading.Lock()


def _from_passphrase(passphrase: str, salt: bytes) -> bytes:
    with _cache_lock:
        hit = _scrypt_cache.get((passphrase, salt))
    if hit is None:
        hit = hashlib.scrypt(passphrase.encode(), salt=salt, dklen=32, **_SCRYPT)
        with _cache_lock:
            _scrypt_cache[(passphrase, salt)] = hit
    return hit


def _keyring_get(user: str) -> str | None:
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, user)
    except (NoKeyringError, KeyringError, RuntimeError):
        return None


def _keyring_set(user: str, key: bytes) -> bool:
    import keyring
    from keyring.errors import KeyringError, NoKeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, user, base64.b64encode(key).decode())
        return base64.b64decode(keyring.get_password(KEYRING_SERVICE, user) or "") == key
    except (NoKeyringError, KeyringError, RuntimeError):
        return False


def _keyring_delete(user: str) -> bool:
    """Remove one entry; True when it is gone (or was never there)."""
    import keyring
    from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, user)
    except PasswordDeleteError:
        pass  # not there
    except (NoKeyringError, KeyringError, RuntimeError) as e:
        log.warning("could not delete the keyring entry %s/%s: %s", KEYRING_SERVICE, user, e)
        return False
    return _keyring_get(user) is None


def keyring_available() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception as e:
        log.debug("keyring backend unusable (%s)", type(e).__name__)
        return False


_session_passphrase: str | None = None


def set_session_passphrase(passphrase: str | None) -> None:
    """What the user typed at a prompt: kept in memory for this process only (not in os.environ,
    which child processes such as tesseract would inherit)."""
    global _session_passphrase
    _session_passphrase = passphrase or None


class KeyManager:
    """Finds (or on first run creates) the master key of one data folder."""

    def __init__(self, paths: Paths, passphrase: str | None = None) -> None:
        self.paths = paths
        self.info_path = paths.data / "key.json"
        self._passphrase = passphrase

    def passphrase(self) -> str | None:
        return self._passphrase or _session_passphrase or os.environ.get(PASSPHRASE_ENV) or None

    def exists(self) -> bool:
        return self.info_path.exists()

    def master_key(self, *, legacy_salt: bytes | None = None) -> bytes:
        info = KeyInfo.load(self.info_path)
        if info is None:
            return self._create(legacy_salt)
        if info.source == "passphrase":
            phrase = self.passphrase()
            if not phrase:
                raise PassphraseNeeded(new=False)
            key = _from_passphrase(phrase, base64.b64decode(info.salt))
            if not hmac.compare_digest(key_check(key), info.check):
                raise WrongPassphrase(
                    "the passphrase does not open this data folder",
                    "give the passphrase the folder was created with; nothing was changed",
                )
            return key
        if info.source == "keyring":
            stored = _keyring_get(info.keyring_user)
            if stored is None:
                raise KeyUnavailable(
                    "the encryption key of this data folder is not in the OS keyring "
                    f"(entry {KEYRING_SERVICE}/{info.keyring_user})",
                    "unlock or start the keyring that holds it (e.g. gnome-keyring); "
                    "nothing was changed",
                )
            key = base64.b64decode(stored)
            if not hmac.compare_digest(key_check(key), info.check):
                raise KeyUnavailable(
                    f"the key in the OS keyring ({KEYRING_SERVICE}/{info.keyring_user}) "
                    "is not the one this data folder was encrypted with",
                    "restore the original keyring entry; nothing was changed",
                )
            return key
        raise KeyUnavailable(f"{self.info_path}: unknown key source {info.source!r}")

    def renew(self) -> bytes | None:
        """Delete everything: a key held in the OS keyring is replaced by a new one in a new
        entry, and the old entry is deleted, so nothing written under the old key (a copy of the
        database, a screenshot) can be decrypted again. Returns the new key, or None when the
        key stays: a passphrase key lives in the user's head (a new salt would need the
        passphrase again), and there is no keyring entry to remove."""
        info = KeyInfo.load(self.info_path)
        if info is None or info.source != "keyring":
            return None
        old_user = info.keyring_user
        user = f"data-key-{secrets.token_hex(6)}"
        key = secrets.token_bytes(32)
        if not _keyring_set(user, key):
            raise KeyUnavailable(
                "cannot store a new data key in the OS keyring",
                "unlock the keyring and delete everything again; the old key is still in use",
            )
        new = KeyInfo("keyring", keyring_user=user, check=key_check(key))
        new.save(self.info_path)  # from here the folder opens with the new key
        if not _keyring_delete(old_user):
            log.warning("the old data key is still in the keyring (%s)", old_user)
        log.info("deleted the old data key from the OS keyring; a new one replaces it")
        return key

    def _create(self, legacy_salt: bytes | None) -> bytes:
        phrase = self.passphrase()
        if phrase:
            salt = legacy_salt or secrets.token_bytes(16)
            key = _from_passphrase(phrase, salt)
            info = KeyInfo("passphrase", salt=base64.b64encode(salt).decode())
        else:
            user = LEGACY_KEYRING_USER if legacy_salt else f"data-key-{secrets.token_hex(6)}"
            stored = _keyring_get(user) if legacy_salt else None
            key = base64.b64decode(stored) if stored else secrets.token_bytes(32)
            if not stored and not (keyring_available() and _keyring_set(user, key)):
                raise PassphraseNeeded(new=True)
            info = KeyInfo("keyring", keyring_user=user)
            log.info("created a new data key in the OS keyring")
        info.check = key_check(key)
        info.save(self.info_path)
        return key


def open_data_key(paths: Paths, passphrase: str | None = None) -> bytes:
    """The master key of this data folder; a plain database from before encryption is
    encrypted in place on the way. Raises KeyUnavailable, with nothing touched, on a wrong or
    missing key."""
    keys = KeyManager(paths, passphrase)
    dbfile = paths.memory_db
    legacy_salt: bytes | None = None
    if not keys.exists() and dbfile.exists() and dbfile.stat().st_size > 0:
        if not db.is_plaintext(dbfile):
            raise KeyUnavailable(
                f"{keys.info_path} is missing, so {dbfile} cannot be decrypted",
                "restore key.json from a backup of the data folder; nothing was changed",
            )
        salt = db.read_plain_meta(dbfile, "key_salt")
        legacy_salt = base64.b64decode(salt) if salt else None
    master = keys.master_key(legacy_salt=legacy_salt)
    db_key = derive(master, "database")
    plain = [dbfile] if db.is_plaintext(dbfile) else []
    if paths.backups.is_dir():
        plain += [p for p in paths.backups.glob("*.db") if db.is_plaintext(p)]
    for p in plain:
        db.encrypt_plaintext(p, db_key)
    return master


def open_raw(paths: Paths, passphrase: str | None = None) -> db.Connection:
    """A fresh, keyed connection to memory.db for maintenance tools and tests."""
    return db.connect(paths.memory_db, derive(open_data_key(paths, passphrase), "database"))
