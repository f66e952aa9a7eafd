"""Arbitrary bodies through the whole webhook: never a 5xx, always valid TwiML with at most one
message, within the segment budget."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms import templates as tpl
from sms.simulator import inbound_params, replies
from sync.texting import numbers, segments

bodies = st.one_of(
    st.text(max_size=200),  # any Unicode, surrogates excepted (a form post cannot carry them)
    st.text(alphabet=string.printable + "\x1b\x00\u202e\u200b\ufeff\U0001f600ŵŷâ€{}[]~|^\\", max_size=300),
    st.sampled_from(["", " ", "STOP", "START", "HELP", "YES", "1", "99", "REPORT", "STATUS", "LANG", "NEW", "SKIP",
                     "missed bin 12 High St", "pothole outside 4 Station Road", "<Response/>", "]]>", "&amp;",
                     "\x1b[31mred", "%s%n", "{phone}", "{0}"]),
    st.builds(lambda char, n: char * n, st.sampled_from(["a", "ŵ", "😀", "{", "\n"]), st.integers(1500, 1700)),
)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, media=st.integers(0, 2), number=st.integers(0, 7))
def test_any_body_gets_valid_twiml_within_budget_and_never_a_5xx(phone, sms_app, sms_store, clock, body, media, number):
    clock.advance(minutes=2)  # a few numbers, many messages: conversations go on, limits rarely bite
    sender = f"+44791112{number:04d}"
    params = inbound_params(sender, body, media=media)
    response = phone.post(params)
    assert response.status_code == 200, (body, response.status_code)
    assert response.headers["content-type"].startswith("application/xml")
    messages = replies(response.text)
    assert len(messages) <= 1
    language = (numbers.number_state(sms_store, sender) or {}).get("language") or tpl.MIXED
    menu = tpl.final(tpl.language_menu(sms_app.state.sms.bot.languages), tpl.MIXED)  # LANG: every language at once
    for message in messages:
        budget = segments.budget(tpl.MIXED if message == menu else language)
        assert message.strip() and segments.segments(message) <= budget, (body, message)
