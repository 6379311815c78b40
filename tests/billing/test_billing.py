"""Billing on live data: cycles, till-date and projected bills from the store, budget and slab
alerts once per cycle, meter reconciliation, closing a cycle into the ledger."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from gateway.alerts import AlertStore
from gateway.app import JobContext
from gateway.billing import LedgerError, MeteredNodeError
from gateway.billing.cycle import Cycle, add_months, cycle_containing
from gateway.billing.estimate import cycle_estimate
from gateway.billing.jobs import check_budget, close_cycles
from gateway.billing.ledger import Ledger
from gateway.billing.projection import profile_projection, straight_line
from gateway.billing.reconcile import compare, record_billed_units, record_meter_reading
from gateway.billing.tariff_book import TariffBook
from gateway.config import parse_config
from tests.support.billing_usage import IST, START, fill, ms


def config(**billing):
    return parse_config({"billing": {"meter_reading_date": START.isoformat(), "holiday_state": ""} | billing})


BOOK = TariffBook.load()


def test_cycles_from_the_meter_reading_date():
    assert cycle_containing(START, 2, dt.date(2025, 7, 24)) == Cycle(START, dt.date(2025, 9, 5))
    assert cycle_containing(START, 2, dt.date(2025, 7, 4)) == Cycle(dt.date(2025, 5, 5), START)
    assert cycle_containing(START, 2, dt.date(2026, 1, 5)).start == dt.date(2026, 1, 5)
    assert cycle_containing(START, 1, dt.date(2024, 12, 31)) == Cycle(dt.date(2024, 12, 5), dt.date(2025, 1, 5))
    jan31 = dt.date(2024, 1, 31)
    assert add_months(jan31, 1) == dt.date(2024, 2, 29) and add_months(jan31, 2) == dt.date(2024, 3, 31)
    assert cycle_containing(jan31, 1, dt.date(2024, 3, 1)) == Cycle(dt.date(2024, 2, 29), dt.date(2024, 3, 31))
    assert Cycle(START, dt.date(2025, 9, 5)).days == 62


def test_till_date_and_straight_line_vector(store):
    # The shared vector: day 20 of a 60-day cycle, 180 units so far → ₹188.00; straight line 540 units → ₹2376.00.
    anchor = dt.date(2024, 2, 1)  # 1 Feb – 31 Mar 2024 (a leap year) is 60 days
    assert cycle_containing(anchor, 2, dt.date(2024, 2, 21)).days == 60
    fill(store, anchor, 20, 375)  # 9 kWh a day
    est = cycle_estimate(store, config(meter_reading_date=anchor.isoformat()).billing, BOOK, ms(dt.date(2024, 2, 21)))
    assert est.units == Decimal("180.00") and f"{est.bill.total:.2f}" == "188.00" and est.elapsed_days == 20
    straight = est.projections[0]
    assert straight.projection.method == "straight_line" and round(straight.projection.units, 6) == 540
    assert f"{straight.bill.total:.2f}" == "2376.00"
    assert straight.projection.low == straight.projection.high == 540  # perfectly steady days: no spread
    profile = est.projections[1]  # a flat profile projects the same
    assert profile.projection.method == "profile" and round(profile.projection.units) == 540
    assert (
        est.position.message()
        == "20 units to 200; above it each unit costs ₹4.70 (now ₹2.35); at 500 the bill jumps by ₹243.40"
    )
    j = est.as_json()
    assert j["till_date"]["total"] == "188.00" and j["projections"][0]["total"] == "2376.00"


def test_profile_projection_knows_the_week():
    # Weekdays 5 kWh, weekends 20 kWh: the straight line through a weekday-heavy start is wrong,
    # the profile is not.
    now = dt.datetime(2025, 7, 5, 0, 0, tzinfo=IST)  # a Saturday
    history = []
    for d in range(28):
        day = now.date() - dt.timedelta(days=28 - d)
        per_hour = (20 if day.weekday() >= 5 else 5) / 24
        history += [(dt.datetime.combine(day, dt.time(h), IST), per_hour) for h in range(24)]
    end = now + dt.timedelta(days=14)
    p = profile_projection(history, now, end, 0.0)
    assert p.units == pytest.approx(2 * (5 * 5 + 2 * 20), rel=1e-6)  # two weeks: 130 kWh
    assert p.low < p.units < p.high or p.low == p.high
    assert profile_projection(history[: 24 * 6], now, end, 0.0) is None  # under 7 days: no profile
    assert straight_line(10.0, 1.0, 60.0, []).note == "too early in the cycle to say how sure"
    s = straight_line(100.0, 10.0, 60.0, [8, 12, 9, 11, 10, 10, 9, 11, 12, 8])
    assert s.units == 600 and s.low < 600 < s.high and s.confidence == "high"


def test_budget_alerts_once_per_threshold_per_cycle(store):
    cfg = config(budget_inr=400)
    fill(store, START, 10, 1000)  # 24 kWh a day: 240 units in 10 days → ₹423.00 (235 + 40 × 4.70)
    clock = [ms(dt.date(2025, 7, 15))]
    ctx = JobContext(store=store, config=cfg, now_ms=lambda: clock[0], extras={})
    for _ in range(5):  # the job runs every 15 min: no storm
        check_budget(ctx)
    alerts = AlertStore(store)
    kinds = sorted((a["kind"], a["dedup_key"]) for a in alerts.list())
    assert kinds == [
        ("budget_projection", "budget_projection:2025-07-05"),
        ("budget_threshold", "budget:2025-07-05:100"),
        ("budget_threshold", "budget:2025-07-05:50"),
        ("budget_threshold", "budget:2025-07-05:80"),
        ("slab_ahead", "slab:2025-07-05:500"),
    ]
    hundred = alerts.list(kind="budget_threshold")[0]
    assert hundred["message"] == "100% of the budget used: ₹423.00 of ₹400.00 (240.00 units) on day 11 of 62"
    assert hundred["repeat_count"] == 5
    proj = alerts.list(kind="budget_projection")[0]["message"]
    assert proj.startswith("projected bill ₹") and "exceeds the budget of ₹400.00" in proj
    # Resolving does not bring it back in the same cycle...
    alerts.act(hundred["id"], "resolve", "asha", now_ms=clock[0])
    check_budget(ctx)
    assert len(alerts.list(kind="budget_threshold")) == 3
    # ...but the next cycle starts afresh.
    fill(store, dt.date(2025, 9, 5), 10, 1000)
    clock[0] = ms(dt.date(2025, 9, 15))
    check_budget(ctx)
    assert len(alerts.list(kind="budget_threshold")) == 6


def test_monthly_budget_scales_to_a_two_month_cycle(store):
    fill(store, START, 5, 500)  # 60 units
    est = cycle_estimate(store, config(budget_inr=500, budget_period="month").billing, BOOK, ms(dt.date(2025, 7, 10)))
    assert est.budget_paise == 100_000
    assert est.as_json()["budget"] == {"amount": "1000.00", "spent_pct": 0.0, "projected": f"{est.best.bill.total:.2f}"}


def test_metered_nodes_only(store):
    fill(store, START, 2, 500, node="main")
    fill(store, START, 2, 100, node="fridge")  # a sub-circuit: inside "main" already
    assert cycle_estimate(store, config().billing, BOOK, ms(dt.date(2025, 7, 7))).units == Decimal("28.80")
    est = cycle_estimate(store, config(metered_nodes=["main"]).billing, BOOK, ms(dt.date(2025, 7, 7)))
    assert est.units == Decimal("24.00")


def test_reconcile_flags_a_gap_beyond_the_threshold(store):
    fill(store, START, 10, 1000)  # sensors: 240 kWh
    section = config(meter_mismatch_pct=5.0).billing
    alerts = AlertStore(store)
    _, none = record_meter_reading(store, section, alerts, "10000", at_ms=ms(START), now_ms=ms(START))
    assert none is None
    _, ok = record_meter_reading(
        store, section, alerts, "10245", at_ms=ms(dt.date(2025, 7, 15)), now_ms=ms(dt.date(2025, 7, 15))
    )
    assert not ok.flagged and ok.gap_pct == Decimal("2.0") and alerts.list() == []
    # A real bill says 270 units for the 10 days: the sensors saw 11.1 % less.
    _, bad = record_billed_units(
        store,
        section,
        alerts,
        "270",
        start_ms=ms(START),
        end_ms=ms(dt.date(2025, 7, 15)),
        now_ms=ms(dt.date(2025, 7, 16)),
    )
    assert bad.flagged and bad.gap_pct == Decimal("11.1")
    [alert] = alerts.list(kind="meter_mismatch")
    assert alert["message"] == (
        "meter 270 kWh, sensors 240.00 kWh from 2025-07-05 to 2025-07-14: sensors 11.1% below the meter, "
        "more than 5.0%: a load between the meter and the sensors (tapping) or an unmonitored circuit"
    )
    high = compare(Decimal(200), Decimal(240), Decimal(5))
    assert high.flagged and "sensors 20.0% above the meter" in high.message("") and "calibration" in high.message("")
    with pytest.raises(LedgerError, match="less than the previous reading 10245"):
        record_meter_reading(store, section, alerts, "10200", at_ms=ms(dt.date(2025, 7, 16)), now_ms=0)
    for bad_value, message in (
        ("-1", "up to 6 digits and 3 decimals"),
        ("12.3456", "up to 6 digits and 3 decimals"),
        ("abc", "up to 6 digits"),
        (12.5, "as text"),
        ("1e30", "up to 6 digits"),
    ):
        with pytest.raises(LedgerError, match=message):
            record_meter_reading(store, section, alerts, bad_value, at_ms=ms(dt.date(2025, 7, 17)), now_ms=0)
    assert store.conn.execute("SELECT count(*) FROM meter_readings").fetchone()[0] == 3


def test_close_cycle_job_bills_once(store):
    fill(store, START, 62, 250)  # 6 kWh a day: 372 units in the cycle
    cfg = config()
    clock = [ms(dt.date(2025, 9, 6), 1)]
    ctx = JobContext(store=store, config=cfg, now_ms=lambda: clock[0], extras={})
    [bill] = close_cycles(ctx)
    assert bill["units"] == "372" and bill["amount_paise"] == 104340  # 235 + 172 × 4.70
    assert close_cycles(ctx) == []
    assert Ledger(store).balance()["balance_paise"] == bill["amount_paise"]
    [alert] = AlertStore(store).list(kind="bill_closed")
    assert alert["message"].startswith("bill #1 for 2025-07-05 to 2025-09-04: 372 units (sensor), ₹")


def test_close_cycle_prefers_billed_units(store):
    fill(store, START, 62, 250)
    cfg = config()
    record_billed_units(
        store,
        cfg.billing,
        AlertStore(store),
        "400",
        start_ms=ms(START),
        end_ms=ms(dt.date(2025, 9, 5)),
        now_ms=ms(dt.date(2025, 9, 5), 9),
    )
    ctx = JobContext(store=store, config=cfg, now_ms=lambda: ms(dt.date(2025, 9, 6)), extras={})
    [bill] = close_cycles(ctx)
    assert bill["source"] == "meter" and bill["amount_paise"] == 117500  # 235 + 200 × 4.70


def test_a_metered_node_that_never_reported_is_one_named_error(store):
    fill(store, START, 2, 500, node="main")
    fill(store, START, 2, 100, node="fridge")
    with pytest.raises(MeteredNodeError) as caught:
        cycle_estimate(store, config(metered_nodes=["main", "mian"]).billing, BOOK, ms(dt.date(2025, 7, 7)))
    err = caught.value
    assert (err.unknown, err.known, err.problem) == (("mian",), ("fridge", "main"), "metered_nodes:mian")
    assert str(err) == (
        "[billing] metered_nodes lists 'mian', but no node with that id has reported; known nodes: 'fridge', 'main'"
    )
    # Every path that counts the house refuses the same way: a meter reading records nothing.
    with pytest.raises(MeteredNodeError, match="'mian'"):
        record_billed_units(
            store,
            config(metered_nodes=["mian"]).billing,
            AlertStore(store),
            "30",
            start_ms=ms(START),
            end_ms=ms(dt.date(2025, 7, 7)),
            now_ms=ms(dt.date(2025, 7, 8)),
        )
    assert store.conn.execute("SELECT count(*) FROM meter_readings").fetchone()[0] == 0


class Daemon:
    """The real daemon (no sources, no scheduler) on the test's database: runs jobs as the scheduler does."""

    def __init__(self, db, first_ms: int):
        from gateway.clock import ManualClock
        from gateway.daemon import build_gateway

        self.db, self.clock = db, ManualClock(first_ms)
        self.gw = build_gateway(
            config(), db_path=db, serial_ports=[], clock=self.clock, runtime_dir=db.parent / "run", jobs=()
        )

    def run(self, target: str, billing: dict, times: int = 1) -> None:
        """Run a billing job `times` times, 15 minutes apart, with these [billing] settings."""
        from gateway.app import JobSpec

        self.gw.config = config(**billing)
        for _ in range(times):
            self.gw._run_job(JobSpec(target.rpartition(":")[2], target, seconds=900))
            self.clock.advance(900_000)

    def close(self) -> None:
        self.gw.ingest.store.close()


def test_budget_job_reports_an_unknown_metered_node_once_and_keeps_running(store, caplog):
    fill(store, START, 10, 1000, node="main")
    fill(store, START, 10, 200, node="ac")  # the AC's circuit: inside "main"
    caplog.set_level(logging.INFO)
    daemon = Daemon(store.path, ms(dt.date(2025, 7, 15)))
    alerts = AlertStore(store)
    try:
        # A typo in the config: the budget check runs every 15 minutes for five hours.
        daemon.run("gateway.billing.jobs:check_budget", {"metered_nodes": ["mian"], "budget_inr": 100}, times=20)
        daemon.run("gateway.billing.jobs:close_cycles", {"metered_nodes": ["mian"]}, times=4)
        [alert] = alerts.list()
        assert (
            alert["kind"] == "metered_node_unknown"
            and alert["state"] == "open"
            and alert["dedup_key"] == "metered_nodes:mian"
        )
        assert alert["message"] == (
            "[billing] metered_nodes lists 'mian', but no node with that id has reported; known nodes: "
            "'ac', 'main'. No bill is computed until the id is corrected or the node reports."
        )
        assert alert["repeat_count"] == 24 and alert["data"] == {"unknown": ["mian"], "known": ["ac", "main"]}
        logged = [r for r in caplog.records if r.name.startswith("gateway")]
        assert [(r.levelname, r.getMessage()) for r in logged] == [
            (
                "WARNING",
                "billing: [billing] metered_nodes lists 'mian', but no node with that id has reported; known nodes: "
                "'ac', 'main'; no bill until it is fixed",
            ),
        ]  # once, and no "job billing_check failed" traceback: the daemon carries on
        assert Ledger(store).bills() == []  # nothing billed from part of the house

        # Another mistake is another problem: the first is resolved, the new one raised (and logged) once.
        caplog.clear()
        daemon.run(
            "gateway.billing.jobs:check_budget", {"metered_nodes": ["main", "solar"], "budget_inr": 100}, times=3
        )
        assert [(a["dedup_key"], a["state"]) for a in alerts.list(kind="metered_node_unknown")] == [
            ("metered_nodes:solar", "open"),
            ("metered_nodes:mian", "resolved"),
        ]
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1

        # Fixed: the alert is resolved and billing works again (budget alerts from the whole house).
        daemon.run("gateway.billing.jobs:check_budget", {"metered_nodes": ["main"], "budget_inr": 100}, times=2)
        assert alerts.list(kind="metered_node_unknown", state="open") == []
        assert alerts.get(alerts.list(kind="metered_node_unknown")[0]["id"])["actions"][0]["by"] == "powergw"
        assert {a["kind"] for a in alerts.list(state="open")} >= {"budget_threshold", "budget_projection"}
    finally:
        daemon.close()
