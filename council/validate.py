"""`POST requests` as a strict council checks it: key first, then service, then everything else.

The body is `application/x-www-form-urlencoded; charset=utf-8`. A missing or wrong `api_key` is
403; every other problem is 400, and all the problems found in one form are reported together,
each message naming the field (`attribute[bin_type] is required ...`). Nothing is silently
dropped: an attribute the service does not have is an error, as is a second value for a
single-value question. `validate_update` checks mySociety's `POST servicerequestupdates` the
same way. How a profile bends these rules (a 400 for a bad key, a closed schema) is in
council/profiles.py.
"""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from council.db import STATUSES
from council.services import Attribute, Service, Services

MAX_DESCRIPTION = 4000
MAX_VALUE = 4000
MAX_BODY = 1_000_000
ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Rejected(Exception):
    """The request was refused: HTTP status and one message per problem."""

    status: int
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status}: {'; '.join(self.messages)}"


@dataclass
class Form:
    scalars: dict[str, str]
    attributes: dict[str, list[str]]
    duplicated: list[str]


def parse_form(body: bytes, content_type: str | None) -> Form:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type and media_type != "application/x-www-form-urlencoded":
        raise Rejected(400, [f"the body must be application/x-www-form-urlencoded, not {media_type}"])
    if len(body) > MAX_BODY:
        raise Rejected(400, [f"the body is larger than {MAX_BODY} bytes"])
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, ["the body is not valid UTF-8 form data"]) from None
    scalars: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    duplicated: list[str] = []
    for key, value in pairs:
        match = ATTRIBUTE_KEY.match(key)
        if match:
            attributes.setdefault(match.group(1), []).append(value)
        elif key in scalars:
            if key not in duplicated:
                duplicated.append(key)
        else:
            scalars[key] = value
    return Form(scalars, attributes, duplicated)


def check_api_key(form: Form, api_key: str | None, refusal: tuple[int, str] | None = None) -> None:
    """403 for a missing or wrong key, or `refusal` (status, message) for both where a server
    answers its own way."""
    if api_key is None:
        return
    given = form.scalars.get("api_key", "")
    problem = ("api_key is missing" if not given
               else None if hmac.compare_digest(given.encode("utf-8"), api_key.encode("utf-8"))
               else "api_key is not valid")
    if problem is not None:
        status, message = refusal or (403, problem)
        raise Rejected(status, [message])


def _check_contact(scalars: dict[str, str], errors: list[str]) -> tuple[str, str]:
    """The email and media_url of a form (stripped), adding a message for each bad one."""
    email = scalars.get("email", "").strip()
    if email and not EMAIL.match(email):
        errors.append(f"email {email!r} is not an email address")
    media_url = scalars.get("media_url", "").strip()
    if media_url and not media_url.lower().startswith(("http://", "https://")):
        errors.append("media_url must be an http or https URL")
    return email, media_url


def _check_description(description: str, errors: list[str]) -> None:
    if len(description) > MAX_DESCRIPTION:
        errors.append(f"description is too long: {len(description)} characters, the most is {MAX_DESCRIPTION}")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _check_attribute(attribute: Attribute, values: list[str], errors: list[str]) -> Any:
    """The attribute's value as stored (a string, or a list for multivaluelist); None if empty."""
    name = f"attribute[{attribute.code}]"
    values = [value for value in values if value.strip() != ""]
    if not values:
        if attribute.required:
            errors.append(f"{name} is required: {attribute.description}")
        return None
    if any(len(value) > MAX_VALUE for value in values):
        errors.append(f"{name} is longer than {MAX_VALUE} characters")
        return None
    keys = [value.key for value in attribute.values]
    if attribute.datatype == "multivaluelist":
        unknown = [value for value in values if value not in keys]
        if unknown:
            errors.append(f"{name}: {', '.join(map(repr, unknown))} not one of {', '.join(keys)}")
        if len(set(values)) != len(values):
            errors.append(f"{name} repeats a value")
        return values
    if len(values) > 1:
        errors.append(f"{name} takes one value, not {len(values)}")
        return None
    problem = _single_value_problem(attribute, values[0], keys)
    if problem:
        errors.append(f"{name}{problem}")
    return values[0]


def _single_value_problem(attribute: Attribute, value: str, keys: list[str]) -> str:
    """What is wrong with the one value of a single-value attribute, worded to follow its name."""
    if attribute.datatype == "singlevaluelist" and value not in keys:
        return f": {value!r} is not one of {', '.join(keys)}"
    if attribute.datatype == "number" and _number(value) is None:
        return f": {value!r} is not a number"
    if attribute.datatype == "datetime" and not _is_datetime(value):
        return f": {value!r} is not an ISO 8601 date and time"
    if attribute.datatype in ("string", "text") and attribute.max_length and len(value) > attribute.max_length:
        return f" is longer than {attribute.max_length} characters"
    return ""


def _check_location(scalars: dict[str, str], errors: list[str]) -> tuple[float | None, float | None]:
    """lat and long (None unless both are good), adding a message for each problem; a request
    needs them, an address_string or an address_id."""
    lat_text, long_text = scalars.get("lat", "").strip(), scalars.get("long", "").strip()
    if not (lat_text or long_text):
        if not (scalars.get("address_string", "").strip() or scalars.get("address_id", "").strip()):
            errors.append("a location is required: lat and long, address_string or address_id")
        return None, None
    if not (lat_text and long_text):
        errors.append("lat and long must be given together")
        return None, None
    lat, long = _number(lat_text), _number(long_text)
    if lat is None or long is None:
        errors.append(f"lat and long must be numbers (WGS84), not {lat_text!r} and {long_text!r}")
        return None, None
    if not -90 <= lat <= 90:
        errors.append(f"lat {lat_text} is out of range (-90 to 90)")
    if not -180 <= long <= 180:
        errors.append(f"long {long_text} is out of range (-180 to 180)")
    return lat, long


def _check_attributes(form: Form, service: Service, errors: list[str]) -> dict[str, Any]:
    """The answers to store, by attribute code, adding a message for each bad or unknown one."""
    known = {attribute.code for attribute in service.attributes}
    for unknown in sorted(form.attributes.keys() - known):
        errors.append(f"attribute[{unknown}] is not an attribute of service {service.code}")
    answers: dict[str, Any] = {}
    for attribute in service.questions:
        if not attribute.variable:
            continue
        value = _check_attribute(attribute, form.attributes.get(attribute.code, []), errors)
        if value is not None:
            answers[attribute.code] = value
    return answers


def validate_request(form: Form, services: Services) -> dict[str, Any]:
    """The fields to store for a valid request, or Rejected(400) listing every problem."""
    scalars = form.scalars
    code = scalars.get("service_code", "").strip()
    if not code:
        raise Rejected(400, ["service_code is required"])
    service = services.get(code)
    if service is None:
        raise Rejected(400, [f"service_code {code!r} is unknown: no such service"])

    errors: list[str] = [f"{key} was given more than once" for key in form.duplicated]
    lat, long = _check_location(scalars, errors)
    description = scalars.get("description", "")
    _check_description(description, errors)
    email, media_url = _check_contact(scalars, errors)
    attributes = _check_attributes(form, service, errors)
    if errors:
        raise Rejected(400, errors)
    return {
        "service_code": code,
        "service_name": service.name,
        "description": description,  # verbatim: clients find their requests again by it
        "address_string": scalars.get("address_string", "").strip() or None,
        "address_id": scalars.get("address_id", "").strip() or None,
        "lat": lat,
        "long": long,
        "attributes": attributes,
        "email": email or None,
        "phone": scalars.get("phone", "").strip() or None,
        "first_name": scalars.get("first_name", "").strip() or None,
        "last_name": scalars.get("last_name", "").strip() or None,
        "device_id": scalars.get("device_id", "").strip() or None,
        "account_id": scalars.get("account_id", "").strip() or None,
        "media_url": media_url or None,
        "jurisdiction_id": scalars.get("jurisdiction_id", "").strip() or None,
    }


UPDATE_REQUIRED = ("service_request_id", "update_id", "status", "updated_datetime", "description")


def validate_update(form: Form) -> dict[str, Any]:
    """The fields of a valid `POST servicerequestupdates` (mySociety's extension), or
    Rejected(400) listing every problem. The status is an extended status in upper case, as
    FixMyStreet sends it (`REOPEN`); it comes back lower case. Contact details are checked but
    not returned: the back office shows none of them and so keeps none."""
    scalars = form.scalars
    errors: list[str] = [f"{key} was given more than once" for key in form.duplicated]
    errors.extend(f"{name} is required" for name in UPDATE_REQUIRED if not scalars.get(name, "").strip())
    status = scalars.get("status", "").strip()
    if status and (status != status.upper() or status.lower() not in STATUSES):
        errors.append(f"status {status!r} is not one of {', '.join(code.upper() for code in STATUSES)}")
    updated = scalars.get("updated_datetime", "").strip()
    if updated and not _is_datetime(updated):
        errors.append(f"updated_datetime {updated!r} is not an ISO 8601 date and time")
    _check_description(scalars.get("description", ""), errors)
    _, media_url = _check_contact(scalars, errors)
    if form.attributes:
        errors.append("an update takes no attributes")
    if errors:
        raise Rejected(400, errors)
    return {
        "service_request_id": scalars["service_request_id"].strip(),
        "update_id": scalars["update_id"].strip(),
        "status": status.lower(),
        "description": scalars["description"],
        "media_url": media_url or None,
        "account_id": scalars.get("account_id", "").strip() or None,
    }
