"""Voltage quality per day: READING_BIDIR frames through the real Ingest, the minute rollup, the daemon's
job rolling days up, `powergw supply` and its alerts, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gateway.alerts import AlertStore
from gateway.cli import main
from gateway.config import ConfigError, parse_config
from gateway.supply.quality import Band, VoltMinute, day_quality, merged
from gateway.supply.report import report
from gateway.supply.tables import HOUSE, SupplyTables

from .conftest import T0

DAY = "2026-01-01"  # T0 is 05:30 IST on it
SAG_DV, SURGE_DV = 2050, 2500


def volts(second: int) -> int:
    """The mains: 230 V, a sag to 205 V in minutes 3 to 5 (second 1 is 00:00:01 UTC)."""
    minute = (second + 1) // 60
    return SAG_DV if 3 <= minute <= 5 else 2300


@pytest.fixture
def house(make_fleet):
    """A mains node and a kitchen node measuring voltage, a fan node assuming it; the mains is the house."""
    fleet = make_fleet("mains", "kitchen", "fan", volts=("mains", "kitchen"))
    fleet.run(1)
    fleet.ingest.flush()
    fleet.ingest.store.set_mains([fleet.nodes["mains"].node_id], 0, fleet.now())
    fleet.run(599, only=("mains", "fan"), vrms_dv=lambda i: volts(i + 1))
    kitchen = fleet.nodes["kitchen"]
    fleet.clock.advance(1000)
    for v in (2310, SURGE_DV, 2320):  # a surge of two seconds on the kitchen's circuit, at 00:10:01
        fleet.send(kitchen, v)
    return fleet


def test_a_day_holds_the_minutes_outside_the_band_and_the_worst_sag_and_surge_per_node_and_house(house):
    days = house.quality_job()
    figures = days[DAY]
    mains, kitchen = house.nodes["mains"].node_id, house.nodes["kitchen"].node_id
    assert set(figures) == {HOUSE, mains, kitchen}  # the fan assumes its voltage: no figures
    q = figures[HOUSE]
    assert (q.minutes, q.minutes_out, q.minutes_low, q.minutes_high, q.longest_out) == (11, 3, 3, 0, 3)
    assert (q.sag_dv, q.sag_ms, q.longest_out_ms) == (SAG_DV, T0 + 3 * 60_000, T0 + 3 * 60_000)
    assert (q.surge_dv, q.surge_ms) == (2300, T0)  # the kitchen is a sub-circuit: its surge is not the house's
    assert figures[mains] == q
    k = figures[kitchen]
    assert (k.minutes, k.minutes_high, k.surge_dv, k.surge_ms) == (2, 1, SURGE_DV, T0 + 10 * 60_000)
    assert house.quality_job()[DAY] == figures  # the day recomputed: replaced, never added to
    assert SupplyTables(house.ingest.store).quality(DAY, DAY) == {DAY: figures}


def test_the_band_is_configurable_and_a_narrow_one_counts_more_minutes(house):
    q = house.quality_job(band_low_v=231.0, band_high_v=240.0)[DAY][HOUSE]
    assert q.minutes_out == q.minutes == 11 and q.longest_out == 11


def test_a_band_upside_down_or_out_of_range_stops_start_up_naming_the_key():
    with pytest.raises(ConfigError, match=r"\[supply\] band_low_v = 250 is not below band_high_v = 243.8"):
        parse_config({"supply": {"band_low_v": 250.0}})
    with pytest.raises(ConfigError, match=r"\[supply\] band_high_v = 'high'"):
        parse_config({"supply": {"band_high_v": "high"}})
    with pytest.raises(ConfigError, match=r"\[supply\] cut_after_s = 1: expected a whole number from 3 to 3600"):
        parse_config({"supply": {"cut_after_s": 1}})


def test_a_long_sag_alerts_once_a_day_only_when_alerts_are_on(house):
    house.quality_job(voltage_alert_minutes=3)
    assert AlertStore(house.ingest.store).list(kind="voltage_out_of_band") == []
    house.quality_job(alerts=True, voltage_alert_minutes=4)
    assert AlertStore(house.ingest.store).list(kind="voltage_out_of_band") == []  # 3 minutes in a row only
    house.quality_job(alerts=True, voltage_alert_minutes=3)
    house.quality_job(alerts=True, voltage_alert_minutes=3)
    (alert,) = AlertStore(house.ingest.store).list(kind="voltage_out_of_band")
    assert alert["dedup_key"] == f"voltage:house:{DAY}" and alert["state"] == "open"
    assert alert["message"].startswith("Voltage of the house's supply outside 216.2-243.8 V for 3 minutes in a row")
    assert "lowest 205.0 V at 01 Jan 05:33" in alert["message"]


def test_the_command_prints_the_days_figures_and_the_cuts(house, capsys):
    house.quality_job()
    house.silence(40 * 60_000)
    house.restart("mains", "kitchen", "fan")
    house.run(200)
    house.cuts_job()
    house.ingest.flush()
    db = str(house.db)
    assert main(["supply", "--db", db, "--from", DAY, "--to", DAY, "--format", "json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["band_v"] == [216.2, 243.8] and len(r["cuts"]) == 1
    assert r["cuts"][0]["duration_min"] == pytest.approx(40.0, abs=0.1)
    (day,) = r["days"]
    assert day["house"]["minutes_out"] == 3 and day["house"]["sag_v"] == 205.0
    assert day["cut_minutes"] == pytest.approx(40.0, abs=0.1)
    assert main(["supply", "--db", db, "--from", DAY, "--to", DAY]) == 0
    text = capsys.readouterr().out
    assert "power cuts 2026-01-01 to 2026-01-01: 1, 40 min in all" in text
    assert f"{DAY}  house" in text and "205.0 (01 Jan 05:33)" in text
    assert "without power: 2026-01-01 40 min" in text


def test_the_command_refuses_a_bad_date_and_a_reversed_range(house, capsys):
    db = str(house.db)
    assert main(["supply", "--db", db, "--from", "1 Jan"]) == 2
    assert "--from '1 Jan': expected a date like 2026-04-01" in capsys.readouterr().err
    assert main(["supply", "--db", db, "--from", "2026-02-01", "--to", DAY]) == 2
    assert "ends before it starts" in capsys.readouterr().err


def test_minutes_of_three_phases_merge_into_the_houses_lowest_and_highest():
    a = [VoltMinute(0, 2290, 2310, 2300 * 60, 60), VoltMinute(60_000, 2280, 2300, 2290 * 60, 60)]
    b = [VoltMinute(0, 2100, 2320, 2200 * 60, 60)]
    m = merged(a + b)
    assert m[0] == VoltMinute(0, 2100, 2320, 4500 * 60, 120)
    q = day_quality(m, Band(2162, 2438))
    assert (q.minutes_out, q.sag_dv, q.sag_ms, q.mean_dv) == (1, 2100, 0, round((4500 * 60 + 2290 * 60) / 180))
    assert day_quality([], Band(2162, 2438)) is None


def test_without_voltage_at_the_mains_each_voltage_node_alerts_for_itself(make_fleet):
    fleet = make_fleet("mains", "pump", volts=("pump",))
    fleet.run(1)
    fleet.ingest.flush()
    fleet.ingest.store.set_mains([fleet.nodes["mains"].node_id], 0, fleet.now())
    fleet.run(599, vrms_dv=lambda i: 2600 if 118 <= i < 418 else 2300)  # 00:02:00 to 00:06:59 UTC
    figures = fleet.quality_job(alerts=True, voltage_alert_minutes=5)[DAY]
    pump = fleet.nodes["pump"].node_id
    assert set(figures) == {pump} and figures[pump].minutes_high == 5
    (alert,) = AlertStore(fleet.ingest.store).list(kind="voltage_out_of_band")
    assert alert["node_id"] == pump and alert["dedup_key"] == f"voltage:{pump}:{DAY}"
    assert f"Voltage of node {pump} outside 216.2-243.8 V for 5 minutes in a row" in alert["message"]


def test_a_cut_over_midnight_counts_on_each_day_and_only_inside_the_range(fleet):
    fleet.run(60)  # to 05:31 IST
    fleet.silence(19 * 3_600_000)  # to 00:31 the next day
    fleet.restart("mains", "kitchen", booted_ms_ago=1_000)
    fleet.run(200)
    fleet.cuts_job()
    store = fleet.ingest.store
    both = report(store, fleet.config.supply, dt.date(2026, 1, 1), dt.date(2026, 1, 2), fleet.now())
    assert [(d["day"], d["cut_minutes"]) for d in both["days"]] == [("2026-01-01", 1109.0), ("2026-01-02", 31.0)]
    assert both["cut_minutes"] == 1140.0 and both["cuts"][0]["duration_min"] == 1140.0
    second = report(store, fleet.config.supply, dt.date(2026, 1, 2), dt.date(2026, 1, 2), fleet.now())
    assert second["cut_minutes"] == 31.0 and second["cuts"][0]["duration_min"] == 1140.0
