"""The cloud API and `cloud register` against hostile and mistaken input, on a real waitress
server at 127.0.0.1: no 500 for odd event kinds, a limit on registration guesses, no token sent
in clear to another machine without --insecure."""

from __future__ import annotations

import re
import socket
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
import requests

from cloud_sync.client import plain_http_to_another_machine
from cloud_sync.outbox import Outbox
from gateway.cli import main
from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, ThreadServer

ADMIN = "admin-secret"


@pytest.fixture
def cloud(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    clock = FakeClock()
    server = ThreadServer(create_app(store, ServerSettings(admin_token=ADMIN), clock_ms=clock))
    server.store, server.clock = store, clock
    yield server
    server.close()
    store.close()


def registered(cloud) -> str:
    _, code = cloud.store.add_household("Iyer")
    r = requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10)
    assert r.status_code == 201
    return r.json()["token"]


@pytest.mark.parametrize("kind", [[], {}, ["bill_closed"], {"a": 1}, 5, None, True])
def test_an_event_kind_that_is_not_a_string_is_a_400(cloud, kind):
    token = registered(cloud)
    event = {"key": str(uuid.uuid4()), "kind": kind, "created_ms": 1_750_000_000_000, "payload": {}}
    r = requests.post(
        cloud.url + "/v1/events", json={"events": [event]}, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert r.status_code == 400 and r.json()["field"] == "events[0].kind"
    assert cloud.store.events(1, "bill_closed", 10) == []


def test_registration_guesses_are_limited_per_address(cloud):
    statuses = [
        requests.post(cloud.url + "/v1/register", json={"code": f"GUESS-{i:04d}"}, timeout=10).status_code
        for i in range(12)
    ]
    assert statuses == [403] * 10 + [429] * 2
    _, code = cloud.store.add_household("Rao")
    r = requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900  # even a right code waits at this address
    cloud.clock.advance(15 * 60_000)
    assert requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10).status_code == 201


@pytest.mark.parametrize(
    "url, plain",
    [
        ("http://cloud.example.in", True),
        ("http://192.0.2.5:8700", True),
        ("http://127.0.0.1:8700", False),
        ("http://localhost:8700", False),
        ("http://[::1]:8700", False),
        ("https://cloud.example.in", False),
        ("HTTP://cloud.example.in", True),
    ],
)
def test_plain_http_to_another_machine(url, plain):
    assert plain_http_to_another_machine(url) is plain


def test_register_refuses_plain_http_to_another_machine_without_insecure(tmp_path, capsys):
    db = tmp_path / "gw.db"
    from gateway.app import open_store

    open_store(db).close()
    code = main(["cloud", "register", "--db", str(db), "--url", "http://192.0.2.5:8700", "--code", "X"])
    err = capsys.readouterr().err
    assert code == 2 and "plain HTTP" in err and "--insecure" in err


def test_register_over_loopback_http_needs_no_flag(tmp_path, cloud, capsys):
    db = tmp_path / "gw.db"
    from gateway.app import open_store

    open_store(db).close()
    _, code = cloud.store.add_household("Nair")
    assert main(["cloud", "register", "--db", str(db), "--url", cloud.url, "--code", code]) == 0
    assert "plain HTTP" not in capsys.readouterr().err


# ---- what the fuzzer of tests/sync/test_cloud_fuzz.py found, and what the document promises ----------------------


def admin_headers() -> dict:
    return {"Authorization": f"Bearer {ADMIN}"}


def counts(store) -> tuple:
    with store.tx() as tx:
        return tuple(
            tx.one(f"SELECT count(*) FROM {t}")[0] for t in ("households", "registration_codes", "changes", "payments")
        )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/admin/households/9223372036854775808/registration-codes",
        "/v1/admin/households/99999999999999999999999/counter-payments",
        "/v1/admin/households/0/registration-codes",
    ],
)
def test_a_household_id_past_what_a_database_holds_matches_no_route(cloud, path):
    before = counts(cloud.store)
    r = requests.post(
        cloud.url + path, json={"amount_paise": 100, "reference": "r1"}, headers=admin_headers(), timeout=10
    )
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"  # was an OverflowError: 500
    assert counts(cloud.store) == before


def test_an_unknown_body_field_or_query_parameter_is_a_400_naming_it(cloud):
    token = registered(cloud)
    auth = {"Authorization": f"Bearer {token}"}
    r = requests.get(cloud.url + "/v1/changes?cursor=0&limt=5", headers=auth, timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "limt"
    before = counts(cloud.store)
    r = requests.post(
        cloud.url + "/v1/admin/households", json={"name": "Das", "plan": "gold"}, headers=admin_headers(), timeout=10
    )
    assert r.status_code == 400 and r.json()["field"] == "plan"
    r = requests.post(cloud.url + "/v1/admin/households", json={"name": None}, headers=admin_headers(), timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "name"
    assert counts(cloud.store) == before


def test_a_body_that_is_not_json_is_a_415(cloud):
    before = counts(cloud.store)
    r = requests.post(
        cloud.url + "/v1/admin/households",
        data='{"name": "Das"}',
        headers={**admin_headers(), "Content-Type": "text/plain"},
        timeout=10,
    )
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert counts(cloud.store) == before


def test_a_tariff_for_a_household_that_does_not_exist_is_refused(cloud):
    before = counts(cloud.store)
    r = requests.post(
        cloud.url + "/v1/admin/tariffs",
        json={"household_id": 42, "tariff": {"slabs": [[100, 350]]}},
        headers=admin_headers(),
        timeout=10,
    )
    assert r.status_code == 404 and counts(cloud.store) == before
    hid, _ = cloud.store.add_household("Das")
    r = requests.post(
        cloud.url + "/v1/admin/tariffs",
        json={"household_id": hid, "tariff": {"slabs": [[100, 350]]}},
        headers=admin_headers(),
        timeout=10,
    )
    assert r.status_code == 201


@pytest.mark.parametrize("version", [".", "..", "-v2", "_", "v" * 65])
def test_a_model_version_is_a_plain_path_segment(cloud, version):
    r = requests.put(
        cloud.url + f"/v1/admin/models/{version}",
        files={"model": b"m", "metadata": b"{}"},
        headers=admin_headers(),
        timeout=10,
    )
    assert r.status_code in (400, 404)  # "." and ".." are taken out of the path by the client: no such route
    with cloud.store.tx() as tx:
        assert tx.one("SELECT count(*) FROM models")[0] == 0


def test_a_method_a_path_does_not_take_is_a_405_naming_those_it_does(cloud):
    for method in ("PATCH", "DELETE", "OPTIONS"):
        r = requests.request(method, cloud.url + "/v1/events", timeout=10)
        assert r.status_code == 405 and r.headers["Allow"] == "POST" and r.json()["error"]
    r = requests.put(cloud.url + "/v1/changes", timeout=10)
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_the_document_names_every_route_the_server_has(cloud):
    doc = requests.get(cloud.url + "/v1/openapi.json", timeout=10).json()
    app = create_app(cloud.store, ServerSettings(admin_token=ADMIN))
    served = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint != "static"
    }
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented and len(documented) == 16
    assert (
        doc["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"][
            "events"
        ]["maxItems"]
        == 1000
    )
    assert set(doc["paths"]["/v1/register"]["post"]["responses"]) == {"201", "400", "403", "405", "413", "415", "429"}


# ---- `powergw sync` and the daemon's round: no token in clear without --insecure -------------------------------


def lan_address() -> str | None:
    """This machine's own address on its network (not loopback), or None: a UDP connect sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


class Counted:
    """A WSGI app that counts the requests it is given and whether they carried a token."""

    def __init__(self, app):
        self.app, self.requests, self.with_token = app, 0, 0

    def __call__(self, environ, start_response):
        self.requests += 1
        self.with_token += "HTTP_AUTHORIZATION" in environ
        return self.app(environ, start_response)


@pytest.fixture
def lan_cloud(tmp_path):
    """The cloud API on this machine's own network address: plain HTTP to "another machine" as far as
    the gateway can tell, yet a real server whose requests are counted."""
    from powergw_cloud.serving import CloudServer

    address = lan_address()
    if address is None:
        pytest.skip("this machine has no network address but loopback")
    store = CloudStore(tmp_path / "cloud.db")
    counted = Counted(create_app(store, ServerSettings(admin_token=ADMIN), clock_ms=FakeClock()))
    server = CloudServer(counted, ServerSettings(), address, 0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    counted.url, counted.store = f"http://{address}:{server.api.effective_port}", store
    yield counted
    server.close()
    thread.join(5)
    store.close()


def gateway_db(tmp_path, cloud, *, insecure: bool) -> Path:
    """A gateway registered with `cloud` (with --insecure when asked), one event queued."""
    from gateway.app import open_store
    from gateway.store import transaction

    db = tmp_path / "gw.db"
    open_store(db).close()
    _, code = cloud.store.add_household("Menon")
    args = ["cloud", "register", "--db", str(db), "--url", cloud.url, "--code", code] + (
        ["--insecure"] if insecure else []
    )
    assert main(args) == 0
    store = open_store(db)
    with transaction(store.conn):
        Outbox.enqueue(store.conn, "feedback", {"action": "ignore"}, now_ms=1_750_000_000_000)
    store.close()
    return db


def sync_state(db: Path, key: str) -> str | None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def forget_consent(db: Path) -> None:
    """The database as a release before the refusal left it: a plain-HTTP URL stored, no --insecure on record."""
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM sync_state WHERE key = 'insecure_url'")
    conn.commit()
    conn.close()


def test_sync_refuses_a_plain_http_url_stored_before_until_insecure(tmp_path, lan_cloud, capsys):
    db = gateway_db(tmp_path, lan_cloud, insecure=True)
    assert sync_state(db, "insecure_url") == lan_cloud.url
    forget_consent(db)
    before = lan_cloud.requests
    capsys.readouterr()
    assert main(["sync", "--once", "--no-progress", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "plain HTTP" in err and "--insecure" in err and lan_cloud.url in err
    assert lan_cloud.requests == before  # nothing sent, the token least of all
    assert main(["sync", "status", "--db", str(db)]) == 0  # status sends nothing: no refusal
    assert "queue depth:    1" in capsys.readouterr().out
    assert main(["sync", "--once", "--no-progress", "--insecure", "--db", str(db)]) == 0
    assert "warning" in capsys.readouterr().err and lan_cloud.with_token > 0
    assert lan_cloud.store.event_counts()[0] == 1 and sync_state(db, "insecure_url") == lan_cloud.url
    assert main(["sync", "--once", "--no-progress", "--db", str(db)]) == 0  # accepted for this URL from now on


def test_the_daemon_round_does_not_send_the_token_in_clear_without_consent(tmp_path, lan_cloud):
    from cloud_sync.jobs import sync_round
    from gateway.app import JobContext, open_store
    from gateway.config import parse_config

    db = gateway_db(tmp_path, lan_cloud, insecure=True)
    forget_consent(db)
    before = lan_cloud.requests
    store = open_store(db)
    try:
        ctx = JobContext(store=store, config=parse_config({}), now_ms=lambda: 1_750_000_000_000, extras={})
        assert sync_round(ctx) == 0 and sync_round(ctx) == 0
        assert lan_cloud.requests == before
        alerts = store.conn.execute("SELECT kind, message, repeat_count FROM alerts").fetchall()
        assert (
            len(alerts) == 1 and alerts[0][0] == "sync_failing" and "plain HTTP" in alerts[0][1] and alerts[0][2] == 2
        )
        assert "plain HTTP" in sync_state(db, "last_error")
        assert main(["sync", "--once", "--no-progress", "--insecure", "--db", str(db)]) == 0  # the operator accepts it
        before = lan_cloud.requests
        assert sync_round(ctx) == 0 and lan_cloud.requests > before  # the daemon syncs with it from then on
    finally:
        store.close()


def test_register_with_insecure_lets_later_syncs_go_and_a_loopback_register_clears_it(tmp_path, lan_cloud, cloud):
    db = gateway_db(tmp_path, lan_cloud, insecure=True)
    assert main(["sync", "--once", "--no-progress", "--db", str(db)]) == 0 and lan_cloud.store.event_counts()[0] == 1
    _, code = cloud.store.add_household("Menon")
    assert main(["cloud", "register", "--db", str(db), "--url", cloud.url, "--code", code]) == 0
    assert sync_state(db, "insecure_url") == ""
