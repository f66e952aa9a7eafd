"""The gazetteer on the council's service: a read-only SQLite file beside each server, or PostgreSQL?

Issue 15 moves the council's store to PostgreSQL; the gazetteer (reference data, imported from
the council's CSV and never written by residents) could go with it or stay a SQLite file copied
beside each instance. This measures both over the same addresses and the same queries, so the
choice rests on figures (docs/postgres.md gives it):

* SQLite: the project's own importer (`gazetteer.import_csv`) and `Gazetteer`, FTS5 as tuned for
  the kiosk. Its indexed `postcode_key = ?` lookup is SQLite's baseline.
* PostgreSQL 16 (the pgserver wheel, over its Unix socket on this machine): the very rows the
  importer wrote, copied into a table with a `tsvector` column under a GIN index, searched by the
  same `Gazetteer` code. Its SQL reaches PostgreSQL through `Translated`, which changes only what
  differs between the engines: placeholders, and FTS5's `MATCH '"high" "street"*'` into
  `search_tsv @@ to_tsquery('simple', 'high & street:*')`. Routes, limits and ranking are the
  project's, so what differs is the engine and its round trips. Its own indexed lookup and a bare
  `SELECT 1` are its baselines.

pg_trgm: the pgserver wheel bundles PostgreSQL without its contrib extensions (only plpgsql and
pgvector), so `CREATE EXTENSION pg_trgm` fails here and a fuzzy street match inside the database
could not be measured. The misspelt-street route therefore keeps the project's rapidfuzz street
list in the process on both engines (read once from PostgreSQL there); a managed PostgreSQL with
pg_trgm would move that list into the database, one more query per search instead of none.

A managed PostgreSQL is on another machine: add its network round trip (typically 0.2-1 ms in one
data centre) to every query; a search makes one to three (more for a misspelt street).

Fair to PostgreSQL: one index of its own for the partial-postcode route (see PG_INDEXES), and
`plan_cache_mode = force_custom_plan`, because psycopg prepares a statement used five times and
PostgreSQL's generic plan for a postcode range (length and prefix unknown) is the slow one.
The machine's load average is printed too: client and server are two processes, so a search on
PostgreSQL waits for the scheduler twice per query where SQLite runs in the caller's thread.

    .venv/bin/python bench/bench_gazetteer_engines.py              # 300,000 addresses, under a minute
    .venv/bin/python bench/bench_gazetteer_engines.py --size 20000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_gazetteer import ADDRESSES, SEED, _percentile, _queries, _timed, imported  # noqa: E402
from sync.places import gazetteer  # noqa: E402

#: The issue's size, as bench_gazetteer measures: about 30 s here (import 12 s, load 6 s, searches).
DEFAULT_SIZE = ADDRESSES
COLUMNS = ("id", "uprn", "address", "street", "number", "town", "postcode", "postcode_key", "lat", "lon",
           "sort_key", "search_text")
#: The addresses table as migration 2 makes it, in PostgreSQL's words. "C" collation on the keys:
#: byte order, as SQLite compares, so postcode ranges and reading order are the same on both.
PG_SCHEMA = [
    """CREATE TABLE addresses (
        id bigint PRIMARY KEY,
        uprn text NOT NULL UNIQUE,
        address text NOT NULL,
        street text COLLATE "C" NOT NULL DEFAULT '',
        number text NOT NULL DEFAULT '',
        town text COLLATE "C" NOT NULL DEFAULT '',
        postcode text NOT NULL,
        postcode_key text COLLATE "C" NOT NULL,
        lat double precision NOT NULL,
        lon double precision NOT NULL,
        sort_key text COLLATE "C" NOT NULL,
        search_text text NOT NULL,
        search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
    )""",
    """CREATE TABLE gazetteer_imports (
        id bigint PRIMARY KEY, imported_at text NOT NULL, source text NOT NULL,
        loaded integer NOT NULL, skipped integer NOT NULL, replaced integer NOT NULL
    )""",
]
PG_INDEXES = [
    "CREATE INDEX addresses_postcode ON addresses (postcode_key, sort_key)",
    # PostgreSQL's own for the partial-postcode route: with the key's length first it reads the range
    # in order and stops at the limit, where otherwise it fetches the whole district and sorts it.
    "CREATE INDEX addresses_postcode_start ON addresses (length(postcode_key), postcode_key, sort_key)",
    "CREATE INDEX addresses_street ON addresses (street, town)",
    "CREATE INDEX addresses_search ON addresses USING gin (search_tsv)",
]
_FTS5_JOIN = ("FROM addresses_fts JOIN addresses AS a ON a.id = addresses_fts.rowid"
              " WHERE addresses_fts MATCH ?")
_FTS5_TERM = re.compile(r'^"([^"]+)"(\*?)$')


class Translated:
    """A psycopg connection that answers the SQLite SQL `Gazetteer` sends, changed only where the
    engines differ: `?` placeholders, `COLLATE NOCASE`, and the FTS5 match (each term a quoted word,
    `*` for a prefix, all required) as the same tsquery over the `search_tsv` column."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: tuple = ()) -> Any:
        if _FTS5_JOIN in sql:
            sql = sql.replace(_FTS5_JOIN, "FROM addresses AS a WHERE a.search_tsv @@ to_tsquery('simple', ?)")
            params = (_tsquery(params[0]), *params[1:])
        sql = sql.replace("number = ? COLLATE NOCASE", "lower(number) = lower(?)").replace("?", "%s")
        return self._conn.execute(sql, params)


def _tsquery(fts5: str) -> str:
    """'"high" "street"*' -> "'high' & 'street':*" (words from address_words: letters and digits only)."""
    terms = []
    for term in fts5.split():
        match = _FTS5_TERM.match(term)
        assert match, term
        terms.append(f"'{match.group(1)}'" + (":*" if match.group(2) else ""))
    return " & ".join(terms)


def _load_postgres(pg: Any, sqlite_conn: sqlite3.Connection) -> None:
    """The rows the project's importer wrote, copied as they are, then indexed and analysed."""
    for statement in PG_SCHEMA:
        pg.execute(statement)
    with pg.cursor() as cursor:
        with cursor.copy(f"COPY addresses ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in sqlite_conn.execute(f"SELECT {', '.join(COLUMNS)} FROM addresses ORDER BY id"):
                copy.write_row(row)
        cursor.executemany("INSERT INTO gazetteer_imports VALUES (%s, %s, %s, %s, %s, %s)",
                           sqlite_conn.execute("SELECT * FROM gazetteer_imports").fetchall())
    for statement in PG_INDEXES:
        pg.execute(statement)
    pg.execute("ANALYZE addresses")


def _measure(report: Callable[..., None], engine: str, timings: dict[str, list[float]],
             found: dict[str, int], size: int) -> tuple[float, float]:
    every = [ms for values in timings.values() for ms in values]
    p50, p95 = _percentile(every, 0.50), _percentile(every, 0.95)
    report(f"{engine}: gazetteer search p50", p50, "ms", f"{len(every)} mixed queries over {size:,} addresses")
    report(f"{engine}: gazetteer search p95", p95, "ms", "target under 50 ms")
    for kind, values in sorted(timings.items()):
        report(f"{engine}: search p95, {kind}", _percentile(values, 0.95), "ms",
               f"{len(values)} queries, first result right for {100 * found[kind] / len(values):.0f}%")
    return p50, p95


def _search_both(engines: dict[str, gazetteer.Gazetteer], queries: list[tuple[str, str, str]]
                 ) -> dict[str, tuple[dict[str, list[float]], dict[str, int]]]:
    """Each query on each engine in turn, so both see the same moment of a shared machine."""
    results: dict[str, tuple[dict[str, list[float]], dict[str, int]]] = {name: ({}, {}) for name in engines}
    for name, places_here in engines.items():
        for _, query, _ in queries[:20]:
            places_here.search(query)  # warm caches and the street list, as a running service has
    for kind, query, expected in queries:
        for name, places_here in engines.items():
            timings, found = results[name]
            places: list = []
            timings.setdefault(kind, []).append(_timed(lambda: places.extend(places_here.search(query))))
            found[kind] = found.get(kind, 0) + bool(places and expected in f" {places[0].address}")
    return results


def run(report: Callable[..., None], size: int = DEFAULT_SIZE) -> None:
    # pgserver asks platformdirs for a runtime folder, which warns where XDG_RUNTIME_DIR is unset (root, cron)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver
    import psycopg

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        rows, db, result = imported(Path(folder), size, report, "sqlite: gazetteer import")

        server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as pg:
                pg.execute("SET plan_cache_mode = force_custom_plan")
                trgm = pg.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone()[0]
                report("postgresql: pg_trgm available", trgm, "", "pgserver bundles no contrib: tsvector only")
                started = time.perf_counter()
                _load_postgres(pg, db.conn)
                report("postgresql: load the same rows", time.perf_counter() - started, "s",
                       "COPY, then btree, GIN(tsvector) indexes and ANALYZE")
                db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                report("sqlite: store file", (Path(folder) / "store.db").stat().st_size / 1e6, "MB",
                       "one copy beside each server")
                report("postgresql: addresses table and indexes",
                       pg.execute("SELECT pg_total_relation_size('addresses')").fetchone()[0] / 1e6, "MB",
                       "one copy for every instance")

                queries = _queries(rows, rng)
                engines = {"sqlite": gazetteer.Gazetteer(db),
                           "postgresql": gazetteer.Gazetteer(SimpleNamespace(conn=Translated(pg)))}  # type: ignore[arg-type]
                results = _search_both(engines, queries)
                p50s, p95s = {}, {}
                for name, (timings, found) in results.items():
                    p50s[name], p95s[name] = _measure(report, name, timings, found, result.loaded)

                keys = [query.upper().replace(" ", "") for kind, query, _ in queries if kind == "postcode"]
                lookup = "SELECT uprn, address, postcode, lat, lon FROM addresses WHERE postcode_key = "
                sqlite_base = statistics.median(
                    _timed(lambda: db.conn.execute(lookup + "?", (key,)).fetchall()) for key in keys)
                pg_base = statistics.median(
                    _timed(lambda: pg.execute(lookup + "%s", (key,)).fetchall()) for key in keys)
                round_trip = statistics.median(_timed(lambda: pg.execute("SELECT 1").fetchone()) for _ in keys)
                report("sqlite: indexed postcode_key lookup p50", sqlite_base, "ms", "baseline: bare SELECT")
                report("postgresql: indexed postcode_key lookup p50", pg_base, "ms", "baseline: bare SELECT")
                report("postgresql: SELECT 1 round trip p50", round_trip, "ms", "Unix socket; add the network's")
                report("machine load average, 1 minute", os.getloadavg()[0], "", f"{os.cpu_count()} cores")
                report("postgresql / sqlite, search p50", p50s["postgresql"] / p50s["sqlite"], "x", "")
                report("postgresql / sqlite, search p95", p95s["postgresql"] / p95s["sqlite"], "x",
                       "above 1: PostgreSQL slower")
        finally:
            server.cleanup()
            db.conn.close()


def _print(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<50} {value:12,.3f} {unit:<3} {note}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="how many addresses (default %(default)s)")
    run(_print, parser.parse_args().size)
