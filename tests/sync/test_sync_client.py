"""The sync round against the real cloud API on waitress (127.0.0.1), with an injected clock."""

from __future__ import annotations

import json
import random
import uuid

import pytest
import requests

from cloud_sync import TransientError
from cloud_sync.client import SyncClient
from cloud_sync.outbox import Outbox, SyncState
from cloud_sync.sync import StateAlerts, Syncer, SyncPolicy
from gateway import cli
from gateway.app import open_store
from gateway.store import transaction
from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, ThreadServer

ADMIN = "adm"


class Recorder:
    """An alert sink that remembers (kind, severity, dedup_key)."""

    def __init__(self):
        self.alerts = []

    def __call__(self, kind, severity, message, *, now_ms, dedup_key):
        self.alerts.append((kind, severity, dedup_key))


@pytest.fixture
def cloud(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    app = create_app(store, ServerSettings(admin_token=ADMIN, max_body_bytes=8 << 10, max_payload_bytes=2000))
    server = ThreadServer(app)
    server.store = store
    hid, code = store.add_household("Iyer")
    server.household_id, server.code = hid, code
    yield server
    server.close()
    store.close()


@pytest.fixture
def gw(tmp_path):
    store = open_store(tmp_path / "gw.db")
    store.conn.execute("CREATE TABLE ledger (idempotency_key TEXT PRIMARY KEY, amount_paise INTEGER NOT NULL)")
    yield store
    store.close()


def make_syncer(gw, cloud, clock, alerts=None, handlers=None, batch=50, token=None):
    session = requests.Session()
    if token is None:
        token = SyncClient(session, cloud.url).register(cloud.code, "pi")["token"]
    client = SyncClient(
        session, cloud.url, token, connect_timeout_s=2, read_timeout_s=5, clock_s=lambda: clock() / 1000
    )
    return Syncer(
        Outbox(gw.conn),
        client,
        clock_ms=clock,
        rand=random.Random(1).random,
        alert=alerts or Recorder(),
        handlers=handlers,
        policy=SyncPolicy(batch_size=batch, backoff_base_s=1, backoff_max_s=60),
    )


def ledger_handler(conn, data):
    """What the ledger's confirm_payment does: one row per idempotency key (a second raises)."""
    conn.execute("INSERT INTO ledger VALUES (?, ?)", (data["idempotency_key"], data["amount_paise"]))


def enqueue(gw, n, kind="node_health", **extra):
    """n events created at the fake clock's start (so they are due at once)."""
    with transaction(gw.conn):
        return [Outbox.enqueue(gw.conn, kind, {"i": i, **extra}, now_ms=FakeClock().ms) for i in range(n)]


def test_push_delivers_and_empties_the_outbox(gw, cloud):
    clock = FakeClock()
    syncer = make_syncer(gw, cloud, clock)
    keys = enqueue(gw, 120)
    acked = []
    result = syncer.push(progress=acked.append)
    assert result.acknowledged == 120 and sum(acked) == 120 and syncer.outbox.depth() == 0
    assert cloud.store.event_counts() == (120, 120)
    assert [e["key"] for e in cloud.store.events(cloud.household_id, limit=1000)] == keys
    assert syncer.status()["last_success_ms"] == clock()


def test_one_bad_event_is_dead_lettered_and_its_neighbours_delivered(gw, cloud):
    clock = FakeClock()
    alerts = Recorder()
    syncer = make_syncer(gw, cloud, clock, alerts)
    enqueue(gw, 3)
    bad = Outbox.enqueue(gw.conn, "feedback", {"note": "x" * 3000}, now_ms=clock())  # over the server's payload limit
    enqueue(gw, 3)
    result = syncer.push()
    assert result.acknowledged == 6 and result.dead == 1 and syncer.outbox.depth() == 0
    [dead] = syncer.outbox.dead_letters()
    assert dead["key"] == bad and dead["status"] == 400 and "payload" in dead["reason"]
    assert alerts.alerts == [("sync_dead_letter", "warning", f"cloud_sync:dead:{bad}")]


def test_a_batch_over_the_body_limit_is_split(gw, cloud):
    syncer = make_syncer(gw, cloud, FakeClock(), batch=100)
    enqueue(gw, 100, pad="y" * 100)  # ~15 kB as one batch, over the 8 kB limit: 413
    result = syncer.push()
    assert result.acknowledged == 100 and result.dead == 0 and cloud.store.event_counts() == (100, 100)


def test_revoked_token_keeps_events_and_asks_for_reregistration(gw, cloud):
    clock = FakeClock()
    alerts = Recorder()
    syncer = make_syncer(gw, cloud, clock, alerts)
    cloud.store.revoke_gateway(cloud.store.caller(syncer.client.token).gateway_id)
    enqueue(gw, 10)
    result = syncer.run_once()
    assert result.auth_failed and syncer.outbox.depth() == 10 and syncer.outbox.dead_count() == 0
    assert alerts.alerts == [("cloud_reregister", "critical", "cloud_sync:reregister")]
    assert "HTTP 401" in syncer.status()["last_error"]


def test_server_down_defers_with_backoff_and_raises_sync_failing_after_hours(gw, tmp_path):
    clock = FakeClock()
    alerts = Recorder()
    client = SyncClient(requests.Session(), "http://127.0.0.1:9", "t", connect_timeout_s=0.5, read_timeout_s=0.5)
    syncer = Syncer(
        Outbox(gw.conn),
        client,
        clock_ms=clock,
        rand=lambda: 1.0,
        alert=alerts,
        policy=SyncPolicy(batch_size=10, backoff_base_s=2, backoff_max_s=60),
    )
    enqueue(gw, 10)
    delays = []
    for _ in range(8):
        assert syncer.push().deferred == 10
        delays.append(syncer.next_attempt_ms() - clock())
        clock.advance(delays[-1])
    assert delays == [2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
    assert alerts.alerts == []
    clock.advance(6 * 3600 * 1000)
    syncer.push()
    assert alerts.alerts == [("sync_failing", "warning", "cloud_sync:failing")]


def test_pull_applies_each_change_once(gw, cloud):
    clock = FakeClock()
    applied_tariffs = []
    handlers = {"payment_confirmed": ledger_handler, "tariff_updated": lambda conn, d: applied_tariffs.append(d)}
    syncer = make_syncer(gw, cloud, clock, handlers=handlers)  # no model registry: models wait (test_sync_models.py)
    hid = cloud.household_id
    cloud.store.record_counter_payment(hid, "2025-06", 45000, "rcpt-1")
    cloud.store.publish_tariff(hid, {"slabs": [[100, 350]]})
    cloud.store.publish_model("v3", b"\x08\x07onnx model bytes", {"features_version": 4})
    result = syncer.pull()
    assert result.pulled == 3 and not result.errors
    assert gw.conn.execute("SELECT amount_paise FROM ledger").fetchall() == [(45000,)]
    assert applied_tariffs == [{"tariff": {"slabs": [[100, 350]]}}]
    assert gw.conn.execute("SELECT status, detail FROM sync_inbox WHERE type = 'model_published'").fetchone() == (
        "pending",
        "no theft-model registry on this gateway",
    )
    cloud.store.record_counter_payment(hid, "2025-06", 45000, "rcpt-1")  # the counter enters it twice
    SyncState(gw.conn).set("cursor", 0)  # and even a lost cursor does not apply anything twice
    assert syncer.pull().pulled == 3
    assert gw.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 1


def test_changes_without_a_handler_wait_in_the_inbox_until_one_exists(gw, cloud):
    syncer = make_syncer(gw, cloud, FakeClock())
    cloud.store.record_counter_payment(cloud.household_id, None, 1000, "r9")
    syncer.pull()
    assert gw.conn.execute("SELECT status FROM sync_inbox").fetchone()[0] == "pending"
    syncer.handlers["payment_confirmed"] = ledger_handler
    assert syncer.replay_pending() == 1 and syncer.replay_pending() == 0
    assert gw.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 1


def test_a_failing_handler_leaves_the_cursor_and_retries(gw, cloud):
    calls = []

    def flaky(conn, data):
        calls.append(data)
        if len(calls) == 1:
            raise ValueError("ledger locked")
        ledger_handler(conn, data)

    syncer = make_syncer(gw, cloud, FakeClock(), handlers={"payment_confirmed": flaky})
    cloud.store.record_counter_payment(cloud.household_id, None, 1000, "r10")
    first = syncer.pull()
    assert first.errors and SyncState(gw.conn).cursor() == 0
    assert syncer.pull().pulled == 1 and gw.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 1


def test_a_non_json_2xx_is_not_an_acknowledgement(gw):
    from flask import Flask

    portal = Flask("portal")
    portal.post("/v1/events")(lambda: "<html>captive portal</html>")
    server = ThreadServer(portal)
    try:
        client = SyncClient(requests.Session(), server.url, "t")
        with pytest.raises(TransientError, match="not JSON"):
            client.post_events([{"key": str(uuid.uuid4())}])
    finally:
        server.close()


def test_cli_register_sync_and_status(gw, cloud, tmp_path, capsys):
    db = str(gw.path)
    assert cli.main(["cloud", "register", "--db", db, "--url", cloud.url, "--code", cloud.code, "--name", "pi"]) == 0
    assert "registered as gateway" in capsys.readouterr().out
    enqueue(gw, 30)
    assert cli.main(["sync", "status", "--db", db, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["queue_depth"] == 30 and status["url"] == cloud.url and status["last_success_ms"] is None
    assert cli.main(["sync", "--once", "--db", db]) == 0
    assert "30 acknowledged" in capsys.readouterr().err
    assert cli.main(["sync", "status", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "queue depth:    0" in out and "last error:     -" in out
    assert cloud.store.event_counts() == (30, 30)
    assert cli.main(["cloud", "register", "--db", db, "--url", cloud.url, "--code", cloud.code]) == 2  # code spent
    assert "HTTP 403" in capsys.readouterr().err


def test_state_alerts_fallback_is_visible(gw):
    StateAlerts(SyncState(gw.conn))("cloud_reregister", "critical", "register again", now_ms=5, dedup_key="k")
    assert json.loads(SyncState(gw.conn).get("alert.cloud_reregister"))["severity"] == "critical"
