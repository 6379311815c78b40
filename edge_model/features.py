"""The Random Forest's features per hour window, in units that mean the same in a flat and a bungalow.

From one house's minute series (edge_model.series): for the hour's mean and its floor over 1-24
hours, the persistent lift over the last 1, 3 and 7 days (edge_model.lifts) against the house's
own history at that hour: as a multiple of its usual high lift there, its rank in that history,
and as a share of the usual level and of the house's daily level; on how many recent days the
hour was lifted; matched on/off pulses of one size at minute resolution (a switched load,
edge_model.pulses) against their usual count; hours since the last gap in the record (a power cut
and the inverter recharging after it). No column is in watts. Every feature at window i uses only
minutes up to the end of hour i (a test checks it), so the daemon scoring the latest hour and the
trainer scoring a year see the same numbers. Rows are float64 here; `as_model_input` is the one
place they become float32.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np

from edge_model import FEATURES_VERSION, EdgeModelError
from edge_model.lifts import REF_DAYS, Calibration, last_days, lift, past, trailing
from edge_model.pulses import pulse_excess
from edge_model.series import HouseSeries
from gateway.public_holidays import HolidayCalendar

__all__ = ["FEATURES_VERSION", "FEATURE_NAMES", "N_FEATURES", "COLUMN", "Features", "build_features", "as_model_input"]

SERIES = ("m1", "m3", "f1", "f3", "f6", "f24")  # hourly mean, 3-hour mean, floor over 1/3/6/24 hours
LIFT_DAYS = (1, 3, 7)
UP_DAYS = (7, 14)
PULSE_DAYS = (1, 3, 5)
MIN_LIFT_W = 20.0  # the smallest usual high lift a lift is measured against (a flat night's noise)
MIN_LEVEL_W = 50.0


def _names() -> tuple[str, ...]:
    names = ["hour", "night", "off_day", "since_gap_h", "history_days"]
    for s in SERIES:
        for kd in LIFT_DAYS:
            names += [f"{s}_k{kd}_cal", f"{s}_k{kd}_rank", f"{s}_k{kd}_rel", f"{s}_k{kd}_lvl"]
    for s in ("f1", "m1"):
        names += [f"{s}_up{n}" for n in UP_DAYS]
    for kd in PULSE_DAYS:
        names += [f"pulse_k{kd}_z", f"pulse_k{kd}_lvl"]
    return tuple(names)


FEATURE_NAMES = _names()
N_FEATURES = len(FEATURE_NAMES)
COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True)
class Features:
    """The rows, and what the alerts explain themselves with (all flat, one per hour)."""

    rows: np.ndarray  # (hours, N_FEATURES) float64, NaN-free
    mean_w: np.ndarray  # the hour's mean power
    usual_w: np.ndarray  # its usual mean: median of the same hour over the REF_DAYS before
    floor_w: np.ndarray  # the hour's floor (lowest 5-minute mean)
    usual_floor_w: np.ndarray  # its usual floor
    history_days: np.ndarray  # known days before each hour's day
    level_w: np.ndarray  # the house's daily level: median mean power of the REF_DAYS before


def build_features(series: HouseSeries, calendar: HolidayCalendar | None = None) -> Features:
    """One row per hour of the series."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _build(series, calendar or HolidayCalendar(""))


def _build(series: HouseSeries, calendar: HolidayCalendar) -> Features:
    days = series.days
    n = days * 24
    mean = series.hourly_mean_w
    floor_flat = series.hourly_floor_w.ravel()
    known_day = ~np.all(np.isnan(mean), axis=1)
    history = np.concatenate([[0], np.cumsum(known_day)[:-1]]).astype(np.float64)
    level = np.nanmedian(past(np.nanmean(mean, axis=1)[:, None], REF_DAYS)[:, :, 0], axis=1)
    level = np.maximum(np.nan_to_num(level, nan=MIN_LEVEL_W), MIN_LEVEL_W)[:, None]

    out = {}
    hour = np.tile(np.arange(24), days)
    out["hour"] = hour
    out["night"] = (hour < 6) | (hour >= 23)
    out["off_day"] = np.repeat(
        [d.weekday() >= 5 or calendar.is_holiday(d) for d in _dates(series.first_date, days)], 24
    )
    out["since_gap_h"] = _hours_since_gap(series.missing_minutes.ravel())
    out["history_days"] = np.repeat(history, 24)

    views = {
        "m1": mean,
        "m3": trailing(mean.ravel(), 3, np.nanmean).reshape(days, 24),
        "f1": series.hourly_floor_w,
        "f3": trailing(floor_flat, 3, np.nanmin).reshape(days, 24),
        "f6": trailing(floor_flat, 6, np.nanmin).reshape(days, 24),
        "f24": trailing(floor_flat, 24, np.nanmin).reshape(days, 24),
    }
    refs = {}
    for s, v in views.items():
        for kd in LIFT_DAYS:
            lifted, ref = lift(v, kd)
            cal = Calibration(lifted, kd)
            p = f"{s}_k{kd}"
            out[p + "_cal"] = lifted / np.maximum(np.nan_to_num(cal.quantile, nan=0.0), MIN_LIFT_W)
            out[p + "_rank"] = np.where(np.isnan(cal.rank), 0.5, cal.rank)
            out[p + "_rel"] = lifted / np.maximum(np.nan_to_num(ref, nan=0.0), MIN_LIFT_W)
            out[p + "_lvl"] = lifted / level
            if kd == 1:
                refs[s] = ref
    for s in ("f1", "m1"):
        v, ref = views[s], refs[s]
        spread = 1.4826 * np.nanmedian(np.abs(past(v, REF_DAYS) - ref[:, None, :]), axis=1)
        up = ((v - ref) >= np.maximum(50.0, np.maximum(3.0 * spread, 0.2 * ref))).astype(np.float64)
        up[np.isnan(ref)] = 0.0
        for k in UP_DAYS:
            out[f"{s}_up{k}"] = last_days(up, k, np.nansum) / k
    for kd, (z, size_w) in pulse_excess(series.minute_w, days, PULSE_DAYS).items():
        out[f"pulse_k{kd}_z"] = z
        out[f"pulse_k{kd}_lvl"] = np.where(z > 0, size_w / level, 0.0)

    rows = np.empty((n, N_FEATURES))
    for name, i in COLUMN.items():
        rows[:, i] = np.asarray(out[name], dtype=np.float64).reshape(n)
    rows = np.nan_to_num(rows, nan=0.0, posinf=0.0, neginf=0.0)
    return Features(
        rows,
        mean.ravel(),
        refs["m1"].ravel(),
        floor_flat,
        refs["f1"].ravel(),
        np.repeat(history, 24),
        np.repeat(level[:, 0], 24),
    )


def _dates(first: dt.date, days: int) -> list[dt.date]:
    return [first + dt.timedelta(days=d) for d in range(days)]


def _hours_since_gap(missing: np.ndarray, gap_min: int = 10, cap_h: int = 48) -> np.ndarray:
    """Hours since the last hour with at least gap_min unrecorded minutes (a cut; the gateway off), capped."""
    idx = np.arange(len(missing))
    last = np.maximum.accumulate(np.where(missing >= gap_min, idx, -(10**9)))
    return np.minimum(idx - last, cap_h).astype(np.float64)


def as_model_input(rows: np.ndarray) -> np.ndarray:
    """The single float64 -> float32 cast, right before the model."""
    if rows.ndim != 2 or rows.shape[1] != N_FEATURES:
        raise EdgeModelError(f"feature rows must be (n, {N_FEATURES}), got {rows.shape}")
    return np.ascontiguousarray(rows, dtype=np.float32)
