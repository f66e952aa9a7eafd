"""/healthz says 503, and why, whenever the next text could not be saved: a held lock, a key that
does not open the store, too little free space. And residents texting meanwhile get a kind answer."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time

from cryptography.fernet import Fernet

from sms.app import create_app
from sync.config import load_settings
from sync.crypto import check_value
from sync.store import Store, health
from tests.helpers import draft
from tests.sms.sms_support import TestClient, sms_env


def test_a_healthy_store_answers_200(client):
    found = client.get("/healthz")
    assert found.status_code == 200 and found.json()["status"] == "ok"


def test_a_held_lock_answers_503_at_once_and_residents_get_a_kind_reply(client, phone, sms_settings, sms_store,
                                                                         caplog):
    sms_store.db.conn.execute("PRAGMA busy_timeout = 300")  # the webhook's wait, shortened for the test
    holder = sqlite3.connect(sms_settings.store_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        found = client.get("/healthz")
        took = time.monotonic() - started
        with caplog.at_level(logging.INFO):
            exchange = phone.send("hello")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert found.status_code == 503 and took < 2
    [problem] = found.json()["problems"]
    assert "cannot be written" in problem and "busy" in problem
    assert exchange.status == 200 and "Sorry, something went wrong" in exchange.text  # kind words, not a 5xx
    assert not any(record.exc_info for record in caplog.records)
    assert client.get("/healthz").status_code == 200  # and well again once the lock is let go


def test_a_key_that_no_longer_matches_the_store_answers_503(env, gazetteer_template):
    """Another process rotated the store's key (or the file was replaced) under a running service:
    it can no longer seal what residents send, and says so."""
    settings = load_settings(environ=sms_env(env))
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings)
    store.enqueue(draft())
    try:
        with TestClient(create_app(settings, store=store)) as test_client:
            assert test_client.get("/healthz").status_code == 200
            store.db.conn.execute("UPDATE store_key SET check_value = ?",
                                  (check_value(Fernet.generate_key()),))  # rotated elsewhere
            found = test_client.get("/healthz")
    finally:
        store.close()
    assert found.status_code == 503
    assert any("key does not match" in problem for problem in found.json()["problems"])


def test_too_little_free_space_answers_503_naming_the_setting(sms_settings, sms_store):
    sms_settings = dataclasses.replace(sms_settings, store=dataclasses.replace(sms_settings.store, min_free_mb=10**9))
    with TestClient(create_app(sms_settings, store=sms_store)) as test_client:
        found = test_client.get("/healthz")
    assert found.status_code == 503
    [problem] = found.json()["problems"]
    assert "MB free" in problem and "store.min_free_mb" in problem


def test_the_probe_leaves_nothing_behind(sms_store, sms_settings):
    before = sms_store.db.conn.execute("SELECT count(*) FROM requests").fetchone()[0]
    assert health.problems(sms_store, sms_settings) == []
    assert sms_store.db.conn.execute("SELECT count(*) FROM requests").fetchone()[0] == before
    assert not sms_store.db.conn.in_transaction
