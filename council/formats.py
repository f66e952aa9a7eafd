"""JSON and XML, the two GeoReport v2 formats, chosen by the path suffix.

JSON answers are top-level arrays (the service definition is one object); XML answers have the
spec's roots: `<services><service>`, `<service_definition>`, `<service_requests><request>`,
`<service_requests_updates><request_update>` and `<errors><error>`. XML is built with
ElementTree, which escapes text; characters XML 1.0 cannot carry at all (most control
characters) are replaced with U+FFFD, so the document always parses.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable, Mapping

from starlette.responses import Response

from council.services import Attribute, Service

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

#: Element name for each item of a list-valued field in XML.
XML_LIST_ITEMS = {"attributes": "attribute", "values": "value"}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def format_of(path: str) -> str:
    """The format a path asks for; JSON when it names neither (for errors on unknown paths)."""
    return "xml" if path.lower().endswith(".xml") else "json"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, data: Mapping[str, Any]) -> ET.Element:
    for key, value in data.items():
        child = ET.SubElement(element, key)
        if isinstance(value, (list, tuple)):
            item_tag = XML_LIST_ITEMS.get(key, "item")
            for item in value:
                if isinstance(item, Mapping):
                    _fill(ET.SubElement(child, item_tag), item)
                else:
                    ET.SubElement(child, item_tag).text = _text(item)
        elif isinstance(value, Mapping):
            _fill(child, value)
        else:
            child.text = _text(value)
    return element


def _xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


def render_list(fmt: str, items: Iterable[Mapping[str, Any]], *, root: str, item: str, status: int = 200,
                headers: Mapping[str, str] | None = None, empty_xml: str | None = None) -> Response:
    """A list answer; `empty_xml` is the literal element an empty XML list is written as."""
    items = list(items)
    if fmt == "xml" and not items and empty_xml is not None:
        return Response(b'<?xml version="1.0" encoding="utf-8"?>\n' + empty_xml.encode("utf-8"),
                        status_code=status, media_type=XML_TYPE, headers=headers)
    if fmt == "xml":
        element = ET.Element(root)
        for entry in items:
            _fill(ET.SubElement(element, item), entry)
        return Response(_xml_bytes(element), status_code=status, media_type=XML_TYPE, headers=headers)
    return Response(json.dumps(items, ensure_ascii=False).encode("utf-8"), status_code=status,
                    media_type=JSON_TYPE, headers=headers)


def render_object(fmt: str, data: Mapping[str, Any], *, root: str, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml_bytes(_fill(ET.Element(root), data)), status_code=status, media_type=XML_TYPE)
    return Response(json.dumps(data, ensure_ascii=False).encode("utf-8"), status_code=status, media_type=JSON_TYPE)


def render_errors(fmt: str, status: int, *descriptions: str, code: int | None = None,
                  headers: Mapping[str, str] | None = None) -> Response:
    errors = [{"code": code or status, "description": description} for description in descriptions]
    return render_list(fmt, errors, root="errors", item="error", status=status, headers=headers)


# -- the shapes of the answers ------------------------------------------------------------------

def service_view(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.metadata,
        "type": service.type,
        "keywords": ", ".join(service.keywords),
        "group": service.group,
    }


def datatype_description(attribute: Attribute) -> str:
    if attribute.datatype in ("string", "text") and attribute.max_length:
        return f"Up to {attribute.max_length} characters."
    return {
        "number": "A number, for example 3 or 2.5.",
        "datetime": "An ISO 8601 date and time, for example 2026-11-24T09:30:00Z.",
        "singlevaluelist": "One of the keys in values.",
        "multivaluelist": "One or more of the keys in values, each as attribute[code][]=key.",
    }.get(attribute.datatype, "")


def attribute_view(attribute: Attribute) -> dict[str, Any]:
    return {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": datatype_description(attribute),
        "order": attribute.order,
        "description": attribute.description,
        "values": [{"key": value.key, "name": value.name} for value in attribute.values],
    }


def definition_view(service: Service) -> dict[str, Any]:
    return {"service_code": service.code,
            "attributes": [attribute_view(attribute) for attribute in service.questions]}


def request_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored request as GET requests answers it: no contact details, ever."""
    return {
        "service_request_id": row["service_request_id"],
        "status": row["status"],
        "status_notes": row["status_notes"],
        "service_name": row["service_name"],
        "service_code": row["service_code"],
        "description": row["description"],
        "agency_responsible": row["agency_responsible"],
        "service_notice": row["service_notice"],
        "requested_datetime": row["requested_datetime"],
        "updated_datetime": row["updated_datetime"],
        "expected_datetime": None,
        "address": row["address_string"],
        "address_id": row["address_id"],
        "zipcode": None,
        "lat": row["lat"],
        "long": row["long"],
        "media_url": row["media_url"],
    }


def update_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "update_id": str(row["id"]),
        "service_request_id": row["service_request_id"],
        "status": row["status"],
        "updated_datetime": row["updated_datetime"],
        "description": row["description"],
        "media_url": row["media_url"],
    }
