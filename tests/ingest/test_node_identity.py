"""One ESP32 reporting over USB serial and advertising over BLE is two node ids (its base MAC, and
that + 2 in the last byte); every sum over "all nodes" must count it once. The pure pairing rule
and the per-minute counting rule, then a real Ingest writing both identities into a temp SQLite
file: the bill, today's units, the hourly history, the theft job's series, `powergw nodes` and
the dashboard."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from gateway.billing.estimate import cycle_estimate, energy_mwh, hourly_kwh, today_cost
from gateway.billing.tariff_book import TariffBook
from gateway.cli import main
from gateway.house import meters, twin_ids
from gateway.node_identity import ble_address_of, ble_twins
from tests.support.esp32_twin import DAY, IST, NODE, TWIN, Esp32, at, config
from tests.support.house_oracle import Household, ble_stand_in

BOOK = TariffBook.load()


# ---- which ids are one node ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, ble",
    [
        (NODE, TWIN),
        ("a4:cf:12:34:56:fd", "a4:cf:12:34:56:ff"),
        # esp_read_mac: mac[5] += 2 on a uint8_t. The last byte wraps; nothing carries into the fifth.
        ("a4:cf:12:34:56:fe", "a4:cf:12:34:56:00"),
        ("a4:cf:12:34:56:ff", "a4:cf:12:34:56:01"),
        ("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:01"),
        ("A4-CF-12-34-56-78", TWIN),  # either case and separator in, the stored form out
    ],
)
def test_ble_address_is_the_base_mac_plus_two_in_the_last_byte(base, ble):
    assert ble_address_of(base) == ble


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "main",
        "a4:cf:12:34:56",
        "a4:cf:12:34:56:78:9a",
        "a4:cf:12:34:56:zz",
        "a4:cf:12-34:56:78",
        "a4:cf:12:34:56:+7",
        "a4cf12345678",
        "0f3a6c2e-8d1b-4c5e-9f00-1234567890ab",
        None,
    ],
)
def test_an_id_that_is_not_a_mac_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="not a MAC address"):
        ble_address_of(bad)


def test_only_a_ble_node_can_be_the_twin_of_a_wired_one():
    nodes = [
        (NODE, "serial"),
        (TWIN, "ble"),
        ("24:6f:28:00:00:04", "sim"),
        ("24:6f:28:00:00:06", "ble"),  # any wired transport
        ("a4:cf:12:34:56:fe", "serial"),
        ("A4:CF:12:34:56:00", "ble"),  # wrapped, stored in upper case
        ("a4:cf:12:34:57:00", "ble"),  # what a carry would give: another node
        ("a4:cf:12:34:56:7c", "ble"),  # its base would be TWIN, which is BLE itself
        ("a4:cf:12:34:56:90", "ble"),
        ("a4:cf:12:34:56:8e", "ble"),  # two BLE nodes: never twins
        ("0f3a6c2e-8d1b-4c5e-9f00-1234567890ab", "ble"),
        ("kitchen", "ble"),
        ("main", "test"),
        ("", None),
    ]
    assert ble_twins(nodes) == {
        TWIN: NODE,
        "24:6f:28:00:00:06": "24:6f:28:00:00:04",
        "A4:CF:12:34:56:00": "a4:cf:12:34:56:fe",
    }
    assert ble_twins([]) == {} and ble_twins([(TWIN, "ble")]) == {} and ble_twins([(NODE, "serial")]) == {}


def test_per_minute_serial_first_ble_where_serial_has_nothing_the_larger_at_its_edges():
    m = 60_000
    serial = {0: 1000, m: 1000, 2 * m: 400}  # the cable comes out 24 s into minute 2
    ble = {0: 0, m: 2000, 2 * m: 1000, 3 * m: 1000, 5 * m: 1000, 6 * m: 0}
    # Minute 1: serial's (BLE's lump is the same counter, already counted). Minute 2, the edge: the
    # larger (BLE's 1000 = serial's 400 + 600). Minutes 3 and 5: BLE's. Minute 6 adds nothing.
    assert ble_stand_in(serial, ble) == {2 * m: 600, 3 * m: 1000, 5 * m: 1000}
    assert ble_stand_in(serial, {}) == {} and ble_stand_in({}, {}) == {}
    assert ble_stand_in({}, {m: 5}) == {m: 5}
    # The cable coming back: the minute it came back in is an edge too, from the other side.
    assert ble_stand_in({4 * m: 300, 5 * m: 1000}, {3 * m: 1000, 4 * m: 900, 5 * m: 1000}) == {3 * m: 1000, 4 * m: 600}


# ---- a real store fed by both identities ----------------------------------------------------------


def day_mwh(store) -> int:
    return energy_mwh(store, at(0), at(0, day=DAY + dt.timedelta(days=1)), config().billing)


def units(mwh: int) -> Decimal:
    return (Decimal(mwh) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_a_node_on_serial_and_ble_all_day_is_billed_once(tmp_path):
    node = Esp32(tmp_path / "gw.db", at(0))
    end = at(0, day=DAY + dt.timedelta(days=1))
    node.run(end)
    node.ingest.flush(end)
    store = node.ingest.store
    truth = node.counter_at(end) - node.counter_at(at(0))
    assert store.usage(at(0), end, "day", NODE)[0]["energy_mwh"] == truth  # stored rows stay per identity
    assert abs(store.usage(at(0), end, "day", TWIN)[0]["energy_mwh"] - truth) < 1000  # BLE: whole Wh

    assert day_mwh(store) == truth  # serial's exact count, once (both ids: twice)
    est = cycle_estimate(store, config().billing, BOOK, end)
    assert est.units == units(truth) and est.units > 10
    assert today_cost(store, config().billing, BOOK, end + 3_600_000) == 0  # nothing yet on the 11th
    hours = hourly_kwh(store, at(0), end, config().billing)
    assert len(hours) == 24 and round(sum(k for _, k in hours) * 1_000_000) == truth
    assert dict(hours)[dt.datetime.combine(DAY, dt.time(7), IST)] == pytest.approx(2.25)  # the geyser hour, once
    # The bill's daily history (straight line) and the dashboard's "today" count it once too.
    assert twin_ids(store.conn) == {TWIN: NODE}
    assert sum(store.house_usage(at(0), end, "day").values()) == truth
    assert sum(store.house_usage(at(0), end, "minute").values()) == truth
    assert store.house_usage(at(0), end, "minute") == Household(store).usage(at(0), end, "minute")


def test_a_node_moving_from_serial_to_ble_mid_day_loses_nothing_and_doubles_nothing(tmp_path):
    # The USB cable comes out at 13:17:20, in the middle of lunch's 1450 W; BLE carries on.
    node = Esp32(tmp_path / "gw.db", at(0))
    pulled = at(13, 17, 20)
    end = at(0, day=DAY + dt.timedelta(days=1))
    node.run(at(20), serial=lambda t: t < pulled)
    node.ingest.flush(at(20))
    node.run(end, serial=lambda t: t < pulled)
    node.ingest.commit(end, rollup=False)  # the evening's readings not rolled up yet: counted all the same
    store = node.ingest.store
    truth = node.counter_at(end) - node.counter_at(at(0))
    serial_only = store.usage(at(0), end, "day", NODE)[0]["energy_mwh"]
    ble = store.usage(at(0), end, "day", TWIN)[0]["energy_mwh"]
    assert serial_only < 0.5 * truth and abs(ble - truth) < 1000  # each identity alone, as stored

    # Once: within one BLE step (1 Wh) of the counter's rise over the day, never both identities.
    got = day_mwh(store)
    assert abs(got - truth) <= 1000, (got, truth)
    assert cycle_estimate(store, config().billing, BOOK, end).units in {
        units(truth),
        units(truth - 1000),
        units(truth + 1000),
    }
    # The hour the cable came out: serial till 13:17:20, BLE after, the edge minute the larger.
    hours = {h.hour: k for h, k in hourly_kwh(store, at(0), end, config().billing)}
    assert hours[13] == pytest.approx(1.45, abs=0.002) and hours[14] == pytest.approx(0.25 + 1.2 / 2, abs=0.002)
    assert hours[7] == pytest.approx(2.25, abs=1e-9)  # serial's, exact

    # The cable goes back in at 18:00 the next day, same boot: serial's first reading covers the whole
    # time it was away (spread evenly by time, as any interval is), so serial's count takes over from
    # BLE's stand-in: from midnight to now it is the counter's rise exactly, nothing from BLE.
    back = at(18, day=DAY + dt.timedelta(days=1))
    node.run(back, serial=lambda t: t >= back)
    node.ingest.flush(back)
    assert energy_mwh(store, at(0), back + 1, config().billing) == node.counter_at(back) - node.counter_at(at(0))
    assert day_mwh(store) == store.usage(at(0), end, "day", NODE)[0]["energy_mwh"] != serial_only


def test_ble_only_when_serial_never_reported_in_the_period(tmp_path):
    # Serial on the first day only; the second day only BLE heard the node.
    node = Esp32(tmp_path / "gw.db", at(0))
    day2 = at(0, day=DAY + dt.timedelta(days=1))
    end = at(0, day=DAY + dt.timedelta(days=2))
    node.run(end, serial=lambda t: t <= day2)
    node.ingest.flush(end)
    store = node.ingest.store
    second = node.counter_at(end) - node.counter_at(day2)
    got = energy_mwh(store, day2, end, config().billing)
    assert abs(got - second) <= 1000 and got == store.usage(day2, end, "day", TWIN)[0]["energy_mwh"]


def _unplugged_at_lunch(tmp_path):
    """A day whose USB cable comes out at 13:17:20 (BLE carries on), all flushed: (node, end of the day)."""
    node = Esp32(tmp_path / "gw.db", at(0))
    pulled = at(13, 17, 20)
    end = at(0, day=DAY + dt.timedelta(days=1))
    node.run(end, serial=lambda t: t < pulled)
    node.ingest.flush(end)
    return node, end


def test_explicit_metered_nodes_keep_their_meaning(tmp_path):
    node, end = _unplugged_at_lunch(tmp_path)
    store = node.ingest.store
    serial = store.usage(at(0), end, "day", NODE)[0]["energy_mwh"]
    ble = store.usage(at(0), end, "day", TWIN)[0]["energy_mwh"]
    # A listed id names its ESP32, the meter: either id of the pair is that meter, counted once, with
    # BLE standing in while the cable was out.
    house = Household(store).usage(at(0), end, "day")
    assert serial < sum(house.values()) < serial + ble
    for listed in ([NODE], [TWIN], [NODE, TWIN]):
        assert cycle_estimate(store, config(metered_nodes=listed).billing, BOOK, end).units == units(
            sum(house.values())
        )


def test_ids_that_are_not_macs_are_counted_on_their_own_and_nothing_crashes(tmp_path, capsys):
    from gateway.batch import Batch

    node = Esp32(tmp_path / "gw.db", at(0))
    end = at(6)
    node.run(end)
    node.ingest.flush(end)
    store = node.ingest.store
    both = store.usage(at(0), end, "day", NODE)[0]["energy_mwh"]
    odd = {
        "0f3a6c2e-8d1b-4c5e-9f00-1234567890ab": "ble",
        "kitchen": "ble",
        "main": "test",
        "A4:CF:12:34:56:7A:00": "ble",
    }
    batch = Batch()
    for node_id, transport in odd.items():
        batch.add_energy(store.ensure_node(node_id, transport, at(0)), at(1), at(2), 100_000)
    store.write_batch(batch, [])
    assert twin_ids(store.conn) == {TWIN: NODE} and len(meters(store.conn)) == 5  # the pair is one meter
    assert energy_mwh(store, at(0), end, config().billing) == both + 4 * 100_000
    assert main(["nodes", "--db", str(tmp_path / "gw.db"), "--runtime-dir", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "kitchen" in out and "0f3a6c2e" in out


def test_powergw_nodes_says_which_entries_are_one_node(tmp_path, capsys):
    node = Esp32(tmp_path / "gw.db", at(0))
    node.run(at(1))
    node.ingest.flush(at(1))
    node.ingest.store.ensure_node("24:6f:28:00:00:04", "serial", at(0))  # a node on serial only
    assert main(["nodes", "--db", str(tmp_path / "gw.db"), "--runtime-dir", str(tmp_path / "run")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert lines[TWIN].rstrip().endswith(f"same node as {NODE} (serial)")
    assert lines[NODE].rstrip().endswith(f"same node as {TWIN} (ble)")
    assert "same node" not in lines["24:6f:28:00:00:04"]
    assert (
        main(["nodes", "--db", str(tmp_path / "gw.db"), "--runtime-dir", str(tmp_path / "run"), "--format", "json"])
        == 0
    )
    rows = {n["node_id"]: n for n in json.loads(capsys.readouterr().out)}
    assert rows[TWIN]["same_node_as"] == NODE and rows[NODE]["same_node_as"] == TWIN
    assert rows["24:6f:28:00:00:04"]["same_node_as"] is None


def test_powergw_usage_totals_the_house_with_a_node_on_serial_and_ble_once(tmp_path, capsys):
    node, end = _unplugged_at_lunch(tmp_path)
    node.ingest.store.close()
    day = DAY.isoformat()
    assert main(["usage", "--db", str(tmp_path / "gw.db"), "--from", day, "--to", day]) == 0
    out = capsys.readouterr().out
    true_kwh = (node.counter_at(end) - node.counter_at(at(0))) / 1e6
    house = float(out.split("total ")[1].split(" kWh")[0])
    assert house == pytest.approx(true_kwh, abs=0.002)  # the meter's rise, not serial + BLE
    assert "for the house, as the bill counts it (the rows add up to" in out
    rows = float(out.split("the rows add up to ")[1].split(" kWh")[0])
    assert rows > house + 1  # both ids' rows: the morning counted on serial and on BLE
    assert main(["usage", "--db", str(tmp_path / "gw.db"), "--from", day, "--to", day, "--node", NODE]) == 0
    assert "rows add up" not in capsys.readouterr().out  # one node: its own rows


def test_the_theft_jobs_household_series_counts_the_node_once(tmp_path):
    np = pytest.importorskip("numpy")
    from edge_model import store_job

    node, end = _unplugged_at_lunch(tmp_path)
    store = node.ingest.store
    series = store_job.house_from_store(store, end - 1, "Asia/Kolkata", days=1)
    power, floor = series.hourly_mean_w.ravel(), series.hourly_floor_w.ravel()
    assert series.first_date == DAY and power.shape == (24,)
    assert power[7] == pytest.approx(2250, abs=1e-6) and power[16] == pytest.approx(250, abs=2)
    stored_mwh = np.nansum(series.minute_w) / 60 * 1000  # W per minute -> mWh
    assert abs(stored_mwh - (node.counter_at(end) - node.counter_at(at(0)))) <= 1000
    assert np.nanmin(floor) == pytest.approx(250, abs=20)  # not 500: one node's standby
    store.apply_config_mains([TWIN], end)  # the ESP32 named by its BLE id: the same meter, the same series
    again = store_job.house_from_store(store, end - 1, "Asia/Kolkata", days=1)
    assert np.array_equal(again.minute_w, series.minute_w, equal_nan=True)


def test_dashboard_counts_the_node_once_live_and_in_the_usage_total(tmp_path, monkeypatch):
    from local_ui import create_app

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "gw.db"
    node = Esp32(db, at(0))
    end = at(0, day=DAY + dt.timedelta(days=1))
    node.run(end)
    node.ingest.flush(end)
    truth = node.counter_at(end) - node.counter_at(at(0))
    clock = [end + 5_000]
    cfg = config()
    client = create_app(
        db,
        config=cfg,
        clock=lambda: clock[0],
        admin_password="correct horse battery",
        registry_root=tmp_path / "models",
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
    over = client.get("/api/v1/overview").get_json()
    by_id = {n["node_id"]: n for n in over["nodes"]}
    assert by_id[TWIN]["same_node_as"] == NODE and by_id[NODE]["same_node_as"] == TWIN
    assert by_id[NODE]["power_w"] == by_id[TWIN]["power_w"] == 250.0
    assert over["power_w"] == 250.0 and over["count_twins_once"] is True  # not 500
    usage = client.get(f"/api/v1/usage?period=day&date={DAY.isoformat()}&resolution=hour").get_json()
    assert round(usage["total_kwh"] * 1_000_000) == truth
    assert {s["node_id"] for s in usage["series"]} == {NODE, TWIN}  # each identity still has its own series


def test_dashboard_live_total_falls_back_to_ble_when_serial_is_silent(tmp_path, monkeypatch):
    from local_ui import create_app

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "gw.db"
    node = Esp32(db, at(0))
    end = at(21)
    node.run(end, serial=lambda t: t < at(13, 17, 20))
    node.ingest.flush(end)
    client = create_app(
        db,
        config=config(),
        clock=lambda: end + 5_000,
        admin_password="correct horse battery",
        registry_root=tmp_path / "models",
    ).test_client()
    csrf = client.get("/api/v1/session").get_json()["csrf"]
    client.post(
        "/api/v1/session",
        json={"username": "admin", "password": "correct horse battery"},
        headers={"X-CSRF-Token": csrf},
    )
    over = client.get("/api/v1/overview").get_json()
    assert over["power_w"] == 850.0  # BLE's: the serial identity has been offline since lunch


def test_same_node_map_names_each_of_the_pair_and_a_serial_id_of_any_case_pairs():
    from gateway.node_identity import same_node_map

    upper = "A4:CF:12:34:56:78"  # a serial id not stored in the gateway's lower case still finds its twin
    assert ble_twins([(upper, "serial"), (TWIN, "ble")]) == {TWIN: upper}
    assert same_node_map([(NODE, "serial"), (TWIN, "ble"), ("kitchen", "ble")]) == {TWIN: NODE, NODE: TWIN}
    assert same_node_map([]) == {} and same_node_map([("not-a-mac", "serial"), ("a4:cf:12:34:56", "ble")]) == {}


def test_a_long_range_of_a_pair_counts_every_minute_once_and_a_rebuild_gives_the_same(tmp_path):
    """Twenty days of a pair, the cable out for a week in the middle: the house is every minute once,
    written by the rollup as minutes arrive, and the same when rebuilt from the nodes' minutes."""
    from gateway.batch import Batch
    from gateway.store import Store

    store = Store(tmp_path / "gw.db")
    start = at(0)
    serial, ble = store.ensure_node(NODE, "serial", start), store.ensure_node(TWIN, "ble", start)
    minutes = 20 * 1440
    for day in range(20):
        batch = Batch()
        for i in range(day * 1440, (day + 1) * 1440):
            t = start + i * 60_000
            if not 5 * 1440 <= i < 12 * 1440:  # the USB cable is out for days 5-11: BLE alone
                batch.add_energy(serial, t, t + 60_000, 100)
            batch.add_energy(ble, t, t + 60_000, 100)
        store.write_batch(batch, [], rollup=True)
    days = store.house_usage(start, start + minutes * 60_000, "day")
    assert sum(days.values()) == minutes * 100  # each minute once: serial, else BLE standing in
    assert len(days) == 20 and set(days.values()) == {1440 * 100}
    assert days == Household(store).usage(start, start + minutes * 60_000, "day")
    series = store.house_series(start, start + minutes * 60_000, "day")
    assert {c for _, c in series.values()} == {86_400_000}  # every day wholly covered
    store.set_mains([], 0, start)  # a metering change rebuilds from the nodes' minutes: nothing moves
    assert store.house_series(start, start + minutes * 60_000, "day") == series
    store.close()
