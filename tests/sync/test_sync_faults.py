"""Fault tests: `powergw-cloud serve` as a real process on 127.0.0.1, killed, restarted, and behind
a proxy that answers 500, 503/429 with Retry-After, stalls past the read timeout and resets
connections. Afterwards every event is on the server exactly once, the outbox is empty, and a
payment confirmed in the cloud is in the gateway's real ledger balance exactly once. Time is a
fake clock: backoff delays are checked, never slept.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time

import pytest
import requests

from cloud_sync.client import SyncClient
from cloud_sync.outbox import Outbox, SyncState
from cloud_sync.runtime import change_handlers
from cloud_sync.sync import Syncer, SyncPolicy
from gateway.app import open_store
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook
from gateway.config import parse_config
from gateway.store import transaction
from powergw_cloud.payments import razorpay_signature
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import FakeClock, FaultProxy, ServerProcess
from tests.support.ingest import stand_in_writer

pytestmark = pytest.mark.slow

HOOK = "whsec_fault"
CYCLE = Cycle(dt.date(2025, 5, 5), dt.date(2025, 7, 5))


@pytest.fixture
def gw(tmp_path):
    """The gateway's store with one real bill in its ledger (₹1490.00)."""
    store = open_store(tmp_path / "gw.db")
    tariff = TariffBook.load().in_force("tn-domestic", dt.date(2025, 7, 1))
    store.bill, _ = Ledger(store).close_bill(
        CYCLE, compute_bill(tariff, 450), source="sensor", now_ms=1_720_000_000_000
    )
    yield store
    store.close()


@pytest.fixture
def cloud_db(tmp_path):
    path = str(tmp_path / "cloud.db")
    store = CloudStore(path)
    hid, code = store.add_household("Reddy")
    store.close()
    return path, hid, code


def balance_paise(gw) -> int:
    return Ledger(gw).balance()["balance_paise"]


def syncer_for(gw, url, token, clock, batch=500, read_timeout_s=5.0):
    """A Syncer with the gateway's real change handlers (the ledger) and its ledger's cloud listener."""
    client = SyncClient(
        requests.Session(),
        url,
        token,
        connect_timeout_s=1,
        read_timeout_s=read_timeout_s,
        clock_s=lambda: clock() / 1000,
    )
    config = parse_config({"cloud": {"url": url}})
    return Syncer(
        Outbox(gw.conn),
        client,
        clock_ms=clock,
        rand=random.Random(7).random,
        alert=lambda *a, **k: None,
        handlers=change_handlers(gw.conn, config),
        policy=SyncPolicy(batch_size=batch, backoff_base_s=1, backoff_max_s=120),
    )


def drain(syncer, clock, rounds=200):
    """Run rounds, jumping the fake clock to the next due event, until the outbox is empty;
    returns how many events the server reported as duplicates on the way."""
    duplicates = 0
    for _ in range(rounds):
        duplicates += syncer.run_once().duplicates
        if syncer.outbox.depth() == 0:
            return duplicates
        clock.ms = max(clock.ms, syncer.next_attempt_ms())
    raise AssertionError(f"outbox not drained: {syncer.status()}")


def enqueue(gw, n, clock):
    with transaction(gw.conn):
        return [Outbox.enqueue(gw.conn, "node_health", {"node": f"n{i % 4}", "i": i}, now_ms=clock()) for i in range(n)]


def assert_exactly_once(db_path, keys):
    store = CloudStore(db_path)
    try:
        rows, distinct = store.event_counts()
        with store.tx() as tx:
            stored = {r[0] for r in tx.all("SELECT key FROM events")}
    finally:
        store.close()
    assert rows == distinct == len(keys) and stored == set(keys)


def test_backlog_of_10000_queued_while_down_arrives_exactly_once(gw, cloud_db):
    path, hid, code = cloud_db
    clock = FakeClock()
    server = ServerProcess(path)
    keys = enqueue(gw, 10_000, clock)
    offline = syncer_for(gw, server.url, "none-yet", clock)
    result = offline.run_once()
    assert result.deferred == 500 and result.acknowledged == 0 and "ConnectionError" in result.errors[0]

    server.start()
    try:
        token = SyncClient(requests.Session(), server.url).register(code, "pi")["token"]
        syncer = syncer_for(gw, server.url, token, clock)
        # Ingest keeps writing to the same database while the backlog drains.
        with stand_in_writer(gw.path) as latencies:
            drain(syncer, clock)
        assert syncer.outbox.depth() == 0 and syncer.outbox.dead_count() == 0
        assert_exactly_once(path, keys)
        assert len(latencies) > 10 and max(latencies) < 2.0
    finally:
        server.stop()


def test_killing_the_server_mid_drain_loses_and_doubles_nothing(gw, cloud_db):
    path, hid, code = cloud_db
    clock = FakeClock()
    server = ServerProcess(path).start()
    try:
        token = SyncClient(requests.Session(), server.url).register(code, "pi")["token"]
        keys = enqueue(gw, 4000, clock)
        syncer = syncer_for(gw, server.url, token, clock, batch=200)
        acked = []

        def killer():
            while sum(acked) < 1000:
                time.sleep(0.001)
            server.kill()  # SIGKILL while the client is sending the next batches

        t = threading.Thread(target=killer)
        t.start()
        first = syncer.push(progress=acked.append)
        t.join()
        assert first.errors and 0 < syncer.outbox.depth() < 4000
        server.start()
        drain(syncer, clock)
        assert_exactly_once(path, keys)
    finally:
        server.stop()


def test_faulty_network_and_server_answers(gw, cloud_db):
    path, hid, code = cloud_db
    clock = FakeClock()
    env = {"POWERGW_RAZORPAY_WEBHOOK_SECRET": HOOK, "POWERGW_CLOUD_ADMIN_TOKEN": "adm"}
    server = ServerProcess(path, env=env).start()
    proxy = FaultProxy(server.port, retry_after_s=30, slow_s=1.0)
    try:
        token = SyncClient(requests.Session(), server.url).register(code, "pi")["token"]
        keys = enqueue(gw, 1000, clock)
        syncer = syncer_for(gw, proxy.url, token, clock, batch=100, read_timeout_s=0.3)

        proxy.script("http503")
        syncer.push()
        assert min(e.next_attempt_ms for e in syncer.outbox.due(clock() + 10**9, 100)) >= clock() + 30_000
        clock.advance(29_999)
        assert syncer.push().sent == 0  # Retry-After honoured for the whole queue, not just that batch
        clock.advance(1)

        proxy.script("http500", "reset", "slow", "reset_after", "http429", "reset_after", "pass", "http500")
        duplicates = drain(syncer, clock)
        assert duplicates >= 100  # a batch whose answer was reset had been stored, and came back as duplicates
        faults = [f for m, p, f in proxy.seen if p == "/v1/events"]
        assert {"http500", "reset", "slow", "reset_after", "http429"} <= set(faults)
        assert_exactly_once(path, keys)

        # The same batch delivered twice: the second answer is all duplicates.
        again = syncer.client.post_events(
            [{"key": k, "kind": "node_health", "created_ms": 1, "payload": {}} for k in keys[:50]]
        )
        assert again.new == [] and again.duplicate == keys[:50]
        assert_exactly_once(path, keys)

        # A UPI payment confirmed in the cloud (webhook delivered three times, two event ids) for
        # an order the gateway made and recorded as pending, and a counter payment it never saw.
        bill_paise = gw.bill["amount_paise"]
        order = requests.post(
            f"{server.url}/v1/households/{hid}/payment-orders",
            json={"bill_id": CYCLE.key, "amount_paise": 100_000},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        Ledger(gw).record_payment(
            "1000", payment_key=order["order_id"], now_ms=clock(), bill_id=gw.bill["id"], method="upi", confirmed=False
        )
        assert balance_paise(gw) == bill_paise
        body = json.dumps(
            {
                "event": "payment.captured",
                "created_at": int(time.time()),
                "payload": {
                    "payment": {
                        "entity": {"id": "pay_F1", "amount": 100_000, "order_id": order["order_id"], "method": "upi"}
                    }
                },
            }
        ).encode()
        for event_id in ("evt_a", "evt_a", "evt_b"):
            r = requests.post(
                f"{server.url}/v1/webhooks/razorpay",
                data=body,
                timeout=5,
                headers={
                    "X-Razorpay-Signature": razorpay_signature(HOOK, body),
                    "X-Razorpay-Event-Id": event_id,
                    "Content-Type": "application/json",
                },
            )
            assert r.status_code == 200
        requests.post(
            f"{server.url}/v1/admin/households/{hid}/counter-payments",
            json={"amount_paise": 20_000, "reference": "c1"},
            headers={"Authorization": "Bearer adm"},
            timeout=5,
        ).raise_for_status()

        proxy.script("reset_after", path="/v1/changes")  # the first page of changes is lost on the way back
        assert syncer.pull().errors and SyncState(gw.conn).cursor() == 0
        assert syncer.pull().pulled == 2
        assert syncer.pull().pulled == 0
        assert balance_paise(gw) == bill_paise - 100_000 - 20_000
        payments = Ledger(gw).payments()
        assert [(p["payment_key"], p["state"], p["amount_paise"], p["confirmed_by"]) for p in payments] == [
            (order["order_id"], "confirmed", 100_000, "cloud"),
            (payments[1]["payment_key"], "confirmed", 20_000, "cloud"),
        ]
        SyncState(gw.conn).set("cursor", 0)  # even a lost cursor applies nothing twice
        assert syncer.pull().pulled == 2 and balance_paise(gw) == bill_paise - 100_000 - 20_000
        # The ledger reported both to the cloud in the same transactions: the confirmation of the
        # pending one and the counter payment it recorded; they drain like everything else.
        assert syncer.outbox.depth() == 2
        drain(syncer, clock)
        assert syncer.outbox.depth() == 0
    finally:
        proxy.close()
        server.stop()


def test_a_long_outage_is_backed_off_and_drained_within_one_step_of_the_return(gw, cloud_db):
    """Three hours of a failing cloud under the default [cloud] backoff, the daemon's sync job
    every 60 s on a fake clock, ingest queueing events all along. The gateway's requests thin
    out to about one per backoff_max_s; once the cloud is back, everything queued (3,000 events)
    arrives exactly once at the first round after the hold in force."""
    from cloud_sync.runtime import policy_from
    from cloud_sync.settings import CloudSection

    path, hid, code = cloud_db
    clock = FakeClock()
    server = ServerProcess(path).start()
    proxy = FaultProxy(server.port, retry_after_s=30)
    tick_ms, outage_ms = 60_000, 3 * 3600 * 1000
    try:
        token = SyncClient(requests.Session(), server.url).register(code, "pi")["token"]
        client = SyncClient(
            requests.Session(), proxy.url, token, connect_timeout_s=1, read_timeout_s=5, clock_s=lambda: clock() / 1000
        )
        syncer = Syncer(
            Outbox(gw.conn),
            client,
            clock_ms=clock,
            rand=random.Random(16).random,
            alert=lambda *a, **k: None,
            policy=policy_from(CloudSection()),
        )
        keys = enqueue(gw, 1200, clock)
        proxy.outage("http500", "reset", "http503")
        start = clock()
        per_tick = []
        while clock() - start < outage_ms:
            before = len(proxy.seen)
            syncer.run_once()
            per_tick.append(len(proxy.seen) - before)
            keys += enqueue(gw, 10, clock)  # ingest keeps reporting while the cloud is down
            clock.advance(tick_ms)
        assert syncer.outbox.depth() == len(keys) == 1200 + 10 * len(per_tick)
        first_hour, last_hour = sum(per_tick[:60]), sum(per_tick[-60:])
        # Backing off: 1 request per failing round, rounds at 2, 4, 8 … 900 s (jittered in [½, 1]).
        assert sum(per_tick) <= 30 and last_hour <= 8 and max(per_tick) == 1

        back = clock()
        step_ms = syncer.next_attempt_ms() - back  # the hold in force when the cloud returns
        assert 0 < step_ms <= 900_000
        proxy.outage()
        while syncer.outbox.depth():
            syncer.run_once()
            if syncer.outbox.depth():
                clock.advance(tick_ms)
        drain_ms = clock() - back
        assert drain_ms <= step_ms + tick_ms  # the first round after the hold sends everything
        assert_exactly_once(path, keys)
        status = syncer.status()
        assert status["queue_depth"] == 0 and status["next_attempt_ms"] is None
        assert SyncState(gw.conn).get("outage_failures") == "0"
        print(
            f"\noutage 3 h, default backoff: {sum(per_tick)} requests ({first_hour} in the first hour, "
            f"{last_hour} in the "
            f"last: {last_hour / 60:.3f}/min); drained {len(keys)} events {drain_ms / 1000:.0f} s after the "
            "cloud's return "
            f"(hold then {step_ms / 1000:.0f} s)"
        )
    finally:
        proxy.close()
        server.stop()


def test_after_a_burst_of_faults_the_whole_queue_goes_at_the_next_round(gw, cloud_db):
    """A few failed batches, then a healthy cloud: no event keeps an attempt count or a delay of
    its own, so nothing waits beyond the one hold (the queue once stalled 490 s here)."""
    path, hid, code = cloud_db
    clock = FakeClock()
    server = ServerProcess(path).start()
    proxy = FaultProxy(server.port)
    try:
        token = SyncClient(requests.Session(), server.url).register(code, "pi")["token"]
        syncer = syncer_for(gw, proxy.url, token, clock, batch=100)
        syncer.policy = SyncPolicy(batch_size=100)  # the defaults: 2 s doubling to 900 s
        keys = enqueue(gw, 1000, clock)
        proxy.script("pass", "pass", "http500", "reset", "http500", "reset", "http500")
        for _ in range(5):  # the first round delivers 200 and fails; each next round fails once
            assert syncer.run_once().cloud_failed
            clock.ms = syncer.next_attempt_ms()
        waiting = syncer.outbox.due(clock() + 10**9, 2000)
        assert len(waiting) == 800 and sorted({e.attempts for e in waiting}) == [0, 5]
        proxy.script("http500")
        syncer.run_once()  # a sixth failure: one more step of the one hold
        hold = syncer.next_attempt_ms() - clock()
        assert 32_000 <= hold <= 64_000  # step 6 of 2 s doubling, jittered in [½, 1]
        clock.ms = syncer.next_attempt_ms()
        result = syncer.run_once()
        assert result.acknowledged == 800 and syncer.outbox.depth() == 0 and result.pulled == 0
        assert_exactly_once(path, keys)
    finally:
        proxy.close()
        server.stop()
