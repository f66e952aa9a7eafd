"""Typed-up paper forms: a line that cannot be read is reported by its number, and the rest go in."""

from __future__ import annotations

import json

from sync.transfer.paper import import_jsonl


def test_a_line_with_a_number_too_long_to_read_is_reported_and_the_good_line_still_goes_in(store, tmp_path):
    forms = tmp_path / "forms.jsonl"
    good = {"service_code": "graffiti", "address_string": "The bus shelter on Mill Lane",
            "attributes": {"offensive": "no"}}
    forms.write_text('{"service_code": "graffiti", "lat": ' + "5" * 5000 + "}\n" + json.dumps(good) + "\n")
    result = import_jsonl(store, forms)
    [(line, reason)] = result.errors
    assert line == 1 and reason.startswith("not valid JSON (Exceeds the limit")
    assert [line for line, _ in result.added] == [2]
