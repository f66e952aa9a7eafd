"""JSON Lines import of new submissions: paper forms typed up by staff, and bulk loads.

One object a line, with the field names of an Open311 POST (`service_code`, `lat`, `long`,
`address_string`, `address_id`, `attributes`, `description`, `email`, `phone`, `first_name`,
`last_name`) plus `language` and `channel` (default `paper`), and optionally `updates_by_text`,
`consent` (default yes: the resident wrote their details on a form for the council) and
`idempotency_key`. Every line goes through the same question flow as the kiosk and the SMS bot;
a bad line is reported with its number and adds nothing, while the good lines still go in. A line
without an idempotency key gets one derived from its content, so loading a file twice adds
nothing twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import locales
from locales import Translator
from sync.catalogue import Catalogue, Service
from sync.flow import Invalid, Question, next_question, to_draft, validate
from sync.store import CHANNELS, Store

FIELDS = frozenset({"service_code", "lat", "long", "address_string", "address_id", "attributes", "description",
                    "email", "phone", "first_name", "last_name", "language", "channel", "updates_by_text",
                    "consent", "idempotency_key"})
_NAMESPACE = uuid.UUID("6f0c5a8e-3c1b-4a53-9d4c-2f7e1d0b9a61")


@dataclass
class PaperResult:
    added: list[tuple[int, str]] = field(default_factory=list)
    already_here: list[tuple[int, str]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_jsonl(store: Store, path: Path) -> PaperResult:
    result = PaperResult()
    catalogue = store.catalogue()
    english = locales.translator(locales.SOURCE_LANGUAGE)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as UTF-8 text ({error})") from None
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as error:  # a number of more than 4300 digits is a ValueError of its own
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            result.errors.append((number, f"not valid JSON ({reason})"))
            continue
        problems = _check_record(record, catalogue)
        service = catalogue.get(str(record["service_code"])) if not problems else None
        if service is None:
            result.errors.append((number, "; ".join(problems)))
            continue
        language = record.get("language", locales.SOURCE_LANGUAGE)
        answers, problems = _answers(service, record, locales.translator(language), english)
        if problems:
            result.errors.append((number, "; ".join(problems)))
            continue
        key = record.get("idempotency_key") or str(uuid.uuid5(_NAMESPACE, json.dumps(record, sort_keys=True)))
        draft = to_draft(service, answers, channel=record.get("channel", "paper"), language=language,
                         catalogue_version=catalogue.version, idempotency_key=key)
        saved = store.enqueue(draft, history_note=f"imported from {path.name} line {number}")
        (result.added if saved.created else result.already_here).append((number, saved.display_reference))
    return result


def _check_record(record: Any, catalogue: Catalogue) -> list[str]:
    if not isinstance(record, dict):
        return ["each line must be a JSON object"]
    problems = []
    unknown = sorted(set(record) - FIELDS)
    if unknown:
        problems.append("unknown field(s): " + ", ".join(unknown))
    code = record.get("service_code")
    if not code:
        problems.append("service_code is missing")
    elif catalogue.get(str(code)) is None:
        problems.append(f"service_code {code!r} is not in the catalogue (known: "
                        + ", ".join(service.code for service in catalogue.services) + ")")
    if record.get("channel", "paper") not in CHANNELS:
        problems.append(f"channel must be one of {', '.join(CHANNELS)}")
    if record.get("language", locales.SOURCE_LANGUAGE) not in locales.shipped():
        problems.append(f"language must be one of {', '.join(locales.shipped())}")
    attributes = record.get("attributes", {})
    if not isinstance(attributes, dict):
        problems.append("attributes must be an object of attribute code to value")
    elif code and (service := catalogue.get(str(code))) is not None:
        # Refused, not dropped: an answer typed from a form would silently never reach the council.
        known = [attribute.code for attribute in service.attributes]
        if extra := sorted(set(attributes) - set(known)):
            problems.append(f"attributes {', '.join(extra)}: not asked by service {code} (it asks: "
                            + (", ".join(known) or "nothing") + ")")
    return problems


def _raw_answer(question: Question, record: dict[str, Any]) -> Any:
    if question.key == "location":
        place = {key: record[key] for key in ("lat", "long", "address_string", "address_id") if key in record}
        return place or None
    if question.attribute_code:
        return record.get("attributes", {}).get(question.attribute_code)
    if question.key == "name":
        return " ".join(str(record[key]) for key in ("first_name", "last_name") if record.get(key))
    if question.key == "consent":
        return _yes_no(record.get("consent", True))
    if question.key == "updates_by_text":
        return _yes_no(record.get("updates_by_text", False))
    return record.get(question.key)


def _yes_no(value: Any) -> Any:
    return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value


def _answers(service: Service, record: dict[str, Any], translator: Translator,
             english: Translator) -> tuple[dict[str, Any], list[str]]:
    """Walk the question flow with the line's values, as a resident would answer them."""
    answers: dict[str, Any] = {}
    problems: list[str] = []
    while (question := next_question(service, answers)) is not None:
        try:
            answers[question.key] = validate(question, _raw_answer(question, record), translate=translator.gettext)
        except Invalid as invalid:
            label = f"attributes.{question.attribute_code}" if question.attribute_code else question.key
            message = invalid.render(english)
            if question.choices:
                message += " (one of: " + ", ".join(choice.key for choice in question.choices) + ")"
            problems.append(f"{label}: {message}")
            answers[question.key] = None
    return answers, problems
