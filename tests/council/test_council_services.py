"""The back office's own services file, read by its own parser (council/services.py).

The council and the product each read a services file of the same TOML shape, each with its own
parser, so that a misreading on one side is refused on the wire instead of agreed with. These tests
hold the two files in step (through the product's Open311 client, as a kiosk fetches them) and show
a misreading on the product's side being refused.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

import sync.catalogue as product_catalogue
from council.services import Services, ServicesError, own, parse
from sync.config import BackofficeSettings, SyncSettings
from sync.open311.client import Created, Open311Client, Refused

KEY = "services-key"
WHERE = [("lat", "52.0406"), ("long", "-0.7594"), ("description", "Not emptied this week")]


def client_for(url: str, fmt: str = "json") -> Open311Client:
    return Open311Client("council", BackofficeSettings(url=url, api_key=KEY, format=fmt),
                         SyncSettings(timeout_seconds=5))


def on_the_wire(service: product_catalogue.Service) -> tuple:
    """What a service says on the wire: everything but the kiosk's own words."""
    return (service.code, service.name, service.description, service.group, service.keywords, service.type,
            [(a.code, a.datatype, a.description, a.required, a.order, a.variable, [(v.key, v.name) for v in a.values])
             for a in service.questions])


def max_lengths(services: Services | product_catalogue.Catalogue) -> dict[tuple[str, str], int | None]:
    """The longest answers the council takes: it checks them, but Open311 has no field to say so."""
    return {(service.code, attribute.code): attribute.max_length
            for service in services.services for attribute in service.attributes}


def send(url: str, fields: list[tuple[str, str]]) -> Created | Refused:
    async def go() -> Created | Refused:
        client = client_for(url)
        try:
            return await client.create(fields)
        finally:
            await client.aclose()
    return asyncio.run(go())


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_councils_services_are_the_ones_the_bundled_catalogue_was_written_for(council_server, fmt):
    """Each side's file read by its own parser, the council's through the wire as a kiosk fetches it."""
    url = council_server(api_key=KEY)

    async def fetch() -> product_catalogue.Catalogue:
        client = client_for(url, fmt)
        try:
            return await client.catalogue()
        finally:
            await client.aclose()

    fetched = asyncio.run(fetch())
    bundled = product_catalogue.bundled()
    assert [on_the_wire(service) for service in fetched.services] == [on_the_wire(service)
                                                                       for service in bundled.services]
    assert max_lengths(own()) == max_lengths(bundled) and own().version == bundled.version


def test_a_misreading_of_the_catalogue_on_the_products_side_is_refused_by_the_council(council_server, monkeypatch):
    """Were the product to take each list value's key from its name, the council, reading its own
    file, refuses the answer (sharing the product's parser, it would have agreed)."""
    real_value = product_catalogue.Value
    monkeypatch.setattr(product_catalogue, "Value", lambda key, name: real_value(key=name, name=key))
    product_catalogue.bundled.cache_clear()
    try:
        url = council_server(api_key=KEY)
        misread = product_catalogue.bundled().get("missed_bin")
        assert misread is not None and misread.questions[0].values[0].key == "General waste bin"
        refused = send(url, [("service_code", "missed_bin"), ("attribute[bin_type]", "General waste bin"), *WHERE])
        assert isinstance(refused, Refused) and refused.status == 400
        assert "attribute[bin_type]: 'General waste bin' is not one of general, recycling" in refused.message
    finally:
        monkeypatch.undo()
        product_catalogue.bundled.cache_clear()
    read_right = send(url, [("service_code", "missed_bin"), ("attribute[bin_type]", "general"), *WHERE])
    assert isinstance(read_right, Created) and read_right.service_request_id


def test_the_council_checks_answers_against_the_services_it_was_given(council_server):
    services = parse("""
        version = "one-service"
        [[service]]
        code = "missed_bin"
        name = "Missed bin"
          [[service.attribute]]
          code = "bin_type"
          datatype = "singlevaluelist"
          required = true
          description = "Which bin?"
          values = [{ key = "REF", name = "Refuse" }]
    """)
    url = council_server(api_key=KEY, catalogue=services)
    assert [service["service_code"] for service in httpx.get(url + "services.json").json()] == ["missed_bin"]
    refused = send(url, [("service_code", "missed_bin"), ("attribute[bin_type]", "general"), *WHERE])
    assert isinstance(refused, Refused) and "'general' is not one of REF" in refused.message
    assert isinstance(send(url, [("service_code", "missed_bin"), ("attribute[bin_type]", "REF"), *WHERE]), Created)
    assert isinstance(send(url, [("service_code", "pothole"), *WHERE]), Refused)  # not this council's


SERVICE = '[[service]]\ncode = "s"\nname = "S"\n'


@pytest.mark.parametrize("text, problem", [
    (SERVICE + '[[service.attribute]]\ncode = "a"\ndatatype = "string"\ndescription = "A"\nrequired = "false"\n',
     "required must be a bool"),  # the product's parser reads this as False: the council will not guess
    (SERVICE + '[[service.attribute]]\ncode = "a"\ndatatype = "colour"\ndescription = "A"\n', "datatype 'colour'"),
    (SERVICE + '[[service.attribute]]\ncode = "a"\ndatatype = "singlevaluelist"\ndescription = "A"\n',
     "every list needs them"),
    (SERVICE + '[[service.attribute]]\ncode = "a"\ndatatype = "string"\ndescription = "A"\nmax_length = "9"\n',
     "max_length must be a whole number"),
    (SERVICE + '[[service.attribute]]\ndatatype = "string"\ndescription = "A"\n', "code is missing"),
    (SERVICE + SERVICE, "a service code is given twice"),
    ('version = "empty"\n', "no services"),
    ("[[service]\n", "not valid TOML"),
])
def test_a_services_file_the_council_cannot_serve_is_refused_naming_the_problem(text, problem):
    with pytest.raises(ServicesError, match=problem):
        parse(text, "test.toml")


def test_the_councils_own_file_reads_whole():
    services = own()
    assert isinstance(services, Services) and services.get("missed_bin") is not None
    bin_type = services.get("missed_bin").questions[0]
    assert (bin_type.code, bin_type.datatype, bin_type.required) == ("bin_type", "singlevaluelist", True)
    assert services.get("nothing") is None
    assert replace(services, services=()).get("missed_bin") is None
