"""Reading addresses and what residents type: postcodes, and house number, street and town."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.places.normalise import normalise_postcode, split_address


def test_street_number_and_town_are_read_from_the_address_when_not_given():
    assert split_address("12 High Street, Brackenford, BF1 2AB") == ("12", "High Street", "Brackenford")
    assert split_address("Flat 2, 14 Station Road, Oakhurst, Brackenford") == ("14", "Station Road", "Oakhurst")
    assert split_address("Rose Cottage, Church Lane, Little Ashby") == ("", "Church Lane", "Little Ashby")
    assert split_address("12A Cornmarket, Brackenford") == ("12A", "Cornmarket", "Brackenford")
    assert split_address("The Old Forge, Woodside, Oakhurst") == ("", "Woodside", "Oakhurst")


@pytest.mark.parametrize("text, expected", [
    ("BF1 2AB", "BF1 2AB"), ("bf12ab", "BF1 2AB"), ("  b f 1 2 a b ", "BF1 2AB"),
    ("M1 1AE", "M1 1AE"), ("B33 8TH", "B33 8TH"), ("W1A 0AX", "W1A 0AX"), ("CR2 6XH", "CR2 6XH"),
    ("DN55 1PT", "DN55 1PT"), ("EC1A 1BB", "EC1A 1BB"), ("gir0aa", "GIR 0AA"), ("SW1A 2AA", "SW1A 2AA"),
    ("", None), ("BF1", None), ("BF1 2", None), ("12 high st", None), ("BF1 2AC", None),  # C never inward
    ("QA1 2AB", None), ("AI1 2AB", None), ("BF1 2ABC", None), ("BF123 4AB", None), ("1F1 2AB", None),
    ("W1I 2AB", None), ("EC1C 1BB", None), ("BF1-2AB", None), ("ＢＦ1 2AB", None), (None, None),
])
def test_normalise_postcode_knows_the_uk_formats(text, expected):
    assert normalise_postcode(text) == expected


@given(st.text(max_size=12))
def test_normalise_postcode_is_idempotent(text):
    once = normalise_postcode(text)
    assert once is None or normalise_postcode(once) == once
