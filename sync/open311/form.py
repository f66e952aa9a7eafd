"""The form of an Open311 POST for a claimed submission, and what of it must never be stored.

Built in one place so the worker, the follow-ups' new requests and the scrubbing of a council's
words (sync.scrub) all see the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync import reference as reference_module
from sync import scrub
from sync.catalogue import Catalogue, to_council
from sync.config import KioskSettings, parse_point
from sync.flow import DESCRIPTION_MAX
from sync.places import gazetteer
from sync.store import Claimed

Fields = list[tuple[str, str]]


@dataclass(frozen=True)
class SentForm:
    """A form as posted (with the API key it carries) and its service's list keys, which sync.scrub
    keeps: what a council's words about that request are scrubbed against."""

    fields: Fields
    list_keys: frozenset[str]


def compose_description(description: str, reference: str, note: str = "") -> str:
    """The reference, the resident's words, a note for the council (such as how it was made or
    where the place was described) and the reference again, within Open311's 4,000 characters.
    Only the resident's words are shortened to fit. The reference is how this submission is found
    again at the council if an answer is lost: at the start, so a back office that cuts
    descriptions short keeps it, and at the end, where people reading the request expect it."""
    tag = f"[assist reference {reference_module.display(reference)}]"
    tail = "".join(f"\n\n{part}" for part in (note, tag) if part)
    room = DESCRIPTION_MAX - len(tail) - len(tag) - 1
    text = description if len(description) <= room else description[:room - 1] + "…"
    if not text.strip():
        return f"{note}\n\n{tag}".strip()
    return f"{tag} {text.strip()}{tail}".replace(f"{tag} \n", f"{tag}\n").strip()


def assistance_note(assisted_by: str | None, kiosk: KioskSettings) -> str:
    """What the council is told of a volunteer's help: that there was some, and where; the
    volunteer's name only when `kiosk.name_volunteer_to_council` is on. Empty when unassisted."""
    if not assisted_by:
        return ""
    helper = f"{assisted_by} (volunteer)" if kiosk.name_volunteer_to_council else "a volunteer"
    return f"Submitted at {kiosk.library_name} with help from {helper}."


def _place_fields(location: dict[str, Any], place: tuple[float, float] | None, notes: list[str]) -> Fields:
    """Coordinates and address; a place given only in words is also noted in `notes`."""
    fields: Fields = []
    if location.get("lat") is not None and location.get("long") is not None:
        fields += [("lat", str(location["lat"])), ("long", str(location["long"]))]
    elif place is not None:
        fields += [("lat", str(place[0])), ("long", str(place[1]))]
        if location.get("address_string"):
            notes.append(f"Where: {location['address_string']}")
    for key in ("address_string", "address_id"):
        if location.get(key):
            fields.append((key, str(location[key])))
    return fields


def _attribute_fields(answers: dict[str, Any]) -> Fields:
    fields: Fields = []
    for code, value in answers.items():
        if isinstance(value, list):
            fields += [(f"attribute[{code}][]", str(item_value)) for item_value in value]
        else:
            fields.append((f"attribute[{code}]", str(value)))
    return fields


def _contact_fields(contact: dict[str, str]) -> Fields:
    fields: Fields = []
    if contact.get("name"):
        first, _, last = contact["name"].rpartition(" ")
        fields += [("first_name", first or last), ("last_name", last if first else "")]
    for key in ("email", "phone"):
        if contact.get(key):
            fields.append((key, contact[key]))
    return fields


def request_fields(item: Claimed, kiosk: KioskSettings, catalogue: Catalogue | None = None,
                   place: tuple[float, float] | None = None) -> Fields:
    """The form fields of an Open311 POST for a claimed submission (`kiosk`: the settings that
    word the note of a volunteer's help; `catalogue`: the one in force, for the council's codes).
    `place` gives coordinates for a place described only in words (see `place_for`); the words
    then go in the description too, since some servers ignore `address_string`."""
    payload = item.payload
    service_code, answers = to_council(catalogue, item.service_code, payload.get("attributes") or {})
    notes = [assistance_note(item.assisted_by, kiosk)]
    fields = [("service_code", service_code), *_place_fields(payload.get("location") or {}, place, notes),
              *_attribute_fields(answers)]
    fields.append(("description", compose_description(payload.get("description") or "", item.reference,
                                                      "\n".join(note for note in notes if note))))
    fields += _contact_fields(item.contact or {})
    fields.append(("device_id", item.device_id))
    return fields


def place_for(item: Claimed, kiosk: KioskSettings, places: gazetteer.Gazetteer | None) -> tuple[float, float] | None:
    """Coordinates for a place given only in words (councils that require them answer 500 to
    every such request, for ever): the gazetteer's best match for the words (`places`: None when
    the store holds none), else the library's own `kiosk.location`. None where the
    place has coordinates already."""
    location = item.payload.get("location") or {}
    if location.get("lat") is not None and location.get("long") is not None:
        return None
    words = str(location.get("address_string") or "")
    if words and places is not None and (found := places.search(words, limit=1)):
        if found[0].lat is not None and found[0].lon is not None:
            return found[0].lat, found[0].lon
    return parse_point(kiosk.location)


def personal_fields(item: Claimed) -> Fields:
    """What a claimed submission holds that is personal, as (field, value) for sync.scrub: its
    contact details and place as stored, the resident's own words before the reference was added
    to them, and the volunteer's name. (The form as posted holds them too, but reshaped.)"""
    pairs = [(key, str(value)) for key, value in (item.contact or {}).items() if value]
    pairs += [(key, str(value)) for key, value in (item.payload.get("location") or {}).items() if value is not None]
    pairs.append(("description", str(item.payload.get("description") or "")))
    if item.assisted_by:
        pairs.append(("name", item.assisted_by))
    return pairs


def list_keys(catalogue: Catalogue | None, service_code: str) -> frozenset[str]:
    """The keys of the service's list attributes: the council's own words, kept by sync.scrub."""
    service = catalogue.get(service_code) if catalogue is not None else None
    return frozenset(value.key for attribute in (service.attributes if service else ())
                     if attribute.datatype in ("singlevaluelist", "multivaluelist") for value in attribute.values)


def scrubbed(item: Claimed, reason: str, sent: SentForm | None = None) -> str:
    """A council's words as they may be stored (`last_error`, outbox events, the history) and
    logged: every value that was sent taken out (sync.scrub). `sent`: the form as posted, else the
    fields are built again here."""
    if sent is not None:
        fields, keys = sent.fields, sent.list_keys
    else:
        keys = frozenset()
        try:
            fields = request_fields(item, KioskSettings())
        except Exception:  # a payload request_fields cannot read: what it holds is still removed below
            fields = []
    return scrub.scrub(reason, [*fields, *personal_fields(item)], list_keys=keys)
