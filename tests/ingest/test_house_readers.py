"""Every reader of the house gives the same total, to the mWh: a mains ESP32 heard over serial and BLE
(its USB cable pulled in the evening), and a kitchen sub-circuit node inside the mains. Real Ingest into a
real SQLite file; the bill, the budget's energy, the theft job's series, the meter check, the
dashboard, the CLI, the cloud's daily summary and the MQTT bill all read the one house rollup."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from gateway.billing.estimate import cycle_estimate, energy_mwh, hourly_kwh
from gateway.billing.tariff_book import TariffBook
from gateway.cli import main
from gateway.config import parse_config
from gateway.house import current_mains, meters
from gateway.protocol import Reading
from tests.support.house_oracle import Household
from tests.support.ingest import make_ingest

MAINS = "a4:cf:12:34:56:78"  # serial id: the ESP32's base MAC
MAINS_BLE = "a4:cf:12:34:56:7a"  # the BLE address the same ESP32 advertises from
KITCHEN = "a4:cf:12:00:00:10"  # a sub-circuit node inside the mains, on serial
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.date(2025, 7, 10)
STEP_MS = 10_000


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> int:
    return int(dt.datetime.combine(day, dt.time(hour, minute), IST).timestamp() * 1000)


def kitchen_w(t: int) -> int:
    hour = dt.datetime.fromtimestamp(t / 1000, IST).hour
    return 1200 if 12 <= hour < 14 else 40


def mains_w(t: int) -> int:
    hour = dt.datetime.fromtimestamp(t / 1000, IST).hour
    return 300 + kitchen_w(t) + (2000 if 7 <= hour < 8 else 0)


def config(tmp_path, **billing):
    return parse_config(
        {
            "gateway": {"db": str(tmp_path / "gw.db"), "timezone": "Asia/Kolkata"},
            "billing": {"meter_reading_date": "2025-07-05", "holiday_state": ""} | billing,
        }
    )


@pytest.fixture
def house(tmp_path):
    """A day and a bit of the house, fed through the real Ingest; the USB cable out from 20:17 for good."""
    db = tmp_path / "gw.db"
    ingest, _ = make_ingest(db, wall_ms=at(0))
    counters = {MAINS: 0, KITCHEN: 0}  # W·ms since boot
    seq = {}
    end = at(6, day=DAY + dt.timedelta(days=1))
    t = at(0)

    def send(node_id, transport, counter_wms, power_w, bt_whole_wh=False):
        seq[node_id] = seq.get(node_id, 0) + 1
        energy = counter_wms // 3600
        if bt_whole_wh:
            energy = energy // 1000 * 1000
        r = Reading(node_id, 1, seq[node_id], t - at(0) + 5000, 1000, 1000, 2300, power_w * 10, energy, 0)
        assert ingest.on_reading(r, t, transport) is not None

    while t <= end:
        if t < at(20, 17):
            send(MAINS, "serial", counters[MAINS], mains_w(t))
        if (t - at(0)) // STEP_MS % 3 == 0:
            send(MAINS_BLE, "ble", counters[MAINS], mains_w(t), bt_whole_wh=True)
        send(KITCHEN, "serial", counters[KITCHEN], kitchen_w(t))
        counters[MAINS] += mains_w(t) * STEP_MS
        counters[KITCHEN] += kitchen_w(t) * STEP_MS
        t += STEP_MS
    ingest.flush(end)
    return ingest.store, db, end


def test_every_reader_gives_the_house_total_to_the_mwh(house, tmp_path, capsys):
    from cloud_sync.reports import queue_daily_summaries
    from edge_model import meter_job, store_job

    store, db, end = house
    cfg = config(tmp_path, metered_nodes=[MAINS])
    section = cfg.billing
    a, b = at(0), at(0, day=DAY + dt.timedelta(days=1))  # the whole local day

    bill_mwh = energy_mwh(store, a, b, section)
    assert current_mains(store.conn) == [MAINS] and len(meters(store.conn)) == 2  # the pair is one meter
    per_node = {r["node_id"]: r["energy_mwh"] for r in store.usage(a, b, "day")}
    assert per_node[MAINS] < bill_mwh < per_node[MAINS] + per_node[MAINS_BLE]  # BLE stood in, not added
    # The reference rule (every node, the pair once) less the kitchen inside the mains.
    assert bill_mwh == sum(Household(store).usage(a, b, "day").values()) - per_node[KITCHEN]

    readers = {
        "house rollup, minutes": sum(store.house_usage(a, b, "minute").values()),
        "house rollup, hours": sum(store.house_usage(a, b, "hour").values()),
        "house rollup, days": sum(store.house_usage(a, b, "day").values()),
        "bill's hourly history": round(sum(k for _, k in hourly_kwh(store, a, b, section)) * 1_000_000),
        "theft job's series": round(
            float(np.nansum(store_job.house_from_store(store, b - 1, "Asia/Kolkata", days=1).minute_w)) * 1000 / 60
        ),
        "meter check": round(meter_job.measure(store, a, b)[0] * 1e6),
    }
    assert queue_daily_summaries(store, b + 2 * 3_600_000, section) == 1
    payload = json.loads(store.conn.execute("SELECT payload FROM outbox").fetchone()[0])
    readers["cloud daily summary"] = payload["energy_mwh"]
    assert payload["same_node_as"] == {MAINS_BLE: MAINS} and payload["metered_nodes"] == [MAINS]
    assert readers == dict.fromkeys(readers, bill_mwh), readers

    # The bill of the cycle so far (5 July to this day's end) counts the same energy, in units.
    est = cycle_estimate(store, section, TariffBook.load(), end)
    assert est.units == (Decimal(energy_mwh(store, at(0, day=dt.date(2025, 7, 5)), end, section)) / 1_000_000).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )

    # The CLI's usage table: its house line (kWh to the Wh).
    config_file = tmp_path / "powergw.toml"
    config_file.write_text(
        f'[gateway]\ndb = "{db}"\n[billing]\nmeter_reading_date = "2025-07-05"\nmetered_nodes = ["{MAINS}"]\n'
    )
    assert main(["usage", "--config", str(config_file), "--from", DAY.isoformat(), "--to", DAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"total {bill_mwh / 1_000_000:.3f} kWh for the house" in out

    # The dashboard: the usage view's house total and its per-bucket points.
    from local_ui import create_app

    client = create_app(
        db, config=cfg, clock=lambda: end, admin_password="correct horse battery", registry_root=tmp_path / "models"
    ).test_client()
    csrf = client.get("/api/v1/session").get_json()["csrf"]
    assert (
        client.post(
            "/api/v1/session",
            json={"username": "admin", "password": "correct horse battery"},
            headers={"X-CSRF-Token": csrf},
        ).status_code
        == 200
    )
    usage = client.get(f"/api/v1/usage?period=day&date={DAY.isoformat()}&resolution=hour").get_json()
    assert round(usage["total_kwh"] * 1_000_000) == bill_mwh
    assert usage["excluded_from_total"] == [KITCHEN]


def test_a_metering_change_rebuilds_the_house_from_its_day(house):
    """Every meter until the kitchen is declared a sub-circuit from the next midnight: the day before keeps
    the sum of every meter, from the change on it is the mains alone, and re-stating it moves nothing."""
    store, _, end = house
    a, b = at(0), at(0, day=DAY + dt.timedelta(days=1))
    kitchen = sum(r["energy_mwh"] for r in store.usage(a, end, "day", KITCHEN))
    every = sum(store.house_usage(a, end, "day").values())
    first_day = store.house_usage(a, b, "day")[a]
    store.set_mains([MAINS_BLE], b, end)  # named by its BLE id: the same meter
    after = store.house_usage(a, end, "day")
    assert after[a] == first_day  # the day before the change: unchanged
    kitchen_after = sum(r["energy_mwh"] for r in store.usage(b, end, "day", KITCHEN))
    assert sum(after.values()) == every - kitchen_after and 0 < kitchen_after < kitchen
    series = store.house_series(a, end, "hour")
    store.set_mains([MAINS], b, end)  # the same metering again, written another way: nothing moves
    assert store.house_series(a, end, "hour") == series
    assert {c for _, c in store.house_series(a, at(13), "hour").values()} == {3_600_000}  # whole hours covered


def test_an_unknown_mains_id_is_refused_and_changes_nothing(house):
    from gateway.store import UnknownNodesError

    store, _, end = house
    before = store.house_series(at(0), end, "day")
    with pytest.raises(UnknownNodesError) as caught:
        store.set_mains(["a4:cf:12:34:56:99"], 0, end)
    assert caught.value.unknown == ("a4:cf:12:34:56:99",)
    assert store.house_series(at(0), end, "day") == before


def test_powergw_meters_lists_the_meters_and_sets_the_mains_from_a_day(house, capsys, tmp_path):
    store, db, end = house
    assert main(["meters", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"mains        {MAINS}, {MAINS_BLE}" in out and "every meter is the house" in out
    assert main(["meters", "--db", str(db), "--mains", MAINS_BLE, "--since", "2025-07-11"]) == 0
    out = capsys.readouterr().out
    assert f"sub-circuit  {KITCHEN}" in out and f"metering from 2025-07-11 (cli): {MAINS_BLE}" in out
    b = at(0, day=DAY + dt.timedelta(days=1))
    kitchen_after = sum(r["energy_mwh"] for r in store.usage(b, end, "day", KITCHEN))
    mains_after = sum(store.house_usage(b, end, "minute").values())
    assert kitchen_after > 0 and mains_after == sum(Household(store).usage(b, end, "minute").values()) - kitchen_after
    assert main(["meters", "--db", str(db), "--mains", "nope"]) == 2
    assert "never reported" in capsys.readouterr().err
    assert main(["meters", "--db", str(db), "--mains", MAINS, "--since", "11/07/2025"]) == 2
    assert "expected a date" in capsys.readouterr().err
    assert main(["meters", "--db", str(db), "--mains", MAINS, "--every"]) == 2
    assert "give --mains NODE... or --every, not both" in capsys.readouterr().err
    assert main(["meters", "--db", str(tmp_path / "typo.db")]) == 2  # never creates a database
    assert "no database at" in capsys.readouterr().err and not (tmp_path / "typo.db").exists()
    after = store.house_series(at(0), end, "day")
    assert main(["meters", "--db", str(db), "--every"]) == 0  # back to every meter from the start
    assert sum(store.house_usage(at(0), end, "day").values()) == sum(Household(store).usage(at(0), end, "day").values())
    assert after != store.house_series(at(0), end, "day")


def test_the_live_house_power_is_counted_as_the_rollup_counts(tmp_path):
    """The dashboard's header and Overview show the house's live power: from the values ingest writes to
    live.json, the mains ESP32 once (by serial while serial is heard), never the kitchen inside it, by the
    registry as it is at that moment."""
    from local_ui.live import LiveSource

    live = tmp_path / "live.json"
    ingest, _ = make_ingest(tmp_path / "gw.db", wall_ms=at(9), live=live)
    t = at(9)

    def house_power_w(now_ms):
        ingest.live.maybe_write(now_ms, force=True)
        return LiveSource(live, lambda: ingest.store, lambda: now_ms).snapshot()["house_power_w"]

    for i, (node_id, transport, watts) in enumerate(
        [(MAINS, "serial", 1340), (MAINS_BLE, "ble", 1340), (KITCHEN, "serial", 1040)]
    ):
        r = Reading(node_id, 1, 1, 5000, 1000, 1000, 2300, watts * 10, 0, 0)
        ingest.on_reading(r, t + i, transport)
    ingest.flush(t + 10)
    assert house_power_w(t + 10) == 2380.0  # every meter: mains once + kitchen
    ingest.store.set_mains([MAINS], 0, t)  # `powergw meters`: the next snapshot follows, no restart
    ingest.on_reading(Reading(MAINS, 1, 2, 6000, 1000, 1000, 2300, 13400, 1, 0), t + 20, "serial")
    assert house_power_w(t + 20) == 1340.0
    ingest.on_reading(Reading(KITCHEN, 1, 2, 6000 + 300_000, 1000, 1000, 2300, 10400, 1, 0), t + 300_020, "serial")
    assert house_power_w(t + 300_020) is None  # the mains unheard for five minutes: no figure


def test_the_dashboards_live_source_works_out_the_house_power_from_the_file_or_the_store(house, tmp_path):
    """Without live.json, from the newest stored readings; from live.json, only the values that are numbers
    (for another, the node's last stored value stands in, as on its card)."""
    from local_ui.live import LiveSource

    store, _, end = house
    from_store = LiveSource(None, lambda: store, lambda: end).snapshot()
    assert from_store["source"] == "database" and set(from_store["nodes"]) == {MAINS_BLE, KITCHEN}
    assert from_store["house_power_w"] == 380.0  # every meter: the mains by BLE (USB pulled) + the kitchen
    store.set_mains([MAINS], 0, end)
    assert LiveSource(None, lambda: store, lambda: end).snapshot()["house_power_w"] == 340.0  # the mains alone

    live = tmp_path / "live.json"
    for written, shown in ((1234.5, 1234.5), (None, 340.0), ("1234", 340.0), (True, 340.0)):
        live.write_text(json.dumps({"ts_ms": end, "nodes": {MAINS: {"power_w": written, "ts_ms": end}}}))
        snap = LiveSource(live, lambda: store, lambda: end).snapshot()
        assert snap["source"] == "live" and snap["house_power_w"] == shown, written
    stamp = LiveSource(live, lambda: store, lambda: end).stamp()
    store.set_mains([], end, end)  # a metering change is news to the stream even if live.json is not
    assert LiveSource(live, lambda: store, lambda: end).stamp() != stamp
