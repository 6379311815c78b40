"""What the household did before `cloud register` reaches the cloud once: registration and
`powergw sync backfill` queue every bill, payment and alert answer never queued, under the keys
the listeners give, on a real SQLite file and a real cloud API at 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cloud_sync.backfill import backfill
from cloud_sync.events import event_key
from gateway.alerts import alert_store
from gateway.app import open_store
from gateway.billing.cycle import Cycle
from gateway.billing.ledger_wiring import ledger_for
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook
from gateway.cli import main
from gateway.config import parse_config
from gateway.store import transaction
from powergw_cloud.app import create_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, ThreadServer

T0 = 1_751_328_000_000  # 2025-07-01 00:00 UTC
C1 = Cycle(dt.date(2025, 5, 5), dt.date(2025, 7, 5))
OFFLINE = parse_config({})
CLOUD = parse_config({"cloud": {"url": "https://cloud.example.in"}})


@pytest.fixture
def cloud(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    server = ThreadServer(create_app(store, ServerSettings(admin_token="admin"), clock_ms=FakeClock()))
    server.store = store
    yield server
    server.close()
    store.close()


def household_history(db, config) -> int:
    """A bill, a cash payment, a UPI payment confirmed later and an Ignore; returns the alert id."""
    store = open_store(db)
    try:
        tn = TariffBook.load().in_force("tn-domestic", dt.date(2025, 7, 1))
        ledger = ledger_for(store, config)
        bill, _ = ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
        ledger.record_payment("500", payment_key="cash-1", now_ms=T0 + 1_000, bill_id=bill["id"], method="cash")
        ledger.record_payment(
            "990", payment_key="upi-1", now_ms=T0 + 2_000, bill_id=bill["id"], method="upi", confirmed=False
        )
        ledger.confirm_payment("upi-1", now_ms=T0 + 60_000, by="asha", reference="UTR42")
        alerts = alert_store(store, config)
        alert_id, _ = alerts.raise_alert(
            "theft",
            None,
            "night load on the pump line",
            now_ms=T0 + 70_000,
            node_id="pump",
            dedup_key="theft:pump",
            data={"score": 0.97},
        )
        alerts.act(alert_id, "ignore", "asha", "our new borewell pump", now_ms=T0 + 80_000)
    finally:
        store.close()
    return alert_id


def outbox(db) -> list[tuple[str, str, int, dict]]:
    store = open_store(db)
    try:
        rows = store.conn.execute("SELECT key, kind, created_ms, payload FROM outbox ORDER BY id").fetchall()
    finally:
        store.close()
    return [(k, kind, ms, json.loads(p)) for k, kind, ms, p in rows]


def register(cloud, db) -> int:
    household_id, code = cloud.store.add_household("Iyer")
    assert main(["cloud", "register", "--db", str(db), "--url", cloud.url, "--code", code]) == 0
    return household_id


def sync_once(db, capsys) -> str:
    capsys.readouterr()
    assert main(["sync", "--once", "--no-progress", "--db", str(db)]) == 0
    return capsys.readouterr().err


def test_history_from_before_registering_reaches_the_cloud_once(tmp_path, cloud, capsys):
    db = tmp_path / "gw.db"
    alert_id = household_history(db, OFFLINE)
    assert outbox(db) == []  # an install that never talked to a cloud queued nothing

    household_id = register(cloud, db)
    assert "queued 5 earlier events" in capsys.readouterr().out
    assert "5 acknowledged (0 already there)" in sync_once(db, capsys)
    sent = {(e["kind"], e["key"]) for e in cloud.store.events(household_id)}
    assert sent == {
        ("bill_closed", event_key("bill_closed", C1.key)),
        ("payment_created", event_key("payment_created", "cash-1")),
        ("payment_created", event_key("payment_created", "upi-1")),
        ("payment_created", event_key("payment_confirmed", "upi-1")),
        ("feedback", event_key("feedback", alert_id, "ignore", T0 + 80_000)),
    }

    # Again: nothing is queued, nothing sent. A payment made now goes by the listener, once.
    store = open_store(db)
    ledger_for(store, OFFLINE).record_payment("100", payment_key="cash-2", now_ms=T0 + 90_000, method="cash")
    store.close()
    capsys.readouterr()
    assert main(["sync", "backfill", "--db", str(db)]) == 0
    assert "0 events queued" in capsys.readouterr().out
    assert [e[0] for e in outbox(db)] == [event_key("payment_created", "cash-2")]
    assert "1 acknowledged (0 already there)" in sync_once(db, capsys)
    assert cloud.store.event_counts() == (6, 6)


def test_backfill_queues_what_the_listeners_would_have_under_the_same_keys_and_times(tmp_path):
    live, late = tmp_path / "live.db", tmp_path / "late.db"
    household_history(live, CLOUD)  # a [cloud] url: the listeners queue as things happen
    household_history(late, OFFLINE)
    store = open_store(late)
    try:
        with transaction(store.conn):
            assert backfill(store.conn) == 5
    finally:
        store.close()
    normal = [e for e in outbox(live) if e[1] != "alert"]  # the alert itself is not history a backfill sends
    assert outbox(late) == normal

    store = open_store(live)  # events the listeners queued are not queued twice, waiting or delivered
    try:
        with transaction(store.conn):
            assert backfill(store.conn) == 0
            store.conn.execute("DELETE FROM outbox")  # as the cloud's acknowledgement does
            assert backfill(store.conn) == 0
    finally:
        store.close()


def test_backfill_on_a_gateway_not_registered_says_so_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "gw.db"
    household_history(db, OFFLINE)
    assert main(["sync", "backfill", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "not registered" in err and len(err.strip().splitlines()) == 1
    assert outbox(db) == []

    missing = tmp_path / "typo.db"
    assert main(["sync", "backfill", "--db", str(missing)]) == 2
    assert "no database at" in capsys.readouterr().err and not missing.exists()
