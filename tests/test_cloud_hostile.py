"""The cloud API and `cloud register` against hostile and mistaken input, on a real waitress
server at 127.0.0.1: no 500 for odd event kinds, a limit on registration guesses, no token sent
in clear to another machine without --insecure."""

from __future__ import annotations

import uuid

import pytest
import requests
from test_cloud_support import FakeClock, ThreadServer

from cloud_sync.cloud_store import CloudStore
from cloud_sync.commands import plain_http_to_another_machine
from cloud_sync.server import ServerSettings, create_app
from gateway.cli import main

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
    r = requests.post(cloud.url + "/v1/events", json={"events": [event]}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "events[0].kind"
    assert cloud.store.events(1, "bill_closed", 10) == []


def test_registration_guesses_are_limited_per_address(cloud):
    statuses = [requests.post(cloud.url + "/v1/register", json={"code": f"GUESS-{i:04d}"}, timeout=10).status_code for i in range(12)]
    assert statuses == [403] * 10 + [429] * 2
    _, code = cloud.store.add_household("Rao")
    r = requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900  # even a right code waits at this address
    cloud.clock.advance(15 * 60_000)
    assert requests.post(cloud.url + "/v1/register", json={"code": code}, timeout=10).status_code == 201


@pytest.mark.parametrize("url, plain", [("http://cloud.example.in", True), ("http://192.0.2.5:8700", True),
                                        ("http://127.0.0.1:8700", False), ("http://localhost:8700", False),
                                        ("http://[::1]:8700", False), ("https://cloud.example.in", False),
                                        ("HTTP://cloud.example.in", True)])
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
