"""The utility meter as evidence of a tap (edge_model.meter_job): meter register readings entered as
billing stores them, against a simulated house's minutes in a real SQLite store. The ratio of meter
to sensors is learned on the first fully covered period; a later period whose units exceed what that
ratio explains by more than max(1 kWh, 5 %) is one theft alert in plain words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from edge_model import meter_job, store_job
from edge_model.dataset import CHECK_SEEDS
from edge_model.series import HouseSeries
from gateway.alerts import AlertStore, alert_store
from gateway.billing.reconcile import record_meter_reading
from tests.support.theft_store import end_of_day_ms, house, job_context, origin_ms, store_with_series

SEED = CHECK_SEEDS + 2  # a house of about 16 kWh a day: 5 % of a 4-day period is about 3 units
PERIOD_DAYS = 4
SENSOR_RATIO = 1.04  # the meter counts 4 % more than the sensors see (a node without a voltage channel)
START_KWH = Decimal("12345.6")


@pytest.fixture
def metered(tmp_path):
    """A house's minutes over 22 days in a real store, and a way to enter the meter's register the
    way `powergw meter` does, as a multiple of what the sensors saw over the period it closes."""
    series = house(SEED, 22)
    store = store_with_series(tmp_path / "powergw.db", series)
    ctx = job_context(store, tmp_path, end_of_day_ms(series.first_date, 22))
    alerts = alert_store(store, ctx.config)
    register = [START_KWH]

    def enter(day: int, share: float = 1.0, extra_kwh: float = 0.0) -> int:
        """The register at local midnight starting `day`: what the sensors saw since the previous
        reading, times SENSOR_RATIO and `share` (1.06: the meter 6 % ahead), plus extra_kwh."""
        at_ms = origin_ms(series.first_date) + day * 86_400_000
        if day > 1:
            seen = sensor_kwh(series, day - PERIOD_DAYS, day)
            register.append(register[-1] + Decimal(f"{seen * SENSOR_RATIO * share + extra_kwh:.2f}"))
        row, _ = record_meter_reading(
            store, ctx.config["billing"], alerts, str(register[-1]), at_ms=at_ms, now_ms=at_ms
        )
        return row["id"]

    yield {"store": store, "series": series, "ctx": ctx, "alerts": alerts, "enter": enter}
    store.close()


def sensor_kwh(series: HouseSeries, first_day: int, end_day: int) -> float:
    return float(np.nansum(series.minute_w[first_day * 1440 : end_day * 1440])) / 60 / 1000


def check(m, day: int) -> list[int]:
    """The theft job's look at the meter, as it runs at the end of local day `day`."""
    now_ms = end_of_day_ms(m["series"].first_date, day + 1)
    return meter_job.meter_check(m["store"], m["alerts"], "Asia/Kolkata", now_ms)


def theft_alerts(store) -> list[dict]:
    return sorted(AlertStore(store).list(kind="theft"), key=lambda a: a["id"])


def test_a_meter_ahead_of_its_learned_ratio_is_one_theft_alert_in_plain_words(metered):
    m = metered
    enter = m["enter"]
    enter(1)
    enter(5)  # 1-5: the ratio (1.04) is learned here
    enter(9, share=1.04)  # 4 % above what the ratio explains: within what a meter and hand-typed digits do
    assert check(m, 9) == [] and theft_alerts(m["store"]) == []
    tapped = enter(13, share=1.06)  # 6 % above it: more than 5 %, and more than a unit
    store_job.score_job(m["ctx"])  # the daemon's hourly job (the house still being learned: the meter still counts)
    check(m, 14)  # and again: the period was judged already
    (alert,) = theft_alerts(m["store"])
    expected_kwh = sensor_kwh(m["series"], 9, 13) * SENSOR_RATIO
    excess_kwh = 0.06 * expected_kwh
    watts = 1000 * excess_kwh / (4 * 24)
    since = m["series"].first_date + dt.timedelta(days=9)
    assert alert["message"] == (
        f"since {since.day} {since:%b} your meter counted {excess_kwh:.0f} units more than your sensors "
        f"usually explain: about {watts:.0f} W all day"
    )
    assert alert["dedup_key"] == f"theft:meter:{tapped}" and alert["state"] == "open" and alert["repeat_count"] == 1
    data = alert["data"]
    assert data["source"] == "meter" and data["excess_kwh"] == pytest.approx(excess_kwh, abs=0.02)
    assert data["excess_w"] == pytest.approx(watts, rel=0.01) and data["ratio"] == pytest.approx(SENSOR_RATIO, abs=1e-3)
    assert data["period_start_ms"] == origin_ms(m["series"].first_date) + 9 * 86_400_000
    assert data["learned_from_ms"] == [origin_ms(m["series"].first_date) + d * 86_400_000 for d in (1, 5)]
    # The alert is kept with the period it was raised on: a corrected reading would measure it afresh.
    row = (
        m["store"]
        .conn.execute("SELECT alert_id, coverage FROM theft_meter_periods WHERE reading_id = ?", (tapped,))
        .fetchone()
    )
    assert row == (alert["id"], 1.0)


def test_a_meter_below_its_ratio_is_never_theft(metered):
    m = metered
    for day, share in ((1, 1.0), (5, 1.0), (9, 0.8), (13, 1.0)):
        m["enter"](day, share)
    assert check(m, 13) == [] and theft_alerts(m["store"]) == []
    # Billing's meter_mismatch says it (the sensors saw more than the meter): a calibration matter.
    assert AlertStore(m["store"]).list(kind="meter_mismatch")


@pytest.mark.parametrize(
    "answer", [("ignore",), ("ignore", "resolve"), ("raise",)], ids=["ignore", "ignore-then-resolve", "raise"]
)
def test_an_ignored_meter_alert_relearns_the_ratio_from_the_next_period(metered, answer):
    """The household says the gap is its own (a sensor reading low since day 5): the next fully
    covered period is the new base, the same gap stays quiet, and a tap on top of it still alerts.
    Ignore then Resolve is still an Ignore; a Raise keeps the old ratio."""
    m = metered
    enter, alerts = m["enter"], m["alerts"]
    enter(1)
    enter(5)
    enter(9, share=1.10)
    (first,) = [alerts.get(i) for i in check(m, 9)]
    now_ms = end_of_day_ms(m["series"].first_date, 10)
    for action in answer:
        alerts.act(
            first["id"], action, "owner", "the sensor on the mains reads low since the electrician came", now_ms=now_ms
        )
    enter(13, share=1.10)  # the new base
    enter(17, share=1.10)
    raised = check(m, 17)
    if answer == ("raise",):
        assert len(raised) == 2  # both periods, against the ratio of days 1-5
        return
    assert raised == []
    enter(21, share=1.10, extra_kwh=0.15 * 4 * 24)  # a 150 W tap on top
    (alert,) = [alerts.get(i) for i in check(m, 21)]
    assert alert["data"]["excess_w"] == pytest.approx(150, abs=3)
    assert alert["data"]["learned_from_ms"] == [origin_ms(m["series"].first_date) + d * 86_400_000 for d in (9, 13)]
    assert [a["id"] for a in theft_alerts(m["store"])] == [first["id"], alert["id"]]


def test_a_period_the_sensors_only_partly_covered_raises_nothing_and_is_never_the_base(tmp_path):
    series = house(SEED, 22)
    gap = series.minute_w.copy()
    gap[2 * 1440 : 3 * 1440] = np.nan  # a day with the gateway off inside the first period
    gap[11 * 1440 : 11 * 1440 + 180] = np.nan  # three hours off inside the third: 97 % covered
    store = store_with_series(tmp_path / "powergw.db", HouseSeries(series.first_date, gap))
    ctx = job_context(store, tmp_path, end_of_day_ms(series.first_date, 22))
    alerts = alert_store(store, ctx.config)
    first_ms = origin_ms(series.first_date)
    value = START_KWH
    for day, kwh in (
        (1, 0.0),
        (5, 40.0),
        (9, sensor_kwh(series, 5, 9)),
        (13, 2 * sensor_kwh(series, 9, 13)),
        (17, sensor_kwh(series, 13, 17) + 0.2 * 4 * 24),
    ):
        value += Decimal(f"{kwh:.2f}")
        record_meter_reading(
            store, ctx.config["billing"], alerts, str(value), at_ms=first_ms + day * 86_400_000, now_ms=first_ms
        )
    raised = meter_job.meter_check(store, alerts, "Asia/Kolkata", end_of_day_ms(series.first_date, 18))
    coverage = dict(store.conn.execute("SELECT start_ms, coverage FROM theft_meter_periods").fetchall())
    assert coverage[first_ms + 86_400_000] == pytest.approx(0.75, abs=1e-3)
    assert coverage[first_ms + 9 * 86_400_000] == pytest.approx(1 - 180 / (4 * 1440), abs=1e-3)
    # Days 1-5 (0.75 covered, a meter far from the sensors) are not the base: days 5-9 are. Days 9-13
    # count twice the sensors' units but only 97 % of their minutes were seen: nothing. Days 13-17
    # carry a 200 W tap over a fully covered period: the one alert.
    (alert,) = [alerts.get(i) for i in raised]
    assert alert["data"]["period_start_ms"] == first_ms + 13 * 86_400_000
    assert alert["data"]["learned_from_ms"] == [first_ms + 5 * 86_400_000, first_ms + 9 * 86_400_000]
    assert alert["data"]["excess_w"] == pytest.approx(200, rel=0.05) and "about 200 W all day" in alert["message"]
    store.close()
