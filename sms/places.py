"""Where a text says the problem is, from the gazetteer.

A postcode; a house number before a street name (spelt roughly: "staton rd"); a street alone; or a
named place ("the library", "town hall"). A village named in the message narrows it down. Several
candidates (4 Station Road exists in three villages) are all given back, for the bot to offer as
numbered choices, never guessed.

`Places` belongs to one store (the SMS bot keeps one): it holds the gazetteer's streets and named
places ready to match, worked out again only when a new gazetteer is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sms.fuzzy import Fuzzy
from sync.places import gazetteer
from sync.places.gazetteer import Place

STREET_CUTOFF = 86
MAX_CHOICES = 5
#: Words after which a single-word place name (library, church) is taken for a landmark.
GENERIC_NAME_WORDS = frozenset({"cottage", "farm", "house", "lodge", "barn", "the", "old", "bank", "granary",
                                "forge", "bakery", "rectory", "hillside", "meadow", "tree", "school"})
_POSTCODE = re.compile(r"\b([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)\s*([0-9][A-Za-z]{2})\b")
_HOUSE_NUMBER = re.compile(r"^[0-9]{1,4}[a-z]?$")
_ADDRESS_NUMBER = re.compile(r"^(?:flat \w+, )?([0-9]+[a-z]?) ")


def _house_number(address: str) -> str | None:
    """The house number an address begins with ("Flat 2, 14a High Street" -> 14a), if any."""
    found = _ADDRESS_NUMBER.match(address.lower())
    return found.group(1) if found else None


@dataclass(frozen=True)
class PlaceGuess:
    """Where a message says the problem is."""

    kind: str  # address (one Place), addresses (several to choose from), street, streets
    places: tuple[Place, ...] = ()
    streets: tuple[tuple[str, str], ...] = ()  # (street, town)
    number: str = ""  # a house number given with a street, not in the gazetteer

    def candidates(self) -> list[str]:
        if self.places:
            return [place.address for place in self.places]
        number = f"{self.number} " if self.number else ""
        return [f"{number}{street}, {town}" if town else f"{number}{street}" for street, town in self.streets]

    def describe(self) -> str:
        return " | ".join(self.candidates())


@dataclass
class _Streets:
    generation: int | None
    pairs: list[tuple[str, str]]
    forms: Fuzzy  # normalised street names ("station road") and their base ("station")
    owners: list[tuple[int, bool]]  # index into pairs, whether the form is the base name only
    towns: dict[str, str]  # normalised town -> town
    landmarks: list[tuple[str, tuple[str, ...], int]]  # alias, its words, address row id
    landmarks_by_word: dict[str, list[tuple[tuple[str, ...], int]]] = field(default_factory=dict)


class Places:
    """Places named in texts, found in one store's gazetteer."""

    def __init__(self, db) -> None:
        self.db = db
        self.gazetteer = gazetteer.Gazetteer(db)
        self._cache: _Streets | None = None

    def _streets(self) -> _Streets:
        """The gazetteer's streets and named places, worked out again only after an import."""
        conn = self.db.conn
        generation = conn.execute("SELECT max(id) FROM gazetteer_imports").fetchone()[0]
        cached = self._cache
        if cached is not None and cached.generation == generation:
            return cached
        pairs = [tuple(row) for row in conn.execute("SELECT DISTINCT street, town FROM addresses WHERE street != ''")]
        forms, owners, towns = [], [], {}
        for index, (street, town) in enumerate(pairs):
            words = gazetteer.address_words(street)
            forms.append(" ".join(words))
            owners.append((index, False))
            if len(words) > 1 and words[-1] in gazetteer.STREET_TYPES:
                forms.append(" ".join(words[:-1]))
                owners.append((index, True))
            if town:
                towns[" ".join(gazetteer.address_words(town))] = town
        landmarks = self._landmarks(conn)
        by_word: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for _alias, alias_words, row_id in landmarks:
            by_word.setdefault(alias_words[0], []).append((alias_words, row_id))
        cached = self._cache = _Streets(generation, pairs, Fuzzy(forms), owners, towns, landmarks, by_word)
        return cached

    @staticmethod
    def _landmarks(conn) -> list[tuple[str, tuple[str, ...], int]]:
        """Named places (addresses with no house number) by their name and its distinctive tail:
        "Brackenford Central Library" is also "central library" and "library"."""
        named = conn.execute("SELECT id, address, street FROM addresses WHERE number = '' AND street != ''").fetchall()
        names: dict[int, list[str]] = {}
        for row_id, address, street in named:
            name = address.split(",")[0].strip()
            if not name or name == street:
                continue
            names[row_id] = gazetteer.address_words(name)
        tails: dict[tuple[str, ...], set[int]] = {}
        for row_id, words in names.items():
            for size in (1, 2):
                if len(words) > size:
                    tails.setdefault(tuple(words[-size:]), set()).add(row_id)
        aliases = []
        for row_id, words in names.items():
            aliases.append((" ".join(words), tuple(words), row_id))
            for size in (1, 2):
                tail = tuple(words[-size:])
                if len(words) > size and len(tails[tail]) == 1 and not (set(tail) & GENERIC_NAME_WORDS):
                    aliases.append((" ".join(tail), tail, row_id))
        return aliases

    def place(self, text: str) -> PlaceGuess | None:
        """Where the message says, from the gazetteer, or None."""
        if not text or not text.strip():
            return None
        conn = self.db.conn
        if conn.execute("SELECT 1 FROM addresses LIMIT 1").fetchone() is None:
            return None
        streets = self._streets()
        words = gazetteer.address_words(text)
        town_filter = self._towns_named(words, streets)
        if found := self._postcode(text, words):
            return found
        match = self._street_mention(words, streets, town_filter)
        landmark = self._landmark(words, streets, match)
        if match is None:
            return landmark
        start, end, pairs = match
        number = self._number_before(words, start)
        if number:
            rows = []
            for street, town in pairs:
                rows += conn.execute(
                    "SELECT uprn, address, postcode, lat, lon FROM addresses WHERE street = ? AND town = ? "
                    "AND number = ? COLLATE NOCASE ORDER BY sort_key LIMIT ?",
                    (street, town, number, MAX_CHOICES)).fetchall()
            if rows:
                places = tuple(Place(*row) for row in rows[:MAX_CHOICES])
                return PlaceGuess("address" if len(places) == 1 else "addresses", places=places)
        if landmark is not None and landmark.places:
            on_street = [place for place in landmark.places if any(street in place.address for street, _ in pairs)]
            if on_street:
                return PlaceGuess("address", places=(on_street[0],))
        return PlaceGuess("street" if len(pairs) == 1 else "streets", streets=tuple(pairs[:MAX_CHOICES]),
                          number=number or "")

    def _towns_named(self, words: list[str], streets: _Streets) -> set[str]:
        joined = f" {' '.join(words)} "
        return {town for form, town in streets.towns.items() if f" {form} " in joined}

    def _postcode(self, text: str, words: list[str]) -> PlaceGuess | None:
        for match in _POSTCODE.finditer(text):
            postcode = gazetteer.normalise_postcode(match.group(1) + match.group(2))
            if not postcode:
                continue
            places = self.gazetteer.search(postcode, limit=200)
            if not places:
                continue
            numbers = {word for word in words if _HOUSE_NUMBER.match(word)}
            numbered = [place for place in places if _house_number(place.address) in numbers]
            chosen = numbered or places
            if len(chosen) == 1:
                return PlaceGuess("address", places=(chosen[0],))
            return PlaceGuess("addresses", places=tuple(chosen[:MAX_CHOICES]))
        return None

    def _street_mention(self, words: list[str], streets: _Streets, towns: set[str]):
        """(start, end, [(street, town), ...]) of the street the words name best, or None."""
        best = None
        numbers = [word.isdigit() for word in words]
        for size in range(min(4, len(words)), 0, -1):
            for start in range(0, len(words) - size + 1):
                if True in numbers[start:start + size]:
                    continue
                for hit in self._street_hits(words, start, size, streets):
                    if best is None or hit[0] > best[0]:
                        best = hit
            if best is not None and best[0][0]:
                break
        if best is None:
            return None
        _key, start, end, street = best
        pairs = [pair for pair in streets.pairs if pair[0] == street]
        if towns:
            narrowed = [pair for pair in pairs if pair[1] in towns]
            pairs = narrowed or pairs
        return start, end, sorted(pairs, key=lambda pair: (pair[1] != "Brackenford", pair[1]))

    def _street_hits(self, words: list[str], start: int, size: int, streets: _Streets):
        """(key, start, end, street) for each street `size` words from `start` may name; the
        greatest key is the best."""
        phrase = " ".join(words[start:start + size])
        cutoff = 100 if len(phrase) < 6 else STREET_CUTOFF
        for _form, score, index in streets.forms.extract(phrase, cutoff, 10):
            owner, base_only = streets.owners[index]
            if base_only:
                # "station" alone is the railway station as often as Station Road: only
                # a house number before it makes it the street
                before = words[start - 1] if start else ""
                if not _HOUSE_NUMBER.match(before) or score < 100:
                    continue
            numbered = self._number_before(words, start) is not None
            yield (score >= 97, numbered, size, score, -start), start, start + size, streets.pairs[owner][0]

    @staticmethod
    def _number_before(words: list[str], start: int) -> str | None:
        for back in (1, 2):
            if start - back < 0:
                return None
            word = words[start - back]
            if _HOUSE_NUMBER.match(word):
                return word
            if word not in ("no", "number", "num", "flat", "house"):
                return None
        return None

    def _landmark(self, words: list[str], streets: _Streets, street_match) -> PlaceGuess | None:
        taken = set(range(street_match[0], street_match[1])) if street_match else set()
        found: list[tuple[int, int]] = []
        for start, word in enumerate(words):
            for alias_words, row_id in streets.landmarks_by_word.get(word, ()):
                size = len(alias_words)
                if tuple(words[start:start + size]) == alias_words and not taken & set(range(start, start + size)):
                    found.append((size, row_id))
        if not found:
            return None
        size = max(found)[0]
        ids = list(dict.fromkeys(row_id for length, row_id in found if length == size))
        rows = [self.db.conn.execute("SELECT uprn, address, postcode, lat, lon FROM addresses WHERE id = ?",
                                     (row_id,)).fetchone() for row_id in ids[:MAX_CHOICES]]
        places = tuple(Place(*row) for row in rows if row)
        return PlaceGuess("address" if len(places) == 1 else "addresses", places=places)
