"""Generate the demo council's gazetteer: fictional addresses in and around Brackenford.

Brackenford Borough Council does not exist, and neither do its streets, its UPRNs (a range no
real property uses: 9000...) or its postcodes (the BF area is not a geographic postcode area).
The coordinates sit on the British National Grid in the English Midlands, so importing the file
exercises the same easting/northing conversion a real council's export does.

Generation is seeded, so the committed CSV is reproducible byte for byte and the benchmark
measures the same data on every machine. Small counts use only the town and its three villages;
large counts (the 300,000-address benchmark) add further fictional localities whose streets
combine name stems with street types, so the data is not one street repeated ten thousand times.

    python tools/make_demo_gazetteer.py            # writes sync/data/demo_gazetteer.csv
    python tools/make_demo_gazetteer.py --count 300000 --out /tmp/big.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
from pathlib import Path
from typing import Iterator

COLUMNS = ["UPRN", "ADDRESS", "POSTCODE", "EASTING", "NORTHING"]
DEMO_COUNT = 3000
DEMO_PATH = Path(__file__).resolve().parents[1] / "sync" / "data" / "demo_gazetteer.csv"

TOWN = "Brackenford"
TOWN_CENTRE = (450_000, 250_000)
#: Village name, outward code, centre (easting, northing).
VILLAGES = [
    ("Oakhurst", "BF5", (457_800, 256_400)),
    ("Thornley Green", "BF6", (441_300, 258_900)),
    ("Little Ashby", "BF7", (446_900, 240_300)),
]

#: The town's streets. Market Square comes first so the demo file opens with the library.
TOWN_STREETS = [
    "Market Square", "High Street", "Station Road", "Church Lane", "Mill Lane", "Victoria Road",
    "Albert Road", "Queen Street", "King Street", "Park Road", "London Road", "North Street",
    "South Street", "West Street", "East Street", "Bridge Street", "Castle Street", "George Street",
    "New Road", "Springfield Road", "Manor Road", "The Avenue", "Chapel Street", "School Lane",
    "Green Lane", "Orchard Close", "Meadow View", "Riverside Walk", "Canal Street", "Wharf Road",
    "Brook Street", "Elm Grove", "Oak Avenue", "Beech Drive", "Willow Crescent", "Ash Close",
    "Cedar Court", "Hawthorn Gardens", "Holly Close", "Linden Terrace", "Maple Way", "Rowan Drive",
    "Sycamore Place", "Chestnut Avenue", "Birch Grove", "Poplar Road", "Laburnum Street",
    "York Road", "Windsor Road", "Alexandra Road", "Gladstone Street", "Nelson Street",
    "Wellington Road", "Cromwell Road", "Trinity Street", "St Mary's Road", "St John's Close",
    "Abbey Road", "Priory Lane", "Friars Walk", "Tannery Lane", "Foundry Street", "Bracken Rise",
    "Ford Lane", "Hill Rise", "Kiln Lane", "Marsh Lane", "Moor Lane", "Broad Street",
    "Sheep Street", "Cornmarket", "Pound Lane", "Vicarage Road", "Rectory Close",
    "Jubilee Crescent", "Coronation Avenue", "Westfield Road", "Northfield Drive", "Southgate",
    "Eastgate", "Cherry Tree Walk", "Lime Tree Avenue", "Fairview Terrace", "Belmont Road",
    "Clarence Street",
]
#: Streets villages draw from; every village also gets a Church Lane and a road named after the town.
VILLAGE_STREETS = [
    "The Street", "The Green", "Station Road", "Mill Lane", "Manor Farm Close", "Pound Hill",
    "School Road", "Forge Lane", "Well Lane", "Orchard Way", "Back Lane", "Chapel Row",
    "Glebe Close", "Hall Lane", "Nursery Gardens", "Paddock Close", "Smithy Lane", "Woodside",
    "Common Lane", "Ashby Road", "Oakhurst Road", "Thornley Road",
]
STEMS = [
    "Acorn", "Alder", "Appleby", "Beacon", "Beech", "Bell", "Blackthorn", "Bluebell", "Bramble",
    "Brewery", "Buttercup", "Calder", "Cherry", "Clover", "Coppice", "Cowslip", "Cranbrook",
    "Daisy", "Dean", "Dove", "Elder", "Fern", "Field", "Foxglove", "Furlong", "Gorse", "Granary",
    "Hayfield", "Hazel", "Heath", "Heron", "Highfield", "Hollow", "Juniper", "Kestrel", "Kingfisher",
    "Lark", "Lavender", "Magpie", "Mallard", "Maple", "Meadow", "Mulberry", "Nightingale", "Oakley",
    "Orchard", "Osprey", "Otter", "Pear Tree", "Pinfold", "Primrose", "Quarry", "Raven", "Redwing",
    "Ridgeway", "Robin", "Rosemary", "Saxon", "Sedge", "Sorrel", "Spinney", "Swallow", "Tansy",
    "Teasel", "Thistle", "Tithe", "Walnut", "Warren", "Weavers", "Wheatfield", "Whitebeam",
    "Wildflower", "Willowbrook", "Windmill", "Wren", "Yew Tree",
]
SUFFIXES = [
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Crescent", "Gardens", "Place", "Square",
    "Terrace", "Court", "Way", "Walk", "Grove", "Rise", "Mews", "View", "Green", "Row",
]
LOCALITY_PREFIXES = ["", "Upper ", "Lower ", "Great ", "Little "]
LOCALITY_STEMS = [
    "Ash", "Bram", "Cold", "Elm", "Fern", "Hal", "Kings", "Lang", "Mar", "Nether", "Oak", "Red",
    "Stan", "Thorn", "Up", "West", "Whit", "Wood",
]
LOCALITY_ENDINGS = ["by", "field", "ford", "ham", "hurst", "ley", "ton", "wick", "worth", "stead", "combe", "bury"]
HOUSE_NAMES = [
    "Rose Cottage", "The Old Rectory", "Orchard House", "Ivy Cottage", "The Old Forge", "Mill House",
    "Hillside", "Holly Lodge", "The Barn", "Yew Tree Cottage", "The Coach House", "Briar Cottage",
    "Stable Cottage", "The Old School House", "Meadow Bank", "Walnut Tree Farm", "The Granary",
    "Willow Cottage", "Honeysuckle Cottage", "The Old Bakery", "Church Farm", "Lilac Cottage",
]
LANDMARKS = {
    ("Market Square", TOWN): ["Brackenford Central Library", "Brackenford Town Hall"],
    ("Station Road", TOWN): ["Brackenford Railway Station"],
    ("Church Lane", TOWN): ["St Michael's Church"],
}
#: Letters Royal Mail uses in the inward code (never C, I, K, M, O or V).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
#: Outward codes for the localities generated for large counts (BF1-BF7 are the town's and villages').
EXTRA_OUTWARDS = [f"BF{district}" for district in range(8, 100)]
FIRST_UPRN = 900_000_000_000
CORE_AVERAGE_STREET = 42


class _Postcodes:
    """Hands out unused postcode units, each sector's in order, so no two streets share one."""

    def __init__(self) -> None:
        self.next_unit: dict[tuple[str, int], int] = {}

    def allocate(self, outward: str, sector: int) -> str:
        for offset in range(10):
            key = (outward, (sector + offset) % 10)
            index = self.next_unit.get(key, 0)
            if index < len(INWARD_LETTERS) ** 2:
                self.next_unit[key] = index + 1
                first, second = divmod(index, len(INWARD_LETTERS))
                return f"{outward} {key[1]}{INWARD_LETTERS[first]}{INWARD_LETTERS[second]}"
        raise RuntimeError(f"every postcode unit in {outward} is used; generate fewer addresses")


def generate(count: int, seed: int = 2026) -> Iterator[dict]:
    """Yield `count` address rows keyed by COLUMNS, the same rows for the same count and seed."""
    rng = random.Random(seed)
    postcodes = _Postcodes()
    uprn = FIRST_UPRN
    produced = 0
    for locality, outward, centre, street, size in _plan(rng, count):
        for premises, (easting, northing), postcode in _street(rng, postcodes, locality, outward, centre, street, size):
            uprn += rng.randint(1, 40)
            place = f"{street}, {TOWN}" if locality == TOWN else f"{street}, {locality}, {TOWN}"
            yield {
                "UPRN": f"{uprn:012d}",
                "ADDRESS": f"{premises}{place}, {postcode}",
                "POSTCODE": postcode,
                "EASTING": easting,
                "NORTHING": northing,
            }
            produced += 1
            if produced == count:
                return


def _plan(rng: random.Random, count: int) -> Iterator[tuple[str, str | None, tuple[int, int], str, int]]:
    """Yield (locality, outward code or None for the town, centre, street, addresses) to generate.

    The town and villages come first with up to CORE_AVERAGE_STREET addresses a street; only what
    they cannot hold spills into generated localities.
    """
    core = [(TOWN, None, TOWN_CENTRE, street) for street in TOWN_STREETS]
    for village, outward, centre in VILLAGES:
        others = [street for street in VILLAGE_STREETS if not any(word in street for word in village.split())]
        streets = ["Church Lane"] + rng.sample(others, rng.randint(9, 13))
        core += [(village, outward, centre, street) for street in streets]
    weights = [3.0 if street in ("High Street", "Station Road") else rng.uniform(0.3, 1.7) for *_, street in core]
    core_total = min(count, CORE_AVERAGE_STREET * len(core))
    for (locality, outward, centre, street), size in zip(core, _split(core_total, weights)):
        if size:
            yield locality, outward, centre, street, size
    remaining = count - core_total
    names = [prefix + stem + ending
             for prefix in LOCALITY_PREFIXES for stem in LOCALITY_STEMS for ending in LOCALITY_ENDINGS]
    rng.shuffle(names)
    combos = [f"{stem} {suffix}" for stem in STEMS for suffix in SUFFIXES]
    for number, locality in enumerate(names):
        if remaining <= 0:
            return
        angle = rng.uniform(0, 2 * math.pi)
        distance = rng.uniform(6_000, 30_000)
        centre = (round(TOWN_CENTRE[0] + distance * math.cos(angle)),
                  round(TOWN_CENTRE[1] + distance * math.sin(angle)))
        outward = EXTRA_OUTWARDS[number % len(EXTRA_OUTWARDS)]
        streets = ["High Street", "Church Lane", f"{TOWN} Road"] + rng.sample(VILLAGE_STREETS + TOWN_STREETS[1:], 12)
        streets += rng.sample(combos, rng.randint(40, 100))
        for street in dict.fromkeys(streets):
            if remaining <= 0:
                return
            size = min(remaining, rng.randint(8, 80))
            remaining -= size
            yield locality, outward, centre, street, size
    raise RuntimeError(f"ran out of locality names before {count} addresses")


def _split(total: int, weights: list[float]) -> list[int]:
    """Divide `total` in proportion to `weights` exactly (largest remainder first)."""
    shares = [total * weight / sum(weights) for weight in weights]
    sizes = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: sizes[i] - shares[i])
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _street(rng, postcodes, locality, outward, centre, street, size) -> Iterator[tuple[str, tuple[int, int], str]]:
    """Yield (premises prefix such as "Flat 2, 14 ", position, postcode) for one street's addresses.

    Houses alternate sides of a straight street, about 9 m apart; a postcode covers 8-22 of them
    and never splits a building's flats.
    """
    spread = 1_800 if locality == TOWN else 600
    if street in ("Market Square", "High Street"):
        spread = 150
    start = (centre[0] + rng.uniform(-spread, spread), centre[1] + rng.uniform(-spread, spread))
    if outward is None:
        outward = _town_district(start)
    angle = rng.uniform(0, math.pi)
    direction = (math.cos(angle), math.sin(angle))
    sector = rng.randint(1, 9)
    rural = street.endswith(("Lane", "Hill", "Green", "The Street", "Row"))
    flats_likely = street in ("High Street", "Station Road", "Victoria Road", "Market Square") or locality == TOWN
    skip_thirteen = rng.random() < 0.5

    def position(number: int) -> tuple[int, int]:
        along = (number // 2) * 9.0
        side = 8.0 if number % 2 else -8.0
        return (round(start[0] + along * direction[0] - side * direction[1]),
                round(start[1] + along * direction[1] + side * direction[0]))

    premises = _premises(rng, street, locality, size, rural=rural, flats_likely=flats_likely,
                         skip_thirteen=skip_thirteen)
    unit_left = 0
    postcode = ""
    building = None
    for prefix, number in premises[:size]:
        if unit_left <= 0 and number != building:
            postcode = postcodes.allocate(outward, sector)
            unit_left = rng.randint(8, 22)
        building = number
        unit_left -= 1
        yield prefix, position(number), postcode


def _premises(rng, street, locality, size, *, rural: bool, flats_likely: bool,
              skip_thirteen: bool) -> list[tuple[str, int]]:
    """(premises prefix, house number) along one street: landmarks first, then numbered houses,
    with house names on rural streets, flats where a town street has them and the odd "14A"."""
    landmarks = LANDMARKS.get((street, locality), [])
    premises: list[tuple[str, int]] = [(f"{name}, ", index + 1) for index, name in enumerate(landmarks)]
    number = 0
    names = rng.sample(HOUSE_NAMES, len(HOUSE_NAMES))
    while len(premises) < size:
        number += 1
        if number == 13 and skip_thirteen:
            continue
        roll = rng.random()
        if rural and names and roll < 0.25:
            name = names.pop()
            premises.append((f"{name}, " if rng.random() < 0.5 else f"{name}, {number} ", number))
        elif flats_likely and roll < 0.08:
            premises += [(f"Flat {flat}, {number} ", number) for flat in range(1, rng.randint(2, 6) + 1)]
        elif roll > 0.97:
            premises += [(f"{number} ", number), (f"{number}A ", number)]
        else:
            premises.append((f"{number} ", number))
    return premises


def _town_district(point: tuple[float, float]) -> str:
    """The town's postcode district: BF1 in the centre, BF2-BF4 around it, as Royal Mail would."""
    dx, dy = point[0] - TOWN_CENTRE[0], point[1] - TOWN_CENTRE[1]
    if math.hypot(dx, dy) < 700:
        return "BF1"
    return "BF2" if dy >= 0 and dx >= 0 else "BF3" if dy < 0 else "BF4"


def write_csv(path: Path, count: int, seed: int = 2026) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        rows = 0
        for row in generate(count, seed):
            writer.writerow(row)
            rows += 1
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=DEMO_COUNT, help=f"addresses to generate (default {DEMO_COUNT})")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=DEMO_PATH,
                        help="CSV file to write (default: the shipped demo gazetteer)")
    args = parser.parse_args(argv)
    rows = write_csv(args.out, args.count, args.seed)
    print(f"wrote {rows} addresses to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
