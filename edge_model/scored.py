"""One house's minutes to scored hourly windows: features, the forest's scores and the steady-lift hits.

The one place the daemon's theft job, `powergw model score` and the evaluation turn a house series
into what `edge_model.alerting.decide` reads, so all three judge a house the same way.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from edge_model.features import Features, build_features
from edge_model.series import HouseSeries
from edge_model.steady import SteadyPolicy, detect
from edge_model.windows import Windows
from gateway.public_holidays import HolidayCalendar


def score_house(
    series: HouseSeries,
    scorer,
    calendar: HolidayCalendar | None = None,
    steady: SteadyPolicy = SteadyPolicy(),
    tz: str = "Asia/Kolkata",
) -> tuple[Windows, Features]:
    """Every hour of the series as a window: mean and floor, their usual, the score (0 where nothing
    was recorded; all 0 without a scorer) and the steady-lift detector's hit and lift."""
    f = build_features(series, calendar)
    hits = detect(series, steady)
    n = series.days * 24
    day = np.arange(n) // 24
    weekday = np.array([(series.first_date + dt.timedelta(days=d)).weekday() for d in range(series.days)])[day]
    score = scorer.score(f.rows) if scorer is not None else np.zeros(n)
    score[np.isnan(f.mean_w)] = 0.0
    w = Windows(
        start_s=series.hour_start_s(tz),
        hour=np.arange(n) % 24,
        weekday=weekday,
        day=day,
        power_w=np.nan_to_num(f.mean_w),
        usual_w=np.nan_to_num(f.usual_w),
        score=score,
        history_days=f.history_days,
        usual_floor_w=np.nan_to_num(f.usual_floor_w),
        floor_w=np.nan_to_num(f.floor_w),
        steady=hits.hit,
        steady_w=hits.lift_w,
        steady_span_h=hits.span_h,
    )
    return w, f
