"""The SMS tests' fixtures: a store holding the demo gazetteer, the SMS app on it, and a phone
texting it through signed webhooks. Twilio's and Notify's loopback fakes (`twilio`, `notify`) are
fixtures of every test, in tests/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sms.app import create_app
from sync.config import load_settings
from sync.places import gazetteer
from sync.store import Store
from sync.store import db as db_module
from tests.sms.sms_support import Phone, TestClient, sms_env


@pytest.fixture(scope="session")
def gazetteer_template(tmp_path_factory) -> Path:
    """A migrated store file holding the demo gazetteer, built once and copied per test."""
    path = tmp_path_factory.mktemp("sms-template") / "assist.db"
    db = db_module.connect(path)
    gazetteer.import_csv(db, gazetteer.DEMO_CSV)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


@pytest.fixture
def sms_settings(env):
    return load_settings(environ=sms_env(env))


@pytest.fixture
def sms_store(sms_settings, clock, gazetteer_template):
    """The test's store, starting with the demo gazetteer."""
    sms_settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, sms_settings.store_path)
    opened = Store.open(sms_settings, clock=clock, backoff_base_seconds=10, backoff_cap_seconds=600)
    yield opened
    opened.close()


@pytest.fixture
def sms_app(sms_settings, sms_store):
    return create_app(sms_settings, store=sms_store)


@pytest.fixture
def client(sms_app):
    with TestClient(sms_app) as test_client:
        yield test_client


@pytest.fixture
def phone(client):
    return Phone(client)
