"""Reading a reply (sms/answers.py): numbers from a list, yes and no, and the read-back's YES."""

from __future__ import annotations

import pytest

from sms import answers
from sms import keywords as kw


@pytest.mark.parametrize("text, count, index", [("2", 3, 1), (" 3. ", 3, 2), ("1)", 3, 0), ("4", 3, None),
                                                ("0", 3, None), ("two", 3, None), ("1, 2", 3, None)])
def test_a_choice_is_one_number_from_the_list(text, count, index):
    assert answers.choice(text, count) == index


def test_yes_and_no_words_of_any_offered_language_answer_a_yes_or_no_question():
    keywords = kw.keywords(("en", "cy"))
    assert answers.yes_or_no(keywords, "Yep") == "yes" and answers.yes_or_no(keywords, "nah") == "no"
    assert answers.yes_or_no(keywords, "1") is None and answers.yes_or_no(keywords, "maybe") is None


@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_read_back_takes_its_languages_yes_words_and_never_a_number(language):
    keywords = kw.keywords(("en", "cy", "pl"))
    yes_words = kw.words(kw.YES_WORDS, language)
    assert all(answers.confirmation(keywords, word.upper(), language) == "yes" for word in yes_words)
    assert answers.confirmation(keywords, "1", language) is None
    assert answers.confirmation(keywords, "2", language) is None
    assert answers.confirmation(keywords, kw.words(kw.NO_WORDS, language)[-1], language) == "no"


def test_at_the_read_back_only_the_residents_own_yes_sends_but_any_offered_no_stops():
    """On a Welsh read-back "tak" (Polish for yes) sends nothing, and on a Polish one "ie" (Welsh);
    "nie" (Polish for no) stops a Welsh one, as any offered language's NO may: not sending is safe."""
    keywords = kw.keywords(("en", "cy", "pl"))
    assert answers.confirmation(keywords, "tak", "cy") is None
    assert answers.confirmation(keywords, "nie", "cy") == "no"
    assert answers.confirmation(keywords, "ie", "pl") is None
