"""What every webhook goes through first (sms/middleware.py): Twilio's signature, checked once
against the public URL over every field of the form, and the 64 KiB cap on a request's body."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from sms.app import INBOUND_PATH, create_app
from sms.middleware import form_pairs, webhook_form
from sms.simulator import inbound_params, sign
from sync.config import load_settings
from tests.sms.sms_support import AUTH_TOKEN, MOBILE, PUBLIC_URL, Phone, TestClient, sms_env


def inbound_count(store) -> int:
    return store.db.conn.execute("SELECT count(*) FROM sms_inbound").fetchone()[0]


def test_the_signature_is_checked_against_the_public_url_not_the_one_behind_the_proxy(client, sms_store):
    params = inbound_params(MOBILE, "hello")
    # TestClient's request arrives as http://testserver/sms/inbound, as it would behind a TLS proxy
    signed_for_arrival = sign(AUTH_TOKEN, "http://testserver/sms/inbound", params)
    assert Phone(client).post(params, signature=signed_for_arrival).status_code == 403
    signed_for_public = sign(AUTH_TOKEN, PUBLIC_URL + "/sms/inbound", params)
    assert Phone(client).post(params, signature=signed_for_public).status_code == 200


def test_behind_a_proxy_that_adds_a_prefix_the_signed_url_has_it_once(env, sms_store):
    """`assist sms serve` under a --root-path, as docs/sms.md sets one up: the prefix is in the
    public URL, and the ASGI server puts it in the request's path too; it must not count twice."""
    settings = load_settings(environ=sms_env(env, ASSIST_TWILIO__PUBLIC_URL=PUBLIC_URL + "/texts"))
    params = inbound_params(MOBILE, "hello")
    with TestClient(create_app(settings, store=sms_store), root_path="/texts") as prefixed:
        assert Phone(prefixed).post(params, path="/texts" + INBOUND_PATH).status_code == 200
        wrong = sign(AUTH_TOKEN, PUBLIC_URL + "/texts/texts" + INBOUND_PATH, params)
        assert Phone(prefixed).post(params, path="/texts" + INBOUND_PATH, signature=wrong).status_code == 403


@pytest.mark.parametrize("how", ["missing", "empty", "forged", "wrong token", "other path", "tampered body"])
def test_unsigned_or_wrongly_signed_requests_get_403_and_touch_nothing(client, sms_store, how):
    params = inbound_params(MOBILE, "pothole outside 4 Station Road")
    good = sign(AUTH_TOKEN, PUBLIC_URL + "/sms/inbound", params)
    phone = Phone(client)
    if how == "missing":
        response = client.post("/sms/inbound", data=params)
    elif how == "empty":
        response = phone.post(params, signature="")
    elif how == "forged":
        response = phone.post(params, signature="bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==")
    elif how == "wrong token":
        response = phone.post(params, signature=sign("not-the-token", PUBLIC_URL + "/sms/inbound", params))
    elif how == "other path":
        response = phone.post(params, signature=sign(AUTH_TOKEN, PUBLIC_URL + "/sms/status", params))
    else:
        response = phone.post({**params, "Body": "STOP"}, signature=good)
    assert response.status_code == 403
    assert inbound_count(sms_store) == 0
    assert sms_store.db.conn.execute("SELECT count(*) FROM sms_numbers").fetchone()[0] == 0


def test_a_request_body_too_large_for_a_webhook_is_refused_unread(client):
    response = client.post("/sms/inbound", content=b"Body=" + b"x" * 70_000,
                           headers={"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert response.status_code == 413


def test_a_streamed_body_over_the_cap_is_refused_once_it_passes_it(client):
    """No Content-Length (a chunked body): the size limit counts what arrives and answers 413 as
    soon as the body passes 64 KiB, before the form is parsed or the signature checked."""
    chunks_sent = []

    def chunks():
        for _ in range(40):
            chunks_sent.append(1)
            yield b"x" * 4096

    response = client.post("/sms/inbound", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert response.status_code == 413
    assert "content-length" not in {key.lower() for key in response.request.headers}


def test_repeated_form_fields_are_all_signed_and_checked(client, sms_store):
    from starlette.datastructures import ImmutableMultiDict
    from twilio.request_validator import RequestValidator

    pairs = list(inbound_params(MOBILE, "hello").items()) + [("Extra", "one"), ("Extra", "two")]
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + "/sms/inbound", ImmutableMultiDict(pairs))
    body = {}
    for name, value in pairs:
        body.setdefault(name, []).append(value)
    ok = client.post("/sms/inbound", data=body, headers={"X-Twilio-Signature": signature})
    assert ok.status_code == 200
    body["Extra"] = ["one"]  # a value dropped: the signature no longer matches
    assert client.post("/sms/inbound", data=body, headers={"X-Twilio-Signature": signature}).status_code == 403


FIELD = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(FIELD, FIELD), max_size=8), st.sampled_from(["", "; charset=utf-8"]))
def test_the_webhook_reads_a_form_as_starlettes_request_form_does(fields, charset):
    """The webhook's form reader (middleware.webhook_form, the standard library's parse_qsl) gives
    exactly the FormData Starlette's own `request.form()` does for any urlencoded form, repeated
    and empty fields, any Unicode, included; so the signature is checked over the same fields."""
    body = urlencode(fields).encode()

    def request() -> Request:
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}
        headers = [(b"content-type", f"application/x-www-form-urlencoded{charset}".encode())]
        return Request({"type": "http", "method": "POST", "headers": headers, "path": "/", "query_string": b""},
                       receive)

    async def both():
        return await webhook_form(request()), await request().form()

    ours, starlettes = asyncio.run(both())
    assert list(ours.multi_items()) == list(starlettes.multi_items())


#: Bodies no urlencoder makes as well: bare "%" and "+", broken escapes, fields without "=" or a name.
RAW_BODY = st.text(st.sampled_from("ab=&%+;2Fe9\u00e9 \u0660"), max_size=40) | st.text(max_size=30)


@settings(max_examples=300, deadline=None)
@given(RAW_BODY)
def test_the_webhooks_own_reader_splits_any_body_as_parse_qsl_does(body):
    """form_pairs is parse_qsl(keep_blank_values=True) without its generality (a tenth of the
    webhook's own time in bench_sms): for any text, the same names and values in the same order."""
    assert form_pairs(body) == parse_qsl(body, keep_blank_values=True)
