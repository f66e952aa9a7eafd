"""The offline gazetteer: the council's address list, searched by postcode or by street and number.

A kiosk has to find a resident's address with the network down, so the whole list lives in the
local store. This module is what the channels and commands import; the work is in three modules
named for it: `normalise` (how addresses and queries are read), `importer` (a council's CSV into
the store) and `search` (the `Gazetteer` that finds addresses and keeps its street list).
"""

from __future__ import annotations

from sync.places.importer import DEMO_CSV, FIELDS, GazetteerError, ImportReport, import_csv
from sync.places.normalise import ABBREVIATIONS, STREET_TYPES, address_words, normalise_postcode, split_address
from sync.places.search import Connected, Gazetteer, Place

__all__ = ["ABBREVIATIONS", "DEMO_CSV", "FIELDS", "STREET_TYPES", "Gazetteer", "GazetteerError", "ImportReport",
           "Place", "address_words", "count", "import_csv", "normalise_postcode", "search", "split_address"]


def count(db: Connected) -> int:
    """How many addresses the store holds: 0 until a council's list is imported."""
    return Gazetteer(db).count()


def search(db: Connected, query: str, limit: int = 10) -> list[Place]:
    """One search, for a caller that searches once (the demo, a worker's form): a caller that
    searches again and again keeps a `Gazetteer`, which builds its street list only once."""
    return Gazetteer(db).search(query, limit)
