"""The services the back office offers, read from its own file (council/services.toml).

The back office is the far side of the wire, so it reads its services itself: were it to borrow the
product's catalogue parser, a misreading (a value key, a datatype, which answer is required) would be
made on both sides and no round trip would show it. The file has the product's TOML shape, and this
reads only what the back office serves and checks. A file it cannot use raises `ServicesError`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

SERVICES_FILE = Path(__file__).with_name("services.toml")
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LISTS = ("singlevaluelist", "multivaluelist")

T = TypeVar("T")


class ServicesError(Exception):
    """A services file the back office cannot serve, with where and why."""


@dataclass(frozen=True)
class Value:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """One question of a service definition; `variable=False` is information, nothing to answer."""

    code: str
    datatype: str
    description: str
    required: bool = False
    order: int = 0
    values: tuple[Value, ...] = ()
    variable: bool = True
    max_length: int | None = None


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str = ""
    group: str = ""
    keywords: tuple[str, ...] = ()
    type: str = "realtime"
    attributes: tuple[Attribute, ...] = ()

    @property
    def metadata(self) -> bool:
        """Open311's flag: whether the service has a definition (attributes)."""
        return bool(self.attributes)

    @property
    def questions(self) -> tuple[Attribute, ...]:
        """Attributes in the order the council asks them."""
        return tuple(sorted(self.attributes, key=lambda attribute: attribute.order))


@dataclass(frozen=True)
class Services:
    version: str
    services: tuple[Service, ...] = ()

    def get(self, code: str) -> Service | None:
        return next((service for service in self.services if service.code == code), None)


def _field(table: dict[str, Any], name: str, kind: type[T], where: str, default: T | None = None) -> T:
    """`table[name]` if it is a `kind`; `default` when absent (required when there is none)."""
    if name not in table:
        if default is None:
            raise ServicesError(f"{where}: {name} is missing")
        return default
    value = table[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ServicesError(f"{where}: {name} must be a {kind.__name__}, not {value!r}")
    return value


def _attribute(table: dict[str, Any], where: str) -> Attribute:
    datatype = _field(table, "datatype", str, where)
    if datatype not in DATATYPES:
        raise ServicesError(f"{where}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
    values = tuple(Value(_field(value, "key", str, where), _field(value, "name", str, where))
                   for value in _field(table, "values", list, where, []))
    if (datatype in LISTS) != bool(values):
        raise ServicesError(f"{where}: values belong to a list datatype, and every list needs them")
    max_length = table.get("max_length")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)):
        raise ServicesError(f"{where}: max_length must be a whole number, not {max_length!r}")
    return Attribute(code=_field(table, "code", str, where), datatype=datatype,
                     description=_field(table, "description", str, where),
                     required=_field(table, "required", bool, where, False),
                     order=_field(table, "order", int, where, 0), values=values,
                     variable=_field(table, "variable", bool, where, True), max_length=max_length)


def _service(table: dict[str, Any], where: str) -> Service:
    code = _field(table, "code", str, where)
    where = f"{where}: service {code}"
    attributes = tuple(_attribute(attribute, f"{where}, attribute {number}")
                       for number, attribute in enumerate(_field(table, "attribute", list, where, []), start=1))
    return Service(code=code, name=_field(table, "name", str, where),
                   description=_field(table, "description", str, where, ""),
                   group=_field(table, "group", str, where, ""),
                   keywords=tuple(_field(table, "keywords", list, where, [])),
                   type=_field(table, "type", str, where, "realtime"), attributes=attributes)


def parse(text: str, where: str = "services") -> Services:
    """The services of a TOML services file; ServicesError naming the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ServicesError(f"{where}: not valid TOML: {error}") from None
    services = tuple(_service(table, where) for table in _field(data, "service", list, where, []))
    if not services:
        raise ServicesError(f"{where}: no services")
    codes = [service.code for service in services]
    if len(set(codes)) != len(codes):
        raise ServicesError(f"{where}: a service code is given twice")
    return Services(version=_field(data, "version", str, where, "unversioned"), services=services)


@cache
def own() -> Services:
    """The demo council's services (council/services.toml); a broken file raises."""
    return parse(SERVICES_FILE.read_text(encoding="utf-8"), str(SERVICES_FILE))
