"""Phone numbers residents give (issue 17, point 3): every number of a valid UK format is taken,
including Ofcom's drama ranges that our own error message suggests and mobiles in blocks the
library's tables do not list yet; texts are offered for mobiles only, never 070 or 076 numbers."""

from __future__ import annotations

import pytest

import locales
from sync.answers import Invalid, phone_number
from sync.catalogue import bundled
from sync.flow import questions
from sync.phones import e164, is_mobile

english = locales.translator("en")


@pytest.mark.parametrize("typed, number", [
    ("07700 900 982", "+447700900982"),  # Ofcom's drama range for mobiles: the message's own example
    ("01632 960 001", "+441632960001"),  # Ofcom's drama range for landlines: the other example
    ("07911 654321", "+447911654321"),  # a mobile in a block phonenumbers thinks unallocated
    ("+44 7700 900982", "+447700900982"), ("0044 7700 900 982", "+447700900982"),
    ("(01632) 960001", "+441632960001"), ("07911 123456", "+447911123456"), ("0113 496 0000", "+441134960000"),
    ("07012 345678", "+447012345678"), ("07640 123456", "+447640123456"), ("+353 1 234 5678", "+35312345678"),
])
def test_every_number_of_a_valid_uk_format_is_taken(typed, number):
    assert phone_number(typed) == number


@pytest.mark.parametrize("typed", [
    "12345", "phone me", "07911 12345678901", "7700900982",  # too short, words, too long, no 0
    "0113 496 000", "06123 456789", "04123 456789",  # a digit short; 06 and 04 are not in Ofcom's plan
    "+353 1 234",  # from abroad, the library's tables must know it
])
def test_what_is_not_a_phone_number_is_refused_showing_what_was_typed(typed):
    with pytest.raises(Invalid) as caught:
        phone_number(typed)
    message = caught.value.render(english)
    assert f"“{typed}”" in message and "07700 900 982" in message and "01632 960 001" in message


def test_a_long_refused_answer_is_shown_shortened():
    with pytest.raises(Invalid) as caught:
        phone_number("call me on my mobile any evening after six o'clock please")
    assert "“call me on my mobile any even…”" in caught.value.render(english)


@pytest.mark.parametrize("number, mobile", [
    ("+447700900982", True), ("+447911654321", True), ("+447911123456", True),
    ("+447624123456", True),  # Isle of Man mobiles sit inside the 076 range
    ("+447012345678", False), ("+447012999999", False),  # 070: personal numbers, allocated or not
    ("+447640123456", False), ("+447640999999", False),  # 076: pagers, allocated or not
    ("+441632960001", False), ("+441134960000", False), ("+448001234567", False),
])
def test_only_mobiles_take_texts(number, mobile):
    assert is_mobile(number) is mobile


@pytest.mark.parametrize("typed, offered", [("07700 900 982", True), ("07911 654321", True),
                                            ("07012 345678", False), ("07640 123456", False)])
def test_texts_are_offered_for_mobiles_only(typed, offered):
    asked = [q.key for q in questions(bundled().get("litter"), {"phone": e164(typed)})]
    assert ("updates_by_text" in asked) is offered
