"""A council's own codes (`POT`, `BIN`) still get the bundled plain words, notices and keywords,
and what was queued under bundled codes reaches the council under its own."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from kiosk.session import URGENT, Session
from sms.recognise import Recogniser
from sync.catalogue import Attribute, Catalogue, Service, Value, bundled, merge
from sync.config import ConfigError, load_settings
from sync.open311.worker import Worker, request_fields
from sync.store import Store
from tests.helpers import draft

API_KEY = "council-key-1"


def council_catalogue(*extra: Service) -> Catalogue:
    """A council's catalogue in its own words and codes."""
    pothole = Service(code="POT", name="Road defect", group="Highways", keywords=("roads", "lgsl:557"), attributes=(
        Attribute(code="POT_SIZE", datatype="singlevaluelist", description="How big is it?", required=True, order=1,
                  values=(Value("1", "Smaller than a dinner plate"), Value("2", "About the size of a car tyre"),
                          Value("3", "Bigger than a car tyre"))),
        Attribute(code="surface", datatype="singlevaluelist", description="Location of defect", required=True,
                  order=2, values=(Value("road", "Carriageway"), Value("cycle", "Cycleway"),
                                   Value("pavement", "Footway"))),
        Attribute(code="HW_DEPTH", datatype="number", description="Depth (cm)", order=3),
    ))
    bins = Service(code="BIN", name="Missed Bin", group="Waste", attributes=(
        Attribute(code="BIN_TYPE", datatype="singlevaluelist", description="Bin type", required=True,
                  values=(Value("REF", "Refuse"), Value("REC", "Recycling"))),
    ))
    trees = Service(code="TREE", name="Overhanging trees", group="Parks and trees", keywords=("branches", "lgsl:1234"))
    return Catalogue(version="council-7", source="council", services=(pothole, bins, trees, *extra))


def test_council_services_take_the_words_of_the_bundled_service_they_match():
    merged = merge(council_catalogue(), bundled())
    pot, bins, trees = (merged.get(code) for code in ("POT", "BIN", "TREE"))
    assert (pot.overlay, pot.matched_by) == ("pothole", "lgsl")
    assert (bins.overlay, bins.matched_by) == ("missed_bin", "name")
    assert (trees.overlay, trees.matched_by) == ("", "none")
    assert pot.name == "Pothole" and "pot hole" in pot.keywords and pot.urgent_notice.startswith("If the road")
    size, surface, depth = pot.questions
    assert (size.code, size.description, size.overlay) == ("POT_SIZE", "How big is it?", "size")  # by description
    assert [(v.key, v.overlay) for v in size.values] == [("1", "small"), ("2", "medium"), ("3", "large")]  # by name
    assert surface.description == "Where on the street is it?"  # by code
    assert [(v.key, v.name) for v in surface.values][0] == ("road", "In the road")  # by key: our words
    assert (depth.description, depth.overlay) == ("Depth (cm)", "")  # nothing like it: the council's words
    assert bins.questions[0].description == "Bin type"  # "Which bin was not emptied?" is not close enough


def test_a_council_service_that_matches_nothing_keeps_working_in_its_own_words(store):
    store.save_council_catalogue(council_catalogue())
    trees = store.catalogue().get("TREE")
    assert trees.name == "Overhanging trees" and trees.group == "Parks and trees" and not trees.urgent_notice
    assert trees.keywords == ("branches",) and trees.lgsl == 1234
    found = Recogniser(store.db, store.catalogue(), ("en",)).recognise("overhanging trees on the path")
    assert found.service == "TREE"
    assert store.catalogue().council_code("TREE") == "TREE"


def test_pothole_is_understood_by_text_under_the_council_code(store):
    store.save_council_catalogue(council_catalogue())
    recogniser = Recogniser(store.db, store.catalogue(), ("en", "cy"))
    assert recogniser.recognise("there is a massive pothole outside the school").service == "POT"
    assert recogniser.recognise("my bin was not emptied today").service == "BIN"
    assert recogniser.recognise("mae twll yn y ffordd", "cy").service == "POT"  # the translated keywords too


def test_the_kiosk_shows_the_urgent_notice_for_the_council_code(store):
    store.save_council_catalogue(council_catalogue())
    session = Session()
    session.choose_service(store.catalogue().get("POT"))
    assert session.first_page() == URGENT
    assert "phone {phone} now" in session.service.urgent_notice


def test_a_submission_queued_before_the_fetch_reaches_a_council_that_only_knows_pot(tmp_path, council_server):
    url = council_server(api_key=API_KEY, catalogue=council_catalogue())
    settings = load_settings(environ={
        "ASSIST_STORE__PATH": str(tmp_path / "kiosk" / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
        "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0",
        "ASSIST_SYNC__TIMEOUT_SECONDS": "2"})
    store = Store.open(settings)
    assert store.catalogue().source == "bundled"  # never online yet: the resident saw "pothole"
    saved = store.enqueue(draft(service_code="pothole", attributes={"size": "small", "surface": "road"}))

    async def go():
        worker = Worker(store, settings)
        try:
            await worker.refresh_catalogue()
            return await worker.drain()
        finally:
            await worker.aclose()

    report = asyncio.run(go())
    assert report.accepted == 1 and store.lookup(saved.reference).state == "accepted"
    [request] = httpx.get(f"{url}requests.json").json()
    assert request["service_code"] == "POT"
    store.close()


def test_two_council_services_matching_one_bundled_service_give_its_words_to_one(caplog):
    repairs = Service(code="RD2", name="Pothole", group="Highways")  # a name match, weaker than POT's LGSL
    with caplog.at_level(logging.WARNING):
        merged = merge(council_catalogue(repairs), bundled())
    assert merged.get("POT").overlay == "pothole" and merged.get("RD2").matched_by == "none"
    assert merged.get("RD2").name == "Pothole" and not merged.get("RD2").urgent_notice
    assert merged.council_code("pothole") == "POT"
    assert "'POT' and 'RD2' both match bundled service 'pothole'" in caplog.text
    pinned = merge(council_catalogue(repairs), bundled(), pins={"RD2": "pothole"})  # the operator chooses
    assert pinned.get("RD2").matched_by == "pinned" and pinned.get("POT").matched_by == "none"
    assert pinned.council_code("pothole") == "RD2"


def test_answers_given_on_the_bundled_catalogue_are_sent_under_the_council_codes():
    merged = merge(council_catalogue(), bundled())
    assert merged.council_attributes("pothole", {"size": "large", "surface": "cycle", "HW_DEPTH": 4}) == {
        "POT_SIZE": "3", "surface": "cycle", "HW_DEPTH": 4}
    assert merged.council_attributes("BIN", {"BIN_TYPE": "REF"}) == {"BIN_TYPE": "REF"}  # already the council's
    assert merged.council_code("graffiti") == "graffiti"  # no council service took it: the council will say


@pytest.mark.parametrize("environ", [
    {"ASSIST_CATALOGUE__OVERLAY": "TREE=pothole, BIN=missed_bin"},
    {"ASSIST_CATALOGUE__OVERLAY": '{"TREE": "pothole", "default": {"BIN": "missed_bin"}}'},
])
def test_a_pin_in_the_environment_decides_the_match(tmp_path, environ):
    settings = load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "assist.db"), **environ})
    store = Store.open(settings)
    store.save_council_catalogue(council_catalogue())
    merged = store.catalogue()
    assert (merged.get("TREE").overlay, merged.get("TREE").matched_by) == ("pothole", "pinned")
    assert merged.get("POT").matched_by == "none"  # the pin took pothole's words
    assert settings.sources["catalogue.overlay"] == "env ASSIST_CATALOGUE__OVERLAY"
    store.close()


def test_each_store_merges_with_the_pins_of_its_own_settings(tmp_path):
    """Pins are the store's, not the process's: settings loaded later for another store change nothing."""
    pinned = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "pinned.db"),
                                               "ASSIST_CATALOGUE__OVERLAY": "TREE=pothole"}))
    plain = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "plain.db")}))
    for store in (pinned, plain):
        store.save_council_catalogue(council_catalogue())
    assert pinned.catalogue().get("TREE").matched_by == "pinned"
    assert plain.catalogue().get("TREE").matched_by != "pinned" and plain.catalogue().get("POT").overlay == "pothole"
    pinned.close()
    plain.close()


def test_a_pin_per_back_office_routes_what_was_queued_under_the_bundled_code(tmp_path):
    config = tmp_path / "assist.toml"
    config.write_text('[backoffices.county]\nservices = ["POT"]\n\n[catalogue.overlay.county]\nPOT = "pothole"\n')
    settings = load_settings(config, environ={})
    assert settings.route("POT") == "county" and settings.route("pothole") == "county"
    assert settings.route("missed_bin") == "default"


@pytest.mark.parametrize("text, key, expected", [
    ('[catalogue.overlay]\nPOT = "potholes"\n', "catalogue.overlay.POT", "expected a bundled service code: missed_bin"),
    ('[catalogue.overlay]\nPOT = "pothole"\nRD2 = "pothole"\n', "catalogue.overlay.RD2",
     "a bundled service not already pinned to 'POT'"),
    ('[catalogue.overlay]\nPOT = 557\n', "catalogue.overlay", "expected a table of council code = bundled code"),
    ('[catalogue.overlay.county]\nPOT = "pothole"\n', "catalogue.overlay.county", "expected a back office's name"),
    ('[backoffices.county]\nservices = ["GUL"]\n[catalogue.overlay.county]\nPOT = "pothole"\n',
     "catalogue.overlay.county.POT", "a code routed to back office 'county' (it goes to 'default')"),
])
def test_a_bad_pin_is_a_config_error_that_says_what_is_wrong(tmp_path, text, key, expected):
    config = tmp_path / "assist.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(config, environ={})
    assert error.value.key == key and expected in str(error.value) and str(config) in str(error.value)


def test_a_bad_pin_in_the_environment_is_named():
    with pytest.raises(ConfigError, match="env ASSIST_CATALOGUE__OVERLAY: catalogue.overlay: expected a table"):
        load_settings(environ={"ASSIST_CATALOGUE__OVERLAY": "POT pothole"})


SHOW = """\
# council catalogue council-7
code  name                   overlay     matched by
POT   Pothole                pothole     lgsl
BIN   Missed bin collection  missed_bin  name
TREE  Overhanging trees      -           none
"""

SHOW_POT = """\
POT  Pothole  (words of pothole, matched by lgsl)
1. POT_SIZE  singlevaluelist  required
   How big is it?
     1  Smaller than a dinner plate
     2  About the size of a car tyre
     3  Bigger than a car tyre
2. surface  singlevaluelist  required
   Where on the street is it?
     road      In the road
     cycle     In a cycle lane
     pavement  On the pavement
3. HW_DEPTH  number  optional
   Depth (cm)
"""


def test_assist_catalogue_show_says_which_overlay_each_service_uses(run, store):
    store.save_council_catalogue(council_catalogue())
    assert run("catalogue", "show").output == SHOW
    assert run("catalogue", "show", "POT").output == SHOW_POT
    assert run("catalogue", "show", "pothole").output == SHOW_POT  # the bundled code finds its council service


def test_assist_catalogue_show_of_an_unknown_code_says_so(run, store):
    store.save_council_catalogue(council_catalogue())
    result = run("catalogue", "show", "NOPE")
    assert result.exit_code != 0
    assert "no service 'NOPE' in the council catalogue council-7" in result.output


def test_a_lost_answer_under_the_council_code_is_found_and_resolved_by_it(tmp_path, council_server):
    """Queued as `pothole`, at the council as `POT`: reconciliation searches POT and staff's
    resolve accepts a request the council files under POT."""
    from sync.open311 import resolve

    url = council_server(api_key=API_KEY, catalogue=council_catalogue())
    settings = load_settings(environ={
        "ASSIST_STORE__PATH": str(tmp_path / "kiosk" / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
        "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0"})
    store = Store.open(settings)
    answers = {"size": "small", "surface": "road"}
    first = store.enqueue(draft(service_code="pothole", attributes=answers, idempotency_key="first"))
    lost = store.enqueue(draft(service_code="pothole", attributes=answers, idempotency_key="lost"))

    async def go():
        worker = Worker(store, settings)
        try:
            await worker.refresh_catalogue()
            [item] = [claimed for claimed in store.claim("crashed") if claimed.id == lost.id]
            store.mark_sending(item.id, "crashed")
            fields = request_fields(item, settings.kiosk, store.catalogue())
            await worker.clients["default"].create(fields)  # it arrived; the answer was lost
            store.db.conn.execute("UPDATE submissions SET lease_expires_at = NULL")
            return await worker.drain()
        finally:
            await worker.aclose()

    report = asyncio.run(go())
    assert report.reconciled == 1 and store.lookup(lost.reference).state == "accepted"
    assert store.lookup(first.reference).state == "accepted"
    council_id = store.db.conn.execute("SELECT service_request_id FROM submissions WHERE id = ?",
                                       (lost.id,)).fetchone()[0]
    target = resolve.Target(lost.reference, "needs_attention", "pothole", "default",
                            store.catalogue().council_code("pothole"))

    async def check():
        client = Worker(store, settings).clients["default"]
        try:
            return await resolve.check(client, target, council_id)
        finally:
            await client.aclose()
    assert asyncio.run(check()) == "open"
    store.close()
