"""Reading what Open311 servers send, liberal in what is accepted: JSON or XML (parsed with
defusedxml, never a DTD), lists under whatever name a server gives them, ids as numbers or
text, and times with or without a zone (../shared/reference/open311.md, "Seen on real servers").
"""

from __future__ import annotations

import email.utils
import json
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

#: Elements that hold a list whatever their children, so an empty one is an empty list.
LIST_TAGS = frozenset({"services", "attributes", "values", "service_requests", "requests", "errors",
                       "service_requests_updates", "service_request_updates"})
ERROR_TEXT_MAX = 500
#: The longest id or token taken from a council: anything longer is not an id.
ID_MAX = 100


def _from_xml(element: Element) -> Any:
    children = list(element)
    if not children:
        return [] if element.tag in LIST_TAGS else (element.text or "").strip()
    if element.tag in LIST_TAGS:
        return [_from_xml(child) for child in children]
    return {child.tag: _from_xml(child) for child in children}


def _is_list_root(root: Element) -> bool:
    """Whether a document's root holds a list of records, whatever it is called: servers name it
    `<service_requests>`, `<requests>`, `<services>` or otherwise. Records are elements with
    elements inside, all of one tag; an empty root is an empty list, never an error."""
    children = list(root)
    if not children:
        return not (root.text or "").strip()
    return (len({child.tag for child in children}) == 1 and children[0].tag not in LIST_TAGS
            and all(len(child) for child in children))


def parse_body(content: bytes, fmt: str) -> Any:
    """JSON or XML into Python; raises ValueError for anything malformed or dangerous."""
    if fmt == "xml":
        try:
            root = parse_xml(content, forbid_dtd=True)
            if _is_list_root(root):
                return [_from_xml(child) for child in root]
            return _from_xml(root)
        except (ParseError, DefusedXmlException, RecursionError) as error:
            raise ValueError(f"unreadable XML ({type(error).__name__})") from None
    try:
        return json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"unreadable JSON ({error})") from None
    except RecursionError:
        raise ValueError("unreadable JSON (nested too deeply)") from None


def records(body: Any) -> list[dict[str, Any]]:
    """A list of objects from the shapes servers use: a bare array, a wrapped one, or one object."""
    if isinstance(body, dict):
        wrapped = [value for value in body.values() if isinstance(value, list)]
        body = wrapped[0] if len(body) == 1 and wrapped else [body]
    if not isinstance(body, list):
        raise ValueError("expected a list of records")
    return [item for item in body if isinstance(item, dict)]


def _words(item: dict[str, Any]) -> Any:
    """The words of one error record, under whichever key the server puts them."""
    text = item.get("description") or item.get("detail") or item.get("message") or item.get("error")
    return _words(text) if isinstance(text, dict) else text


def error_message(content: bytes, fmt: str) -> str:
    """The council's own words from an error body, whatever its shape; else a short excerpt."""
    texts: list[str] = []
    try:
        body = parse_body(content, fmt)
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), list):
            body = next(iter(body.values()))  # {"errors": [...]}
        for item in (body if isinstance(body, list) else [body]):
            if isinstance(item, dict):
                text = _words(item)
                texts.append(str(text) if text else json.dumps(item)[:200])
            elif item:
                texts.append(str(item))
    except ValueError:
        texts.append(content[:200].decode("utf-8", "replace"))
    return "; ".join(text.strip() for text in texts if text.strip())[:ERROR_TEXT_MAX] or "no reason given"


def http_date(value: str) -> datetime | None:
    """An HTTP date, always aware: one with a "-0000" zone parses naive, and is UTC."""
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def an_id(value: Any) -> str | None:
    """A council's id or token as text, or None for anything that cannot be one (an object, a
    list, a boolean, a float, blank, too long, control characters): never accept a bogus id."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text if text and len(text) <= ID_MAX and text.isprintable() else None


def as_text(value: Any) -> str | None:
    """Ids arrive as numbers or strings; 0 is a real id, so never test ids for truth."""
    if value is None or value == "":
        return None
    return str(value)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_when(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
