"""The service catalogue, modelled on Open311 GeoReport v2 services and service definitions.

A bundled catalogue for the demo council ships with the package (data/catalogue.toml); its
resident-facing strings are gettext message ids, extracted by `catalogue_extract`. When the sync
worker fetches the council's own catalogue, that becomes authoritative for which services exist
and what attributes they take, while the bundled one stays as an *overlay* that keeps supplying
keywords, plain-language prompts and urgent notices for the council services it matches
(sync/overlay.py: councils use their own codes). The last good council catalogue is cached in the
store, so a kiosk that has never been online works on the bundled one.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import asdict, dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Mapping

from sync import overlay as overlay_module

log = logging.getLogger(__name__)

BUNDLED_PATH = Path(__file__).parent / "data" / "catalogue.toml"
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
JOURNEYS = ("report", "request")


class CatalogueError(Exception):
    """A catalogue that cannot be used, with where and why."""


@dataclass(frozen=True)
class Value:
    key: str
    name: str
    overlay: str = ""  # in a merged catalogue, the key of the bundled value whose words it took


@dataclass(frozen=True)
class Attribute:
    """An Open311 attribute: one question the council asks about a service."""

    code: str
    datatype: str
    description: str  # Open311's name for the question text
    required: bool = False
    order: int = 0
    hint: str = ""
    values: tuple[Value, ...] = ()
    variable: bool = True  # False: informational text only, nothing to answer
    max_length: int | None = None
    overlay: str = ""  # in a merged catalogue, the code of the bundled attribute whose words it took


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str = ""
    group: str = ""
    journey: str = "report"  # report a problem, or ask for a service
    keywords: tuple[str, ...] = ()
    lgsl: int | None = None
    urgent_notice: str = ""  # shown before the questions; `{phone}` is the council's number
    description_prompt: str = ""
    description_hint: str = ""
    attributes: tuple[Attribute, ...] = ()
    type: str = "realtime"
    overlay: str = ""  # in a merged catalogue, the bundled service whose words it took
    matched_by: str = ""  # how: pinned, code, lgsl, name or none (sync/overlay.py); empty if not merged

    @property
    def metadata(self) -> bool:
        """Open311's flag: whether a service definition (attributes) exists."""
        return bool(self.attributes)

    @property
    def questions(self) -> tuple[Attribute, ...]:
        """Attributes in the order the council wants them asked."""
        return tuple(sorted(self.attributes, key=lambda attribute: attribute.order))


@dataclass(frozen=True)
class Catalogue:
    version: str
    source: str  # "bundled" or "council"
    services: tuple[Service, ...] = field(default=())

    def get(self, code: str) -> Service | None:
        """The service with this code; in a merged catalogue, also the council service that took
        the words of the bundled service `code`, so a conversation or submission begun on the
        bundled catalogue before the council's arrived still finds its service."""
        return self._by_code.get(code) or self._by_overlay.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Service]:
        return {service.code: service for service in self.services}

    @cached_property
    def _by_overlay(self) -> dict[str, Service]:
        return {service.overlay: service for service in self.services if service.overlay}

    def council_code(self, code: str) -> str:
        """The code the council knows for `code`: itself if it is a council code (or nothing
        matched it), else the council service that took the bundled service's words."""
        service = self.get(code)
        return service.code if service is not None else code

    def council_attributes(self, code: str, answers: Mapping[str, Any]) -> dict[str, Any]:
        """`answers` keyed by the council's attribute codes and list keys: answers given on the
        bundled catalogue (by bundled codes and keys) are renamed through the match. Anything
        unmatched is passed on unchanged, for the council to accept or refuse in its own words."""
        service = self.get(code)
        if service is None:
            return dict(answers)
        by_code = {attribute.code: attribute for attribute in service.attributes}
        by_overlay = {attribute.overlay: attribute for attribute in service.attributes if attribute.overlay}
        renamed: dict[str, Any] = {}
        for key, answer in answers.items():
            attribute = by_code.get(key) or by_overlay.get(key)
            if attribute is None:
                renamed[key] = answer
                continue
            keys = {value.key for value in attribute.values}
            values = {value.overlay: value.key for value in attribute.values if value.overlay}

            def council_key(given: Any) -> Any:
                return given if given in keys else values.get(given, given)
            renamed[attribute.code] = ([council_key(item) for item in answer] if isinstance(answer, list)
                                       else council_key(answer))
        return renamed

    def groups(self, journey: str | None = None) -> dict[str, list[Service]]:
        """Services by group, groups in first-seen order, for menus."""
        grouped: dict[str, list[Service]] = {}
        for service in self.services:
            if journey is None or service.journey == journey:
                grouped.setdefault(service.group, []).append(service)
        return grouped

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Catalogue":
        data = json.loads(text)
        return cls(version=data["version"], source=data["source"],
                   services=tuple(service_from_dict(item, "cache") for item in data["services"]))


def to_council(catalogue: Catalogue | None, code: str, answers: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A submission's service code and answers as the council knows them (unchanged without a
    catalogue): one queued under bundled codes before the council's catalogue arrived is sent
    under the codes of the council service that took the bundled one's words."""
    if catalogue is None:
        return code, dict(answers)
    return catalogue.council_code(code), catalogue.council_attributes(code, answers)


def _attribute_from_dict(item: dict[str, Any], where: str) -> Attribute:
    try:
        datatype = item["datatype"]
        if datatype not in DATATYPES:
            raise CatalogueError(f"{where}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
        values = tuple(Value(key=str(v["key"]), name=str(v["name"])) for v in item.get("values", ()))
        if datatype in ("singlevaluelist", "multivaluelist") and not values:
            raise CatalogueError(f"{where}: a {datatype} needs values")
        return Attribute(
            code=str(item["code"]), datatype=datatype, description=str(item["description"]),
            required=_boolean(item.get("required", False)), order=int(item.get("order", 0)),
            hint=str(item.get("hint", "")), values=values, variable=_boolean(item.get("variable", True)),
            max_length=item.get("max_length"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CatalogueError(f"{where}: attribute is missing or has a bad {error}") from None


def service_from_dict(item: dict[str, Any], where: str) -> Service:
    try:
        code = str(item["code"])
        where = f"{where}: service {code}"
        journey = item.get("journey", "report")
        if journey not in JOURNEYS:
            raise CatalogueError(f"{where}: journey must be one of {', '.join(JOURNEYS)}")
        attributes = tuple(
            _attribute_from_dict(attribute, f"{where}, attribute {index + 1}")
            for index, attribute in enumerate(item.get("attributes", item.get("attribute", ())))
        )
        return Service(
            code=code, name=str(item["name"]), description=str(item.get("description", "")),
            group=str(item.get("group", "")), journey=journey, keywords=tuple(item.get("keywords", ())),
            lgsl=item.get("lgsl"), urgent_notice=str(item.get("urgent_notice", "")),
            description_prompt=str(item.get("description_prompt", "")),
            description_hint=str(item.get("description_hint", "")), attributes=attributes,
            type=str(item.get("type", "realtime")),
        )
    except KeyError as error:
        raise CatalogueError(f"{where}: missing {error}") from None


def _boolean(value: Any) -> bool:
    """Real servers send booleans as "true"/"false" strings; accept both."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def parse_bundled(text: str, where: str = "catalogue") -> Catalogue:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{where}: not valid TOML: {error}") from None
    services = tuple(service_from_dict(item, where) for item in data.get("service", ()))
    if not services:
        raise CatalogueError(f"{where}: no services")
    return Catalogue(version=str(data.get("version", "unversioned")), source="bundled", services=services)


@cache
def bundled() -> Catalogue:
    """The catalogue shipped with the package. A broken one is a packaging fault: it raises."""
    return parse_bundled(BUNDLED_PATH.read_text(encoding="utf-8"), str(BUNDLED_PATH))


def merge(council: Catalogue, overlay: Catalogue, pins: Mapping[str, str] | None = None) -> Catalogue:
    """The council's services and attributes, with the overlay's plain words where it has them.

    The council decides codes, attributes and list values (it will reject anything else); the
    overlay supplies the resident-facing name, group, journey, keywords, prompts and urgent
    notice of the bundled service each council service matches (sync/overlay.py; `pins`, council
    code -> bundled code, fix a match by hand: `[catalogue.overlay]`, which the store holds),
    because those are translated and written for residents. Attribute questions and hints, and list value
    names, come from the overlay only where an attribute or value matched too.
    """
    matches = overlay_module.match_services(council.services, overlay.services, pins or {})
    merged = []
    for service in council.services:
        match = matches[service.code]
        known = overlay.get(match.bundled) if match.bundled else None
        if known is None:
            merged.append(replace(service, matched_by="none", lgsl=overlay_module.lgsl_of(service),
                                  keywords=overlay_module.words_only(service.keywords)))
            continue
        merged.append(replace(
            service, name=known.name, description=known.description or service.description,
            group=known.group or service.group, journey=known.journey, keywords=known.keywords,
            lgsl=known.lgsl, urgent_notice=known.urgent_notice, description_prompt=known.description_prompt,
            description_hint=known.description_hint, attributes=_merge_attributes(service, known),
            overlay=known.code, matched_by=match.how,
        ))
    return Catalogue(version=council.version, source="council", services=tuple(merged))


def _merge_attributes(service: Service, known: Service) -> tuple[Attribute, ...]:
    """The council's attributes, each with the words of the bundled attribute it matches."""
    taken: set[str] = set()
    merged = []
    for attribute in service.attributes:
        ours = overlay_module.match_attribute(attribute, known.attributes, taken)
        if ours is None:
            merged.append(attribute)
            continue
        taken.add(ours.code)
        used: set[str] = set()
        values = []
        for value in attribute.values:
            same = overlay_module.match_value(value, ours.values, used)
            if same is not None:
                used.add(same.key)
                value = replace(value, name=same.name, overlay=same.key)
            values.append(value)
        merged.append(replace(attribute, description=ours.description, hint=ours.hint, values=tuple(values),
                              overlay=ours.code))
    return tuple(merged)


def current(cached_json: str | None, pins: Mapping[str, str]) -> Catalogue:
    """The catalogue to use now: the cached council one merged with the bundled overlay (`pins`,
    council code -> bundled code, are the matches fixed by hand), or the bundled one when there is
    no cache or the cache cannot be read (logged, never fatal)."""
    overlay = bundled()
    if not cached_json:
        return overlay
    try:
        return merge(Catalogue.from_json(cached_json), overlay, pins)
    except (CatalogueError, ValueError, KeyError, TypeError) as error:
        log.warning("cached council catalogue unreadable (%s); using the bundled catalogue", error)
        return overlay
