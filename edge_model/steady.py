"""The steady-lift detector: a new load that ran all night, night after night, judged by the house alone.

Unsupervised and per house. A tap is a steady load: it lifts the *floor* (the lowest 5-minute
mean) of every span it covers by its full power, on every day it runs. Nights are when a house is
quietest, so this looks at spans inside 00:00-06:00 and at the whole day's floor. A span is a hit
when its floor stayed at least `min_w` and `spread` times the house's own usual high lift of that
span above its usual level on each of the last `days` days (edge_model.lifts). The Random Forest
(edge_model.features) scores every hour beside it; docs/theft-detection.md measures both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_model.lifts import Calibration, lift, reference, steadiness, trailing
from edge_model.series import HouseSeries


@dataclass(frozen=True)
class SteadyPolicy:
    """What counts as a new steady load (chosen on the UCI house's development years; docs)."""

    days: int = 3  # the lift held on each of the last this many days
    spans_h: tuple[int, ...] = (3, 6)  # floors over this many hours ending at each end hour ...
    night_end_h: int = 6  # ... lying wholly inside 00:00 .. this hour
    day_end_h: int = 5  # the whole day's floor (24 h) is judged once a day, at this end hour
    min_w: float = 100.0  # never a lift below this
    spread: float = 3.0  # times the house's own usual high lift there (its 95th percentile)
    steadiness: float = 0.0  # lowest/highest daily lift at least this (0: off)


@dataclass(frozen=True)
class SteadyHits:
    """Per hour (flat, like the house's hours): whether a steady lift was found, and how large."""

    hit: np.ndarray
    lift_w: np.ndarray  # the largest lift found at that hour (0 where none)
    span_h: np.ndarray  # the length of the span it was found on (0 where none)
    calibrated: np.ndarray  # (days, 24): the house's history was long enough to judge


def detect(series: HouseSeries, policy: SteadyPolicy = SteadyPolicy()) -> SteadyHits:
    """Steady-lift hits over the whole series; each uses only the days up to its own."""
    days = series.days
    floor = series.hourly_floor_w.ravel()
    hit = np.zeros((days, 24), dtype=bool)
    lift_w = np.zeros((days, 24))
    span = np.zeros((days, 24), dtype=np.int64)
    calibrated = np.zeros((days, 24), dtype=bool)
    end = np.arange(24)
    for span_h in (*policy.spans_h, 24):
        v = trailing(floor, span_h, np.nanmin).reshape(days, 24)
        lifted, _ = lift(v, policy.days)
        cal = Calibration(lifted, policy.days)
        if span_h == 24:
            where = end == policy.day_end_h
        else:
            where = (end < policy.night_end_h) & (end + 1 >= span_h)
        limit = np.maximum(policy.min_w, policy.spread * np.maximum(cal.quantile, 0.0))
        found = cal.calibrated & (np.nan_to_num(lifted, nan=-np.inf) >= limit) & where[None, :]
        if policy.steadiness > 0:
            found &= steadiness(v, policy.days, reference(v, policy.days)) >= policy.steadiness
        bigger = found & (lifted > lift_w)
        lift_w = np.where(bigger, lifted, lift_w)
        span = np.where(bigger, span_h, span)
        hit |= found
        calibrated |= cal.calibrated & where[None, :]
    return SteadyHits(hit.ravel(), lift_w.ravel(), span.ravel(), calibrated)
