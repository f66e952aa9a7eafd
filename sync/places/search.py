"""Finding an address however a resident types it: by postcode, by street and number, misspelt.

Search has three routes, tried in order, because residents type three kinds of thing:

* a postcode, whole or in part ("BF1 2AB", "bf1", "BF1 2"): an indexed range scan in
  house-number order, which is how people read a street;
* words and numbers ("12 high st"): an FTS5 prefix search, abbreviations normalised on both
  sides, the candidates ranked with rapidfuzz;
* the same with a misspelt street ("staton rd"): FTS finds nothing, so rapidfuzz compares the
  query with the distinct street names instead.

Each address carries `search_text` (its normalised words, which the FTS index is built from) and
`sort_key` (street, then house number as a number, then flat), so that every route can let SQLite
return rows already in reading order and stop at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sync.places.normalise import (
    HOUSE_NUMBER,
    STREET_TYPES,
    address_words,
    natural,
    normalise_postcode,
    postcode_prefixes,
)
from sync.store.db import Conn

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 10
#: FTS matches ranked per query; enough to hold every "12 High Street" across a borough's villages.
CANDIDATES = 300
#: Lowest rapidfuzz score (0-100) at which a street name counts as what the resident meant.
STREET_CUTOFF = 75
#: Streets within this many points of the best are shown too ("Station Road" and "Stanton Road").
STREET_TIE = 4

_COLUMNS = "uprn, address, postcode, lat, lon"


@dataclass(frozen=True)
class Place:
    """One addressable property: `address` is the whole line as residents read it, postcode last."""

    uprn: str
    address: str
    postcode: str
    lat: float
    lon: float


class Connected(Protocol):
    """A store's database as the gazetteer needs it: its SQLite connection."""

    @property
    def conn(self) -> Conn: ...


@dataclass(frozen=True)
class Streets:
    """The distinct (street, town) pairs of one import, and the strings rapidfuzz compares a query
    with: each street's normalised name, the name without its "road" or "lane" (residents often
    leave it off) and the name followed by its town; `owners[i]` is the pair `choices[i]` names."""

    generation: int | None  # the import they were read from (gazetteer_imports.id)
    pairs: list[tuple[str, str]]
    choices: list[str]
    owners: list[int]


class Gazetteer:
    """The addresses in one store, for searching. It holds the street list the misspelt-street route
    compares with, built at its first use and again only after an import (every import records
    itself in gazetteer_imports): a kiosk or the SMS service keeps one for as long as its store."""

    def __init__(self, db: Connected) -> None:
        self.conn = db.conn
        self._streets: Streets | None = None

    def count(self) -> int:
        """How many addresses there are: 0 until a council's list is imported."""
        return int(self.conn.execute("SELECT count(*) FROM addresses").fetchone()[0])

    def search(self, query: str, limit: int = 10) -> list[Place]:
        """Addresses matching what a resident typed, best first; [] for nothing usable.

        Never raises on the text itself: every word reaches FTS5 quoted, so its query syntax
        (quotes, *, -, :, NEAR, AND, brackets) is only ever read as words.
        """
        if not isinstance(query, str) or limit <= 0:
            return []
        query = query[:MAX_QUERY_CHARS]
        postcode = normalise_postcode(query)
        if postcode:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM addresses WHERE postcode_key = ? ORDER BY sort_key LIMIT ?",
                (postcode.replace(" ", ""), limit),
            ).fetchall()
            return [Place(*row) for row in rows]
        if found := self._postcode_start(query, limit):
            return found
        words = address_words(query)[:MAX_QUERY_WORDS]
        if not words:
            return []
        return self._text_search(words, limit) or self._street_search(words, limit)

    def _postcode_start(self, query: str, limit: int) -> list[Place]:
        """The addresses whose postcode starts as `query` does ("BF1", "BF1 2"), in postcode order."""
        rows: list[tuple[str, str, str, float, float, str, str]] = []
        for prefix, length in postcode_prefixes(query):
            # Keys hold only A-Z and 0-9, so every key starting with `prefix` sorts below prefix + "~".
            rows += self.conn.execute(
                f"SELECT {_COLUMNS}, postcode_key, sort_key FROM addresses"
                " WHERE postcode_key >= ? AND postcode_key < ? AND length(postcode_key) = ?"
                " ORDER BY postcode_key, sort_key LIMIT ?",
                (prefix, prefix + "~", length, limit),
            ).fetchall()
        rows.sort(key=lambda row: (row[5], row[6]))
        return [Place(*row[:5]) for row in rows[:limit]]

    def _text_search(self, words: list[str], limit: int) -> list[Place]:
        """FTS5 over the normalised words, the last word as a prefix (it may still be being typed),
        then every word as a prefix; the candidates ranked by how closely they read like the query."""
        for every_word_a_prefix in (False, True):
            terms = [f'"{word}"*' if every_word_a_prefix or last else f'"{word}"'
                     for last, word in zip([False] * (len(words) - 1) + [True], words)]
            rows = self.conn.execute(
                "SELECT a.uprn, a.address, a.postcode, a.lat, a.lon, a.street, a.search_text, a.sort_key"
                " FROM addresses_fts JOIN addresses AS a ON a.id = addresses_fts.rowid"
                " WHERE addresses_fts MATCH ? LIMIT ?",
                (" ".join(terms), CANDIDATES),
            ).fetchall()
            if rows:
                wanted = " ".join(words)
                rows.sort(key=lambda row: (*_closeness(wanted, row[1], row[5], row[6]), row[7]))
                return [Place(*row[:5]) for row in rows[:limit]]
        return []

    def _street_search(self, words: list[str], limit: int) -> list[Place]:
        """Misspelt streets: rapidfuzz over the distinct street names, with and without their town,
        then that street's addresses, the typed house number first where it exists."""
        names = [word for word in words if not any(char.isdigit() for char in word)]
        numbers = [word for word in words if HOUSE_NUMBER.fullmatch(word)]
        chosen = self._streets_like(" ".join(names)) if names else []
        if not chosen:
            return []
        rows: list[tuple[str, str, str, float, float]] = []
        if numbers:
            for street, town in chosen:
                rows += self.conn.execute(
                    f"SELECT {_COLUMNS} FROM addresses WHERE street = ? AND town = ? AND number = ? COLLATE NOCASE"
                    " ORDER BY sort_key LIMIT ?", (street, town, numbers[-1], limit)).fetchall()
            if rows:
                return [Place(*row) for row in rows[:limit]]
        for street, town in chosen:
            if len(rows) >= limit:
                break
            rows += self.conn.execute(
                f"SELECT {_COLUMNS} FROM addresses WHERE street = ? AND town = ? ORDER BY sort_key LIMIT ?",
                (street, town, limit - len(rows))).fetchall()
        return [Place(*row) for row in rows]

    def _streets_like(self, name: str) -> list[tuple[str, str]]:
        """The (street, town) pairs `name` most nearly spells, best first; [] for none close enough."""
        streets = self.streets()
        if not streets.choices:
            return []
        # rapidfuzz here, not at the top: a kiosk starts, and many visits end, without a misspelt street
        from rapidfuzz import fuzz, process

        matches = process.extract(name, streets.choices, scorer=fuzz.ratio, limit=50, score_cutoff=STREET_CUTOFF)
        best: dict[tuple[str, str], float] = {}
        for _, score, index in matches:
            pair = streets.pairs[streets.owners[index]]
            best[pair] = max(best.get(pair, 0.0), score)
        if not best:
            return []
        top = max(best.values())
        return sorted((pair for pair, score in best.items() if score >= top - STREET_TIE),
                      key=lambda pair: (-best[pair], natural(pair[0]), natural(pair[1])))

    def streets(self) -> Streets:
        """The street list, read again only when an import has changed the addresses since."""
        generation = self.conn.execute("SELECT max(id) FROM gazetteer_imports").fetchone()[0]
        if self._streets is not None and self._streets.generation == generation:
            return self._streets
        pairs = [(street, town) for street, town in
                 self.conn.execute("SELECT DISTINCT street, town FROM addresses WHERE street != ''")]
        choices: list[str] = []
        owners: list[int] = []
        for index, (street, town) in enumerate(pairs):
            words = address_words(street)
            forms = dict.fromkeys([" ".join(words), " ".join(words + address_words(town))])
            if len(words) > 1 and words[-1] in STREET_TYPES:
                forms[" ".join(words[:-1])] = None
            choices += forms
            owners += [index] * len(forms)
        self._streets = Streets(generation, pairs, choices, owners)
        return self._streets


def _closeness(wanted: str, address: str, street: str, search_text: str) -> tuple[int, int]:
    """Sort key for how well an address reads as the query, best first.

    First, how nearly the query appears in the address in the order typed ("church lane
    oakhurst" is Church Lane in Oakhurst, not Church Farm on Back Lane, Oakhurst). Then how many
    words before the end of the street were not typed, so "12 high street" shows 12 High Street
    before Flat 1 at number 12, and houses come before named houses.
    """
    end = address.find(street) + len(street) if street and street in address else len(address)
    typed = set(wanted.split())
    untyped = sum(word not in typed for word in address_words(address[:end]))
    from rapidfuzz import fuzz

    return -round(fuzz.partial_ratio(wanted, search_text)), untyped
