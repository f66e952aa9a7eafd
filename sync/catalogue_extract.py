"""Babel extractor for the bundled service catalogue (registered as `assist_catalogue`).

The catalogue's resident-facing strings are gettext message ids like any in the code, so they
have one home, the .po catalogues, and translators see each with a comment saying what it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import BinaryIO

from sync.catalogue import Catalogue, parse_bundled


def keyword_message(keywords: tuple[str, ...]) -> str:
    """Keywords travel as one message, so a translator can give as many or as few as fit."""
    return ", ".join(keywords)


def messages(catalogue: Catalogue) -> Iterator[tuple[str, str]]:
    """(message, translator comment) for every resident-facing string, in file order."""
    for service in catalogue.services:
        code = service.code
        yield service.name, f"Name of the service '{code}', shown in menus and on confirmations."
        if service.description:
            yield service.description, f"One-line explanation of the service '{code}' under its name."
        yield service.group, "Heading of a group of services in the menu."
        if service.urgent_notice:
            yield service.urgent_notice, (f"Urgent safety notice shown before reporting '{code}'. "
                                          "Keep {phone} exactly: it becomes the council's phone number.")
        if service.description_prompt:
            yield service.description_prompt, f"Question asking for a free-text description for '{code}'."
        if service.description_hint:
            yield service.description_hint, f"Hint under the description question for '{code}'."
        if service.keywords:
            yield keyword_message(service.keywords), (
                f"Comma-separated words a resident might text to mean '{code}'. Give the words people "
                "really use in your language (misspellings welcome), not a literal translation.")
        for attribute in service.attributes:
            yield attribute.description, f"Question about '{code}' (attribute {attribute.code})."
            if attribute.hint:
                yield attribute.hint, f"Hint under the question {attribute.code} of '{code}'."
            for value in attribute.values:
                yield value.name, f"An answer to the question {attribute.code} of '{code}'."


def extract(fileobj: BinaryIO, keywords: Mapping[str, object], comment_tags: Collection[str],
            options: Mapping[str, object]) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extractor interface: (line number, function name, message, translator comments)."""
    text = fileobj.read().decode("utf-8")
    lines = text.splitlines()
    for message, comment in messages(parse_bundled(text, getattr(fileobj, "name", "catalogue"))):
        needle = message.split(",")[0][:40]
        lineno = next((number for number, line in enumerate(lines, 1) if needle in line), 0)
        yield lineno, None, message, [comment]
