"""Fixtures for the gazetteer's tests: an empty store, the demo gazetteer, and CSV files to import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sync.places import gazetteer as gz
from sync.store import db as store_db


@pytest.fixture
def write() -> Callable[..., Path]:
    """Write a CSV file as a council's system would, in `encoding`; returns its path."""
    def written(path: Path, text: str, encoding: str = "utf-8") -> Path:
        path.write_bytes(text.encode(encoding))
        return path
    return written


@pytest.fixture
def db(tmp_path):
    database = store_db.connect(tmp_path / "store.db")
    yield database
    database.conn.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    database = store_db.connect(tmp_path_factory.mktemp("demo") / "store.db")
    gz.import_csv(database, gz.DEMO_CSV)
    yield database
    database.conn.close()
