"""Finding addresses however residents type them: postcodes, street and number, misspelt streets."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.places import gazetteer as gz
from sync.places.gazetteer import Place


def addresses(places: list[Place]) -> list[str]:
    return [place.address for place in places]


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


def test_street_and_number_finds_the_house_first(demo_db):
    assert addresses(gz.search(demo_db, "12 high st"))[0] == "12 High Street, Brackenford, BF1 5AB"
    assert addresses(gz.search(demo_db, "12 High Street, Brackenford"))[0] == "12 High Street, Brackenford, BF1 5AB"
    found = gz.search(demo_db, "church lane oakhurst")
    assert found and all("Church Lane, Oakhurst" in place.address for place in found)


def test_abbreviations_match_both_ways(db, tmp_path, write):
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


def test_a_gazetteer_kept_open_finds_misspelt_streets_of_a_later_import(db, tmp_path, write):
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
