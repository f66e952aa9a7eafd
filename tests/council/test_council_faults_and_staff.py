"""The reference back office's faults, concurrency, staff commands and clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from click.testing import CliRunner

from assist.cli import cli
from council.db import CouncilDB
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
FORM = {"service_code": "pothole", "lat": "52.0406", "long": "-0.7594", "attribute[size]": "large",
        "attribute[surface]": "road"}


def create(client: httpx.Client, description: str = "A hole", **extra) -> str:
    response = client.post("requests.json", data={**FORM, "description": description, **extra})
    assert response.status_code == 201, response.text
    return response.json()[0]["service_request_id"]


def count(url) -> int:
    db = CouncilDB(url.db_path)
    try:
        return db.count()
    finally:
        db.close()


# -- faults -----------------------------------------------------------------------------------

def test_fail_rate_answers_500_or_503_without_committing(council_server):
    url = council_server(fail_rate=1.0, seed=7)
    with httpx.Client(base_url=url) as client:
        statuses = set()
        for _ in range(12):
            response = client.post("requests.json", data={**FORM, "description": "x"})
            statuses.add(response.status_code)
            assert response.json()[0]["code"] == response.status_code
            assert "date" in response.headers
        assert statuses == {500, 503}
        xml = client.get("services.xml")
        assert xml.status_code in (500, 503) and SafeET.fromstring(xml.content).tag == "errors"
    assert count(url) == 0


def test_fail_rate_is_seedable(council_server):
    outcomes = []
    for _ in range(2):
        url = council_server(fail_rate=0.5, seed=42)
        with httpx.Client(base_url=url) as client:
            outcomes.append([client.get("services.json").status_code for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert {200, 500, 503} >= set(outcomes[0]) and 200 in outcomes[0] and len(set(outcomes[0])) > 1


def test_latency_delays_the_answer(council_server):
    url = council_server(latency=0.4)
    with httpx.Client(base_url=url) as client:
        started = time.monotonic()
        assert client.get("services.json").status_code == 200
        assert time.monotonic() - started >= 0.4
        with pytest.raises(httpx.TimeoutException):
            client.post("requests.json", data={**FORM, "description": "timed out [ref T-1]"}, timeout=0.1)
    # the client gave up, but the council went on and saved it: ambiguous, like a real one
    deadline = time.monotonic() + 5
    while count(url) == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_drop_after_commit_saves_the_request_but_never_answers(council_server):
    url = council_server(drop_after_commit=1.0, api_key="k")
    description = "Dropped answer [ref D-0001]"
    with httpx.Client(base_url=url) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("requests.json", data={**FORM, "description": description, "api_key": "k"})
        # the request is there: a client reconciling by its reference finds it
        found = client.get("requests.json", params={"service_code": "pothole"}).json()
        assert [item["description"] for item in found] == [description]
        assert client.get(f"requests/{found[0]['service_request_id']}.json").status_code == 200
        # refusals are not creations: they are answered normally and save nothing
        assert client.post("requests.json", data={**FORM, "api_key": "wrong"}).status_code == 403
        assert client.post("requests.json", data={**FORM, "service_code": "nope", "api_key": "k"}).status_code == 400
    assert url.app.edge.dropped == 1
    assert count(url) == 1


def test_drop_after_commit_rate_drops_some(council_server):
    url = council_server(drop_after_commit=0.5, seed=3)
    answered = dropped = 0
    with httpx.Client(base_url=url) as client:
        for n in range(30):
            try:
                create(client, f"n{n}")
                answered += 1
            except (httpx.RemoteProtocolError, httpx.ReadError):
                dropped += 1
    assert answered and dropped
    assert url.app.edge.dropped == dropped
    assert count(url) == 30


def test_concurrent_posts_get_distinct_ids(council_server):
    url = council_server(api_key="k")
    total = 300
    with httpx.Client(base_url=url, limits=httpx.Limits(max_connections=16), timeout=30) as client:
        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(lambda n: create(client, f"concurrent {n}", api_key="k"), range(total)))
    assert len(set(ids)) == total
    assert count(url) == total


# -- staff ------------------------------------------------------------------------------------

def test_staff_update_changes_status_and_shows_in_updates(council_server, council_clock):
    url = council_server(now=council_clock)
    with httpx.Client(base_url=url) as client:
        request_id = create(client)
        other = create(client, "another")
        runner = CliRunner()
        result = runner.invoke(cli, ["council", "update", request_id, "--status", "closed",
                                     "--note", "Filled the pothole.", "--db", str(url.db_path)])
        assert result.exit_code == 0, result.output
        assert f"Request {request_id} (pothole): status open -> closed" in result.output
        assert "Filled the pothole." in result.output

        [stored] = client.get(f"requests/{request_id}.json").json()
        assert stored["status"] == "closed" and stored["status_notes"] == "Filled the pothole."

        def ids(**params: str) -> list[str]:
            return [item["service_request_id"] for item in client.get("requests.json", params=params).json()]
        assert ids(status="closed") == [request_id]
        assert ids(status="open") == [other]
        assert ids(status="closed,open") == [request_id, other]

        # the staff command stamps with the real clock; ask for a window around it
        result = runner.invoke(cli, ["council", "update", other, "--status", "in_progress", "--db", str(url.db_path)])
        assert result.exit_code == 0, result.output
        assert ids(status="open") == [other]  # in_progress is an open status
        assert ids(status="in_progress") == [other]

        import datetime as dt
        now = dt.datetime.now(dt.timezone.utc)
        window = {"start_date": (now - dt.timedelta(hours=1)).isoformat(),
                  "end_date": (now + dt.timedelta(hours=1)).isoformat()}
        updates = client.get("servicerequestupdates.json", params=window).json()
        assert [(u["service_request_id"], u["status"], u["description"]) for u in updates] == [
            (request_id, "closed", "Filled the pothole."), (other, "in_progress", "")]
        assert updates[0]["update_id"] != updates[1]["update_id"] and updates[0]["updated_datetime"]
        root = SafeET.fromstring(client.get("servicerequestupdates.xml", params=window).content)
        assert root.tag == "service_requests_updates"
        assert [u.findtext("status") for u in root.findall("request_update")] == ["closed", "in_progress"]
        assert client.get("servicerequestupdates.json", params={
            "start_date": "2020-01-01T00:00:00Z", "end_date": "2020-01-02T00:00:00Z"}).json() == []


def test_staff_update_unknown_id_and_missing_db(tmp_path, council_server):
    url = council_server()
    runner = CliRunner()
    result = runner.invoke(cli, ["council", "update", "999", "--status", "closed", "--db", str(url.db_path)])
    assert result.exit_code != 0
    assert "no request with service_request_id '999'" in result.output
    missing = tmp_path / "missing.db"
    result = runner.invoke(cli, ["council", "update", "1", "--status", "closed", "--db", str(missing)])
    assert result.exit_code != 0 and "no council database" in result.output
    assert not missing.exists()
    result = runner.invoke(cli, ["council", "update", "1", "--db", str(url.db_path)])
    assert result.exit_code != 0 and "--status" in result.output


def test_council_list(council_server):
    url = council_server()
    with httpx.Client(base_url=url) as client:
        first = create(client, "Deep hole\nnear the school [ref L-1]")
        client.post("requests.json", data={"service_code": "graffiti", "address_string": "Station Road",
                                           "attribute[offensive]": "no", "description": "Tags on the wall"})
    result = CliRunner().invoke(cli, ["council", "list", "--db", str(url.db_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{first}\topen\tpothole\t") and "Deep hole near the school [ref L-1]" in lines[0]
    assert "graffiti" in lines[1] and "Station Road" in lines[1]


# -- the real command, in its own process -------------------------------------------------------

def start_serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str, Path]:
    port, db_path = free_port(), tmp_path / "served.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [sys.executable, "-c", "from assist.cli import main; main()", "council", "serve", "--port", str(port),
         "--db", str(db_path), *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "services.json", timeout=1).status_code == 200:
                return process, url, db_path
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"council serve did not start (rc {process.returncode}): {err.decode()}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_signals(tmp_path, sig):
    process, url, db_path = start_serve(tmp_path, "--api-key", "k")
    try:
        response = httpx.get(url + "services.json")
        assert response.headers.get_list("date") and len(response.headers.get_list("date")) == 1
        assert httpx.post(url + "requests.json", data={**FORM, "description": "x"}).status_code == 403
        kept = httpx.post(url + "requests.json", data={**FORM, "description": "kept", "api_key": "k"})
        assert kept.status_code == 201
        process.send_signal(sig)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert not Path(f"{db_path}-wal").exists()  # the store was closed (SQLite removes the WAL on close)
    db = CouncilDB(db_path)
    try:
        assert [row["description"] for row in db.all_requests()] == ["kept"]
    finally:
        db.close()


def test_serve_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", "from assist.cli import main; main()", "council", "serve", "--port", str(port),
             "--db", str(tmp_path / "x.db")], cwd=tmp_path, capture_output=True, timeout=20,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr.decode()
