"""The reference back office over real HTTP: services, creation, validation, searches, tokens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from council.services import own

KEY = "test-key"
POTHOLE = {"service_code": "pothole", "lat": "52.0406", "long": "-0.7594", "attribute[size]": "small",
           "attribute[surface]": "road", "description": "Deep hole by the bus stop [ref K1-0001]",
           "api_key": KEY}


@pytest.fixture
def council(council_server, council_clock):
    url = council_server(api_key=KEY, now=council_clock)
    with httpx.Client(base_url=url, timeout=10) as client:
        client.clock = council_clock
        client.url = url
        yield client


def post(client: httpx.Client, fmt: str = "json", **fields) -> httpx.Response:
    data = {**POTHOLE, **fields}
    return client.post(f"requests.{fmt}", data={key: value for key, value in data.items() if value is not None})


def error_texts(response: httpx.Response) -> list[str]:
    return [error["description"] for error in response.json()]


# -- services ---------------------------------------------------------------------------------

def test_services_json_lists_the_councils_services(council):
    response = council.get("services.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = response.json()
    assert [service["service_code"] for service in services] == [service.code for service in own().services]
    pothole = next(service for service in services if service["service_code"] == "pothole")
    assert pothole["metadata"] is True and pothole["type"] == "realtime"
    assert pothole["service_name"] == "Pothole" and "pothole" in pothole["keywords"]
    assert pothole["group"] == "Roads, pavements and street lights"


def test_services_xml(council):
    response = council.get("services.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = SafeET.fromstring(response.content)
    assert root.tag == "services"
    codes = [service.findtext("service_code") for service in root.findall("service")]
    assert codes == [service.code for service in own().services]
    assert root.find("service").findtext("metadata") == "true"


def test_service_definition_json_and_xml(council):
    definition = council.get("services/missed_bin.json").json()
    assert definition["service_code"] == "missed_bin"
    bin_type = definition["attributes"][0]
    assert bin_type["code"] == "bin_type" and bin_type["datatype"] == "singlevaluelist"
    assert bin_type["required"] is True and bin_type["variable"] is True and bin_type["order"] == 1
    assert {"key": "recycling", "name": "Recycling bin"} in bin_type["values"]

    root = SafeET.fromstring(council.get("services/bulky_waste.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "bulky_waste"
    items = root.find("attributes").findall("attribute")[0]
    assert items.findtext("datatype") == "multivaluelist"
    assert "sofa" in [value.findtext("key") for value in items.find("values").findall("value")]


def test_unknown_service_definition_is_404(council):
    response = council.get("services/no_such_thing.json")
    assert response.status_code == 404
    assert "unknown" in error_texts(response)[0]
    root = SafeET.fromstring(council.get("services/no_such_thing.xml").content)
    assert root.tag == "errors" and root.find("error").findtext("code") == "404"


def test_unknown_format_and_path_are_404(council):
    assert council.get("services.yaml").status_code == 404
    response = council.get("nothing/here.json")
    assert response.status_code == 404 and response.json()[0]["code"] == 404


# -- creating ---------------------------------------------------------------------------------

def test_post_creates_a_request(council):
    response = post(council)
    assert response.status_code == 201
    [answer] = response.json()
    assert answer["service_request_id"] and "token" not in answer and answer["service_notice"]

    [stored] = council.get(f"requests/{answer['service_request_id']}.json").json()
    assert stored["service_code"] == "pothole" and stored["status"] == "open"
    assert stored["description"] == POTHOLE["description"]
    assert stored["lat"] == pytest.approx(52.0406) and stored["long"] == pytest.approx(-0.7594)
    assert stored["requested_datetime"] == "2026-11-24T10:00:00+00:00"
    assert "email" not in stored and "phone" not in stored


def test_post_xml_answers_xml(council):
    response = post(council, "xml")
    assert response.status_code == 201
    root = SafeET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert root.find("request").findtext("service_request_id")


def test_description_is_stored_verbatim_with_contact_fields_and_lists(council):
    description = "Sofa and fridge  out front.\nCall first: ünïcödé ✓ <b>&amp;</b> [ref K9-00042]"
    response = council.post("requests.json", data={
        "service_code": "bulky_waste", "address_string": "12 High Street, Brackenford",
        "attribute[items][]": ["sofa", "fridge"], "attribute[item_count]": "2", "description": description,
        "email": "resident@example.org", "phone": "07700 900123", "first_name": "Sam", "last_name": "Jones",
        "device_id": "kiosk-1", "account_id": "acc-1", "api_key": KEY, "jurisdiction_id": "",
    })
    assert response.status_code == 201, response.text
    assert response.json()[0]["account_id"] == "acc-1"
    [stored] = council.get("requests.json", params={"service_code": "bulky_waste"}).json()
    assert stored["description"] == description
    assert stored["address"] == "12 High Street, Brackenford" and stored["lat"] is None
    xml = council.get(f"requests/{stored['service_request_id']}.xml")
    assert SafeET.fromstring(xml.content).find("request").findtext("description") == description


def test_address_id_alone_is_a_location(council):
    response = post(council, lat=None, long=None, address_id="100090123456")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_post_without_the_right_api_key_is_403(council, key):
    response = post(council, api_key=key)
    assert response.status_code == 403
    assert "api_key" in error_texts(response)[0]
    assert council.get("requests.json").json() == []


def test_post_403_in_xml(council):
    response = post(council, "xml", api_key="wrong")
    assert response.status_code == 403
    root = SafeET.fromstring(response.content)
    assert root.tag == "errors" and root.find("error").findtext("code") == "403"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"service_code": "no_such_service"}, "service_code 'no_such_service' is unknown"),
    ({"service_code": None}, "service_code is required"),
    ({"attribute[size]": None}, "attribute[size] is required"),
    ({"attribute[size]": "enormous"}, "attribute[size]: 'enormous' is not one of small, medium, large"),
    ({"lat": None, "long": None}, "a location is required"),
    ({"long": None}, "lat and long must be given together"),
    ({"lat": "north"}, "lat and long must be numbers"),
    ({"lat": "91"}, "lat 91 is out of range"),
    ({"long": "-180.5"}, "long -180.5 is out of range"),
    ({"description": "x" * 4001}, "description is too long"),
    ({"attribute[colour]": "red"}, "attribute[colour] is not an attribute of service pothole"),
    ({"email": "not an email"}, "is not an email address"),
])
def test_validation_errors_are_400_with_specific_messages(council, fields, expected):
    response = post(council, **fields)
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400
    assert any(expected in text for text in error_texts(response)), error_texts(response)
    assert council.get("requests.json").json() == []


def test_description_of_exactly_4000_characters_is_fine(council):
    assert post(council, description="y" * 4000).status_code == 201


@pytest.mark.parametrize(("service", "fields", "expected"), [
    ("bulky_waste", {"attribute[items][]": "sofa", "attribute[item_count]": "three"},
     "attribute[item_count]: 'three' is not a number"),
    ("bulky_waste", {"attribute[items][]": ["sofa", "piano"], "attribute[item_count]": "1"},
     "attribute[items]: 'piano' not one of"),
    ("bulky_waste", {"attribute[item_count]": "1"}, "attribute[items] is required"),
    ("missed_bin", {"attribute[bin_type]": "general", "attribute[collection_date]": "24/11/2026"},
     "attribute[collection_date]: '24/11/2026' is not an ISO 8601 date and time"),
    ("missed_bin", {"attribute[bin_type]": ["general", "food"]}, "attribute[bin_type] takes one value"),
    ("abandoned_vehicle", {"attribute[how_long]": "week", "attribute[registration]": "AB12 CDE FGH XYZ"},
     "attribute[registration] is longer than 10 characters"),
])
def test_datatype_errors(council, service, fields, expected):
    definition = council.get(f"services/{service}.json").json()
    assert definition["attributes"]  # the service has the attributes the test relies on
    response = council.post("requests.json", data={"service_code": service, "address_string": "1 Mill Lane",
                                                   "api_key": KEY, **fields})
    assert response.status_code == 400, response.text
    assert any(expected in text for text in error_texts(response)), error_texts(response)


def test_valid_datatypes_are_accepted(council):
    response = council.post("requests.json", data={
        "service_code": "missed_bin", "address_string": "1 Mill Lane", "api_key": KEY,
        "attribute[bin_type]": "general", "attribute[collection_date]": "2026-11-23T07:00:00Z"})
    assert response.status_code == 201, response.text


def test_json_body_is_refused(council):
    response = council.post("requests.json", json={**POTHOLE})
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in error_texts(response)[0]


# -- searching --------------------------------------------------------------------------------

def test_search_filters_by_service_code_dates_and_status(council, council_clock):
    first = post(council, description="first").json()[0]["service_request_id"]
    council_clock.advance(hours=2)
    second = post(council, description="second").json()[0]["service_request_id"]
    bin_request = council.post("requests.json", data={
        "service_code": "missed_bin", "address_string": "1 Mill Lane", "api_key": KEY,
        "attribute[bin_type]": "food", "description": "bin"}).json()[0]["service_request_id"]
    assert len({first, second, bin_request}) == 3

    def ids(**params):
        response = council.get("requests.json", params=params)
        assert response.status_code == 200, response.text
        return [item["service_request_id"] for item in response.json()]

    assert ids() == [first, second, bin_request]
    assert ids(service_code="pothole") == [first, second]
    assert ids(service_code="pothole,missed_bin") == [first, second, bin_request]
    assert ids(start_date="2026-11-24T11:00:00Z") == [second, bin_request]
    assert ids(service_code="pothole", start_date="2026-11-24T09:00:00Z",
               end_date="2026-11-24T10:00:00+00:00") == [first]
    assert ids(end_date="2026-11-24T10:30:00+00:00") == [first]
    assert ids(status="open") == [first, second, bin_request]
    assert ids(status="closed") == []
    # service_request_id overrides every other filter
    assert ids(service_request_id=f"{bin_request},{first}", service_code="nothing", status="closed") == [
        first, bin_request]
    assert ids(service_request_id="999999") == []


def test_default_window_is_the_last_90_days(council, council_clock):
    old = post(council, description="old").json()[0]["service_request_id"]
    council_clock.advance(days=91)
    new = post(council, description="new").json()[0]["service_request_id"]
    assert [item["service_request_id"] for item in council.get("requests.json").json()] == [new]
    # still there when asked for by id or by an explicit window
    assert council.get(f"requests/{old}.json").status_code == 200
    assert council.get("requests.json", params={"start_date": "2026-11-01T00:00:00Z"}).json()[0][
        "service_request_id"] == old


@pytest.mark.parametrize(("params", "expected"), [
    ({"start_date": "yesterday"}, "start_date 'yesterday' is not an ISO 8601"),
    ({"start_date": "2026-11-24T00:00:00Z", "end_date": "2026-11-23T00:00:00Z"}, "start_date is after end_date"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-23T00:00:00Z"}, "spans more than 90 days"),
    ({"status": "lost"}, "status 'lost' is not one of"),
    ({"page": "0"}, "page must be 1 or more"),
    ({"page_size": "many"}, "page_size 'many' is not a whole number"),
])
def test_bad_search_parameters_are_400(council, params, expected):
    response = council.get("requests.json", params=params)
    assert response.status_code == 400
    assert expected in error_texts(response)[0]


def test_paging(council_server):
    url = council_server(page_size=3)
    with httpx.Client(base_url=url) as client:
        created = [client.post("requests.json", data={**POTHOLE, "description": f"n{n}"}).json()[0][
            "service_request_id"] for n in range(8)]

        def page(**params):
            return [item["service_request_id"] for item in client.get("requests.json", params=params).json()]

        assert page() == created[:3]
        assert page(page=2) == created[3:6]
        assert page(page=3) == created[6:]
        assert page(page=4) == []
        assert page(page_size=5, page=2) == created[5:]
        assert page(page_size=100000) == created  # clamped to the maximum, not refused


def test_unknown_request_is_404(council):
    response = council.get("requests/424242.json")
    assert response.status_code == 404
    assert "424242" in error_texts(response)[0]


def test_search_xml_root(council):
    post(council)
    root = SafeET.fromstring(council.get("requests.xml").content)
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    empty = SafeET.fromstring(council.get("requests.xml", params={"service_code": "graffiti"}).content)
    assert empty.tag == "service_requests" and empty.findall("request") == []


def test_no_api_key_configured_accepts_posts_without_one(council_server):
    url = council_server()
    response = httpx.post(url + "requests.json", data={**POTHOLE, "api_key": None})
    assert response.status_code == 201


# -- token mode -------------------------------------------------------------------------------

def test_token_mode_assigns_the_id_later(council_server, council_clock):
    url = council_server(api_key=KEY, token_mode=True, token_delay=5, now=council_clock)
    with httpx.Client(base_url=url) as client:
        response = post(client)
        assert response.status_code == 201
        [answer] = response.json()
        token = answer["token"]
        assert token and "service_request_id" not in answer
        assert client.get(f"tokens/{token}.json").status_code == 404
        assert client.get("requests.json").json() == []  # it does not exist yet
        council_clock.advance(seconds=4)
        assert client.get(f"tokens/{token}.json").status_code == 404
        council_clock.advance(seconds=1)
        response = client.get(f"tokens/{token}.json")
        assert response.status_code == 200
        [found] = response.json()
        assert found["token"] == token and found["service_request_id"]
        [stored] = client.get(f"requests/{found['service_request_id']}.json").json()
        assert stored["description"] == POTHOLE["description"]
        root = SafeET.fromstring(client.get(f"tokens/{token}.xml").content)
        assert root.find("request").findtext("service_request_id") == found["service_request_id"]
        assert client.get("tokens/not-a-token.json").status_code == 404


def test_token_mode_with_the_real_clock(council_server):
    url = council_server(token_mode=True, token_delay=0.3)
    with httpx.Client(base_url=url) as client:
        token = post(client).json()[0]["token"]
        assert client.get(f"tokens/{token}.json").status_code == 404
        deadline = datetime.now() + timedelta(seconds=5)
        while (response := client.get(f"tokens/{token}.json")).status_code == 404:
            assert datetime.now() < deadline
        assert response.json()[0]["service_request_id"]


# -- Date header ------------------------------------------------------------------------------

def test_every_response_carries_the_servers_date(council, council_clock):
    council_clock.set(datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    for response in (council.get("services.json"), council.get("services/nope.xml"), post(council),
                     post(council, api_key="bad"), council.get("nothing")):
        assert response.headers.get_list("date") == ["Wed, 02 Jan 2030 03:04:05 GMT"], response.url
        assert parsedate_to_datetime(response.headers["date"]) == council_clock()
