"""The back office playing real servers' families (council/profiles.py), over loopback HTTP, and
FixMyStreet's POST servicerequestupdates, which every profile takes."""

from __future__ import annotations

from datetime import timedelta

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from click.testing import CliRunner

import assist.cli.council
from assist.cli import cli
from council.app import create_app
from council.db import CouncilDB
from council.profiles import PROFILES
from council.services import Services

KEY = "k"
FORM = {"service_code": "pothole", "lat": "52.0406", "long": "-0.7594", "attribute[size]": "large",
        "attribute[surface]": "road", "api_key": KEY}
UPDATE = {"api_key": KEY, "update_id": "fms-901", "status": "REOPEN", "updated_datetime": "2026-11-24T10:05:00Z",
          "description": "Still not fixed: the hole is back.", "first_name": "Sam", "last_name": "Jones",
          "email": "sam@example.org"}


@pytest.fixture
def start(council_server, council_clock):
    """`start(profile, **create_app_options)`: an httpx client (`.url`: the server) on a running
    back office that wants api_key KEY and keeps `council_clock`."""
    clients: list[httpx.Client] = []

    def open_one(profile: str = "default", **options) -> httpx.Client:
        url = council_server(profile=profile, api_key=KEY, now=council_clock, **options)
        clients.append(httpx.Client(base_url=url, timeout=10))
        clients[-1].url = url
        return clients[-1]

    yield open_one
    for client in clients:
        client.close()


def create(client: httpx.Client, description: str = "A hole [ref P-1]", fmt: str = "json", **fields) -> httpx.Response:
    response = client.post(f"requests.{fmt}", data={**FORM, "description": description, **fields})
    assert response.status_code == 201, response.text
    return response


def new_id(client: httpx.Client, description: str = "A hole [ref P-1]", **fields) -> str:
    return create(client, description, **fields).json()[0]["service_request_id"]


def seed(path, count: int, clock, service_code: str = "pothole") -> None:
    """`count` requests straight into the store (one a second up to the clock), before serving."""
    db = CouncilDB(path)
    try:
        for n in range(count):
            db.create_request({"service_code": service_code, "description": f"seeded {n}", "lat": 52.0,
                               "long": -0.75}, now=clock() - timedelta(seconds=count - n))
    finally:
        db.close()


def errors(response: httpx.Response) -> list[str]:
    if response.headers["content-type"].startswith("text/xml"):
        return [error.findtext("description") for error in SafeET.fromstring(response.content).findall("error")]
    return [error["description"] for error in response.json()]


# -- FixMyStreet's POST servicerequestupdates (every profile; default here) ----------------------

def test_a_posted_reopen_update_reopens_the_request_and_is_listed(start, council_clock):
    client = start()
    request_id = new_id(client)
    client.url.app.state.db.change_status(request_id, status="fixed", note="Filled.", now=council_clock())
    council_clock.advance(minutes=5)

    response = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": request_id})
    assert response.status_code == 200, response.text
    [answer] = response.json()
    assert set(answer) == {"update_id"} and answer["update_id"] != "fms-901"  # the server's own id

    [stored] = client.get(f"requests/{request_id}.json").json()
    assert stored["status"] == "open" and stored["status_notes"] == UPDATE["description"]
    assert stored["updated_datetime"] == council_clock().isoformat()
    updates = client.get("servicerequestupdates.json").json()
    assert [(u["update_id"], u["status"], u["description"]) for u in updates][-1] == (
        answer["update_id"], "reopen", UPDATE["description"])
    assert [item["service_request_id"] for item in client.get("requests.json", params={"status": "open"}).json()] == [
        request_id]
    assert "sam@example.org" not in client.get("servicerequestupdates.xml").text  # contact details are not shown


def test_a_posted_update_in_xml_answers_as_mysocietys_adapter(start):
    client = start()
    request_id = new_id(client)
    response = client.post("servicerequestupdates.xml", data={
        **UPDATE, "service_request_id": request_id, "status": "CLOSED", "account_id": "acc-7"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    root = SafeET.fromstring(response.content)
    assert root.tag == "service_request_updates"
    [update] = root.findall("request_update")
    assert update.findtext("update_id") and update.findtext("account_id") == "acc-7"
    assert client.get(f"requests/{request_id}.json").json()[0]["status"] == "closed"


def test_the_same_update_id_twice_is_one_update_with_one_id(start):
    client = start()
    request_id = new_id(client)
    first = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": request_id})
    again = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": request_id,
                                                            "description": "Resent after a lost answer."})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    updates = client.get("servicerequestupdates.json").json()
    assert [u["description"] for u in updates] == [UPDATE["description"]]


@pytest.mark.parametrize("change, expected", [
    ({"update_id": None}, "update_id is required"),
    ({"status": None}, "status is required"),
    ({"updated_datetime": None}, "updated_datetime is required"),
    ({"description": None}, "description is required"),
    ({"status": "reopen"}, "status 'reopen' is not one of OPEN, IN_PROGRESS"),
    ({"status": "MENDED"}, "status 'MENDED' is not one of"),
    ({"updated_datetime": "yesterday"}, "updated_datetime 'yesterday' is not an ISO 8601"),
    ({"email": "not-an-address"}, "email 'not-an-address' is not an email address"),
    ({"service_request_id": "999999"}, "service_request_id '999999' is unknown: no such request"),
    ({"service_request_id": None}, "service_request_id is required"),
])
def test_bad_update_posts_are_400_and_change_nothing(start, change, expected):
    client = start()
    request_id = new_id(client)
    data = {key: value for key, value in {**UPDATE, "service_request_id": request_id, **change}.items()
            if value is not None}
    response = client.post("servicerequestupdates.json", data=data)
    assert response.status_code == 400
    assert any(text.startswith(expected) for text in errors(response)), errors(response)
    assert client.get("servicerequestupdates.json").json() == []
    assert client.get(f"requests/{request_id}.json").json()[0]["status"] == "open"


def test_an_update_id_of_another_request_and_a_missing_key_are_refused(start):
    client = start()
    first, second = new_id(client, "one"), new_id(client, "two")
    assert client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": first}).status_code == 200
    taken = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": second})
    assert taken.status_code == 400 and errors(taken) == ["update_id 'fms-901' is already an update of another request"]
    keyless = client.post("servicerequestupdates.xml", data={**UPDATE, "service_request_id": second, "api_key": ""})
    assert keyless.status_code == 403 and errors(keyless) == ["api_key is missing"]
    assert client.get(f"requests/{second}.json").json()[0]["status"] == "open"


def test_a_dropped_update_answer_is_committed_and_the_resend_gets_its_id(council_server, council_clock, tmp_path):
    path = tmp_path / "shared.db"
    dropping = council_server(path, drop_after_commit=1.0, now=council_clock)
    with httpx.Client(base_url=dropping) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("requests.json", data=FORM)
        [request] = client.get("requests.json").json()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("servicerequestupdates.json",
                        data={**UPDATE, "service_request_id": request["service_request_id"]})
        [recorded] = client.get("servicerequestupdates.json").json()
    assert dropping.app.edge.dropped == 2
    answering = council_server(path, now=council_clock)  # the client resends the same update_id
    resent = httpx.post(answering + "servicerequestupdates.json",
                        data={**UPDATE, "service_request_id": request["service_request_id"]})
    assert resent.json() == [{"update_id": recorded["update_id"]}]


# -- strict: a closed input schema ----------------------------------------------------------------

@pytest.mark.parametrize("path, params, expected", [
    ("services.json", {"page": "2", "page_size": "10"}, "Unexpected parameters: page, page_size"),
    ("services/pothole.json", {"api_key": KEY}, "Unexpected parameters: api_key"),
    ("requests.json", {"service_code": "pothole", "updated_after": "2026-11-01T00:00:00Z"},
     "Unexpected parameters: updated_after"),
    ("requests.xml", {"colour": "red"}, "Unexpected parameters: colour"),
    ("servicerequestupdates.json", {"page": "1"}, "Unexpected parameters: page"),
])
def test_strict_refuses_every_parameter_it_does_not_expect(start, path, params, expected):
    client = start("strict")
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert errors(response) == [expected]


def test_strict_takes_what_fixmystreet_sends(start):
    client = start("strict")
    assert client.get("services.json", params={"jurisdiction_id": "brackenford"}).status_code == 200
    assert client.get("servicerequestupdates.json", params={"api_key": KEY}).status_code == 200
    extra = client.post("requests.json", data={**FORM, "description": "x", "colour": "red"})
    assert extra.status_code == 400 and errors(extra) == ["Unexpected parameters: colour"]
    request_id = new_id(client)
    bad_update = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": request_id,
                                                                 "page": "1"})
    assert bad_update.status_code == 400 and errors(bad_update) == ["Unexpected parameters: page"]
    good_update = client.post("servicerequestupdates.json", data={**UPDATE, "service_request_id": request_id,
                                                                  "title": "MR"})
    assert good_update.status_code == 200


@pytest.mark.parametrize("key", ["", "wrong"])
def test_strict_answers_a_bad_or_missing_key_with_400(start, key):
    client = start("strict")
    request_id = new_id(client)
    for path, form in (("requests.json", {**FORM, "description": "x"}),
                       ("servicerequestupdates.xml", {**UPDATE, "service_request_id": request_id})):
        response = client.post(path, data={**form, "api_key": key})
        assert response.status_code == 400 and errors(response) == ["Invalid API key"]
    assert len(client.get("requests.json").json()) == 1
    assert client.get("servicerequestupdates.json").json() == []


def test_strict_needs_lat_long_and_drops_address_string(start):
    client = start("strict")
    address_only = {key: value for key, value in FORM.items() if key not in ("lat", "long")}
    response = client.post("requests.xml", data={**address_only, "address_string": "1 High Street", "description": "x"})
    assert response.status_code == 500 and SafeET.fromstring(response.content).tag == "errors"
    assert client.get("requests.json").json() == []

    request_id = new_id(client, address_string="1 High Street")
    [stored] = client.get(f"requests/{request_id}.json").json()
    assert stored["address"] is None and stored["lat"] == 52.0406


def test_strict_search_ignores_dates_and_ids_but_honours_service_code(start, council_clock):
    client = start("strict")
    old = new_id(client, "old pothole")
    council_clock.advance(days=200)  # outside any 90-day window
    client.url.app.state.db.create_request({"service_code": "missed_bin", "description": "bin", "lat": 52.0,
                                            "long": -0.75}, now=council_clock())
    recent = new_id(client, "recent pothole")
    found = client.get("requests.json", params={
        "service_code": "pothole", "service_request_id": recent,
        "start_date": council_clock().isoformat(), "end_date": council_clock().isoformat()}).json()
    assert [item["service_request_id"] for item in found] == [old, recent]
    bins = client.get("requests.json", params={"service_code": "missed_bin"}).json()
    assert [item["description"] for item in bins] == ["bin"]
    assert len(client.get("requests.json").json()) == 3


# -- paged: the server's own page size ------------------------------------------------------------

def test_paged_pages_requests_at_100_whatever_page_size_asks(council_server, council_clock, tmp_path):
    path = tmp_path / "paged.db"
    seed(path, 205, council_clock)
    url = council_server(path, profile="paged", now=council_clock)
    with httpx.Client(base_url=url) as client:
        first = client.get("requests.json", params={"page_size": "500"})
        assert first.status_code == 200 and len(first.json()) == 100
        assert first.headers["X-Page-Count"] == "3"
        next_url = httpx.URL(first.headers["X-Next-Page-URL"])
        assert next_url.params["page"] == "2" and next_url.params["page_size"] == "500"
        second = client.get(str(next_url))
        assert [item["description"] for item in second.json()][:1] == ["seeded 100"]
        last = client.get("requests.xml", params={"page": "3"})
        assert len(SafeET.fromstring(last.content).findall("request")) == 5
        assert "X-Next-Page-URL" not in last.headers and last.headers["X-Page-Count"] == "3"
        for params in ({"page": "4"}, {"page": "0"}, {"page": "x"}):
            past = client.get("requests.json", params=params)
            assert past.status_code == 404 and errors(past) == ["Invalid page."]


def test_paged_pages_services_and_updates_too(start):
    client = start("paged")
    services = client.get("services.json")
    assert services.headers["X-Page-Count"] == "1" and services.json()
    beyond = client.get("services.xml", params={"page": "2"})
    assert beyond.status_code == 404 and errors(beyond) == ["Invalid page."]
    assert client.get("servicerequestupdates.json").json() == []  # page 1 of nothing exists
    assert client.get("servicerequestupdates.json", params={"page": "2"}).status_code == 404


def test_paged_with_a_page_size_option_uses_it_as_its_fixed_size(start, council_clock):
    client = start("paged", page_size=2)
    for n in range(3):
        request_id = new_id(client, f"hole {n}")
        client.url.app.state.db.change_status(request_id, status="closed", note=f"done {n}", now=council_clock())
    assert len(client.get("requests.json", params={"page_size": "50"}).json()) == 2
    page = client.get("servicerequestupdates.json", params={"page": "2"})
    assert [u["description"] for u in page.json()] == ["done 2"] and page.headers["X-Page-Count"] == "2"


# -- capped: no paging, the newest 1,000 ------------------------------------------------------------

def test_capped_answers_the_newest_1000_and_ignores_paging(council_server, council_clock, tmp_path):
    path = tmp_path / "capped.db"
    seed(path, 1005, council_clock)
    url = council_server(path, profile="capped", now=council_clock)
    with httpx.Client(base_url=url) as client:
        found = client.get("requests.json", params={"page": "2", "page_size": "10"}).json()
        assert len(found) == 1000
        descriptions = {item["description"] for item in found}
        assert "seeded 1004" in descriptions and "seeded 5" in descriptions and "seeded 4" not in descriptions
        assert "X-Page-Count" not in client.get("requests.json").headers


# -- xml-bare: other roots, bare empty lists --------------------------------------------------------

def test_xml_bare_writes_requests_roots_and_bare_empty_lists(start):
    client = start("xml-bare")
    empty = client.get("requests.xml")
    assert empty.status_code == 200 and empty.text.rstrip().endswith("<requests></requests>")
    assert SafeET.fromstring(empty.content).tag == "requests"
    created = SafeET.fromstring(create(client, fmt="xml").content)
    assert created.tag == "requests"
    request_id = created.find("request").findtext("service_request_id")
    for path in ("requests.xml", f"requests/{request_id}.xml"):
        root = SafeET.fromstring(client.get(path).content)
        assert root.tag == "requests" and root.find("request").findtext("service_request_id") == request_id
    assert client.get("requests.json").json()[0]["service_request_id"] == request_id  # JSON is unchanged


def test_xml_bare_writes_an_empty_list_of_services_as_one_bare_element(council_server):
    url = council_server(profile="xml-bare", catalogue=Services(version="empty"))
    response = httpx.get(url + "services.xml")
    assert response.text.rstrip().endswith("<services/>")
    assert httpx.get(url + "services.json").json() == []


# -- truncating, unsearchable, tokens ---------------------------------------------------------------

def test_truncating_keeps_255_characters_of_a_description(start):
    long_text = "The hole is deep and wide. " * 12 + "[ref T-0001]"
    client = start("truncating")
    request_id = new_id(client, long_text)
    [stored] = client.get(f"requests/{request_id}.json").json()
    assert stored["description"] == long_text[:255] and "[ref T-0001]" not in stored["description"]
    root = SafeET.fromstring(client.get(f"requests/{request_id}.xml").content)
    assert root.find("request").findtext("description") == long_text[:255]


def test_unsearchable_answers_the_search_404_and_the_rest_normally(start):
    client = start("unsearchable")
    request_id = new_id(client)
    for fmt in ("json", "xml"):
        response = client.get(f"requests.{fmt}", params={"service_code": "pothole"})
        assert response.status_code == 404 and errors(response)
    assert client.get(f"requests/{request_id}.json").json()[0]["service_request_id"] == request_id


def test_tokens_answers_a_token_and_the_id_comes_later(start, council_clock):
    client = start("tokens", token_delay=2)
    [answer] = create(client).json()
    assert "service_request_id" not in answer and answer["token"]
    assert client.get(f"tokens/{answer['token']}.json").status_code == 404
    council_clock.advance(seconds=3)
    [found] = client.get(f"tokens/{answer['token']}.json").json()
    assert found["service_request_id"] and found["token"] == answer["token"]
    assert client.get(f"requests/{found['service_request_id']}.json").json()[0]["description"] == "A hole [ref P-1]"


# -- faults compose with every profile; choosing a profile -------------------------------------

@pytest.mark.parametrize("profile", list(PROFILES))
def test_faults_work_under_every_profile(council_server, profile):
    url = council_server(profile=profile, api_key=KEY, drop_after_commit=1.0)
    with httpx.Client(base_url=url) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("requests.json", data={**FORM, "description": f"under {profile}"})
    db = CouncilDB(url.db_path)
    try:
        assert [row["description"] for row in db.all_requests()] == [f"under {profile}"]
    finally:
        db.close()
    failing = council_server(profile=profile, fail_rate=1.0, seed=1)
    response = httpx.get(failing + "services.xml")
    assert response.status_code in (500, 503) and SafeET.fromstring(response.content).tag == "errors"


def test_an_unknown_profile_is_refused_by_name(tmp_path):
    result = CliRunner().invoke(cli, ["council", "serve", "--profile", "lenient", "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 2
    assert "'lenient' is not one of 'default', 'strict', 'paged'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "c.db").exists()
    with pytest.raises(ValueError, match="unknown profile 'lenient': one of default, strict, paged"):
        create_app(tmp_path / "c.db", profile="lenient")


def test_serve_passes_its_profile_and_options_to_the_app(tmp_path, monkeypatch):
    served = {}

    def fake_run(server, sock):
        served["app"] = server.config.app
        return True

    monkeypatch.setattr(assist.cli.council, "run_until_signalled", fake_run)
    result = CliRunner().invoke(cli, ["council", "serve", "--profile", "paged", "--port", "0",
                                      "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 0, result.output
    assert "profile paged" in result.output
    assert served["app"].state.profile.name == "paged"
