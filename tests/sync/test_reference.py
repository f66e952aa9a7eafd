"""References: short, unambiguous, checkable, and taken back however they are typed."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from sync import reference

refs = st.builds(lambda _: reference.new_reference(), st.integers())


def test_a_reference_is_short_grouped_and_free_of_confusable_characters():
    for _ in range(500):
        canonical = reference.new_reference()
        assert len(canonical) <= 10
        assert not set(canonical) & set("01ILOU")
        assert re.fullmatch(r"[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{4}", reference.display(canonical))


@given(refs, st.sampled_from(["", " ", "-", "  ", " - "]), st.booleans())
def test_typed_back_in_any_case_with_or_without_separators(canonical, separator, lower):
    typed = separator.join([canonical[:3], canonical[3:6], canonical[6:]])
    assert reference.parse(typed.lower() if lower else typed) == canonical


@given(refs, st.integers(min_value=0, max_value=9), st.sampled_from(reference.ALPHABET))
def test_any_single_mistyped_character_is_caught(canonical, position, char):
    if canonical[position] != char:
        assert reference.parse(canonical[:position] + char + canonical[position + 1:]) is None


def test_most_swapped_neighbours_are_caught():
    caught = total = 0
    for _ in range(300):
        canonical = reference.new_reference()
        for position in range(9):
            swapped = canonical[:position] + canonical[position + 1] + canonical[position] + canonical[position + 2:]
            if swapped != canonical:
                total += 1
                caught += reference.parse(swapped) is None
    assert caught / total > 0.95


@given(st.text())
def test_anything_else_is_not_a_reference(text):
    parsed = reference.parse(text)
    assert parsed is None or reference.parse(parsed) == parsed


def test_references_are_found_inside_a_back_office_description():
    canonical = reference.new_reference()
    text = f"Bin not emptied again\n\n[assist ref {reference.display(canonical)}, kiosk at Central Library]"
    assert reference.find_in(text) == [canonical]
    assert reference.find_in("no reference here, just ABC-DEF-GHJK") == []
