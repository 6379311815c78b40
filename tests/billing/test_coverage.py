"""Bills, projections and budget checks on a cycle the sensors covered only in part (issue 16, item 5):
each says how many days they covered, widens its range and lowers its confidence, and a cycle is never
closed as a sensor bill from a fraction of it without saying so. Real SQLite; energy written as ingest
writes it, an hour at a time."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.alerts import AlertStore
from gateway.app import JobContext
from gateway.billing.estimate import cycle_estimate
from gateway.billing.jobs import budget_alerts, close_cycles
from gateway.billing.projection import Projection, straight_line
from gateway.billing.tariff_book import TariffBook
from gateway.config import parse_config
from tests.support.billing_usage import START, fill, ms

BOOK = TariffBook.load()
INSTALLED = START + dt.timedelta(days=20)  # the gateway went in on day 21 of a 62-day cycle


def config(**billing):
    return parse_config({"billing": {"meter_reading_date": START.isoformat(), "holiday_state": ""} | billing})


def test_confidence_is_capped_by_how_much_of_the_cycle_the_sensors_covered():
    narrow = dict(method="straight_line", units=300.0, low=299.0, high=301.0)
    assert Projection(**narrow).confidence == "high"
    assert Projection(**narrow, coverage=0.95).confidence == "high"
    assert Projection(**narrow, coverage=0.7).confidence == "medium"
    assert Projection(**narrow, coverage=0.3).confidence == "low"
    assert Projection("p", 300.0, 200.0, 400.0, coverage=0.95).confidence == "low"  # a wide range stays low


def test_the_straight_line_counts_missed_days_at_the_measured_rate_not_as_zero():
    # 10 kWh a day measured on 10 of 30 elapsed days of a 60-day cycle.
    days = [10.0] * 10
    full = straight_line(100.0, 10.0, 60.0, days)
    part = straight_line(100.0, 30.0, 60.0, days, covered_days=10.0)
    assert full.units == pytest.approx(600.0) and part.units == pytest.approx(600.0)
    assert straight_line(100.0, 30.0, 60.0, days).units == pytest.approx(200.0)  # what counting them as zero gave
    assert part.coverage == pytest.approx(1 / 3) and part.confidence == "low"
    # Twenty days nobody measured: the range widens by at least a quarter of what they are assumed to hold.
    assert part.high - part.low >= 2 * 0.25 * 200 and part.high - part.low > full.high - full.low
    assert "the sensors covered 10.0 of the 30.0 days so far" in part.note
    assert straight_line(0.0, 5.0, 60.0, [], covered_days=0.0).note == "nothing measured in this cycle yet"


def test_a_gateway_installed_mid_cycle_says_so_in_the_estimate(store):
    fill(store, INSTALLED, 10, 400)  # 9.6 kWh a day for 10 days, nothing before
    now = ms(INSTALLED + dt.timedelta(days=10))
    est = cycle_estimate(store, config().billing, BOOK, now)
    assert est.elapsed_days == pytest.approx(30.0) and est.covered_days == pytest.approx(10.0)
    assert float(est.units) == pytest.approx(96.0)
    straight = est.projections[0].projection
    assert straight.units == pytest.approx(9.6 * est.cycle.days, rel=1e-6)  # not 96 / 30 × 62
    assert straight.confidence == "low" and "covered 10.0 of the 30.0 days" in straight.note
    assert straight.high - straight.low >= 2 * 0.25 * 9.6 * 20  # the 20 days missed, ± a quarter at least
    profile = est.best.projection
    assert profile.method == "profile" and profile.confidence == "low"
    assert profile.units == pytest.approx(9.6 * est.cycle.days, rel=0.02)  # the missed 20 days filled in
    assert "covered 10.0 of the 30.0 days" in est.coverage_note
    assert any(line.startswith("Coverage: the sensors covered 10.0 of the 30.0 days") for line in est.lines())
    cycle = est.as_json()["cycle"]
    assert cycle["covered_days"] == 10.0 and "10.0 of the 30.0" in cycle["coverage_note"]

    whole = store.__class__(store.path.parent / "whole.db")
    fill(whole, START, 30, 400)
    est_whole = cycle_estimate(whole, config().billing, BOOK, now)
    assert est_whole.coverage_note == "" and est_whole.covered_days == pytest.approx(30.0)
    assert est_whole.best.projection.confidence != "low"
    whole.close()


def test_budget_alerts_on_a_partly_covered_cycle_say_so(store):
    fill(store, INSTALLED, 10, 1200)  # 288 units in 10 days: past the free first 100
    est = cycle_estimate(store, config(budget_inr=100).billing, BOOK, ms(INSTALLED + dt.timedelta(days=10)))
    messages = {kind: message for kind, _, message, _ in budget_alerts(est, 50)}
    assert "the sensors covered 10.0 of the 30.0 days" in messages["budget_threshold"]
    assert "low confidence: the sensors covered" in messages["budget_projection"]


def test_a_cycle_the_sensors_covered_in_part_is_closed_saying_so(store):
    fill(store, START + dt.timedelta(days=48), 13, 250)  # 13 of the cycle's 62 days
    ctx = JobContext(store=store, config=config(), now_ms=lambda: ms(dt.date(2025, 9, 6), 1), extras={})
    [bill] = close_cycles(ctx)
    assert bill["source"] == "sensor" and bill["units"] == "78"
    [alert] = AlertStore(store).list(kind="bill_closed")
    assert "78 units (sensor)" in alert["message"]
    assert "the sensors covered only 13.0 of its 62 days" in alert["message"]
    assert "powergw meter --billed-units" in alert["message"]


def test_billed_units_over_a_period_the_sensors_missed_are_not_a_tapping_alert(store):
    """The issue's case: 400 billed units over two months with no data raised a critical "tapping" alert at
    "100 % below" and e-mailed it. Now it is recorded, not compared, and says why; no alert."""
    from gateway.billing.reconcile import record_billed_units

    fill(store, START + dt.timedelta(days=50), 5, 250)  # the gateway heard 5 of the 61 days
    alerts = AlertStore(store)
    _, comparison = record_billed_units(
        store,
        config().billing,
        alerts,
        "400",
        start_ms=ms(START),
        end_ms=ms(dt.date(2025, 9, 4)),
        now_ms=ms(dt.date(2025, 9, 5)),
    )
    assert not comparison.flagged and not comparison.compared and alerts.list() == []
    assert "not compared, the sensors covered only 5.0 of the period's 61.0 days" in comparison.message("")
    row = store.conn.execute("SELECT flagged, sensor_kwh FROM meter_readings").fetchone()
    assert row == (0, "30.00")


def test_a_register_reading_after_a_gap_in_the_sensors_is_recorded_not_flagged(store):
    from gateway.billing.reconcile import record_meter_reading

    alerts = AlertStore(store)
    section = config().billing
    fill(store, START, 2, 250)  # two days heard, then the gateway was off for eight
    record_meter_reading(store, section, alerts, "10000", at_ms=ms(START), now_ms=ms(START))
    _, comparison = record_meter_reading(
        store,
        section,
        alerts,
        "10060",
        at_ms=ms(START + dt.timedelta(days=10)),
        now_ms=ms(START + dt.timedelta(days=10)),
    )
    assert comparison.covered_days == pytest.approx(2.0) and not comparison.flagged and alerts.list() == []
