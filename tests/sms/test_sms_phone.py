"""The number a report is texted from (issue 17, point 3): the bot keeps it as the resident's phone
answer when it is of a valid UK format, even in a block phonenumbers' tables do not list (Ofcom's
drama range, a new mobile block), and offers updates by text only when it is a mobile."""

from __future__ import annotations

import pytest

from sync.store import events
from tests.sms.sms_support import Phone, english

REPORT = "missed recycling bin 12 High St"


@pytest.mark.parametrize("sender, texts_offered", [
    ("+447700900982", True), ("+447911654321", True),  # drama range; a block the library thinks unallocated
    ("+447911123456", True),
    ("+447012345678", False), ("+447640123456", False),  # a personal number and a pager: not mobiles
])
def test_updates_by_text_are_offered_for_a_mobile_sender_only(client, sms_store, sender, texts_offered):
    phone = english(Phone(client, sender))
    for text in (REPORT, "SKIP", "SKIP", "SKIP"):  # the date, a name, an email
        phone.say(text)
    asked = [row[0] for row in sms_store.db.conn.execute(
        "SELECT step FROM session_events WHERE event = ? ORDER BY id", (events.QUESTION,))]
    assert ("updates_by_text" in asked) is texts_offered, asked
    assert asked[-1] == ("updates_by_text" if texts_offered else "consent")
