"""The question flow every channel uses: which questions, in what order, read back, and the finished draft."""

from __future__ import annotations

from datetime import date

import pytest

import locales
from sync.catalogue import bundled
from sync.flow import display, next_question, questions, to_draft

TODAY = date(2026, 11, 24)
english = locales.translator("en")


def service(code: str):
    return bundled().get(code)


def test_questions_come_in_order_where_then_attributes_then_description_then_contact():
    keys = [q.key for q in questions(service("missed_bin"))]
    assert keys == ["location", "attribute.bin_type", "attribute.collection_date", "description", "name",
                    "phone", "email"]


def test_conditional_questions_appear_only_when_they_make_sense():
    keys = [q.key for q in questions(service("litter"), {"phone": "+447911123456"})]
    assert keys[-2:] == ["updates_by_text", "consent"]
    landline = [q.key for q in questions(service("litter"), {"phone": "+441134960000"})]
    assert "updates_by_text" not in landline and landline[-1] == "consent"
    assert "consent" not in [q.key for q in questions(service("litter"), {})]


def test_next_question_skips_what_is_already_known():
    answers = {"location": {"address_string": "Market Square"}, "attribute.bin_type": "food"}
    assert next_question(service("missed_bin"), answers).key == "attribute.collection_date"
    answers.update({"attribute.collection_date": None, "description": None, "name": None,
                    "phone": None, "email": None})
    assert next_question(service("missed_bin"), answers) is None


def test_the_draft_carries_contact_details_only_with_consent():
    pothole = service("pothole")
    answers = {"location": {"address_string": "Mill Lane"}, "attribute.size": "large", "attribute.surface": "road",
               "description": "Deep", "name": "Ann", "phone": "+447911123456", "email": None,
               "updates_by_text": "yes", "consent": "no"}
    draft = to_draft(pothole, answers, channel="kiosk", language="cy", catalogue_version="v")
    assert draft.contact is None and draft.notify_phone == "+447911123456"
    assert draft.attributes == {"size": "large", "surface": "road"} and draft.language == "cy"
    answers["consent"] = "yes"
    assert to_draft(pothole, answers, channel="sms", language="en", catalogue_version="v").contact == {
        "name": "Ann", "phone": "+447911123456"}
    with pytest.raises(ValueError, match="consent"):
        to_draft(pothole, {k: v for k, v in answers.items() if k != "consent"}, channel="sms", language="en",
                 catalogue_version="v")


def test_answers_read_back_in_words(question):
    items = question("bulky_waste", "attribute.items")
    assert display(items, ["sofa", "fridge"], english) == "Sofa or armchair, Fridge or freezer"
    assert display(question("missed_bin", "attribute.collection_date"), "2026-11-23", english) == "23 November 2026"
    assert display(question("litter", "email"), None, english) == "Not provided"
