"""Export files: queued submissions carried on a stick from a library with no connection at all.

The format (documented in docs/export-format.md) is one JSON object: a readable header naming the
format, version, exporting device and count, the scrypt parameters and nonce, and the AES-256-GCM
ciphertext of the submissions themselves, with the header authenticated alongside. Exporting
marks the submissions `exported` here only after the file is safely on disk; importing queues
them on the receiving machine under their own references and idempotency keys, so importing a
file twice, or two files holding the same submission, adds nothing twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.crypto import BadPassphrase, open_with_passphrase, seal_with_passphrase, sync_directory
from sync.flow import Draft
from sync.store import Store, iso, parse_iso

FORMAT = "assist-outbox-export"
VERSION = 1
MIN_PASSPHRASE = 10


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
    if len(passphrase) < MIN_PASSPHRASE:
        raise TransferError(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")
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
    if envelope.get("format") != FORMAT:
        raise TransferError(f"{path}: not an assist export file")
    if envelope.get("version") != VERSION:
        raise TransferError(f"{path}: export format version {envelope.get('version')} is not supported "
                            f"(this assist reads version {VERSION})")
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


def _import_record(store: Store, record: dict[str, Any], source: str, result: ImportResult):
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
