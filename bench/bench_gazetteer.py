"""Gazetteer search latency over a 300,000-address gazetteer (target: p95 under 50 ms).

A kiosk searches as the resident types, so what matters is the slow tail, not the average. The
queries mix what residents type: whole and partial postcodes, "12 high st", and misspelt streets
that fall through to the fuzzy street match. A bare indexed `postcode_key = ?` lookup on the same
file is measured alongside as the floor the search is compared with.

    PYTHONPATH=. python bench/bench_gazetteer.py
"""

from __future__ import annotations

import csv
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from sync.places import gazetteer
from sync.store import db as store_db

ADDRESSES = 300_000
QUERIES = 500
SEED = 7
TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _generator():
    """tools/ is not a package (it is not installed), so load the generator from its file."""
    spec = importlib.util.spec_from_file_location("make_demo_gazetteer", TOOLS / "make_demo_gazetteer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _misspell(rng: random.Random, word: str) -> str:
    """Swap two neighbouring letters or drop one, the slips people make on a touch screen."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


def _queries(rows: list[dict], rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, query, what the first result must contain to count as found) from the generated rows."""
    abbreviations = {full: short for short, full in gazetteer.ABBREVIATIONS.items()
                     if len(short) > 2 or short in ("st", "rd")}
    queries = []
    for _ in range(QUERIES):
        row = rng.choice(rows)
        postcode = row["POSTCODE"]
        number, street, _ = gazetteer.split_address(row["ADDRESS"])
        words = street.lower().split()
        words[-1] = abbreviations.get(words[-1], words[-1])
        kind = rng.choice(["postcode", "partial postcode", "street and number", "misspelt street"])
        expected = f" {street}, "
        if kind == "postcode":
            query = postcode.lower().replace(" ", "") if rng.random() < 0.3 else postcode
            expected = postcode
        elif kind == "partial postcode":
            outward_only = rng.random() < 0.5
            query = postcode.split()[0] if outward_only else postcode[:-2]
            expected = f"{query} " if outward_only else query
        elif kind == "street and number":
            query = f"{number} {' '.join(words)}".strip()
            expected = f" {number} {street}, " if number else expected
        else:
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            words[longest] = _misspell(rng, words[longest])
            query = f"{number} {' '.join(words)}".strip() if rng.random() < 0.5 else " ".join(words)
        queries.append((kind, query, expected))
    return queries


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def imported(folder: Path, count: int, report: Callable[..., None], label: str) -> tuple[list[dict], Any, Any]:
    """`count` generated addresses imported by the project's importer into a store in `folder`, the
    import timed and reported as `label`: the rows (for queries), the store's database, the result."""
    csv_path = folder / "gazetteer.csv"
    rows = write_addresses(csv_path, count)
    db = store_db.connect(folder / "store.db")
    started = time.perf_counter()
    result = gazetteer.import_csv(db, csv_path)
    report(label, time.perf_counter() - started, "s",
           f"{result.loaded:,} addresses from CSV, the project's importer (pyproj BNG->WGS84, FTS5 rebuild)")
    return rows, db, result


def write_addresses(csv_path: Path, count: int) -> list[dict]:
    """`count` generated addresses written to `csv_path` as a council exports them; the rows, for queries."""
    generator = _generator()
    rows = []
    with open(csv_path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=generator.COLUMNS)
        writer.writeheader()
        for row in generator.generate(count):
            writer.writerow(row)
            rows.append(row)
    return rows


def run(report: Callable[..., None]) -> None:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        rows, db, result = imported(Path(folder), ADDRESSES, report, "gazetteer import")

        queries = _queries(rows, rng)
        places_here = gazetteer.Gazetteer(db)  # one for the run, holding its street list, as a kiosk keeps one
        for _, query, _ in queries[:20]:
            places_here.search(query)  # warm the page cache and the street list, as a running kiosk has
        timings: dict[str, list[float]] = {}
        found: dict[str, int] = {}
        for kind, query, expected in queries:
            places: list = []
            timings.setdefault(kind, []).append(_timed(lambda: places.extend(places_here.search(query))))
            found[kind] = found.get(kind, 0) + bool(places and expected in f" {places[0].address}")
        every = [ms for values in timings.values() for ms in values]
        postcode_keys = [query.upper().replace(" ", "") for kind, query, _ in queries if kind == "postcode"]
        baseline = [
            _timed(lambda: db.conn.execute(
                "SELECT uprn, address, postcode, lat, lon FROM addresses WHERE postcode_key = ?", (key,)).fetchall())
            for key in postcode_keys
        ]
        p50, p95 = _percentile(every, 0.50), _percentile(every, 0.95)
        report("gazetteer search p50", p50, "ms", f"{len(every)} mixed queries over {result.loaded:,} addresses")
        report("gazetteer search p95", p95, "ms", "target under 50 ms")
        for kind, values in sorted(timings.items()):
            report(f"gazetteer search p95, {kind}", _percentile(values, 0.95), "ms",
                   f"{len(values)} queries, first result right for {100 * found[kind] / len(values):.0f}%")
        base_p50 = statistics.median(baseline)
        report("indexed postcode_key lookup p50", base_p50, "ms", "baseline: bare SELECT ... WHERE postcode_key = ?")
        report("search p50 / baseline p50", p50 / base_p50, "x",
               "cost of normalising, FTS and ranking over the bare lookup")
        db.conn.close()


def _print(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<42} {value:10.3f} {unit:<3} {note}")


if __name__ == "__main__":
    run(_print)
    sys.exit(0)
