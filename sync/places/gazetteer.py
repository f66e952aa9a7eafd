"""The offline gazetteer: the council's address list, searched by postcode or by street and number.

A kiosk has to find a resident's address with the network down, so the whole list lives in the
local store. Councils export it as CSV from their address system, each with its own column names
and either British National Grid eastings/northings or latitude/longitude; `import_csv` takes
either, converting the grid with pyproj, and reports bad rows by line number instead of refusing
the whole file, because a council officer can fix seventeen lines but not a traceback.

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

import csv
import math
import re
import unicodedata
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlite_utils
from rapidfuzz import fuzz, process

from sync.store.db import write

DEMO_CSV = Path(__file__).parents[1] / "data" / "demo_gazetteer.csv"

#: Our field names, which `columns` maps to the CSV's headers.
FIELDS = ("uprn", "address", "postcode", "easting", "northing", "lat", "lon", "street", "number", "town")
#: Headers tried for each field when `columns` does not name one, compared case-insensitively
#: with spaces and hyphens read as underscores.
HEADER_GUESSES = {
    "uprn": ("uprn",),
    "address": ("address", "full_address", "single_line_address"),
    "postcode": ("postcode", "post_code", "postcode_locator"),
    "easting": ("easting", "x", "x_coordinate"),
    "northing": ("northing", "y", "y_coordinate"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "long", "longitude", "lng"),
    "street": ("street", "street_name", "street_description"),
    "number": ("number", "house_number", "building_number"),
    "town": ("town", "town_name", "post_town", "locality"),
}

# Royal Mail's postcode formats with the letters each position may hold (BS 7666): the area's
# first letter is never Q, V or X, its second never I, J or Z, and the inward code never uses
# C, I, K, M, O or V. GIR 0AA (the old Girobank) is the one exception still in use.
_OUTWARD = (
    "(?:[A-PR-UWYZ][0-9][0-9]?"
    "|[A-PR-UWYZ][0-9][ABCDEFGHJKPSTUW]"
    "|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    "|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
)
_INWARD_LETTER = "[ABD-HJLNP-UW-Z]"
_POSTCODE = re.compile(f"{_OUTWARD}[0-9]{_INWARD_LETTER}{{2}}|GIR0AA")
_OUTWARD_ONLY = re.compile(_OUTWARD)
_PARTIAL_INWARD = re.compile(f"[0-9]{_INWARD_LETTER}?")

#: Abbreviations residents and address systems use, read as the full word on both sides of a search.
ABBREVIATIONS = {
    "st": "street", "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane", "cl": "close",
    "dr": "drive", "cres": "crescent", "gdns": "gardens", "pl": "place", "sq": "square",
    "tce": "terrace", "ct": "court",
}
#: Last words that mark an address part as the street when no house number does.
STREET_TYPES = frozenset(ABBREVIATIONS.values()) | {
    "way", "walk", "grove", "rise", "mews", "view", "green", "row", "hill", "parade", "approach", "park", "gate",
}
_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"[0-9]+")
_HOUSE_NUMBER = re.compile(r"[0-9]+[a-z]?")
# "12 High Street", "12A High Street", "12-14 High Street", "Flat 2 14 High Street": the last
# number in an address part, followed by words to the end of it.
_NUMBERED_STREET = re.compile(r"(?:^|\s)([0-9]+[A-Za-z]?(?:-[0-9]+[A-Za-z]?)?)\s+([^\W\d_][^0-9]*)$")

BATCH_ROWS = 5000
#: Grid and degree bounds: anything outside is a typo, a swapped pair or the wrong columns.
_GRID_BOUNDS = ((0.0, 700_000.0), (0.0, 1_300_000.0))
_UK_LATITUDES = (49.0, 61.5)
_UK_LONGITUDES = (-9.0, 2.5)

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 10
#: FTS matches ranked per query; enough to hold every "12 High Street" across a borough's villages.
CANDIDATES = 300
#: Lowest rapidfuzz score (0-100) at which a street name counts as what the resident meant.
STREET_CUTOFF = 75
#: Streets within this many points of the best are shown too ("Station Road" and "Stanton Road").
STREET_TIE = 4


class GazetteerError(Exception):
    """A problem with an address file as a whole, worded for the council officer who can fix it."""


@dataclass(frozen=True)
class Place:
    """One addressable property: `address` is the whole line as residents read it, postcode last."""

    uprn: str
    address: str
    postcode: str
    lat: float
    lon: float


@dataclass
class ImportReport:
    """What an import did, for the officer who ran it."""

    loaded: int = 0
    #: (CSV line number, reason) for each row left out, in line order.
    skipped: list[tuple[int, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Postcodes and words


def normalise_postcode(text: str) -> str | None:
    """`text` as a postcode in its printed form ("BF1 2AB"), or None if it is not one.

    Case and spacing are ignored, as residents type them every which way; the format and the
    letters allowed in each position are checked strictly, because other modules rely on this to
    tell a postcode from anything else a resident might type.
    """
    if not isinstance(text, str):
        return None
    compact = "".join(text.split())
    if not compact.isascii():
        return None
    compact = compact.upper()
    if not _POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _postcode_prefixes(query: str) -> list[tuple[str, int]]:
    """(postcode_key prefix, length of the whole key) for each way `query` can start a postcode.

    "BF1" is a whole outward code, so matches BF1 2AB but not BF12 3AB; "BF1 2" is a sector.
    Without a space "BF12" is both the district BF12 and sector 2 of BF1, so both are returned.
    """
    text = query.strip()
    if not text.isascii():
        return []
    parts = text.upper().split()
    if len(parts) == 2:
        outward, inward = parts
        if _OUTWARD_ONLY.fullmatch(outward) and _PARTIAL_INWARD.fullmatch(inward):
            return [(outward + inward, len(outward) + 3)]
        return []
    if len(parts) != 1:
        return []
    compact = parts[0]
    prefixes = []
    for inward_length in (0, 1, 2):
        outward, inward = compact[: len(compact) - inward_length], compact[len(compact) - inward_length:]
        if _OUTWARD_ONLY.fullmatch(outward) and (not inward or _PARTIAL_INWARD.fullmatch(inward)):
            prefixes.append((compact, len(outward) + 3))
    return prefixes


def address_words(text: str) -> list[str]:
    """Lower-case words with accents, apostrophes and abbreviations taken out ("St Mary's Rd" ->
    street marys road), the same for the index and for a query so the two always meet."""
    text = unicodedata.normalize("NFKD", text.lower())
    if not text.isascii():
        text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("'", "").replace("\u2019", "")
    return [ABBREVIATIONS.get(word, word) for word in _WORD.findall(text)]


def _natural(text: str) -> str:
    """Text that sorts numbers by value: "2" before "10", "Flat 2" before "Flat 10"."""
    return _DIGITS.sub(lambda match: match.group().zfill(6), text.lower())


def _sort_key(street: str, number: str, address: str) -> str:
    """Reading order: by street, then house number, then what comes before the street (the flat
    or house name). Kept short, as it is stored in two indexes for every address."""
    before_street = address.partition(street)[0] if street else address
    return "\x1f".join((_natural(street), _natural(number), _natural(before_street)))


def _split_address(address: str) -> tuple[str, str, str]:
    """(house number, street, town) read from a one-line address, for files without those columns.

    The street is the part with a house number in it ("Flat 2, 14 Station Road, ..." -> 14,
    Station Road); failing that, the first part ending in a street word (a named house:
    "Rose Cottage, Church Lane, ..."); failing that, the second of three or more parts. The town
    is the part after the street: the village, where there is one, so that two villages' Church
    Lanes stay apart.
    """
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if parts and normalise_postcode(parts[-1]):
        parts.pop()
    return _split_parts(parts)


def _split_parts(parts: list[str]) -> tuple[str, str, str]:
    if not parts:
        return "", "", ""
    for index, part in enumerate(parts):
        if match := _NUMBERED_STREET.search(part):
            return match.group(1), match.group(2).strip(), _part(parts, index + 1)
    for index, part in enumerate(parts):
        words = address_words(part)
        if words and words[-1] in STREET_TYPES:
            return "", part, _part(parts, index + 1)
    index = 1 if len(parts) >= 3 else 0
    return "", parts[index], _part(parts, index + 1)


def _part(parts: list[str], index: int) -> str:
    return parts[index] if index < len(parts) else ""


# ---------------------------------------------------------------------------------------------
# Import


def import_csv(db: sqlite_utils.Database, path: str | Path, columns: dict[str, str] | None = None, *,
               replace: bool = True) -> ImportReport:
    """Load an address CSV into the store; returns how many rows loaded and which were skipped.

    `columns` maps our field names (FIELDS) to the file's headers where the guesses in
    HEADER_GUESSES do not find them. With `replace` the file becomes the whole gazetteer;
    without, its rows are added, and rows whose UPRN is already known are updated.

    The file is streamed and the load is one transaction: a file that turns out to be unreadable
    half-way, or has no usable row at all, leaves the previous gazetteer exactly as it was.
    Raises GazetteerError for problems with the file as a whole.
    """
    path = Path(path)
    try:
        file = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise GazetteerError(f"There is no file at {path}.") from None
    except IsADirectoryError:
        raise GazetteerError(f"{path} is a folder, not a CSV file.") from None
    except OSError as error:
        raise GazetteerError(f"{path} cannot be read: {error.strerror}.") from None
    report = ImportReport()
    with file, write(db) as conn:
        if replace:
            conn.execute("DELETE FROM addresses")
        _load(conn, file, path, columns or {}, report)
        if report.loaded == 0:
            raise GazetteerError(_nothing_loaded(path, report))
        conn.execute("INSERT INTO addresses_fts (addresses_fts) VALUES ('rebuild')")
        conn.execute(
            "INSERT INTO gazetteer_imports (imported_at, source, loaded, skipped, replaced) VALUES (?, ?, ?, ?, ?)",
            (datetime.now(timezone.utc).isoformat(), str(path), report.loaded, len(report.skipped), int(replace)),
        )
    report.skipped.sort()
    return report


def _nothing_loaded(path: Path, report: ImportReport) -> str:
    if not report.skipped:
        return f"{path.name} has a header row but no addresses under it; nothing was changed."
    examples = "; ".join(f"line {line}: {reason}" for line, reason in sorted(report.skipped)[:3])
    return (f"None of the {len(report.skipped)} rows in {path.name} could be loaded, so nothing was changed. "
            f"For example: {examples}.")


def _load(conn, file, path: Path, columns: dict[str, str], report: ImportReport) -> None:
    """Stream rows from `file` into `addresses` in batches, recording skipped rows in `report`."""
    reader = None
    try:
        first_line = file.readline()
        if not first_line.strip():
            raise GazetteerError(f"{path.name} has no header row: its first line should name the columns"
                                 " (for example UPRN,ADDRESS,POSTCODE,EASTING,NORTHING).")
        # Spreadsheets saved in some locales separate with semicolons or tabs; take what the
        # header uses rather than report every column missing.
        delimiter = "," if "," in first_line else max(";\t|", key=first_line.count)
        reader = csv.reader(_chain(first_line, file), delimiter=delimiter)
        header = next(reader)
        rows = _Rows(conn, _resolve_columns(header, columns, path), len(header), report)
        line = reader.line_num
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                report.skipped.append((line + 1, f"could not be read as CSV ({error})"))
                line = reader.line_num
                continue
            start, line = line + 1, reader.line_num
            rows.add(start, line, record)
        rows.flush()
    except UnicodeDecodeError:
        where = f" (after line {reader.line_num})" if reader is not None and reader.line_num else ""
        raise GazetteerError(
            f"{path.name} is not UTF-8 text{where}. If it came from Excel, save it again as 'CSV UTF-8'."
        ) from None


def _chain(first_line: str, file) -> Iterator[str]:
    yield first_line
    yield from file


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _resolve_columns(header: list[str], columns: dict[str, str], path: Path) -> dict[str, int]:
    """Field name -> column index, from `columns` first, then the usual header names."""
    if not any(name.strip() for name in header):
        raise GazetteerError(f"{path.name} has no header row: its first line should name the columns.")
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(_header_key(name), index)
    shown = ", ".join(name.strip() or f"(blank column {index + 1})" for index, name in enumerate(header))
    indexes: dict[str, int] = {}
    for our_field, their_header in columns.items():
        if our_field not in FIELDS:
            raise GazetteerError(f"There is no field called {our_field!r} to map a column to; the fields are: {', '.join(FIELDS)}.")
        if _header_key(their_header) not in positions:
            raise GazetteerError(f"{path.name} has no column {their_header!r} (mapped to {our_field}). Its columns are: {shown}.")
        indexes[our_field] = positions[_header_key(their_header)]
    for our_field, guesses in HEADER_GUESSES.items():
        if our_field not in indexes:
            found = [positions[guess] for guess in guesses if guess in positions]
            if found:
                indexes[our_field] = found[0]

    def looked_for(*names: str) -> str:
        return " or ".join("/".join(guess.upper() for guess in HEADER_GUESSES[name]) for name in names)

    missing = [f"{name} (looked for {looked_for(name)})" for name in ("uprn", "address", "postcode") if name not in indexes]
    if not ({"easting", "northing"} <= indexes.keys() or {"lat", "lon"} <= indexes.keys()):
        missing.append(f"coordinates (looked for {looked_for('easting')} with {looked_for('northing')},"
                       f" or {looked_for('lat')} with {looked_for('lon')})")
    if missing:
        raise GazetteerError(
            f"{path.name} is missing required columns: {'; '.join(missing)}. Its columns are: {shown}."
            " If a column has another name, map it to the field, for example postcode=PCODE."
        )
    return indexes


class _Rows:
    """Checks rows, converts grid references a batch at a time and inserts each batch."""

    INSERT = """INSERT INTO addresses
        (uprn, address, street, number, town, postcode, postcode_key, lat, lon, sort_key, search_text)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (uprn) DO UPDATE SET
            address = excluded.address, street = excluded.street, number = excluded.number,
            town = excluded.town, postcode = excluded.postcode, postcode_key = excluded.postcode_key,
            lat = excluded.lat, lon = excluded.lon, sort_key = excluded.sort_key,
            search_text = excluded.search_text"""

    def __init__(self, conn, indexes: dict[str, int], width: int, report: ImportReport) -> None:
        self.conn, self.indexes, self.width, self.report = conn, indexes, width, report
        self.first_seen: dict[str, int] = {}
        #: [row values..., easting, northing]; lat/lon are None until the batch is converted.
        self.batch: list[list] = []
        self.transformer = None

    def add(self, start: int, end: int, record: list[str]) -> None:
        if not any(value.strip() for value in record):
            return
        try:
            row = self._parse(start, record)
        except _Skip as skip:
            reason = str(skip)
            if end > start:
                reason += f" (this row runs from line {start} to line {end}: is a quote mark missing?)"
            self.report.skipped.append((start, reason))
            return
        self.batch.append(row)
        if len(self.batch) >= BATCH_ROWS:
            self.flush()

    def _value(self, record: list[str], name: str) -> str:
        index = self.indexes.get(name)
        return record[index].strip() if index is not None else ""

    def _parse(self, line: int, record: list[str]) -> list:
        if len(record) < self.width or any(value.strip() for value in record[self.width:]):
            raise _Skip(f"has {len(record)} values but the header has {self.width} columns"
                        " (an address with a comma in it needs quote marks around it)")
        uprn = self._value(record, "uprn")
        if not uprn:
            raise _Skip("has no UPRN")
        if not (uprn.isascii() and uprn.isdigit() and len(uprn) <= 12):
            raise _Skip(f"UPRN {uprn!r} is not a number of up to 12 digits")
        if uprn in self.first_seen:
            raise _Skip(f"UPRN {uprn} is already on line {self.first_seen[uprn]}; only that one is kept")
        parts = [" ".join(part.split()) for part in self._value(record, "address").split(",") if part.strip()]
        if not parts:
            raise _Skip("has no address")
        raw_postcode = self._value(record, "postcode")
        if not raw_postcode:
            raise _Skip("has no postcode")
        postcode = normalise_postcode(raw_postcode)
        if postcode is None:
            raise _Skip(f"postcode {raw_postcode!r} is not a valid UK postcode")
        lat, lon, easting, northing = self._coordinates(record)
        if normalise_postcode(parts[-1]):
            parts.pop()
        number, street, town = _split_parts(parts)
        address = ", ".join(parts + [postcode])
        number = self._value(record, "number") or number
        street = self._value(record, "street") or street
        town = self._value(record, "town") or town
        self.first_seen[uprn] = line
        return [uprn, address, street, number, town, postcode, postcode.replace(" ", ""), lat, lon,
                _sort_key(street, number, address), " ".join(address_words(address)), easting, northing]

    def _coordinates(self, record: list[str]) -> tuple[float | None, float | None, float | None, float | None]:
        """(lat, lon, None, None) when the row has degrees, else (None, None, easting, northing)."""
        lat_text, lon_text = self._value(record, "lat"), self._value(record, "lon")
        if lat_text or lon_text:
            lat, lon = _number(lat_text, "latitude"), _number(lon_text, "longitude")
            if _within(lat, _UK_LATITUDES) and _within(lon, _UK_LONGITUDES):
                return lat, lon, None, None
            if _within(lon, _UK_LATITUDES) and _within(lat, _UK_LONGITUDES):
                raise _Skip(f"latitude {lat_text} and longitude {lon_text} look swapped")
            raise _Skip(f"latitude {lat_text}, longitude {lon_text} is not in the UK")
        easting_text, northing_text = self._value(record, "easting"), self._value(record, "northing")
        if not (easting_text or northing_text):
            raise _Skip("has no coordinates (neither easting and northing nor latitude and longitude)")
        easting, northing = _number(easting_text, "easting"), _number(northing_text, "northing")
        if not (_within(easting, _GRID_BOUNDS[0]) and _within(northing, _GRID_BOUNDS[1])):
            hint = " (they look like latitude and longitude)" if abs(easting) <= 180 and abs(northing) <= 180 else ""
            raise _Skip(f"easting {easting_text}, northing {northing_text} is outside the British National Grid{hint}")
        return None, None, easting, northing

    def flush(self) -> None:
        """Convert the batch's grid references in one pyproj call, then insert the batch."""
        grid = [row for row in self.batch if row[7] is None]
        if grid:
            if self.transformer is None:
                # Imported here: pyproj takes a noticeable moment to load, and only imports need it.
                from pyproj import Transformer

                self.transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
            lons, lats = self.transformer.transform([row[11] for row in grid], [row[12] for row in grid])
            for row, lon, lat in zip(grid, lons, lats):
                row[7], row[8] = round(lat, 7), round(lon, 7)
        self.conn.executemany(self.INSERT, [row[:11] for row in self.batch])
        self.report.loaded += len(self.batch)
        self.batch = []


class _Skip(Exception):
    """A row left out, with the reason in words for the report."""


def _number(text: str, name: str) -> float:
    if not text:
        raise _Skip(f"has no {name}")
    try:
        value = float(text)
    except ValueError:
        raise _Skip(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Skip(f"{name} {text!r} is not a number")
    return value


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


# ---------------------------------------------------------------------------------------------
# Search

_COLUMNS = "uprn, address, postcode, lat, lon"


def count(db: sqlite_utils.Database) -> int:
    return db.conn.execute("SELECT count(*) FROM addresses").fetchone()[0]


def search(db: sqlite_utils.Database, query: str, limit: int = 10) -> list[Place]:
    """Addresses matching what a resident typed, best first; [] for nothing usable.

    Never raises on the text itself: every word reaches FTS5 quoted, so its query syntax
    (quotes, *, -, :, NEAR, AND, brackets) is only ever read as words.
    """
    if not isinstance(query, str) or limit <= 0:
        return []
    query = query[:MAX_QUERY_CHARS]
    conn = db.conn
    postcode = normalise_postcode(query)
    if postcode:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM addresses WHERE postcode_key = ? ORDER BY sort_key LIMIT ?",
            (postcode.replace(" ", ""), limit),
        ).fetchall()
        return [Place(*row) for row in rows]
    if prefixes := _postcode_prefixes(query):
        rows = []
        for prefix, length in prefixes:
            # Keys hold only A-Z and 0-9, so every key starting with `prefix` sorts below prefix + "~".
            rows += conn.execute(
                f"SELECT {_COLUMNS}, postcode_key, sort_key FROM addresses"
                " WHERE postcode_key >= ? AND postcode_key < ? AND length(postcode_key) = ?"
                " ORDER BY postcode_key, sort_key LIMIT ?",
                (prefix, prefix + "~", length, limit),
            ).fetchall()
        if rows:
            rows.sort(key=lambda row: (row[5], row[6]))
            return [Place(*row[:5]) for row in rows[:limit]]
    words = address_words(query)[:MAX_QUERY_WORDS]
    if not words:
        return []
    return _text_search(conn, words, limit) or _street_search(db, words, limit)


def _text_search(conn, words: list[str], limit: int) -> list[Place]:
    """FTS5 over the normalised words, the last word as a prefix (it may still be being typed),
    then every word as a prefix; the candidates ranked by how closely they read like the query."""
    for every_word_a_prefix in (False, True):
        terms = [f'"{word}"*' if every_word_a_prefix or last else f'"{word}"'
                 for last, word in zip([False] * (len(words) - 1) + [True], words)]
        rows = conn.execute(
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
    return -round(fuzz.partial_ratio(wanted, search_text)), untyped


def _street_search(db: sqlite_utils.Database, words: list[str], limit: int) -> list[Place]:
    """Misspelt streets: rapidfuzz over the distinct street names, with and without their town,
    then that street's addresses, the typed house number first where it exists."""
    names = [word for word in words if not any(char.isdigit() for char in word)]
    numbers = [word for word in words if _HOUSE_NUMBER.fullmatch(word)]
    if not names:
        return []
    streets, choices, owners = _streets(db)
    if not choices:
        return []
    matches = process.extract(" ".join(names), choices, scorer=fuzz.ratio, limit=50, score_cutoff=STREET_CUTOFF)
    best: dict[tuple[str, str], float] = {}
    for _, score, index in matches:
        pair = streets[owners[index]]
        best[pair] = max(best.get(pair, 0.0), score)
    if not best:
        return []
    top = max(best.values())
    chosen = sorted((pair for pair, score in best.items() if score >= top - STREET_TIE),
                    key=lambda pair: (-best[pair], _natural(pair[0]), _natural(pair[1])))
    conn = db.conn
    rows = []
    if numbers:
        for street, town in chosen:
            rows += conn.execute(
                f"SELECT {_COLUMNS} FROM addresses WHERE street = ? AND town = ? AND number = ? COLLATE NOCASE"
                " ORDER BY sort_key LIMIT ?", (street, town, numbers[-1], limit)).fetchall()
        if rows:
            return [Place(*row) for row in rows[:limit]]
    for street, town in chosen:
        if len(rows) >= limit:
            break
        rows += conn.execute(f"SELECT {_COLUMNS} FROM addresses WHERE street = ? AND town = ? ORDER BY sort_key LIMIT ?",
                             (street, town, limit - len(rows))).fetchall()
    return [Place(*row) for row in rows]


_street_cache: "weakref.WeakKeyDictionary[sqlite_utils.Database, tuple]" = weakref.WeakKeyDictionary()


def _streets(db: sqlite_utils.Database) -> tuple[list[tuple[str, str]], list[str], list[int]]:
    """The distinct (street, town) pairs, and the strings rapidfuzz compares a query with: each
    street's normalised name, the name without its "road" or "lane" (residents often leave it
    off) and the name followed by its town. Built once per database and import, since every
    import records itself in gazetteer_imports."""
    generation = db.conn.execute("SELECT max(id) FROM gazetteer_imports").fetchone()[0]
    cached = _street_cache.get(db)
    if cached is not None and cached[0] == generation:
        return cached[1]
    streets = db.conn.execute("SELECT DISTINCT street, town FROM addresses WHERE street != ''").fetchall()
    choices, owners = [], []
    for index, (street, town) in enumerate(streets):
        words = address_words(street)
        forms = dict.fromkeys([" ".join(words), " ".join(words + address_words(town))])
        if len(words) > 1 and words[-1] in STREET_TYPES:
            forms[" ".join(words[:-1])] = None
        choices += forms
        owners += [index] * len(forms)
    _street_cache[db] = (generation, (streets, choices, owners))
    return streets, choices, owners
