"""Encryption of personal data at rest, and of export files carried away on a stick.

A kiosk is a shared machine in a public place: names, phone numbers, email addresses, free-text
descriptions and locations are only ever written to disk sealed with AES-256-GCM (`cryptography`),
under a key derived (HKDF) from the store key. The store key lives in a file created with mode 0600
on first run, or comes from the environment on machines that keep secrets there; it is a Fernet
key, and values sealed with Fernet by earlier versions still open, until the purge removes them.
Export files are sealed with a key derived from a passphrase with scrypt, so a lost stick gives
nothing away.
"""

from __future__ import annotations

import base64
import json
import os
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


def load_or_create_key(key_text: str, key_path: Path) -> bytes:
    """The store key: from settings if given, else from `key_path`, created 0600 if absent.

    Creation is atomic (written aside, then hard-linked into place), so a kiosk app and a sync
    worker starting together on a new machine agree on one key.
    """
    if key_text:
        return _checked(key_text.strip().encode(), "store.key")
    try:
        return _checked(key_path.read_bytes().strip(), str(key_path))
    except FileNotFoundError:
        pass
    except OSError as error:  # a folder, or a file this user may not read
        raise KeyProblem(f"{key_path}: the key file cannot be read ({error.strerror}); "
                         "point store.key_file at the store's key file") from None
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
    return _checked(key_path.read_bytes().strip(), str(key_path))


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
        raise KeyProblem(f"{where}: not a valid key (expected 32 bytes in urlsafe base64)") from None
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
    about four billion values under one key, far beyond what one store seals."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)  # only to open what earlier versions sealed
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"assist store vault: AES-256-GCM").derive(base64.urlsafe_b64decode(key))
        self._gcm = AESGCM(derived)

    def seal(self, value: Any) -> bytes | None:
        if value is None:
            return None
        return self.seal_json(json.dumps(value, ensure_ascii=False))

    def seal_json(self, text: str) -> bytes:
        """Seal a value already written as JSON (by a caller that needed the text anyway)."""
        nonce = os.urandom(NONCE_BYTES)
        return SEALED_GCM + nonce + self._gcm.encrypt(nonce, text.encode(), None)

    def open(self, token: bytes | None) -> Any:
        if token is None:
            return None
        try:
            if token[:1] == SEALED_GCM:
                return json.loads(self._gcm.decrypt(token[1:1 + NONCE_BYTES], token[1 + NONCE_BYTES:], None))
            return json.loads(self._fernet.decrypt(token))
        except (InvalidTag, InvalidToken):
            raise KeyProblem("personal data in the store cannot be opened with this key") from None


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
