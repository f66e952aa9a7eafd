"""Loading a council's address CSV into the store, for the offline gazetteer.

Councils export their address list from their own systems, each with its own column names and
either British National Grid eastings/northings or latitude/longitude; `import_csv` takes either,
converting the grid with pyproj, and reports bad rows by line number instead of refusing the whole
file, because a council officer can fix seventeen lines but not a traceback.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sync.places.normalise import address_words, normalise_postcode, sort_key, split_parts
from sync.store.db import Conn, Database, write

if TYPE_CHECKING:
    from pyproj import Transformer

#: The demo council's addresses (`assist gazetteer import --demo`).
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

BATCH_ROWS = 5000
#: Grid and degree bounds: anything outside is a typo, a swapped pair or the wrong columns.
_GRID_BOUNDS = ((0.0, 700_000.0), (0.0, 1_300_000.0))
_UK_LATITUDES = (49.0, 61.5)
_UK_LONGITUDES = (-9.0, 2.5)


#: One value of an address row as it is inserted: text, or a coordinate (None until converted).
Value = str | float | None


class GazetteerError(Exception):
    """A problem with an address file as a whole, worded for the council officer who can fix it."""


@dataclass
class ImportReport:
    """What an import did, for the officer who ran it."""

    loaded: int = 0
    #: (CSV line number, reason) for each row left out, in line order.
    skipped: list[tuple[int, str]] = field(default_factory=list)


def import_csv(db: Database, path: str | Path, columns: dict[str, str] | None = None, *,
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


def _load(conn: Conn, file: TextIO, path: Path, columns: dict[str, str], report: ImportReport) -> None:
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


def _chain(first_line: str, file: Iterable[str]) -> Iterator[str]:
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
    indexes = _mapped(columns, positions, path.name, shown)
    for our_field, guesses in HEADER_GUESSES.items():
        if our_field not in indexes:
            found = [positions[guess] for guess in guesses if guess in positions]
            if found:
                indexes[our_field] = found[0]
    if missing := _missing(indexes):
        raise GazetteerError(
            f"{path.name} is missing required columns: {'; '.join(missing)}. Its columns are: {shown}."
            " If a column has another name, map it to the field, for example postcode=PCODE."
        )
    return indexes


def _mapped(columns: dict[str, str], positions: dict[str, int], name: str, shown: str) -> dict[str, int]:
    """The columns the officer mapped by hand (`--map postcode=PCODE`), each checked against the file."""
    indexes: dict[str, int] = {}
    for our_field, their_header in columns.items():
        if our_field not in FIELDS:
            raise GazetteerError(f"There is no field called {our_field!r} to map a column to; "
                                 f"the fields are: {', '.join(FIELDS)}.")
        if _header_key(their_header) not in positions:
            raise GazetteerError(f"{name} has no column {their_header!r} (mapped to {our_field}). "
                                 f"Its columns are: {shown}.")
        indexes[our_field] = positions[_header_key(their_header)]
    return indexes


def _looked_for(*names: str) -> str:
    return " or ".join("/".join(guess.upper() for guess in HEADER_GUESSES[name]) for name in names)


def _missing(indexes: dict[str, int]) -> list[str]:
    """The required fields no column was found for, each with the headers that were looked for."""
    missing = [f"{name} (looked for {_looked_for(name)})" for name in ("uprn", "address", "postcode")
               if name not in indexes]
    if not ({"easting", "northing"} <= indexes.keys() or {"lat", "lon"} <= indexes.keys()):
        missing.append(f"coordinates (looked for {_looked_for('easting')} with {_looked_for('northing')},"
                       f" or {_looked_for('lat')} with {_looked_for('lon')})")
    return missing


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

    def __init__(self, conn: Conn, indexes: dict[str, int], width: int, report: ImportReport) -> None:
        self.conn, self.indexes, self.width, self.report = conn, indexes, width, report
        self.first_seen: dict[str, int] = {}
        #: [row values..., easting, northing]; lat/lon are None until the batch is converted.
        self.batch: list[list[Value]] = []
        self.transformer: Transformer | None = None

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

    def _parse(self, line: int, record: list[str]) -> list[Value]:
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
        number, street, town = split_parts(parts)
        address = ", ".join(parts + [postcode])
        number = self._value(record, "number") or number
        street = self._value(record, "street") or street
        town = self._value(record, "town") or town
        self.first_seen[uprn] = line
        return [uprn, address, street, number, town, postcode, postcode.replace(" ", ""), lat, lon,
                sort_key(street, number, address), " ".join(address_words(address)), easting, northing]

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
