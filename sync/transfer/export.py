"""Export files: queued submissions carried on a stick from a library with no connection at all.

The format (documented in docs/export-format.md) is one JSON object: a readable header naming the
format, version, exporting device and count, the scrypt parameters and nonce, and the AES-256-GCM
ciphertext of the submissions themselves, with the header authenticated alongside. Exporting
marks the submissions `exported` here only after the file is safely on disk; importing queues
them on the receiving machine under their own references and idempotency keys, so importing a
file twice, or two files holding the same submission, adds nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from sync.crypto import BadPassphrase, open_with_passphrase, seal_with_passphrase, sync_directory
from sync.flow import Draft
from sync.store import Saved, Store, iso, parse_iso

FORMAT = "assist-outbox-export"
VERSION = 1
MIN_PASSPHRASE = 10
#: zxcvbn's top score: at least 10**10 guesses, years of scrypt at 0.1 s a guess. Four unrelated
#: words (a Diceware-style phrase) reach it, and are accepted even where zxcvbn's dictionaries
#: underrate them.
STRONG_SCORE, MIN_WORDS, MIN_WORD_LETTERS = 4, 4, 3
#: zxcvbn's time grows quickly with length; a longer passphrase is judged by its first 72
#: characters, a lower bound on its strength.
ZXCVBN_MAX = 72
#: Words a passphrase should not lean on: a guesser would try them first.
OBVIOUS_WORDS = ("assist", "outbox", "export", "passphrase")

# The file's own scrypt settings are read before anything is authenticated: a changed file
# could ask for p=-1 (a crash), n=2**24 (16 GiB) or p=10**6 (hours of CPU). Fixed maxima, four
# times this version's own work (sync.crypto: n=2**15, r=8, p=1, about 0.1 s and 32 MiB), leave
# room to raise the settings later and bound any file to about half a second and 128 MiB.
SCRYPT_MAX_N, SCRYPT_MAX_R, SCRYPT_MAX_P = 2**17, 16, 4
SCRYPT_MAX_WORK = 4 * 2**15 * 8  # n * r * p: the CPU time
SCRYPT_MAX_MEMORY = 128 * 2**20  # 128 * n * r bytes
SALT_BYTES, NONCE_BYTES, TAG_BYTES = (16, 64), 12, 16


class TransferError(Exception):
    """An export or import that cannot go ahead, said plainly."""


def is_export_file(path: Path) -> bool:
    """Whether `path` holds an export envelope (as opposed to JSON Lines of paper forms)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(200)
    except OSError as error:
        raise TransferError(f"{path}: cannot be read ({error.strerror})") from None
    return head.lstrip().startswith(b"{") and f'"format": "{FORMAT}"'.encode() in head


def export(store: Store, path: Path, passphrase: str) -> list[str]:
    """Write every queued submission to `path`, sealed with `passphrase`; returns the references."""
    check_passphrase(passphrase, store.device_id)
    if path.exists():
        raise TransferError(f"{path} already exists; choose a new file name.")
    owner = f"export-{uuid.uuid4()}"
    records = store.hold_for_export(owner)
    if not records:
        return []
    now = iso(store.clock())
    header = {"format": FORMAT, "version": VERSION, "exported_at": now, "device_id": store.device_id,
              "count": len(records)}
    plaintext = json.dumps({"submissions": records}, ensure_ascii=False).encode()
    envelope = seal_with_passphrase(plaintext, passphrase, header)
    aside = path.with_name(f".{path.name}.partial")
    with aside.open("w", encoding="utf-8") as handle:
        json.dump(envelope, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(aside, path)
    sync_directory(path.parent)  # before the submissions are marked: the file must outlive a power cut
    references = [record["reference"] for record in records]
    store.mark_exported(references, owner, f"exported to {path.name}")
    return references


def check_passphrase(passphrase: str, *avoid: str) -> str:
    """The passphrase if it is strong enough to seal a file that may be lost, else TransferError.

    Strong enough: four or more different words of three letters or more, or zxcvbn's top score
    (`avoid` names things a guesser knows, such as the device id)."""
    advice = ("Four or more unrelated words, such as \"orbit lamp river toast\", are easy to type and hard to "
              "guess.")
    if len(passphrase) < MIN_PASSPHRASE:
        raise TransferError(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters. {advice}")
    words = {word.casefold() for word in re.findall(r"[^\W\d_]+", passphrase)
             if len(word) >= MIN_WORD_LETTERS and word.casefold() not in OBVIOUS_WORDS}
    if len(words) >= MIN_WORDS:
        return passphrase
    from zxcvbn import zxcvbn  # here: loading its dictionaries costs every `assist` command 25 ms

    if zxcvbn(passphrase[:ZXCVBN_MAX], user_inputs=[*OBVIOUS_WORDS, *avoid])["score"] < STRONG_SCORE:
        raise TransferError(f"That passphrase would be easy to guess; choose a stronger one. {advice}")
    return passphrase


def _header_problem(envelope: Any) -> str | None:
    """What is wrong with an export file's readable part, or None; checked before any key is
    derived from its settings (they are authenticated only once the key exists)."""
    if not isinstance(envelope, dict):
        return "it is not a JSON object"
    if envelope.get("format") != FORMAT:
        return "it is not an assist export file"
    version = envelope.get("version")
    if not _is_int(version) or version != VERSION:
        return f"export format version {version!r} is not supported (this assist reads version {VERSION})"
    if not _is_int(envelope.get("count")) or envelope["count"] < 0:
        return "its count is not a whole number"
    for name in ("exported_at", "device_id"):
        if not isinstance(envelope.get(name), str):
            return f"its {name} is missing or not text"
    if envelope.get("cipher") != "AES-256-GCM":
        return f"its cipher {envelope.get('cipher')!r} is not AES-256-GCM"
    kdf = envelope.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        return "its key derivation is not scrypt"
    return _scrypt_problem(kdf) or _sizes_problem(envelope, kdf)


def _scrypt_problem(kdf: dict[str, Any]) -> str | None:
    """Scrypt settings out of bounds: a changed file must not cost a crash, memory or hours."""
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (_is_int(n) and _is_int(r) and _is_int(p)):
        return "its scrypt settings n, r and p are not whole numbers"
    if not (2 <= n <= SCRYPT_MAX_N and n & (n - 1) == 0):
        return f"its scrypt n={n} is not a power of two from 2 to {SCRYPT_MAX_N}"
    if not (1 <= r <= SCRYPT_MAX_R and 1 <= p <= SCRYPT_MAX_P):
        return f"its scrypt r={r}, p={p} are outside 1 to {SCRYPT_MAX_R} and 1 to {SCRYPT_MAX_P}"
    if n * r * p > SCRYPT_MAX_WORK or 128 * n * r > SCRYPT_MAX_MEMORY:
        return f"its scrypt settings n={n}, r={r}, p={p} ask for more work than this assist allows"
    return None


def _sizes_problem(envelope: dict[str, Any], kdf: dict[str, Any]) -> str | None:
    """The salt, nonce and ciphertext as base64 of the lengths this format has."""
    sizes: tuple[tuple[str, tuple[int, int | None]], ...] = (
        ("salt", SALT_BYTES), ("nonce", (NONCE_BYTES, NONCE_BYTES)), ("ciphertext", (TAG_BYTES, None)))
    for name, (shortest, longest) in sizes:
        raw = _base64(kdf.get(name) if name == "salt" else envelope.get(name))
        if raw is None:
            return f"its {name} is missing or not base64"
        if len(raw) < shortest or (longest is not None and len(raw) > longest):
            return f"its {name} is {len(raw)} bytes long"
    return None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _base64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    already_here: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def import_file(store: Store, path: Path, passphrase: str) -> ImportResult:
    """Queue the submissions of an export file here; those already here are left alone."""
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TransferError(f"{path}: not a readable export file ({error})") from None
    problem = _header_problem(envelope)
    if problem is not None:
        raise TransferError(f"{path}: not a readable export file: {problem}.")
    try:
        records = json.loads(open_with_passphrase(envelope, passphrase))["submissions"]
    except BadPassphrase as error:
        raise TransferError(str(error)) from None
    result = ImportResult()
    for record in records:
        saved = _import_record(store, record, path.name, result)
        if saved is not None:
            (result.added if saved.created else result.already_here).append(saved.reference)
    return result


def _import_record(store: Store, record: dict[str, Any], source: str, result: ImportResult) -> Saved | None:
    payload = record.get("payload") or {}
    draft = Draft(
        service_code=record["service_code"], channel=record["channel"], language=record["language"],
        catalogue_version=record["catalogue_version"], location=payload.get("location") or {},
        attributes=payload.get("attributes") or {}, description=payload.get("description") or "",
        contact=record.get("contact"), notify_phone=record.get("notify_phone"),
        idempotency_key=record["idempotency_key"],
        assisted_by=record.get("assisted_by"), assist_consent=record.get("assist_consent"),
    )
    try:
        return store.enqueue(draft, reference=record["reference"], created_at=parse_iso(record["created_at"]),
                             device_id=record["device_id"], history_note=f"imported from {source}")
    except sqlite3.IntegrityError:
        result.problems.append((record["reference"], "a different submission here already has this reference"))
    return None
