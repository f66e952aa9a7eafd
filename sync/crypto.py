"""Encryption of personal data at rest, and of export files carried away on a stick.

A kiosk is a shared machine in a public place: names, phone numbers, email addresses, free-text
descriptions and locations are only ever written to disk sealed with AES-256-GCM (`cryptography`),
under a key derived (HKDF) from the store key. The store key lives in a file created with mode 0600
on first run (and never again while the store holds sealed data), or comes from the environment
or a systemd credential; the store records its check value (`check_value`), so another key is
refused before it can seal anything. It is a Fernet key, and values sealed with Fernet by earlier
versions still open, until the purge removes them.
Export files are sealed with a key derived from a passphrase with scrypt, so a lost stick gives
nothing away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


class KeyProblem(Exception):
    """The key is missing, malformed or not the one the data was sealed with."""


def key_from_text(key_text: str, where: str) -> bytes:
    """The store key given as text (settings, environment or a systemd credential)."""
    return _checked(key_text.strip().encode(), where)


def read_key_file(key_path: Path, *, allow_shared: bool = False) -> bytes:
    """The store key from `key_path`, refused (KeyProblem, one line naming the file and what to
    do) if it is a folder, empty, malformed, unreadable or open to other users. A missing file
    raises FileNotFoundError: only the caller knows whether a new key may be made."""
    where = str(key_path)
    try:
        mode = key_path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise KeyProblem(f"{where} is a folder, not a key file: set store.key_file to the key file itself")
        if stat.S_IMODE(mode) & 0o077 and not allow_shared:
            raise KeyProblem(f"{where} is open to other users (mode {stat.S_IMODE(mode):04o}): run "
                             f"`chmod 600 {where}`, or set store.allow_shared_key_file = true if that is intended")
        data = key_path.read_bytes().strip()
    except PermissionError:
        raise KeyProblem(f"{where} cannot be read by this user: run assist as the user that owns it") from None
    except IsADirectoryError:
        raise KeyProblem(f"{where} is a folder, not a key file: set store.key_file to the key file itself") from None
    except NotADirectoryError:
        raise FileNotFoundError(where) from None
    if not data:
        raise KeyProblem(f"{where} is empty: restore the store's key file from its backup")
    return _checked(data, where)


def create_key_file(key_path: Path) -> bytes:
    """A new store key in `key_path`, mode 0600, for a store that holds nothing sealed yet.

    Creation is atomic (written aside, then hard-linked into place), so a kiosk app and a sync
    worker starting together on a new machine agree on one key.
    """
    key_path.parent.mkdir(parents=True, exist_ok=True)
    aside = key_path.with_name(f".{key_path.name}.{os.getpid()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, Fernet.generate_key() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(aside, key_path)
    except FileExistsError:
        pass  # another process won the race: use its key
    finally:
        aside.unlink()
    sync_directory(key_path.parent)
    return read_key_file(key_path)


def check_value(key: bytes) -> str:
    """What the store records to recognise its key, never the key: an HMAC of a fixed label under
    a key derived (HKDF, its own label) from the store key. Nothing about the key or the vault's
    AES key can be learnt from it, and comparing it costs microseconds (for /healthz)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"assist store key check").derive(base64.urlsafe_b64decode(key))
    return hmac.new(derived, b"assist store key check v1", hashlib.sha256).hexdigest()[:32]


def sync_directory(folder: Path) -> None:
    """Make a file's new name in `folder` durable: a rename or link is not, until its directory
    is synced, and a kiosk can lose power at any moment."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checked(key: bytes, where: str) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        raise KeyProblem(f"{where}: not a valid key (expected 32 bytes in urlsafe base64): "
                         "restore the store's key from its backup") from None
    return key


#: The first byte of a sealed value: AES-256-GCM. (A Fernet token, from earlier versions, begins
#: with "g", the base64 of its own version byte, so the two cannot be confused.)
SEALED_GCM = b"\x02"
NONCE_BYTES = 12


class Vault:
    """Seals and opens JSON-able values with the store key.

    A sealed value is SEALED_GCM, a random 96-bit nonce, then the AES-256-GCM ciphertext and tag.
    AES-GCM takes a few microseconds where Fernet (AES-CBC, HMAC, base64, a timestamp) took
    several times that, and the SMS webhook seals twice a message. Random nonces are safe for
    about four billion values under one key, far beyond what one store seals.

    While a key rotation runs, a vault has the new key first (it seals with it) and the old one
    as a fallback (it opens with either), so nothing is unreadable half-way (sync/store/rotation.py)."""

    def __init__(self, key: bytes, *, fallback: tuple[bytes, ...] = (), where: str = "the store key") -> None:
        self._keys = tuple(dict.fromkeys((key, *fallback)))
        self._ciphers = [(AESGCM(_vault_key(k)), Fernet(k)) for k in self._keys]
        self._gcm = self._ciphers[0][0]
        self.check = check_value(key)
        #: The check values of every key this vault opens with.
        self.checks = frozenset(check_value(k) for k in self._keys)
        #: Where the key came from (a file, or a setting), for messages.
        self.where = where

    def rotating_to(self, new_key: bytes, where: str) -> "Vault":
        """A vault that seals with `new_key` and still opens with every key this one does."""
        return Vault(new_key, fallback=self._keys, where=where)

    def seal(self, value: Any) -> bytes | None:
        if value is None:
            return None
        return self.seal_json(json.dumps(value, ensure_ascii=False))

    def seal_json(self, text: str) -> bytes:
        """Seal a value already written as JSON (by a caller that needed the text anyway)."""
        return self._seal_bytes(text.encode())

    def _seal_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return SEALED_GCM + nonce + self._gcm.encrypt(nonce, data, None)

    def open(self, token: bytes | None) -> Any:
        if token is None:
            return None
        return json.loads(self.open_bytes(token))

    def open_bytes(self, token: bytes) -> bytes:
        """The sealed bytes, by whichever of this vault's keys opens them, or KeyProblem."""
        for gcm, fernet in self._ciphers:
            try:
                if token[:1] == SEALED_GCM:
                    return gcm.decrypt(token[1:1 + NONCE_BYTES], token[1 + NONCE_BYTES:], None)
                return fernet.decrypt(token)
            except (InvalidTag, InvalidToken):
                continue
        raise KeyProblem("personal data in the store cannot be opened with this key")

    def sealed_with_first_key(self, token: bytes) -> bool:
        """Whether `token` is AES-GCM under this vault's own (first) key: a rotation skips those."""
        if token[:1] != SEALED_GCM:
            return False
        try:
            self._gcm.decrypt(token[1:1 + NONCE_BYTES], token[1 + NONCE_BYTES:], None)
        except InvalidTag:
            return False
        return True

    def reseal(self, token: bytes) -> bytes:
        """`token` opened with any key and sealed again under the first, byte for byte."""
        return self._seal_bytes(self.open_bytes(token))


def _vault_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"assist store vault: AES-256-GCM").derive(base64.urlsafe_b64decode(key))


# Export files: scrypt parameters recorded in the file so they can be raised later without
# breaking old files. n=2**15 takes about 0.1 s and 32 MiB: slow for guessing, fine once.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class BadPassphrase(Exception):
    """The passphrase does not open this file, or the file was altered."""


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def seal_with_passphrase(plaintext: bytes, passphrase: str, header: dict[str, Any]) -> dict[str, Any]:
    """An envelope: `header` plus scrypt parameters, nonce and AES-256-GCM ciphertext.

    The header is authenticated too (as associated data), so nobody can relabel a file.
    """
    salt, nonce = os.urandom(16), os.urandom(12)
    envelope = dict(header, kdf={"name": "scrypt", "salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
                    cipher="AES-256-GCM", nonce=_b64(nonce))
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    envelope["ciphertext"] = _b64(AESGCM(key).encrypt(nonce, plaintext, _associated(envelope)))
    return envelope


def open_with_passphrase(envelope: dict[str, Any], passphrase: str) -> bytes:
    try:
        kdf = envelope["kdf"]
        key = _derive(passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        return AESGCM(key).decrypt(base64.b64decode(envelope["nonce"]),
                                   base64.b64decode(envelope["ciphertext"]), _associated(envelope))
    except InvalidTag:
        raise BadPassphrase("That passphrase does not open this file (or the file has been changed).") from None
    except (KeyError, TypeError, ValueError) as error:
        raise BadPassphrase(f"This is not a readable export file ({error}).") from None


def _associated(envelope: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in envelope.items() if k != "ciphertext"}, sort_keys=True).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
