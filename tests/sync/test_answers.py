"""Answers as residents give them: lists, numbers, dates, phones, emails, places, and cleaning text."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import locales
from sync.answers import Invalid, clean_text, validate
from sync.catalogue import bundled
from sync.flow import questions

TODAY = date(2026, 11, 24)
english = locales.translator("en")


@pytest.mark.parametrize("typed", ["2", "recycling", "Recycling bin", " RECYCLING BIN ", "2."])
def test_a_list_answer_by_number_key_or_name(typed, question):
    assert validate(question("missed_bin", "attribute.bin_type"), typed) == "recycling"


@pytest.mark.parametrize("typed, message", [("5", "Choose one of the numbered options"),
                                             ("0", "Choose one of the numbered options"),
                                             ("blue", "Choose one of the numbered options"),
                                             ("", "Choose an answer")])
def test_a_list_answer_that_is_not_an_option(typed, message, question):
    with pytest.raises(Invalid) as caught:
        validate(question("missed_bin", "attribute.bin_type"), typed)
    assert caught.value.render(english) == message


@pytest.mark.parametrize("typed, keys", [("1, 3", ["sofa", "fridge"]), ("1 3 3", ["sofa", "fridge"]),
                                          ("sofa and fridge or freezer", ["sofa", "fridge"]),
                                          (["mattress", "6"], ["mattress", "other"])])
def test_several_choices_at_once(typed, keys, question):
    assert validate(question("bulky_waste", "attribute.items"), typed) == keys


def test_several_choices_with_one_wrong_or_none(question):
    items = question("bulky_waste", "attribute.items")
    with pytest.raises(Invalid, match="Choose from the numbered options"):
        validate(items, "1, 9")
    with pytest.raises(Invalid, match="Choose at least one option"):
        validate(items, " ")


@pytest.mark.parametrize("typed, value", [("3", 3), (" 10 ", 10), ("2.5", 2.5), ("١٢", 12), ("1,000", 1000)])
def test_numbers(typed, value, question):
    assert validate(question("bulky_waste", "attribute.item_count"), typed) == value


@pytest.mark.parametrize("typed, message", [("three", "Enter a number, like 3"), ("-1", "0 or more"),
                                             ("1e9", "smaller number"), ("nan", "Enter a number")])
def test_numbers_refused(typed, message, question):
    with pytest.raises(Invalid) as caught:
        validate(question("bulky_waste", "attribute.item_count"), typed)
    assert message in caught.value.render(english)


@pytest.mark.parametrize("typed, day", [("23/11/2026", "2026-11-23"), ("1/11/26", "2026-11-01"),
                                         ("2026-11-20", "2026-11-20"), ("Today", "2026-11-24"),
                                         ("yesterday", "2026-11-23"), ("23.11.2026", "2026-11-23")])
def test_dates(typed, day, question):
    assert validate(question("missed_bin", "attribute.collection_date"), typed, today=TODAY) == day


@pytest.mark.parametrize("typed, message", [("31/02/2026", "Enter a real date, like 24/11/2026"),
                                             ("last tuesday", "Enter a date, like 24/11/2026"),
                                             ("01/01/2020", "within a year")])
def test_dates_refused_with_an_example(typed, message, question):
    with pytest.raises(Invalid) as caught:
        validate(question("missed_bin", "attribute.collection_date"), typed, today=TODAY)
    assert message in caught.value.render(english)


def test_an_optional_question_may_be_left_empty_but_a_required_one_may_not(question):
    assert validate(question("missed_bin", "attribute.collection_date"), "   ") is None
    with pytest.raises(Invalid, match="Choose an answer"):
        validate(question("missed_bin", "attribute.bin_type"), None)


@pytest.mark.parametrize("typed", ["07911 123456", "07911-123-456", "+44 7911 123456", "447911123456"])
def test_phone_numbers_uk_by_default(typed, question):
    assert validate(question("litter", "phone"), typed) == "+447911123456"


@pytest.mark.parametrize("typed", ["12345", "phone me", "07911 12345678901"])
def test_phone_numbers_refused(typed, question):
    with pytest.raises(Invalid, match="is not a phone number we can use"):
        validate(question("litter", "phone"), typed)


def test_email_addresses(question):
    assert validate(question("litter", "email"), " Ann@Example.com ") == "Ann@example.com"
    with pytest.raises(Invalid, match="like name@example.com"):
        validate(question("litter", "email"), "ann at example dot com")


def test_length_limits_say_how_many_characters(question):
    plate = question("abandoned_vehicle", "attribute.registration")
    with pytest.raises(Invalid) as caught:
        validate(plate, "AB12 CDE FGHIJ")
    assert caught.value.render(english) == "Your answer must be 10 characters or fewer"
    description = question("litter", "description")
    assert len(validate(description, "a" * 4000)) == 4000
    with pytest.raises(Invalid):
        validate(description, "a" * 4001)


def test_locations_from_the_gazetteer_coordinates_or_words(question):
    class Place:
        uprn, address, lat, lon = "100012345678", "12 High Street, Brackenford, BF1 2AB", 52.2, -1.1

    loc = question("litter", "location")
    assert validate(loc, Place()) == {"address_id": "100012345678", "address_string": Place.address,
                                      "lat": 52.2, "long": -1.1}
    assert validate(loc, {"lat": "52.2", "long": "-1.1"}) == {"lat": 52.2, "long": -1.1}
    assert validate(loc, "behind the library") == {"address_string": "behind the library"}
    for bad, message in (("", "Choose an address"), ("x", "a few more words"),
                         ({"lat": 40.0, "long": 2.0}, "not in the UK"),
                         ({"lat": 52.0}, "both a latitude and a longitude")):
        with pytest.raises(Invalid, match=message):
            validate(loc, bad)


def test_terminal_escapes_and_control_characters_are_stripped():
    dirty = "\x1b[2J\x1b[31mPothole\x1b[0m\x07 by\tthe\u202e shop\x1b]0;owned\x07\x00"
    assert clean_text(dirty) == "Pothole by the shop"
    assert clean_text("line one\r\n\r\n\r\n\r\nline two", multiline=True) == "line one\n\nline two"


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40), st.booleans())
def test_plain_ascii_takes_a_short_cut_to_the_same_cleaning(text, multiline):
    """Most answers are printable ASCII and skip the character-by-character pass: the result
    must be what that pass would have given (escapes and controls make a text take the pass)."""
    from sync.answers import _clean

    assert clean_text(text, multiline=multiline) == _clean(text, multiline)


every_question = st.sampled_from([(s, q) for s in bundled().services
                                  for q in questions(s, {"phone": "+447911123456", "name": "A"})])


@settings(max_examples=400, deadline=None)
@given(every_question, st.one_of(st.text(), st.none(), st.integers(), st.lists(st.text(), max_size=4)))
def test_any_input_to_any_question_is_either_taken_clean_or_refused_kindly(pair, raw):
    _service, asked = pair
    try:
        value = validate(asked, raw, today=TODAY)
    except Invalid as invalid:
        assert invalid.render(english)
        return
    if isinstance(value, str):
        assert "\x1b" not in value and all(ord(char) >= 32 or char == "\n" for char in value)
