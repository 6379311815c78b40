"""The theft job reads the power-cut log (gateway/supply): a battery inverter recharging after each day's
load-shedding is the same extra load at the same hours every day, like a tap. With the cuts in the log
those hours are no evidence; a real tap at night still alerts. A real SQLite store, the daemon's job."""

from __future__ import annotations

import numpy as np
import pytest

from edge_model import store_job
from edge_model.recharge import recharge_mask
from edge_model.series import HouseSeries
from gateway.supply.cuts import Cut, Tracker
from gateway.supply.tables import SupplyTables
from tests.support.theft_store import (
    DAYS,
    SEED,
    end_of_day_ms,
    house,
    job_context,
    night_tap,
    origin_ms,
    store_with_series,
    thefts,
)

CUT_FROM_H, CUT_TO_H = 10, 12  # the daily load-shedding, local time
RECHARGE_W, RECHARGE_H = 600.0, 4  # the inverter's battery charging from 12:00 to 16:00
FIRST_CUT_DAY = 34


def shed(series: HouseSeries, days) -> HouseSeries:
    """The series with no record during each day's cut (every node dark) and the recharge after it."""
    minutes = series.minute_w.reshape(series.days, 24, 60).copy()
    for d in days:
        minutes[d, CUT_FROM_H:CUT_TO_H] = np.nan
        minutes[d, CUT_TO_H : CUT_TO_H + RECHARGE_H] += RECHARGE_W
    return HouseSeries(series.first_date, minutes.ravel())


def scored(tmp_path, series: HouseSeries, cuts_logged: bool, **supply):
    """The theft job's first run as the last day ends (it reads every hour before), with or without the cut log."""
    store = store_with_series(tmp_path / "powergw.db", series)
    if cuts_logged:
        origin = origin_ms(series.first_date)
        day = [origin + d * 86_400_000 for d in range(FIRST_CUT_DAY, DAYS)]
        cuts = [Cut(t + CUT_FROM_H * 3_600_000, t + CUT_TO_H * 3_600_000, 2, 0) for t in day]
        SupplyTables(store).save(Tracker(), 0, cuts, origin)
    ctx = job_context(store, tmp_path, end_of_day_ms(series.first_date, DAYS))
    if supply:
        ctx.config = ctx.config.replace("supply", **supply)
    result = store_job.score_job(ctx)
    return result, [(a["dedup_key"], a["message"]) for a in thefts(store)]


def test_a_recharge_after_daily_cuts_alerted_as_theft_without_the_log_and_does_not_with_it(tmp_path):
    series = shed(house(SEED, DAYS), range(FIRST_CUT_DAY, DAYS))
    _, blind = scored(tmp_path / "blind", series, cuts_logged=False)
    assert [key for key, _ in blind] == ["theft:12-16"]  # what the household got before the log
    assert blind[0][1].startswith("+599 W from 12:00 to 16:00")
    result, seen = scored(tmp_path / "seen", series, cuts_logged=True)
    assert seen == []
    assert "44 hours after power cuts not counted (battery recharge)" in result.status


def test_a_night_tap_still_alerts_on_a_house_with_daily_cuts(tmp_path):
    series = shed(house(SEED, DAYS, night_tap()), range(FIRST_CUT_DAY, DAYS))
    _, alerts = scored(tmp_path, series, cuts_logged=True)
    assert [key for key, _ in alerts] == ["theft:01-04"]
    assert "from 01:00 to 04:00" in alerts[0][1] and "12:00" not in alerts[0][1]


def test_recharge_factor_zero_counts_those_hours_again(tmp_path):
    series = shed(house(SEED, DAYS), range(FIRST_CUT_DAY, DAYS))
    _, alerts = scored(tmp_path, series, cuts_logged=True, recharge_factor=0.0)
    assert [key for key, _ in alerts] == ["theft:12-16"]


@pytest.mark.parametrize(
    "cut_h, factor, max_h, excused_hours",
    [(2, 2.0, 8, [12, 13, 14, 15]), (6, 2.0, 8, list(range(12, 20))), (0.5, 2.0, 8, [12]), (2, 0.0, 8, [])],
)
def test_the_hours_excused_follow_the_cuts_length_up_to_the_cap(cut_h, factor, max_h, excused_hours):
    from gateway.config import Config

    section = Config({}).replace("supply", recharge_factor=factor, recharge_max_hours=float(max_h)).supply
    end_s = 12 * 3600.0
    length_s = section.recharge_ms(int(cut_h * 3_600_000)) / 1000
    spans = ((end_s, end_s + length_s),) if length_s else ()
    mask = recharge_mask(np.arange(24) * 3600.0, spans)
    assert list(np.flatnonzero(mask)) == excused_hours
