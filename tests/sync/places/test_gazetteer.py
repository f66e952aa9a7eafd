"""The offline gazetteer: importing councils' CSVs, and finding addresses however residents type them."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.places import gazetteer as gz
from sync.places.gazetteer import GazetteerError, Place
from sync.store import db as store_db

TOOL = Path(__file__).resolve().parents[3] / "tools" / "make_demo_gazetteer.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("make_demo_gazetteer", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def db(tmp_path):
    database = store_db.connect(tmp_path / "store.db")
    yield database
    database.conn.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    database = store_db.connect(tmp_path_factory.mktemp("demo") / "store.db")
    gz.import_csv(database, gz.DEMO_CSV)
    yield database
    database.conn.close()


def addresses(places: list[Place]) -> list[str]:
    return [place.address for place in places]


# --- the demo gazetteer -----------------------------------------------------------------------


def test_demo_csv_loads_completely_with_the_streets_the_demo_needs(db):
    report = gz.import_csv(db, gz.DEMO_CSV)
    assert report.skipped == [] and report.loaded == gz.count(db) == 3000
    for street in ("High Street", "Station Road", "Church Lane"):
        assert gz.search(db, street), street
    assert addresses(gz.search(db, "brackenford central library")) == [
        "Brackenford Central Library, Market Square, Brackenford, BF1 4AA"]
    towns = {row[0] for row in db.conn.execute("SELECT town FROM addresses")}
    assert {"Brackenford", "Oakhurst", "Thornley Green", "Little Ashby"} <= towns
    lat, lon = db.conn.execute("SELECT avg(lat), avg(lon) FROM addresses").fetchone()
    assert 51.9 < lat < 52.4 and -1.6 < lon < -1.0  # around E 450000 N 250000, in the Midlands


def test_the_shipped_csv_is_exactly_what_the_generator_makes(tmp_path):
    tool = load_tool()
    regenerated = tool.write_csv(tmp_path / "again.csv", tool.DEMO_COUNT)
    assert regenerated == 3000
    assert (tmp_path / "again.csv").read_bytes() == gz.DEMO_CSV.read_bytes()


def test_generator_scales_to_varied_valid_fictional_addresses():
    rows = list(load_tool().generate(30_000))
    assert len(rows) == 30_000
    assert len({row["UPRN"] for row in rows}) == 30_000
    assert all(len(row["UPRN"]) == 12 and row["UPRN"].isdigit() for row in rows)
    assert all(gz.normalise_postcode(row["POSTCODE"]) == row["POSTCODE"] for row in rows)
    assert all(row["POSTCODE"].startswith("BF") for row in rows)
    streets = {gz.split_address(row["ADDRESS"])[1] for row in rows}
    assert len(streets) > 500
    assert any(row["ADDRESS"].startswith("Flat ") for row in rows)
    assert list(load_tool().generate(50, seed=1)) == list(load_tool().generate(50, seed=1))


# --- import -----------------------------------------------------------------------------------


def test_grid_references_are_converted_to_wgs84(db, tmp_path):
    path = write(tmp_path / "london.csv", "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
                                          '1,"1 Test Street, London",SW1A 2AA,530000,180000\n')
    assert gz.import_csv(db, path).loaded == 1
    [place] = gz.search(db, "SW1A 2AA")
    assert place.lat == pytest.approx(51.504, abs=0.002) and place.lon == pytest.approx(-0.128, abs=0.002)


def test_latitude_and_longitude_are_taken_as_they_are(db, tmp_path):
    path = write(tmp_path / "degrees.csv", "uprn,Full Address,Postcode,Latitude,Longitude\n"
                                           '7,"3 Mill Lane, Brackenford",bf1 2ab,52.1,-1.25\n')
    assert gz.import_csv(db, path).loaded == 1
    assert gz.search(db, "bf12ab") == [Place("7", "3 Mill Lane, Brackenford, BF1 2AB", "BF1 2AB", 52.1, -1.25)]


def test_columns_can_be_mapped_and_street_and_number_come_from_their_own_columns(db, tmp_path):
    path = write(tmp_path / "export.csv", "PROP_REF,LINE1,PCODE,GRID_X,GRID_Y,ROAD,HOUSE\n"
                                          '100,"Ye Olde Shoppe, Cornmarket",BF1 2AB,450000,250000,Cornmarket,4\n')
    columns = {"uprn": "prop_ref", "address": "LINE1", "postcode": "PCODE", "easting": "GRID_X",
               "northing": "GRID_Y", "street": "ROAD", "number": "HOUSE"}
    assert gz.import_csv(db, path, columns).loaded == 1
    assert db.conn.execute("SELECT street, number FROM addresses").fetchone() == ("Cornmarket", "4")
    assert addresses(gz.search(db, "4 cornmarket")) == ["Ye Olde Shoppe, Cornmarket, BF1 2AB"]


def test_street_number_and_town_are_read_from_the_address_when_not_given():
    assert gz.split_address("12 High Street, Brackenford, BF1 2AB") == ("12", "High Street", "Brackenford")
    assert gz.split_address("Flat 2, 14 Station Road, Oakhurst, Brackenford") == ("14", "Station Road", "Oakhurst")
    assert gz.split_address("Rose Cottage, Church Lane, Little Ashby") == ("", "Church Lane", "Little Ashby")
    assert gz.split_address("12A Cornmarket, Brackenford") == ("12A", "Cornmarket", "Brackenford")
    assert gz.split_address("The Old Forge, Woodside, Oakhurst") == ("", "Woodside", "Oakhurst")


def test_bad_rows_are_reported_by_line_and_good_rows_still_load(db, tmp_path):
    path = write(tmp_path / "mixed.csv", "\n".join([
        "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING",           # 1
        '1,"1 High Street, Brackenford",BF1 2AB,450000,250000',  # 2 good
        '2,"2 High Street, Brackenford",NOT A PC,450010,250000',  # 3 bad postcode
        ',"3 High Street, Brackenford",BF1 2AB,450020,250000',    # 4 no UPRN
        '4,"4 High Street, Brackenford",BF1 2AB,east,250000',     # 5 easting not a number
        '1,"5 High Street, Brackenford",BF1 2AB,450040,250000',   # 6 duplicate UPRN
        '6,6 High Street, Brackenford,BF1 2AB,450050,250000',     # 7 unquoted comma
        '',                                                      # 8 blank: ignored
        '7,"7 High',                                             # 9 a quoted line break...
        'Street, Brackenford",BF1 2AB,450060,250000',            # 10 ...is one row, and good
        '8,"8 High Street, Brackenford",BF1 2AB,52.1,-1.2',      # 11 degrees in the grid columns
        '9,"9 High Street, Brackenford",BF1 2AB,450080,250000',  # 12 good
    ]) + "\n")
    report = gz.import_csv(db, path)
    assert report.loaded == 3 and gz.count(db) == 3
    lines = dict(report.skipped)
    assert sorted(lines) == [3, 4, 5, 6, 7, 11]
    assert lines[3] == "postcode 'NOT A PC' is not a valid UK postcode"
    assert lines[4] == "has no UPRN"
    assert lines[5] == "easting 'east' is not a number"
    assert lines[6] == "UPRN 1 is already on line 2; only that one is kept"
    assert "has 6 values but the header has 5 columns" in lines[7]
    assert "look like latitude and longitude" in lines[11]
    assert addresses(gz.search(db, "7 high street")) == ["7 High Street, Brackenford, BF1 2AB"]


def test_latitude_and_longitude_swapped_or_abroad_are_skipped(db, tmp_path):
    path = write(tmp_path / "degrees.csv", "UPRN,ADDRESS,POSTCODE,LAT,LON\n"
                                           '1,"1 Mill Lane",BF1 2AB,-1.25,52.1\n'
                                           '2,"2 Mill Lane",BF1 2AB,48.85,2.35\n'
                                           '3,"3 Mill Lane",BF1 2AB,52.1,-1.25\n')
    report = gz.import_csv(db, path)
    assert report.loaded == 1
    assert report.skipped == [(2, "latitude -1.25 and longitude 52.1 look swapped"),
                              (3, "latitude 48.85, longitude 2.35 is not in the UK")]


def test_a_missing_required_column_is_named_with_the_columns_the_file_has(db, tmp_path):
    path = write(tmp_path / "nopostcode.csv", "UPRN,ADDRESS,EASTING,NORTHING\n1,x,450000,250000\n")
    with pytest.raises(GazetteerError) as caught:
        gz.import_csv(db, path)
    message = str(caught.value)
    assert "missing required columns: postcode (looked for POSTCODE" in message
    assert "Its columns are: UPRN, ADDRESS, EASTING, NORTHING" in message
    assert "uprn (" not in message

    path = write(tmp_path / "nocoords.csv", "UPRN,ADDRESS,POSTCODE,EASTING\n1,x,BF1 2AB,450000\n")
    with pytest.raises(GazetteerError, match="coordinates"):
        gz.import_csv(db, path)


@pytest.mark.parametrize("content, columns, expected", [
    (None, None, "There is no file at"),
    (b"", None, "has no header row"),
    (b"UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n", None, "has a header row but no addresses"),
    ("UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n1,\"1 Caf\xe9 Row\",BF1 2AB,450000,250000\n".encode("latin-1"),
     None, "is not UTF-8 text"),
    (b"UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n1,x,BF1 2AB,450000,250000\n", {"flat": "X"}, "no field called 'flat'"),
    (b"UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n1,x,BF1 2AB,450000,250000\n", {"uprn": "REF"}, "has no column 'REF'"),
    (b"UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n1,x,nowhere,450000,250000\n", None, "None of the 1 rows"),
])
def test_file_problems_are_explained_and_leave_the_gazetteer_as_it_was(db, tmp_path, content, columns, expected):
    gz.import_csv(db, gz.DEMO_CSV)
    path = tmp_path / "council.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GazetteerError, match=expected):
        gz.import_csv(db, path, columns)
    assert gz.count(db) == 3000


def test_semicolon_separated_exports_load(db, tmp_path):
    path = write(tmp_path / "excel.csv", "\ufeffUPRN;ADDRESS;POSTCODE;EASTING;NORTHING\n"
                                         "1;1 Mill Lane, Brackenford;BF1 2AB;450000;250000\n")
    assert gz.import_csv(db, path).loaded == 1


def test_adding_without_replacing_updates_known_uprns_and_keeps_the_rest(db, tmp_path):
    header = "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
    first = write(tmp_path / "a.csv", header + '1,"1 Mill Lane",BF1 2AB,450000,250000\n'
                                               '2,"2 Mill Lane",BF1 2AB,450010,250000\n')
    update = write(tmp_path / "b.csv", header + '2,"2 Mill Lane (renamed)",BF1 2AB,450010,250000\n'
                                                '3,"3 Mill Lane",BF1 2AD,450020,250000\n')
    gz.import_csv(db, first)
    assert gz.import_csv(db, update, replace=False).loaded == 2
    assert addresses(gz.search(db, "BF1 2AB")) == ["1 Mill Lane, BF1 2AB", "2 Mill Lane (renamed), BF1 2AB"]
    assert gz.count(db) == 3
    gz.import_csv(db, update)
    assert gz.count(db) == 2


# --- postcodes --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("BF1 2AB", "BF1 2AB"), ("bf12ab", "BF1 2AB"), ("  b f 1 2 a b ", "BF1 2AB"),
    ("M1 1AE", "M1 1AE"), ("B33 8TH", "B33 8TH"), ("W1A 0AX", "W1A 0AX"), ("CR2 6XH", "CR2 6XH"),
    ("DN55 1PT", "DN55 1PT"), ("EC1A 1BB", "EC1A 1BB"), ("gir0aa", "GIR 0AA"), ("SW1A 2AA", "SW1A 2AA"),
    ("", None), ("BF1", None), ("BF1 2", None), ("12 high st", None), ("BF1 2AC", None),  # C never inward
    ("QA1 2AB", None), ("AI1 2AB", None), ("BF1 2ABC", None), ("BF123 4AB", None), ("1F1 2AB", None),
    ("W1I 2AB", None), ("EC1C 1BB", None), ("BF1-2AB", None), ("ＢＦ1 2AB", None), (None, None),
])
def test_normalise_postcode_knows_the_uk_formats(text, expected):
    assert gz.normalise_postcode(text) == expected


def write_postcodes(db, tmp_path):
    rows = [
        ("1", "10 Kiln Lane", "BF1 2AB"), ("2", "2 Kiln Lane", "BF1 2AB"), ("3", "Flat 10, 3 Kiln Lane", "BF1 2AB"),
        ("4", "Flat 2, 3 Kiln Lane", "BF1 2AB"), ("5", "1 Kiln Lane", "BF1 2AB"), ("6", "3 Kiln Lane", "BF1 2AB"),
        ("7", "1 Moor Lane", "BF1 3AB"), ("8", "1 Far Lane", "BF12 4AB"), ("9", "1 Near Lane", "BF2 1AB"),
    ]
    with open(tmp_path / "codes.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["UPRN", "ADDRESS", "POSTCODE", "EASTING", "NORTHING"])
        writer.writerows([(uprn, address, postcode, 450000, 250000) for uprn, address, postcode in rows])
    gz.import_csv(db, tmp_path / "codes.csv")


def test_a_full_postcode_lists_its_addresses_in_house_number_order(db, tmp_path):
    write_postcodes(db, tmp_path)
    assert addresses(gz.search(db, " bf1 2ab ")) == [
        "1 Kiln Lane, BF1 2AB", "2 Kiln Lane, BF1 2AB", "3 Kiln Lane, BF1 2AB", "Flat 2, 3 Kiln Lane, BF1 2AB",
        "Flat 10, 3 Kiln Lane, BF1 2AB", "10 Kiln Lane, BF1 2AB"]
    assert len(gz.search(db, "BF12AB", limit=2)) == 2
    assert gz.search(db, "BF9 9ZZ") == []


def test_partial_postcodes_match_by_district_and_sector(db, tmp_path):
    write_postcodes(db, tmp_path)
    assert {place.postcode for place in gz.search(db, "BF1", limit=50)} == {"BF1 2AB", "BF1 3AB"}
    assert {place.postcode for place in gz.search(db, "bf1 3")} == {"BF1 3AB"}
    # Without a space "BF12" is both sector 2 of BF1 and the district BF12.
    assert {place.postcode for place in gz.search(db, "BF12", limit=50)} == {"BF1 2AB", "BF12 4AB"}
    assert [place.postcode for place in gz.search(db, "BF1", limit=3)] == ["BF1 2AB"] * 3


# --- words ------------------------------------------------------------------------------------


def test_street_and_number_finds_the_house_first(demo_db):
    assert addresses(gz.search(demo_db, "12 high st"))[0] == "12 High Street, Brackenford, BF1 5AB"
    assert addresses(gz.search(demo_db, "12 High Street, Brackenford"))[0] == "12 High Street, Brackenford, BF1 5AB"
    found = gz.search(demo_db, "church lane oakhurst")
    assert found and all("Church Lane, Oakhurst" in place.address for place in found)


def test_abbreviations_match_both_ways(db, tmp_path):
    path = write(tmp_path / "abbrev.csv", "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
                                          '1,"5 Mill Rd, Brackenford",BF1 2AB,450000,250000\n'
                                          '2,"8 St Mary\'s Gdns, Brackenford",BF1 2AB,450000,250000\n'
                                          '3,"4 Jubilee Crescent, Brackenford",BF1 2AB,450000,250000\n')
    gz.import_csv(db, path)
    assert addresses(gz.search(db, "5 mill road")) == ["5 Mill Rd, Brackenford, BF1 2AB"]
    assert addresses(gz.search(db, "8 saint")) == []
    assert addresses(gz.search(db, "8 st marys gardens")) == ["8 St Mary's Gdns, Brackenford, BF1 2AB"]
    assert addresses(gz.search(db, "4 jubilee cres")) == ["4 Jubilee Crescent, Brackenford, BF1 2AB"]
    assert addresses(gz.search(db, "4 jubil")) == ["4 Jubilee Crescent, Brackenford, BF1 2AB"]


@pytest.mark.parametrize("query, street", [
    ("hihg street", "High Street"), ("staton rd", "Station Road"), ("chruch lane", "Church Lane"),
    ("victria road", "Victoria Road"), ("staton", "Station Road"),
])
def test_misspelt_streets_are_still_found(demo_db, query, street):
    found = gz.search(demo_db, query)
    assert found and all(f" {street}, " in f" {place.address}" for place in found), addresses(found)


def test_a_misspelt_street_with_a_number_finds_that_number(demo_db):
    found = addresses(gz.search(demo_db, "12 staton rd"))
    assert found and all("12 Station Road" in address for address in found)


def test_a_gazetteer_kept_open_finds_misspelt_streets_of_a_later_import(db, tmp_path):
    """A kiosk keeps one Gazetteer for as long as it runs; the council's new list is imported meanwhile."""
    header = "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
    gz.import_csv(db, write(tmp_path / "old.csv", header + "1,1 Station Road,BF1 2AB,450000,250000\n"))
    kept = gz.Gazetteer(db)
    assert addresses(kept.search("staton rd")) == ["1 Station Road, BF1 2AB"]
    assert kept.search("margold way") == []
    gz.import_csv(db, write(tmp_path / "new.csv", header + "2,2 Marigold Way,BF1 2AB,450000,250000\n"))
    assert addresses(kept.search("margold way")) == ["2 Marigold Way, BF1 2AB"]
    assert kept.search("staton rd") == [] and kept.count() == 1


@pytest.mark.parametrize("query", ["", "   ", "!!!", '"', "*", "-", ":", "()", "NEAR(high street)",
                                   "high AND street OR", '"12 high" NOT st*', "^high", "zzzzqqq", "\x00",
                                   "'; DROP TABLE addresses; --"])
def test_garbage_finds_nothing_and_never_fails(demo_db, query):
    assert isinstance(gz.search(demo_db, query), list)
    assert gz.search(demo_db, "") == gz.search(demo_db, "   ") == gz.search(demo_db, "!!!") == []
    assert gz.count(demo_db) == 3000


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80) | st.text(alphabet='"*-:()^+ANDORNEARbf12 hgs', max_size=40))
def test_search_never_raises(demo_db, query):
    found = gz.search(demo_db, query, limit=5)
    assert len(found) <= 5 and all(isinstance(place, Place) for place in found)


@given(st.text(max_size=12))
def test_normalise_postcode_is_idempotent(text):
    once = gz.normalise_postcode(text)
    assert once is None or gz.normalise_postcode(once) == once


# --- the command line -------------------------------------------------------------------------


def test_cli_imports_the_demo_and_searches_it(run):
    result = run("gazetteer", "import", "--demo")
    assert result.exit_code == 0 and result.output == "Loaded 3000 addresses\n"
    result = run("gazetteer", "search", "12", "high", "st", "--limit", "1")
    assert result.output == "900000000779  BF1 5AB   12 High Street, Brackenford, BF1 5AB\n"
    result = run("gazetteer", "search", "nowhere at all")
    assert result.exit_code == 0 and result.output == "No addresses found for 'nowhere at all'.\n"


def test_cli_import_maps_columns_and_lists_skipped_lines(run, tmp_path):
    path = write(tmp_path / "council.csv", "REF,ADDRESS,POSTCODE,EASTING,NORTHING\n"
                                           '1,"1 Mill Lane",BF1 2AB,450000,250000\n'
                                           '2,"2 Mill Lane",BF1,450010,250000\n')
    result = run("gazetteer", "import", str(path), "--map", "uprn=REF")
    assert result.exit_code == 0
    assert result.output == "Loaded 1 addresses\nSkipped 1 rows:\nline 3: postcode 'BF1' is not a valid UK postcode\n"


def test_cli_explains_bad_files_and_arguments_without_a_traceback(run, tmp_path):
    result = run("gazetteer", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "Error: There is no file at" in result.output
    path = write(tmp_path / "c.csv", "ID,ADDRESS\n1,x\n")
    result = run("gazetteer", "import", str(path))
    assert result.exit_code == 1 and "missing required columns" in result.output and "Traceback" not in result.output
    assert run("gazetteer", "import").exit_code == 2
    assert run("gazetteer", "import", str(path), "--demo").exit_code == 2
    result = run("gazetteer", "import", str(path), "--map", "uprn")
    assert result.exit_code == 2 and "FIELD=HEADER" in result.output
