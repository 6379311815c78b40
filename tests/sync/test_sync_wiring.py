"""Cloud sync joined to the ledger and the alerts on a real temp-file SQLite: events queued in the
same transaction as the change, payments confirmed in the cloud applied to the real ledger once,
sync alerts in the real alerts table, daily summaries and node health queued once."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest
import requests

from cloud_sync import SyncError
from cloud_sync.client import SyncClient
from cloud_sync.events import event_key
from cloud_sync.jobs import queue_reports
from cloud_sync.listeners import alert_listener, ledger_listener
from cloud_sync.outbox import Outbox, SyncState
from cloud_sync.payments import apply_payment_confirmed
from cloud_sync.reports import queue_daily_summaries, queue_node_health
from cloud_sync.runtime import alert_fn, change_handlers
from cloud_sync.sync import Syncer
from gateway.alerts import AlertStore, alert_store
from gateway.app import JOBS, JobContext
from gateway.batch import Batch
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.ledger_wiring import ledger_for, ledger_listeners
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook
from gateway.config import Config, parse_config

T0 = 1_751_328_000_000  # 2025-07-01 00:00 UTC
C1 = Cycle(dt.date(2025, 5, 5), dt.date(2025, 7, 5))
CLOUD = parse_config({"cloud": {"url": "https://cloud.example.in"}})


@pytest.fixture(scope="module")
def tn():
    return TariffBook.load().in_force("tn-domestic", dt.date(2025, 7, 1))


def events(store, kind=None):
    rows = store.conn.execute("SELECT key, kind, payload FROM outbox ORDER BY id").fetchall()
    return [(k, kd, json.loads(p)) for k, kd, p in rows if kind is None or kd == kind]


# ---- producers: the ledger ------------------------------------------------------------------


def test_bill_close_and_payment_each_queue_one_event_in_their_transaction(store, tn):
    ledger = ledger_for(store, CLOUD)
    bill, _ = ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    ledger.close_bill(
        C1, compute_bill(tn, 450), source="sensor", now_ms=T0 + 1
    )  # the job runs again: no new bill, no event
    [(key, kind, payload)] = events(store)
    assert (key, kind) == (event_key("bill_closed", C1.key), "bill_closed")
    assert payload["amount_paise"] == bill["amount_paise"] == 149000 and payload["bill_id"] == bill["id"]
    assert payload["cycle_start"] == "2025-05-05" and payload["units"] == "450"

    for _ in range(2):  # a retried payment (same idempotency key) is one payment and one event
        ledger.record_payment("1000.50", payment_key="p-1", now_ms=T0 + 2, bill_id=bill["id"], method="cash")
    [(key, kind, payload)] = events(store, "payment_created")
    assert key == event_key("payment_created", "p-1")
    assert (payload["amount_paise"], payload["state"], payload["bill_id"], payload["event"]) == (
        100050,
        "confirmed",
        bill["id"],
        "payment_created",
    )


def test_confirmation_and_cancellation_go_as_payment_events_with_their_own_keys(store):
    ledger = ledger_for(store, CLOUD)
    ledger.record_payment("500", payment_key="upi-1", now_ms=T0, method="upi", confirmed=False)
    ledger.record_payment("200", payment_key="upi-2", now_ms=T0, method="upi", confirmed=False)
    ledger.confirm_payment("upi-1", now_ms=T0 + 5, by="owner", reference="UTR123")
    ledger.confirm_payment("upi-1", now_ms=T0 + 6, by="owner")  # a second confirmation is a no-op: no event
    ledger.cancel_payment("upi-2", now_ms=T0 + 7, by="owner")
    got = [(p["event"], p["payment_key"], p["state"], p["amount_paise"]) for _, _, p in events(store)]
    assert got == [
        ("payment_created", "upi-1", "pending", 50000),
        ("payment_created", "upi-2", "pending", 20000),
        ("payment_confirmed", "upi-1", "confirmed", 50000),
        ("payment_cancelled", "upi-2", "cancelled", 20000),
    ]
    assert len({k for k, _, _ in events(store)}) == 4 and {kd for _, kd, _ in events(store)} == {"payment_created"}
    assert events(store)[2][2]["reference"] == "UTR123" and events(store)[2][2]["confirmed_by"] == "owner"


def test_a_failure_after_the_listener_rolls_back_the_bill_and_its_event(store, tn):
    def broken(conn, row, event):
        raise RuntimeError("disk full after the outbox row")

    ledger = Ledger(store, [*ledger_listeners(CLOUD), broken])
    with pytest.raises(RuntimeError):
        ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    with pytest.raises(RuntimeError):
        ledger.record_payment("10", payment_key="p-x", now_ms=T0)
    assert (
        store.conn.execute("SELECT (SELECT count(*) FROM bills) + (SELECT count(*) FROM payments)").fetchone()[0] == 0
    )
    assert Outbox(store.conn).depth() == 0


def test_an_offline_install_writes_nothing_extra(store, tn):
    assert ledger_listener(parse_config({"cloud": {"enabled": False}})) is None
    assert alert_listener(parse_config({"cloud": {"enabled": False}})) is None
    ledger = ledger_for(store, Config({}))  # defaults: no [cloud] url and never registered
    ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    ledger.record_payment("10", payment_key="p-1", now_ms=T0)
    alert_store(store, Config({})).raise_alert("theft", None, "tap on the pump line", now_ms=T0)
    assert Outbox(store.conn).depth() == 0
    # Once registered (`powergw cloud register` stores the token), changes are queued.
    SyncState(store.conn).set("token", "t0k")
    ledger.record_payment("20", payment_key="p-2", now_ms=T0)
    assert [p["payment_key"] for _, _, p in events(store)] == ["p-2"]


# ---- producers: alerts ----------------------------------------------------------------------


def test_alert_created_queues_an_alert_event_and_ignore_raise_queue_feedback(store):
    alerts = alert_store(store, CLOUD)
    alert_id, _ = alerts.raise_alert(
        "theft",
        None,
        "night load on the pump line",
        now_ms=T0,
        node_id="pump",
        dedup_key="theft:pump",
        data={"score": 0.97, "windows_over_threshold": 4},
    )
    alerts.raise_alert(
        "theft", None, "still there", now_ms=T0 + 60_000, node_id="pump", dedup_key="theft:pump"
    )  # a repeat: no event
    [(key, kind, payload)] = events(store)
    assert kind == "alert" and key == event_key("alert", alert_id, T0)
    assert payload == {
        "alert_id": alert_id,
        "kind": "theft",
        "severity": "critical",
        "message": "night load on the pump line",
        "node_id": "pump",
        "dedup_key": "theft:pump",
        "created_ms": T0,
        "data": {"score": 0.97, "windows_over_threshold": 4},
    }

    alerts.act(alert_id, "ignore", "asha", "that is our new borewell pump", now_ms=T0 + 120_000)
    alerts.act(alert_id, "raise", "ravi", "no, it runs at 3 am", now_ms=T0 + 180_000)
    alerts.act(alert_id, "resolve", "ravi", "lineman fixed it", now_ms=T0 + 240_000)  # housekeeping: not feedback
    feedback = [p for _, _, p in events(store, "feedback")]
    assert [
        (f["action"], f["state"], f["by"], f["comment"], f["acted_ms"], f["kind"], f["node_id"]) for f in feedback
    ] == [
        ("ignore", "ignored", "asha", "that is our new borewell pump", T0 + 120_000, "theft", "pump"),
        ("raise", "raised", "ravi", "no, it runs at 3 am", T0 + 180_000, "theft", "pump"),
    ]


def test_stop_ignoring_queues_feedback_that_takes_the_ignore_back(store):
    alerts = alert_store(store, CLOUD)
    alert_id, _ = alerts.raise_alert("theft", None, "night load on the pump line", now_ms=T0, dedup_key="theft:pump")
    alerts.act(alert_id, "ignore", "asha", "guests", now_ms=T0 + 60_000)
    alerts.act(alert_id, "unignore", "asha", "pressed Ignore by mistake", now_ms=T0 + 120_000)
    alerts.act(alert_id, "ignore", "asha", "guests after all", now_ms=T0 + 180_000)
    feedback = [(key, p) for key, _, p in events(store, "feedback")]
    assert [(p["action"], p["state"], p["acted_ms"]) for _, p in feedback] == [
        ("ignore", "ignored", T0 + 60_000),
        ("unignore", "open", T0 + 120_000),
        ("ignore", "ignored", T0 + 180_000),
    ]
    assert len({key for key, _ in feedback}) == 3  # the second Ignore is its own event, not a duplicate of the first


def test_an_alert_with_unsendable_data_is_still_stored(store):
    _, created = alert_store(store, CLOUD).raise_alert(
        "clock_jump", None, "x" * 5000, now_ms=T0, data={"blob": "y" * 9000}
    )
    [(_, _, payload)] = events(store)
    assert created and payload["data"] == {"truncated": True} and len(payload["message"]) == 1000


# ---- consumers: payments confirmed in the cloud -----------------------------------------------


def change(provider_id, amount_paise, *, order_id=None, bill_id=None, source="razorpay", method="upi"):
    """A payment_confirmed change as the reference cloud builds it (powergw_cloud.store.confirm_payment)."""
    from powergw_cloud.store import PAYMENT_KEY_NAMESPACE

    return {
        "payment_id": provider_id,
        "idempotency_key": str(uuid.uuid5(PAYMENT_KEY_NAMESPACE, provider_id)),
        "order_id": order_id,
        "bill_id": bill_id,
        "amount_paise": amount_paise,
        "method": method,
        "paid_ms": T0 + 1000,
        "source": source,
    }


def test_cloud_confirmation_confirms_the_pending_payment_once(store, tn):
    bill, _ = Ledger(store).close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    ledger = ledger_for(store, CLOUD)
    ledger.record_payment("1000", payment_key="order_ABC", now_ms=T0, method="upi", confirmed=False, bill_id=bill["id"])
    handler = change_handlers(store.conn, CLOUD)["payment_confirmed"]
    data = change("pay_1", 100_000, order_id="order_ABC", bill_id=C1.key)
    for _ in range(3):  # a replayed change (lost cursor, replay_pending) changes nothing
        handler(store.conn, data)
    [p] = ledger.payments()
    assert (p["payment_key"], p["state"], p["confirmed_by"], p["reference"], p["confirmed_ms"]) == (
        "order_ABC",
        "confirmed",
        "cloud",
        "pay_1",
        T0 + 1000,
    )
    assert ledger.balance()["balance_paise"] == 149000 - 100_000
    assert [(p["event"], p["state"]) for _, _, p in events(store, "payment_created")] == [
        ("payment_created", "pending"),
        ("payment_confirmed", "confirmed"),
    ]


def test_a_counter_payment_the_gateway_never_saw_is_recorded_once(store, tn):
    bill, _ = Ledger(store).close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    ledger = ledger_for(store, CLOUD)
    data = change("counter_rcpt-7", 45_000, bill_id=C1.key, source="counter", method="cash")
    assert [apply_payment_confirmed(ledger, store.conn, data) for _ in range(2)] == ["recorded", "already confirmed"]
    [p] = ledger.payments()
    assert (p["payment_key"], p["amount_paise"], p["state"], p["method"], p["bill_id"], p["confirmed_by"]) == (
        data["idempotency_key"],
        45_000,
        "confirmed",
        "cash",
        bill["id"],
        "cloud",
    )
    assert "counter counter_rcpt-7" in p["note"] and ledger.balance()["balance_paise"] == 149000 - 45_000


def test_a_different_amount_than_the_pending_payment_is_recorded_beside_it(store):
    ledger = Ledger(store)
    ledger.record_payment("500", payment_key="order_X", now_ms=T0, method="upi", confirmed=False)
    data = change("pay_2", 40_000, order_id="order_X", bill_id="no-such-bill", method="wallet")
    assert apply_payment_confirmed(ledger, store.conn, data) == "recorded"
    assert apply_payment_confirmed(ledger, store.conn, data) == "already confirmed"
    got = {p["payment_key"]: (p["state"], p["amount_paise"], p["method"], p["bill_id"]) for p in ledger.payments()}
    assert got == {
        "order_X": ("pending", 50_000, "upi", None),
        data["idempotency_key"]: ("confirmed", 40_000, "other", None),
    }
    assert ledger.balance()["balance_paise"] == -40_000


def test_a_cancelled_payment_holding_the_key_does_not_swallow_the_money(store):
    data = change("pay_3", 30_000)
    ledger = Ledger(store)
    ledger.record_payment("300", payment_key=data["idempotency_key"], now_ms=T0, method="upi", confirmed=False)
    ledger.cancel_payment(data["idempotency_key"], now_ms=T0, by="owner")
    for _ in range(2):
        apply_payment_confirmed(ledger, store.conn, data)
    assert ledger.balance()["balance_paise"] == -30_000
    assert [p["payment_key"] for p in ledger.payments("confirmed")] == [f"cloud-{data['idempotency_key']}"]


@pytest.mark.parametrize(
    "field,value", [("amount_paise", -5), ("amount_paise", "100"), ("idempotency_key", None), ("paid_ms", 1.5)]
)
def test_a_malformed_confirmation_is_refused_and_records_nothing(store, field, value):
    with pytest.raises(SyncError, match=field):
        apply_payment_confirmed(Ledger(store), store.conn, change("pay_4", 100) | {field: value})
    assert Ledger(store).payments() == []


def test_pending_inbox_changes_are_applied_by_replay_pending(store):
    # A change pulled before this gateway had a payment handler waits in sync_inbox as pending.
    data = change("counter_old", 12_300, source="counter", method="cash")
    store.conn.execute(
        "INSERT INTO sync_inbox (seq, type, data, received_ms, status, detail) VALUES (7, 'payment_confirmed', ?, ?, "
        "'pending', 'no handler on this gateway yet')",
        (json.dumps(data), T0),
    )
    client = SyncClient(requests.Session(), "https://cloud.example.in", "t")
    syncer = Syncer(
        Outbox(store.conn),
        client,
        clock_ms=lambda: T0,
        rand=random.random,
        alert=alert_fn(store.conn, CLOUD),
        handlers=change_handlers(store.conn, CLOUD),
    )
    assert syncer.replay_pending() == 1 and syncer.replay_pending() == 0
    assert Ledger(store).balance()["balance_paise"] == -12_300
    assert store.conn.execute("SELECT status FROM sync_inbox").fetchone()[0] == "applied"


# ---- sync alerts in the real alerts table ------------------------------------------------------


def test_sync_alerts_land_in_the_alerts_table(store):
    raise_alert = alert_fn(store.conn, CLOUD)
    raise_alert("sync_failing", "warning", "nothing delivered for 6 h", now_ms=T0, dedup_key="cloud_sync:failing")
    raise_alert(
        "cloud_reregister", "critical", "run powergw cloud register", now_ms=T0, dedup_key="cloud_sync:reregister"
    )
    raise_alert(
        "cloud_reregister",
        "critical",
        "run powergw cloud register",
        now_ms=T0 + 60_000,
        dedup_key="cloud_sync:reregister",
    )
    rows = AlertStore(store).list()
    assert sorted((a["kind"], a["severity"], a["dedup_key"], a["repeat_count"]) for a in rows) == [
        ("cloud_reregister", "critical", "cloud_sync:reregister", 2),
        ("sync_failing", "warning", "cloud_sync:failing", 1),
    ]
    assert len(events(store, "alert")) == 2  # and the cloud hears of them, once each


# ---- periodic reports ---------------------------------------------------------------------------


def add_energy(store, node_id, day, wh):
    key = store.ensure_node(node_id, "serial", T0)
    start = store.calendar.day_start_ms(day) + 10 * 3_600_000
    batch = Batch()
    batch.add_energy(key, start, start + 3_600_000, wh * 1000)
    store.write_batch(batch, [])


def test_daily_summary_once_per_closed_local_day(store):
    add_energy(store, "main", "2025-07-01", 4000)
    add_energy(store, "pump", "2025-07-01", 1500)
    add_energy(store, "main", "2025-07-03", 3000)
    cal = store.calendar
    july4_0030 = cal.day_start_ms("2025-07-04") + 30 * 60_000
    assert queue_daily_summaries(store, july4_0030) == 2  # 3 July closes an hour after midnight
    july4_0130 = july4_0030 + 3_600_000
    assert queue_daily_summaries(store, july4_0130) == 1
    assert queue_daily_summaries(store, july4_0130 + 3_600_000) == 0
    got = [(k, p) for k, _, p in events(store, "daily_summary")]
    assert [p["day"] for _, p in got] == ["2025-07-01", "2025-07-02", "2025-07-03"]
    assert got[0] == (
        event_key("daily_summary", "2025-07-01"),
        {
            "day": "2025-07-01",
            "timezone": "Asia/Kolkata",
            "energy_mwh": 5_500_000,
            "nodes": {"main": 4_000_000, "pump": 1_500_000},
        },
    )
    assert got[1][1]["energy_mwh"] == 0 and got[2][1]["nodes"] == {"main": 3_000_000}
    # A lost watermark (a restored backup) queues the same keys: still one event per day.
    SyncState(store.conn).set("daily_summary.last_day", "2025-06-30")
    assert queue_daily_summaries(store, july4_0130) == 3
    assert len(events(store, "daily_summary")) == 3


def test_node_health_once_per_hour_and_reports_only_when_registered(store, tmp_path):
    assert queue_node_health(store, T0) == 0  # no nodes yet
    add_energy(store, "main", "2025-07-01", 100)
    ctx = JobContext(store=store, config=Config({}), now_ms=lambda: T0 + 5 * 86_400_000, extras={})
    assert queue_reports(ctx) == 0 and Outbox(store.conn).depth() == 0  # not registered: nothing
    assert any(j.target == "cloud_sync.jobs:queue_reports" for j in JOBS)
    SyncState(store.conn).set("token", "t")
    SyncState(store.conn).set("url", "https://cloud.example.in")
    assert queue_reports(ctx) == 5 + 1  # 1..5 July (it is 6 July, 05:30 IST) and this hour's health
    assert queue_node_health(store, T0 + 5 * 86_400_000 + 60_000) == 0
    assert queue_node_health(store, T0 + 5 * 86_400_000 + 3_600_000) == 1
    [first, _] = [p for _, _, p in events(store, "node_health")]
    assert set(first["nodes"]) == {"main"} and set(first["nodes"]["main"]) == {
        "transport",
        "fw",
        "last_seen_ms",
        "frames_ok",
        "frames_lost",
        "reboots",
        "last_flags",
    }
