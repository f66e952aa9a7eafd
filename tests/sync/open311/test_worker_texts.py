"""The worker texts residents who asked for texts: their reference, then the council's news, in
their own language; never a number that opted out. The council is the reference back office over
loopback; Twilio is faked at its HTTP boundary (tests/sms/sms_fakes.py)."""

from __future__ import annotations

import locales
from sync.config import load_settings
from sync.store import Store
from sync.texting import numbers, wording
from tests.helpers import PHONE, draft
from tests.sms.sms_support import sms_env
from tests.sync.open311.worker_support import rounds


def test_a_welsh_kiosk_resident_is_texted_the_reference_then_the_news_in_welsh(env, council_server, run, twilio):
    url = council_server(api_key="k")
    settings = load_settings(environ=sms_env(env, ASSIST_BACKOFFICE__URL=url, ASSIST_BACKOFFICE__API_KEY="k"))
    store = Store.open(settings)
    saved = store.enqueue(draft(language="cy"))
    rounds(store, settings, twilio)
    assert store.lookup(saved.reference).state == "accepted"
    [reference_text] = twilio.requests
    assert reference_text["To"] == PHONE and saved.display_reference in reference_text["Body"]
    request_id = store.db.conn.execute("SELECT service_request_id FROM submissions").fetchone()[0]
    run("council", "update", request_id, "--status", "fixed", "--note", "Wedi'i drwsio", "--db", str(url.db_path))
    rounds(store, settings, twilio)
    status_text = twilio.requests[-1]["Body"]
    welsh = locales.translator("cy")
    assert len(twilio.requests) == 2 and "Wedi'i drwsio" in status_text
    assert welsh(wording.STATUS_LABELS["fixed"]) in status_text and "is now" not in status_text
    rounds(store, settings, twilio)
    assert len(twilio.requests) == 2  # the same news is never texted twice
    store.close()


def test_a_number_that_opted_out_hears_nothing_more(env, council_server, run, twilio):
    url = council_server(api_key="k")
    settings = load_settings(environ=sms_env(env, ASSIST_BACKOFFICE__URL=url, ASSIST_BACKOFFICE__API_KEY="k"))
    store = Store.open(settings)
    store.enqueue(draft())
    rounds(store, settings, twilio)
    assert len(twilio.requests) == 1
    numbers.opt_out(store, PHONE, by="sms")  # the resident texted STOP
    request_id = store.db.conn.execute("SELECT service_request_id FROM submissions").fetchone()[0]
    run("council", "update", request_id, "--status", "closed", "--note", "Done", "--db", str(url.db_path))
    rounds(store, settings, twilio)
    assert len(twilio.requests) == 1
    assert store.lookup(store.listing()[0]["reference"]).council_status == "closed"  # the news itself is kept
    store.close()
