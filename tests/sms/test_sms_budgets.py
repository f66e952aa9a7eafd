"""Every outgoing message within its segment budget, in every shipped language, with the longest
values each template can receive: English at most 2 segments and most replies in 1; other
languages at most 3."""

from __future__ import annotations

import re

import pytest

import locales
from sms import templates as tpl
from sync.catalogue import bundled
from sync.flow import CONSENT, EMAIL, LOCATION, NAME, PHONE, UPDATES, questions
from sync.texting import segments, wording

SHIPPED = locales.shipped()
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def placeholders(message) -> set[str]:
    messages = message if isinstance(message, tuple) else (message,)
    found = set()
    for code in SHIPPED:
        t = locales.translator(code)
        for item in messages:
            found |= set(PLACEHOLDER.findall(t(item)))
    return found


def longest(message) -> dict:
    return {name: tpl.LONGEST.get(name, "") for name in placeholders(message) if name not in tpl.KEYWORD_PLACEHOLDERS}


@pytest.mark.parametrize("language", SHIPPED)
@pytest.mark.parametrize("name", sorted(tpl.TEMPLATES))
def test_every_template_fits_with_its_longest_values(name, language):
    template = tpl.TEMPLATES[name]
    values = longest(template.message)
    if template.shrink:  # shrinkable values are fitted: the result must fit, and keep the rest
        text = tpl.render(name, language, **values)
    else:
        text = tpl.raw(name, language, values)
    assert segments.segments(text) <= segments.budget(language), (name, language, text)
    assert segments.normalise(text) == text


@pytest.mark.parametrize("language", SHIPPED)
def test_every_question_of_every_service_fits(language):
    catalogue = bundled()
    phone = tpl.LONGEST["phone"]
    for service in catalogue.services:
        answers = {"phone": "+447911123456", "name": "Ann"}
        prefix = locales.translator(language)(service.name) + ". " + tpl.render("urgent", language, phone=phone)
        for question in questions(service, answers):
            for text in (tpl.question_text(question, language, phone=phone),
                         tpl.question_text(question, language, phone=phone, prefix=prefix,
                                           error="Choose from the numbered options, like 1 or 1, 3")):
                fits = segments.segments(segments.normalise(text)) <= segments.budget(language)
                assert fits, (service.code, question.key, text)


@pytest.mark.parametrize("language", SHIPPED)
def test_menus_and_choices_fit(language):
    t = locales.translator(language)
    catalogue = bundled()
    groups = [t(group) for group in catalogue.groups()]
    budget = segments.budget(language)
    assert segments.segments(tpl.menu_text(t(tpl.GROUP_MENU), groups, language, more=False)) <= budget
    head = tpl.render("problem_at", language, place=tpl.LONGEST["place"])
    assert segments.segments(segments.normalise(tpl.menu_text(head, groups, language, more=False))) <= budget
    for services in catalogue.groups().values():
        names = [t(service.name) for service in services]
        for page in tpl.pages(names, t(tpl.SERVICE_MENU), language):
            text = tpl.menu_text(t(tpl.SERVICE_MENU), [names[i] for i in page], language, more=True)
            assert segments.segments(segments.normalise(text)) <= segments.budget(language)
    addresses = ["Flat 12, 140 Cherry Tree Walk, Thornley Green"] * 5
    text = tpl.options_text(t(tpl.WHICH_ADDRESS), addresses, "", language)
    assert segments.segments(segments.normalise(text)) <= segments.budget(language)


def test_the_language_menu_fits_as_a_message_in_several_languages():
    text = tpl.language_menu(SHIPPED)
    assert segments.segments(segments.normalise(text)) <= 3
    for code in SHIPPED:
        assert locales.native_name(code) in text


@pytest.mark.parametrize("language", SHIPPED)
def test_status_and_reference_texts_fit_with_the_longest_notes(language):
    t = locales.translator(language)
    for status in wording.STATUS_LABELS:
        text = wording.status_text(t, council=wording.LONGEST["council"], reference=wording.LONGEST["reference"],
                                 service=wording.LONGEST["service"], status=status, notes=wording.LONGEST["notes"],
                                 language=language)
        assert segments.segments(text) <= segments.budget(language)
    for stop_line in (True, False):
        text = wording.reference_text(t, council=wording.LONGEST["council"], reference=wording.LONGEST["reference"],
                                    service=wording.LONGEST["service"], language=language, stop_line=stop_line)
        assert segments.segments(text) <= segments.budget(language)
        assert wording.LONGEST["reference"] in text  # the reference is never shortened away
    reply = tpl.status_reply(language, reference="K7Q-4MB-XP9P", service=tpl.LONGEST["service"],
                             status=tpl.LONGEST["status"], date=tpl.LONGEST["date"], notes="n" * 900)
    assert segments.segments(reply) <= segments.budget(language) and "K7Q-4MB-XP9P" in reply


def test_most_english_replies_are_one_segment():
    singles = total = 0
    for name, template in tpl.TEMPLATES.items():
        values = {key: {"council": "Brackenford Borough Council", "phone": "01632 960000"}.get(key, value)
                  for key, value in longest(template.message).items()}
        if "summary" in values:
            values["summary"] = "Pothole; 12 High Street, Brackenford, BF1 5AB; Bigger than a car tyre; In the road"
        if "notes" in values:
            values["notes"] = "A crew will fill it this week"
        text = tpl.render(name, "en", **values)
        singles += segments.segments(text) == 1
        total += 1
    for service in bundled().services:
        for question in questions(service, {"phone": "+447911123456"}):
            singles += segments.segments(tpl.question_text(question, "en", phone="01632 960000")) == 1
            total += 1
    assert singles / total >= 0.8, f"{singles} of {total} English replies in one segment"


def test_text_is_normalised_before_it_is_counted():
    assert segments.segments(tpl.final("It\u2019s \u201cfixed\u201d\u2026 " * 10, "en")) == 1
    assert tpl.final("a\x00b\ufffe\ud800c", "en") == "abc"


@pytest.mark.parametrize("question", [LOCATION, NAME, PHONE, EMAIL, UPDATES, CONSENT])
def test_the_shared_questions_read_well_as_texts(question):
    text = tpl.question_text(question, "en", phone="01632 960000")
    assert text.startswith(question.prompt) and segments.segments(text) == 1
