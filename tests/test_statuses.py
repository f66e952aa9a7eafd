"""Every status a council can report has words, on the kiosk and in a text, in every language."""

from __future__ import annotations

import pytest

import locales
from council.db import STATUSES
from kiosk.statuses import COUNCIL, describe
from sync.open311.worker import CLOSED_STATUSES
from sync.texting.wording import STATUS_LABELS, status_label

REPORTED = set(STATUSES) | {"unable_to_fix"}  # FixMyStreet's too


def test_the_kiosk_and_the_texts_have_words_for_every_council_status():
    assert REPORTED <= set(COUNCIL) and REPORTED <= set(STATUS_LABELS)
    assert {"closed", "fixed", "unable_to_fix"} <= CLOSED_STATUSES


@pytest.mark.parametrize("code", [code for code in locales.shipped() if code != locales.SOURCE_LANGUAGE])
def test_every_status_is_said_in_the_residents_language(code):
    t, english = locales.translator(code), locales.translator("en")
    for status in REPORTED:
        assert describe(status, t, council=True) != describe(status, english, council=True), status
        assert status_label(status, t) != status_label(status, english), status
