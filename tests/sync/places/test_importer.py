"""Importing councils' address CSVs, whatever their columns, grid and mistakes, and the command that does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sync.places import gazetteer as gz
from sync.places.gazetteer import GazetteerError, Place

TOOL = Path(__file__).resolve().parents[3] / "tools" / "make_demo_gazetteer.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("make_demo_gazetteer", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_csv_loads_completely_with_the_streets_the_demo_needs(db):
    report = gz.import_csv(db, gz.DEMO_CSV)
    assert report.skipped == [] and report.loaded == gz.count(db) == 3000
    for street in ("High Street", "Station Road", "Church Lane"):
        assert gz.search(db, street), street
    assert [place.address for place in gz.search(db, "brackenford central library")] == [
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


def test_grid_references_are_converted_to_wgs84(db, tmp_path, write):
    path = write(tmp_path / "london.csv", "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
                                          '1,"1 Test Street, London",SW1A 2AA,530000,180000\n')
    assert gz.import_csv(db, path).loaded == 1
    [place] = gz.search(db, "SW1A 2AA")
    assert place.lat == pytest.approx(51.504, abs=0.002) and place.lon == pytest.approx(-0.128, abs=0.002)


def test_latitude_and_longitude_are_taken_as_they_are(db, tmp_path, write):
    path = write(tmp_path / "degrees.csv", "uprn,Full Address,Postcode,Latitude,Longitude\n"
                                           '7,"3 Mill Lane, Brackenford",bf1 2ab,52.1,-1.25\n')
    assert gz.import_csv(db, path).loaded == 1
    assert gz.search(db, "bf12ab") == [Place("7", "3 Mill Lane, Brackenford, BF1 2AB", "BF1 2AB", 52.1, -1.25)]


def test_columns_can_be_mapped_and_street_and_number_come_from_their_own_columns(db, tmp_path, write):
    path = write(tmp_path / "export.csv", "PROP_REF,LINE1,PCODE,GRID_X,GRID_Y,ROAD,HOUSE\n"
                                          '100,"Ye Olde Shoppe, Cornmarket",BF1 2AB,450000,250000,Cornmarket,4\n')
    columns = {"uprn": "prop_ref", "address": "LINE1", "postcode": "PCODE", "easting": "GRID_X",
               "northing": "GRID_Y", "street": "ROAD", "number": "HOUSE"}
    assert gz.import_csv(db, path, columns).loaded == 1
    assert db.conn.execute("SELECT street, number FROM addresses").fetchone() == ("Cornmarket", "4")
    assert [place.address for place in gz.search(db, "4 cornmarket")] == ["Ye Olde Shoppe, Cornmarket, BF1 2AB"]


def test_bad_rows_are_reported_by_line_and_good_rows_still_load(db, tmp_path, write):
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
    assert [place.address for place in gz.search(db, "7 high street")] == ["7 High Street, Brackenford, BF1 2AB"]


def test_latitude_and_longitude_swapped_or_abroad_are_skipped(db, tmp_path, write):
    path = write(tmp_path / "degrees.csv", "UPRN,ADDRESS,POSTCODE,LAT,LON\n"
                                           '1,"1 Mill Lane",BF1 2AB,-1.25,52.1\n'
                                           '2,"2 Mill Lane",BF1 2AB,48.85,2.35\n'
                                           '3,"3 Mill Lane",BF1 2AB,52.1,-1.25\n')
    report = gz.import_csv(db, path)
    assert report.loaded == 1
    assert report.skipped == [(2, "latitude -1.25 and longitude 52.1 look swapped"),
                              (3, "latitude 48.85, longitude 2.35 is not in the UK")]


def test_a_missing_required_column_is_named_with_the_columns_the_file_has(db, tmp_path, write):
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


def test_semicolon_separated_exports_load(db, tmp_path, write):
    path = write(tmp_path / "excel.csv", "\ufeffUPRN;ADDRESS;POSTCODE;EASTING;NORTHING\n"
                                         "1;1 Mill Lane, Brackenford;BF1 2AB;450000;250000\n")
    assert gz.import_csv(db, path).loaded == 1


def test_adding_without_replacing_updates_known_uprns_and_keeps_the_rest(db, tmp_path, write):
    header = "UPRN,ADDRESS,POSTCODE,EASTING,NORTHING\n"
    first = write(tmp_path / "a.csv", header + '1,"1 Mill Lane",BF1 2AB,450000,250000\n'
                                               '2,"2 Mill Lane",BF1 2AB,450010,250000\n')
    update = write(tmp_path / "b.csv", header + '2,"2 Mill Lane (renamed)",BF1 2AB,450010,250000\n'
                                                '3,"3 Mill Lane",BF1 2AD,450020,250000\n')
    gz.import_csv(db, first)
    assert gz.import_csv(db, update, replace=False).loaded == 2
    assert [place.address for place in gz.search(db, "BF1 2AB")] == [
        "1 Mill Lane, BF1 2AB", "2 Mill Lane (renamed), BF1 2AB"]
    assert gz.count(db) == 3
    gz.import_csv(db, update)
    assert gz.count(db) == 2


def test_cli_imports_the_demo_and_searches_it(run):
    result = run("gazetteer", "import", "--demo")
    assert result.exit_code == 0 and result.output == "Loaded 3000 addresses\n"
    result = run("gazetteer", "search", "12", "high", "st", "--limit", "1")
    assert result.output == "900000000779  BF1 5AB   12 High Street, Brackenford, BF1 5AB\n"
    result = run("gazetteer", "search", "nowhere at all")
    assert result.exit_code == 0 and result.output == "No addresses found for 'nowhere at all'.\n"


def test_cli_import_maps_columns_and_lists_skipped_lines(run, tmp_path, write):
    path = write(tmp_path / "council.csv", "REF,ADDRESS,POSTCODE,EASTING,NORTHING\n"
                                           '1,"1 Mill Lane",BF1 2AB,450000,250000\n'
                                           '2,"2 Mill Lane",BF1,450010,250000\n')
    result = run("gazetteer", "import", str(path), "--map", "uprn=REF")
    assert result.exit_code == 0
    assert result.output == "Loaded 1 addresses\nSkipped 1 rows:\nline 3: postcode 'BF1' is not a valid UK postcode\n"


def test_cli_explains_bad_files_and_arguments_without_a_traceback(run, tmp_path, write):
    result = run("gazetteer", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "Error: There is no file at" in result.output
    path = write(tmp_path / "c.csv", "ID,ADDRESS\n1,x\n")
    result = run("gazetteer", "import", str(path))
    assert result.exit_code == 1 and "missing required columns" in result.output and "Traceback" not in result.output
    assert run("gazetteer", "import").exit_code == 2
    assert run("gazetteer", "import", str(path), "--demo").exit_code == 2
    result = run("gazetteer", "import", str(path), "--map", "uprn")
    assert result.exit_code == 2 and "FIELD=HEADER" in result.output
