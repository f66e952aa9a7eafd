"""The service catalogue, modelled on Open311 GeoReport v2 services and service definitions.

A bundled catalogue for the demo council ships with the package (data/catalogue.toml); its
resident-facing strings are gettext message ids, extracted by `catalogue_extract`. When the sync
worker fetches the council's own catalogue, that becomes authoritative for which services exist
and what attributes they take, while the bundled one stays as an *overlay* that keeps supplying
keywords, plain-language prompts and urgent notices for the codes it knows. The last good council
catalogue is cached in the store, so a kiosk that has never been online works on the bundled one.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import asdict, dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

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
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Service]:
        return {service.code: service for service in self.services}

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


def merge(council: Catalogue, overlay: Catalogue) -> Catalogue:
    """The council's services and attributes, with the overlay's plain words where it has them.

    The council decides codes, attributes and list values (it will reject anything else); the
    overlay supplies the resident-facing name, group, journey, keywords, prompts and urgent
    notice for codes it knows, because those are translated and written for residents. Attribute
    prompts and hints come from the overlay only where the overlay's attribute has the same code.
    """
    merged = []
    for service in council.services:
        known = overlay.get(service.code)
        if known is None:
            merged.append(service)
            continue
        known_attributes = {attribute.code: attribute for attribute in known.attributes}
        attributes = tuple(
            replace(attribute, description=known_attributes[attribute.code].description,
                    hint=known_attributes[attribute.code].hint)
            if attribute.code in known_attributes else attribute
            for attribute in service.attributes
        )
        merged.append(replace(
            service, name=known.name, description=known.description or service.description,
            group=known.group or service.group, journey=known.journey, keywords=known.keywords,
            lgsl=known.lgsl, urgent_notice=known.urgent_notice, description_prompt=known.description_prompt,
            description_hint=known.description_hint, attributes=attributes,
        ))
    return Catalogue(version=council.version, source="council", services=tuple(merged))


def current(cached_json: str | None) -> Catalogue:
    """The catalogue to use now: the cached council one merged with the bundled overlay, or the
    bundled one when there is no cache or the cache cannot be read (logged, never fatal)."""
    overlay = bundled()
    if not cached_json:
        return overlay
    try:
        return merge(Catalogue.from_json(cached_json), overlay)
    except (CatalogueError, ValueError, KeyError, TypeError) as error:
        log.warning("cached council catalogue unreadable (%s); using the bundled catalogue", error)
        return overlay

