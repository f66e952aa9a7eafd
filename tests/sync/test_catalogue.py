"""The bundled catalogue, the council's catalogue over it, and its strings for translators."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from sync.catalogue import BUNDLED_PATH, Attribute, Catalogue, CatalogueError, Service, bundled, parse_bundled
from sync.catalogue_extract import extract

SERVICES_NOTE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "services.md"
LGSL = {524, 526, 528, 530, 1130, 854, 587, 588, 557, 537, 564, 567, 584, 372, 577, 580, 581, 582, 576, 428, 555, 561}


def test_at_least_a_dozen_everyday_services_each_with_an_lgsl_code():
    catalogue = bundled()
    codes = {service.code for service in catalogue.services}
    assert len(codes) >= 12
    assert {"missed_bin", "pothole", "street_light", "fly_tipping", "graffiti", "dog_fouling", "abandoned_vehicle",
            "bulky_waste", "litter_bin", "blocked_drain", "dead_animal", "needles"} <= codes
    for service in catalogue.services:
        assert service.lgsl in LGSL, service.code
        assert service.keywords and service.group and service.name


@pytest.mark.skipif(not SERVICES_NOTE.exists(), reason="shared reference notes not beside the repo")
def test_lgsl_codes_are_those_of_the_shared_reference_note():
    listed = {int(code) for code in re.findall(r"^\| (\d+) \|", SERVICES_NOTE.read_text(), re.M)}
    assert {service.lgsl for service in bundled().services} <= listed


def test_dangerous_services_warn_before_anything_is_asked():
    for code in ("needles", "street_light", "pothole", "blocked_drain", "fly_tipping"):
        notice = bundled().get(code).urgent_notice
        assert "phone" in notice and "now" in notice, code
    assert "{phone}" in bundled().get("needles").urgent_notice


def test_services_come_grouped_for_menus_by_journey():
    requests = bundled().groups("request")
    assert [s.code for group in requests.values() for s in group] == ["bulky_waste"]
    assert "Street cleaning" in bundled().groups("report")


@pytest.mark.parametrize("text, message", [
    ("version = 1\n", "no services"),
    ('[[service]]\nname = "x"\n', "missing 'code'"),
    ('[[service]]\ncode = "a"\nname = "A"\n[[service.attribute]]\ncode = "q"\ndatatype = "colour"\ndescription = "?"\n',
     "datatype 'colour'"),
    ('[[service]]\ncode = "a"\nname = "A"\n[[service.attribute]]\ncode = "q"\ndatatype = "singlevaluelist"\n'
     'description = "?"\n', "needs values"),
    ("not toml [", "not valid TOML"),
])
def test_a_broken_catalogue_says_where(text, message):
    with pytest.raises(CatalogueError, match=re.escape(message)):
        parse_bundled(text)


def council_catalogue() -> Catalogue:
    """What a council's server says: its own names and attributes for a known and a new code."""
    pothole = Service(code="pothole", name="Highways - Pothole (HW01)", group="Highways", attributes=(
        Attribute(code="size", datatype="singlevaluelist", description="Size (cm)", required=True,
                  values=(bundled().get("pothole").attributes[0].values)),
        Attribute(code="depth_cm", datatype="number", description="Depth in cm"),
    ))
    return Catalogue(version="council-42", source="council",
                     services=(pothole, Service(code="HW99", name="Bus shelter damage", group="Highways")))


def test_the_council_decides_codes_and_attributes_the_overlay_keeps_the_plain_words():
    from sync.catalogue import merge

    merged = merge(council_catalogue(), bundled())
    assert [s.code for s in merged.services] == ["pothole", "HW99"]
    pothole = merged.get("pothole")
    assert pothole.name == "Pothole" and pothole.urgent_notice and "pot hole" in pothole.keywords
    assert [a.code for a in pothole.attributes] == ["size", "depth_cm"]
    assert pothole.attributes[0].description == "How big is it?"  # plain words for a known attribute
    assert pothole.attributes[1].description == "Depth in cm"  # the council's words for a new one
    assert merged.get("HW99").name == "Bus shelter damage" and merged.get("missed_bin") is None


def test_the_store_keeps_the_last_good_council_catalogue_and_survives_a_corrupt_one(store, settings, caplog):
    from sync.store import Store

    assert store.catalogue().source == "bundled"
    store.save_council_catalogue(council_catalogue())
    assert store.catalogue().version == "council-42" and store.catalogue_fetched_at() is not None
    store.db.conn.execute("UPDATE catalogue_cache SET body = '{\"version\": 1'")
    starting = Store.open(settings)  # a kiosk starting up on a store whose cache was damaged
    with caplog.at_level(logging.WARNING):
        assert starting.catalogue().source == "bundled"
    assert "cached council catalogue unreadable" in caplog.text
    starting.close()


def test_every_resident_facing_string_is_extracted_with_a_comment():
    found = list(extract(io.BytesIO(BUNDLED_PATH.read_bytes()), [], [], {}))
    messages = {message for _line, _func, message, _comments in found}
    needles = bundled().get("needles")
    assert {needles.name, needles.urgent_notice, needles.description_hint, "Fridge or freezer",
            "Which bin was not emptied?"} <= messages
    assert all(comments and line > 0 for line, _f, _m, comments in found)


def test_assist_catalogue_show(run):
    result = run("catalogue", "show")
    assert "missed_bin" in result.output and "Missed bin collection" in result.output
    data = json.loads(run("catalogue", "show", "--json").output)
    assert data["source"] == "bundled" and len(data["services"]) == len(bundled().services)
    assert {"service_code": "needles", "service_name": "Discarded needles", "group": "Street cleaning",
            "lgsl": 428, "metadata": True, "overlay": "needles", "matched_by": "bundled"} in data["services"]


def test_the_catalogue_is_parsed_once_per_catalogue_saved_even_by_another_process(store, settings):
    from sync.store import Store

    first = store.catalogue()
    assert store.catalogue() is first  # no new parse while nothing changed
    other = Store.open(settings)  # the worker, in its own process
    other.save_council_catalogue(council_catalogue())
    other.close()
    fresh = store.catalogue()
    assert fresh is not first and fresh.version == "council-42" and store.catalogue() is fresh
