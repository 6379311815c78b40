"""The cloud's daily summaries count the household as billing does: an ESP32 that reports over USB
serial and over BLE (two node ids) once, [billing] metered_nodes as listed. Real Ingest into a temp
SQLite file; the last test runs `powergw-cloud serve` as a real process on 127.0.0.1 with its own
SQLite file and checks what it stored, including a summary an earlier release had already sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from cloud_sync.events import daily_summary, event_key
from cloud_sync.jobs import queue_reports, sync_round
from cloud_sync.outbox import Outbox, SyncState
from cloud_sync.reports import LAST_DAY, queue_daily_summaries
from gateway.app import JobContext, open_store
from gateway.batch import Batch
from gateway.billing.estimate import energy_mwh
from gateway.cli import main
from gateway.config import parse_config
from gateway.store import transaction
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import ServerProcess
from tests.support.esp32_twin import DAY, NODE, TWIN, Esp32, at, config
from tests.support.house_oracle import Household

DAYS = [DAY + dt.timedelta(days=i) for i in range(3)]
PULLED = at(13, 17, 20, day=DAYS[1])  # the USB cable comes out on the second day; BLE carries on
PUMP_MWH = 100_000  # a sub-circuit node whose id is not a MAC: 100 Wh a day, counted on its own


def start(day: dt.date) -> int:
    return at(0, day=day)


def end(day: dt.date) -> int:
    return at(0, day=day + dt.timedelta(days=1))


def three_days(db):
    """Day 1 on serial and BLE all day, day 2 the cable out at 13:17:20, day 3 BLE only; a pump node too."""
    node = Esp32(db, start(DAYS[0]))
    node.run(end(DAYS[-1]), serial=lambda t: t < PULLED)
    node.ingest.flush(end(DAYS[-1]))
    store = node.ingest.store
    batch = Batch()
    pump = store.ensure_node("pump", "serial", start(DAYS[0]))
    for day in DAYS:
        batch.add_energy(pump, at(10, day=day), at(11, day=day), PUMP_MWH)
    store.write_batch(batch, [])
    return node, store


def own(store, node_id: str, day: dt.date) -> int:
    rows = store.usage(start(day), end(day), "day", node_id)
    return rows[0]["energy_mwh"] if rows else 0


def summaries(store) -> dict[str, tuple[str, dict]]:
    rows = store.conn.execute("SELECT key, payload FROM outbox WHERE kind = 'daily_summary' ORDER BY id").fetchall()
    return {json.loads(p)["day"]: (k, json.loads(p)) for k, p in rows}


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """The three days, fed once through the real Ingest; tests copy the database file."""
    db = tmp_path_factory.mktemp("fed") / "gw.db"
    node, store = three_days(db)
    truth = [node.counter_at(end(d)) - node.counter_at(start(d)) for d in DAYS]
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return db, truth


def copy_of(fed, tmp_path):
    db = tmp_path / "gw.db"
    db.write_bytes(fed[0].read_bytes())
    return open_store(db)


def test_a_node_on_serial_and_ble_is_counted_once_in_the_days_total_and_each_id_keeps_its_row(fed, tmp_path):
    store = copy_of(fed, tmp_path)
    truth = fed[1]
    billing = config().billing
    assert queue_daily_summaries(store, at(1, 30, day=DAYS[-1] + dt.timedelta(days=1)), billing) == 3
    got = summaries(store)
    assert list(got) == [d.isoformat() for d in DAYS]
    for day, t in zip(DAYS, truth, strict=False):
        key, p = got[day.isoformat()]
        assert key == event_key("daily_summary", day.isoformat())  # the day's key, as always
        # The total is billing's own count of the house for that day, exactly...
        assert p["energy_mwh"] == energy_mwh(store, start(day), end(day), billing)
        # ...which is the node once (within one BLE step of its counter's rise) plus the pump,
        assert abs(p["energy_mwh"] - (t + PUMP_MWH)) <= 1000, (day, p, t)
        # while every id still reports its own stored energy.
        assert p["nodes"] == {n: own(store, n, day) for n in (NODE, TWIN, "pump") if own(store, n, day)}

    day1, day2, day3 = (got[d.isoformat()][1] for d in DAYS)
    assert day1["energy_mwh"] == truth[0] + PUMP_MWH  # both all day: serial's exact count
    assert sum(day1["nodes"].values()) > day1["energy_mwh"] + 0.9 * truth[0]  # what it used to send: twice
    assert day1["same_node_as"] == day2["same_node_as"] == {TWIN: NODE}  # why the total is not the ids' sum
    assert set(day3["nodes"]) == {TWIN, "pump"} and "same_node_as" not in day3  # BLE alone that day: its sum
    assert day3["energy_mwh"] == sum(day3["nodes"].values())
    assert all("metered_nodes" not in p for _, p in got.values())
    store.close()


@pytest.mark.parametrize("metered", [[NODE], [TWIN], [NODE, TWIN]])
def test_listed_metered_nodes_name_the_esp32_counted_once_as_billing_does(fed, tmp_path, metered):
    """Either id of the pair names the ESP32, its meter: the pump is left out, the pair counted once
    (listing both once summed them twice: 23.2 kWh for an 11.6 kWh day)."""
    store = copy_of(fed, tmp_path)
    billing = config(metered_nodes=metered).billing
    assert queue_daily_summaries(store, at(2, day=DAYS[-1] + dt.timedelta(days=1)), billing) == 3
    for day in DAYS:
        _, p = summaries(store)[day.isoformat()]
        pair = sum(Household(store).usage(start(day), end(day), "day").values()) - own(store, "pump", day)
        assert p["energy_mwh"] == pair == energy_mwh(store, start(day), end(day), billing)
        assert p["metered_nodes"] == sorted(metered)
        assert set(p["nodes"]) >= {TWIN, "pump"}  # every id's row, listed or not
    store.close()


def test_a_metered_node_that_never_reported_holds_the_summaries_until_the_config_is_fixed(fed, tmp_path, caplog):
    store = copy_of(fed, tmp_path)
    now = at(2, day=DAYS[-1] + dt.timedelta(days=1))
    typo = config(metered_nodes=["a4:cf:12:34:56:87"]).billing
    with caplog.at_level(logging.WARNING, logger="cloud_sync.reports"):
        assert queue_daily_summaries(store, now, typo) == 0
        assert queue_daily_summaries(store, now + 300_000, typo) == 0  # the job again, 5 min later
    held = [r for r in caplog.records if "daily summaries wait" in r.getMessage()]
    assert len(held) == 1 and "a4:cf:12:34:56:87" in held[0].getMessage()  # said once, naming the id
    assert (
        Outbox(store.conn).depth() == 0 and SyncState(store.conn).get(LAST_DAY) is None
    )  # nothing lost: not sent, not skipped
    assert queue_daily_summaries(store, now + 600_000, config().billing) == 3  # fixed: every held day, once
    assert queue_daily_summaries(store, now + 900_000, config().billing) == 0
    assert len(summaries(store)) == 3
    store.close()


def test_the_cloud_keeps_one_summary_per_day_across_the_upgrade_and_a_lost_watermark(fed, tmp_path):
    """An earlier release already sent day 1 with both ids in its total. After the upgrade days 2 and
    3 go with the node once; a restored backup (lost watermark) queues all three again under their
    day keys, the real server answers them as duplicates, and it still holds one summary per day:
    day 1 as first sent (never a second copy of it), days 2 and 3 as billing counts them."""
    db = tmp_path / "gw.db"
    copy_of(fed, tmp_path).close()
    store = open_store(db)  # the jobs' own connection, as in the daemon
    cloud_db = str(tmp_path / "cloud.db")
    cloud = CloudStore(cloud_db)
    household_id, code = cloud.add_household("Iyer")
    cloud.close()
    server = ServerProcess(cloud_db).start()
    try:
        assert main(["cloud", "register", "--db", str(db), "--url", server.url, "--code", code]) == 0
        cfg = parse_config(
            {"cloud": {"url": server.url}, "billing": {"meter_reading_date": "2025-07-05", "holiday_state": ""}}
        )
        now = [at(1, 30, day=DAYS[0] + dt.timedelta(days=1))]
        ctx = JobContext(store=store, config=cfg, now_ms=lambda: now[0], extras={})

        # What the release before this one queued for day 1: the sum of every id, its watermark with it.
        day1 = DAYS[0].isoformat()
        old = daily_summary(day1, "Asia/Kolkata", store.usage(start(DAYS[0]), end(DAYS[0]), "day"))
        with transaction(store.conn):
            Outbox.enqueue(store.conn, "daily_summary", old, key=event_key("daily_summary", day1), now_ms=now[0])
            SyncState(store.conn).set(LAST_DAY, day1)
        assert sync_round(ctx) == 1

        now[0] = at(2, day=DAYS[-1] + dt.timedelta(days=1))  # upgraded; the jobs run two days later
        assert queue_reports(ctx) == 2 + 1  # days 2 and 3, and this hour's node health
        assert sync_round(ctx) == 3

        SyncState(store.conn).set(LAST_DAY, (DAYS[0] - dt.timedelta(days=1)).isoformat())  # a restored backup
        assert queue_reports(ctx) == 3  # all three days again, under the same keys (health: same hour, none)
        assert sync_round(ctx) == 3 and Outbox(store.conn).depth() == 0  # acknowledged as duplicates

        cloud = CloudStore(cloud_db)
        events = cloud.events(household_id, "daily_summary")
        rows, distinct = cloud.event_counts()
        cloud.close()
        assert rows == distinct == 4  # three summaries and one node_health: nothing doubled
        by_day = {e["payload"]["day"]: e for e in events}
        assert sorted(by_day) == [d.isoformat() for d in DAYS] and len(events) == 3
        assert all(e["key"] == event_key("daily_summary", day) for day, e in by_day.items())
        assert by_day[day1]["payload"] == old  # kept as first sent: a re-send under its key changes nothing
        billing = cfg.billing
        for day in DAYS[1:]:
            p = by_day[day.isoformat()]["payload"]
            assert p["energy_mwh"] == energy_mwh(store, start(day), end(day), billing)
            assert set(p["nodes"]) >= {TWIN, "pump"}
        assert by_day[DAYS[1].isoformat()]["payload"]["same_node_as"] == {TWIN: NODE}
        assert by_day[DAYS[1].isoformat()]["payload"]["energy_mwh"] < sum(
            by_day[DAYS[1].isoformat()]["payload"]["nodes"].values()
        )
    finally:
        server.stop()
        store.close()
