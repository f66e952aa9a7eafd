"""What only a store on PostgreSQL has: its URL in the settings, its migrations from an old schema,
claims by several workers at once, and `assist store check`'s meaning there (a real PostgreSQL,
started by the tests: tests/postgres.py)."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from cryptography.fernet import Fernet

from sync.config import ConfigError, load_settings
from sync.crypto import Vault
from sync.store import Store, migrations
from sync.store import db as db_module
from sync.store.errors import StoreTooNew, StoreUnavailable
from tests.helpers import PHONE, draft

# Each test here names its PostgreSQL database itself: the `env` it may start from needs only one engine.
pytestmark = pytest.mark.sqlite_only


def test_store_url_names_the_engine_and_setting_it_beside_path_is_refused_naming_both(tmp_path):
    on_file = load_settings(environ={"ASSIST_STORE__URL": f"sqlite:///{tmp_path}/a.db"})
    assert on_file.store_path == tmp_path / "a.db" and not on_file.on_postgres
    on_server = load_settings(environ={"ASSIST_STORE__URL": "postgresql://assist:secret@db.council.example/assist"})
    assert on_server.on_postgres and on_server.store_name == "postgresql://assist:***@db.council.example/assist"
    with pytest.raises(ConfigError, match=r"store\.url and store\.path.*only one of them"):
        load_settings(environ={"ASSIST_STORE__URL": "postgresql://db/assist", "ASSIST_STORE__PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"sqlite:///PATH or postgresql://") as refused:
        load_settings(environ={"ASSIST_STORE__URL": "mysql://assist:hunter2@db/assist"})
    assert "hunter2" not in str(refused.value)


def test_assist_config_masks_the_password_in_the_store_url(run):
    result = run("config", "--json", extra_env={"ASSIST_STORE__URL": "postgresql://assist:hunter2@db.example/assist",
                                                "ASSIST_STORE__PATH": ""})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["store.url"]["value"] == "postgresql://assist:***@db.example/assist"
    assert "hunter2" not in result.output


def test_an_old_schema_with_data_migrates_to_the_newest_on_postgresql(postgres_url):
    old = db_module.connect(postgres_url, migrate=False)
    assert migrations.apply(old, target=3) == [1, 2, 3]
    vault = Vault(Fernet.generate_key())
    store = Store(old, vault, device_id="council-2025")
    saved = store.enqueue(draft())
    store.set_backoffice_state("default", reachable=False, error="offline since Tuesday")
    store.close()

    reopened = db_module.connect(postgres_url)
    versions = [row[0] for row in reopened.conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, migrations.LATEST + 1))
    store = Store(reopened, vault, device_id="council-2026")
    assert store.lookup(saved.reference).state == "queued"
    assert store.personal(saved.reference)["notify_phone"] == PHONE
    assert store.backoffice_states()["default"]["last_error"] == "offline since Tuesday"
    assert store.record_status(saved.id, "open", "Logged", external_id="u-1")  # migration 3's index
    store.close()


def test_a_database_migrated_by_a_newer_version_is_refused_naming_both_versions_and_left_alone(postgres_url):
    db_module.connect(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2027-01-01')")
    with pytest.raises(StoreTooNew, match=rf"schema version 99; this version knows up to {migrations.LATEST}"):
        db_module.connect(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 99


def test_several_processes_migrating_a_new_database_at_once_apply_each_migration_once(postgres_url):
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            db_module.connect(postgres_url).close()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == migrations.LATEST


def test_four_workers_claiming_at_once_never_get_the_same_submission(postgres, tmp_path):
    url = postgres.migrated_database()
    settings = load_settings(environ={"ASSIST_STORE__URL": url, "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")})
    stores = [Store.open(settings) for _ in range(4)]
    for index in range(80):
        stores[0].enqueue(draft(idempotency_key=f"s{index}"))
    taken: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    barrier = threading.Barrier(4)

    def work(name: str, store: Store) -> None:
        barrier.wait()
        while batch := store.claim(name, 5):
            taken[name] += [item.id for item in batch]

    threads = [threading.Thread(target=work, args=(name, store)) for name, store in zip(taken, stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [item for ids in taken.values() for item in ids]
    assert sorted(every) == sorted(set(every)) and len(every) == 80
    for store in stores:
        store.close()


def test_a_lapsed_lease_on_postgresql_comes_back_to_another_worker(store_on_postgres, clock):
    store = store_on_postgres
    saved = store.enqueue(draft())
    [first] = store.claim("crashed-worker", 1)
    assert store.claim("other", 1) == []
    clock.advance(seconds=store.lease.total_seconds() + 1)
    [again] = store.claim("other", 1)
    assert first.id == again.id == saved.id


def test_store_check_on_postgresql_says_what_each_check_means(run, postgres, tmp_path):
    url = postgres.migrated_database()
    extra = {"ASSIST_STORE__URL": url, "ASSIST_STORE__PATH": "", "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")}
    Store.open(load_settings(environ=extra)).close()
    result = run("store", "check", extra_env=extra)
    assert result.exit_code == 0, result.output
    names = [line.split(":")[0] for line in result.output.splitlines()]
    assert names == ["ok  connection", "ok  rights", "ok  schema", "ok  key", "ok  file modes", "ok  integrity"]
    assert "left to the database's operators" in result.output


def test_store_check_and_open_name_an_unreachable_database_without_its_password(run, tmp_path):
    url = f"postgresql://assist:hunter2@/assist?host={tmp_path}&connect_timeout=2"  # no server listens there
    extra = {"ASSIST_STORE__URL": url, "ASSIST_STORE__PATH": "", "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")}
    result = run("store", "check", extra_env=extra)
    assert result.exit_code == 1 and "PROBLEM  connection" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    with pytest.raises(StoreUnavailable) as refused:
        Store.open(load_settings(environ=extra))
    assert "hunter2" not in str(refused.value) and "assist:***@" in str(refused.value)


@pytest.fixture
def store_on_postgres(postgres, tmp_path, clock):
    settings = load_settings(environ={"ASSIST_STORE__URL": postgres.migrated_database(),
                                      "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")})
    opened = Store.open(settings, clock=clock)
    yield opened
    opened.close()


def test_on_postgresql_the_gazetteer_is_imported_into_its_own_sqlite_file_and_searched_there(run, postgres,
                                                                                              tmp_path):
    url = postgres.migrated_database()
    places = tmp_path / "places" / "gazetteer.db"
    extra = {"ASSIST_STORE__URL": url, "ASSIST_STORE__PATH": "", "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(places)}
    assert run("gazetteer", "import", "--demo", extra_env=extra).exit_code == 0
    found = run("gazetteer", "search", "12 high st", extra_env=extra)
    assert found.exit_code == 0 and "12 High Street" in found.output
    assert places.is_file()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM addresses").fetchone()[0] == 0


def test_healthz_on_postgresql_is_200_and_503_at_once_while_another_process_holds_the_write_lock(postgres, tmp_path):
    from sms.app import create_app
    from sync.store.postgres import WRITE_LOCK
    from tests.sms.sms_support import TestClient, sms_env

    settings = load_settings(environ=sms_env({"ASSIST_STORE__URL": postgres.migrated_database(),
                                              "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")}))
    store = Store.open(settings)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            assert client.get("/healthz").json()["status"] == "ok"
            with psycopg.connect(settings.store.url, autocommit=True) as other:
                other.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))  # a writer stuck mid-transaction
                found = client.get("/healthz")
                other.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
            assert found.status_code == 503 and "busy" in found.json()["problems"][0]
            assert client.get("/healthz").status_code == 200
    finally:
        store.close()


def test_store_check_names_the_rights_a_role_lacks(run, postgres, tmp_path):
    url = postgres.migrated_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    extra = {"ASSIST_STORE__URL": url.replace("postgres:@", "reader:@", 1), "ASSIST_STORE__PATH": "",
             "ASSIST_STORE__KEY_FILE": str(tmp_path / "k.key"),
             "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")}
    result = run("store", "check", extra_env=extra)
    assert result.exit_code == 1 and "PROBLEM  rights: the role lacks:" in result.output
    assert "submissions" in result.output and "CREATE in the schema" in result.output


def test_store_backup_on_postgresql_points_to_pg_dump_and_names_no_password(run, tmp_path):
    extra = {"ASSIST_STORE__URL": "postgresql://assist:hunter2@db.example/assist", "ASSIST_STORE__PATH": ""}
    result = run("store", "backup", str(tmp_path / "copy.db"), extra_env=extra)
    assert result.exit_code == 1 and "pg_dump" in result.output and "hunter2" not in result.output
    assert not (tmp_path / "copy.db").exists()


def test_a_connection_the_server_dropped_is_replaced_and_the_save_goes_through(store_on_postgres):
    """A restart or failover ends the store's connection between two residents: the next save
    begins on a new one rather than failing."""
    store = store_on_postgres
    first = store.enqueue(draft(idempotency_key="before"))
    pid = store.db.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(store.db.conn.pool.conninfo, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    saved = store.enqueue(draft(idempotency_key="after"))
    assert store.db.conn.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    assert [store.lookup(ref).state for ref in (first.reference, saved.reference)] == ["queued", "queued"]



def test_on_postgresql_a_pages_event_is_committed_without_waiting_for_the_disk_and_a_save_with(store_on_postgres,
                                                                                                 monkeypatch):
    from sync.store import events

    store = store_on_postgres
    seen: list[str] = []
    real = type(store.db.conn).execute

    def watching(self, sql, parameters=()):
        if sql.strip().upper() == "COMMIT":
            seen.append(real(self, "SHOW synchronous_commit").fetchone()[0])
        return real(self, sql, parameters)

    monkeypatch.setattr(type(store.db.conn), "execute", watching)
    store.enqueue(draft(idempotency_key="a"))
    assert events.record(store, "visit-1", events.QUESTION, channel="kiosk", language="en", step="size")
    store.enqueue(draft(idempotency_key="b"))
    assert seen == ["on", "off", "on"]
