"""The recogniser on a labelled corpus of realistic messages: at least 90% of services and 80% of
places right (bench/bench_sms.py prints the same figures)."""

from __future__ import annotations

import pytest

import locales
from sms.recognise import Recogniser
from sync.store import Store
from tests.sms.sms_corpus import CORPUS

SERVICE_TARGET = 0.90
PLACE_TARGET = 0.80


def score(recogniser: Recogniser, language: str = "en"):
    """(service accuracy, place accuracy, mistakes) over the corpus."""
    services = places = with_place = 0
    mistakes = []
    for message, service, place in CORPUS:
        found = recogniser.recognise(message, language)
        right_service = (found.service or "none") == service
        services += right_service
        right_place = None
        if place:
            with_place += 1
            candidates = [candidate.lower() for candidate in (found.place.candidates() if found.place else [])]
            right_place = bool(candidates) and all(place.lower() in candidate for candidate in candidates)
            places += right_place
        if not right_service or right_place is False:
            mistakes.append((message, service, found.service, place, found.place.describe() if found.place else None))
    return services / len(CORPUS), places / with_place, mistakes


def test_the_corpus_is_big_and_varied_enough():
    assert len(CORPUS) >= 150
    services = {service for _message, service, _place in CORPUS}
    assert "none" in services and len(services) >= 15
    assert sum(service == "none" for _m, service, _p in CORPUS) >= 20
    assert sum(place is not None for _m, _s, place in CORPUS) >= 100
    assert len({message for message, _s, _p in CORPUS}) == len(CORPUS)


def test_the_recogniser_gets_services_and_places_right(sms_store: Store):
    recogniser = Recogniser(sms_store.db, sms_store.catalogue(), ("en", "cy"))
    services, places, mistakes = score(recogniser)
    print(f"service {services:.1%}, place {places:.1%}")
    for mistake in mistakes:
        print("  ", mistake)
    assert services >= SERVICE_TARGET, mistakes
    assert places >= PLACE_TARGET, mistakes


@pytest.mark.parametrize("message", ["", "   ", "?", "\x00\x1b[2J", "a" * 5000, "12", "BF1", "stop"])
def test_odd_messages_are_not_reports(sms_store: Store, message):
    recogniser = Recogniser(sms_store.db, sms_store.catalogue(), ("en", "cy"))
    assert recogniser.recognise(message).service is None


@pytest.mark.parametrize("message, service", [("12 High Street", None), ("high st", None),
                                              ("street light out 12 High Street", "street_light")])
def test_the_word_street_in_an_address_is_not_a_street_light(sms_store: Store, message, service):
    """A place alone is answered with "what is the problem there?", not a street-light report."""
    found = Recogniser(sms_store.db, sms_store.catalogue(), ("en", "cy")).recognise(message)
    assert found.service == service and "High Street" in found.place.describe()


def test_a_message_is_read_in_english_welsh_and_the_residents_own_language(sms_store: Store):
    shipped = tuple(locales.shipped())
    recogniser = Recogniser(sms_store.db, sms_store.catalogue(), shipped)
    assert recogniser.reading(None) == shipped
    others = [code for code in shipped if code not in ("en", "cy")]
    if not others:
        pytest.skip("no language but English and Welsh shipped")
    own = others[0]
    assert recogniser.reading(own) == tuple(code for code in ("en", "cy", own) if code in shipped)
    t = locales.translator(own)
    assert recogniser.recognise(f"{t('Pothole')} 12 High Street", own).service == "pothole"
    assert recogniser.recognise("pothole outside 12 High Street", own).service == "pothole"
    if "cy" in shipped:
        assert recogniser.recognise("twll yn y ffordd tu allan i 12 High Street", own).service == "pothole"


@pytest.mark.parametrize("language, message, service", [
    ("pa", "ਕੁੱਤੇ ਦੀ ਗੰਦਗੀ 12 High Street", "dog_fouling"),
    ("pa", "ਕੂੜੇਦਾਨ ਨਹੀਂ ਚੁੱਕਿਆ 12 High Street", "missed_bin"),
    ("bn", "রাস্তায় গর্ত 12 High Street", "pothole"),
])
def test_words_with_vowel_signs_are_read_whole(sms_store: Store, language, message, service):
    """Gurmukhi and Bengali vowel signs are Unicode marks, which Python's \\w leaves out: read as
    word breaks, they cut every word into pieces that match the wrong service or none."""
    recogniser = Recogniser(sms_store.db, sms_store.catalogue(), tuple(locales.shipped()))
    assert recogniser.recognise(message, language).service == service
