"""Features per one-hour window, from a household's hourly mean power and floor; pure numpy, float64.

The input is one household's hourly mean power in W (= Wh per hour) and hourly floor (the lowest
5-minute mean of the hour, `edge_model.series`), aligned to the local midnight of `first_date`;
NaN marks a missing hour. Every feature at window i uses only hours <= i, so the
daemon scoring the latest hour and the trainer scoring a year see the same numbers. Rows are
float64 here; `as_model_input` is the one place they become float32.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edge_model import FEATURES_VERSION, MIN_HISTORY_DAYS, EdgeModelError  # noqa: F401 - FEATURES_VERSION and MIN_HISTORY_DAYS are part of this module's interface
from gateway.public_holidays import HolidayCalendar

FEATURE_NAMES = (
    "hour", "weekday", "weekend", "holiday", "season", "history_days",
    "power_w", "mean_3h_w", "mean_24h_w", "std_24h_w", "min_24h_w", "max_24h_w", "zero_hours_24h",
    "how_base_w", "how_dev_w", "how_ratio",
    "hod_base_w", "hod_dev_w", "hod_dev_mean_24h_w", "hod_dev_same_hour_3d_w",
    "day_ratio", "min_step_w", "std_ratio",
    "night_base_w", "night_step_w",
    "profile_corr", "low_frac_24h", "high_frac_24h",
    # v2: robust deviation, k-of-n persistence against a lagged reference, the night floor against
    # it, and the day so far (and yesterday) against the household's usual day and its mirror image.
    "hod_mad_w", "hod_z", "ref_dev_w", "up_days_7", "up_hours_24h", "down_days_7",
    "night_ref_step_w", "night_up_3",
    "dsf_ratio", "dsf_corr", "dsf_rev_corr", "prev_day_ratio", "prev_day_corr", "prev_day_rev_corr",
    # the shape of the excess over the last 24 h: a tap is a flat rectangle, an AC's duty cycle is not
    "up_run_h", "excess_mean_24h_w", "excess_cv_24h", "excess_vs_band",
    # v3: against the household's own range rather than its median: is this hour a new high for
    # this hour of day (over 14 days, and over the lagged 8-28 days), on how many hours and days;
    # the night core (00:00-04:00, inside every night tap) against the household's earlier nights.
    "rank_14", "over_max_14_w", "over_lag_max_w", "new_high_hours_24h", "new_high_days_7",
    "night_core_w", "night_core_over_max_14_w", "night_core_over_lag_w", "night_core_rank_14",
    # v4: the hour's floor, its lowest 5-minute mean: what ran all hour. A tap is a steady load and
    # lifts it by its full power; an AC compressor or a fridge cycles and barely moves it. Against
    # the same hour's earlier floors, and the lowest floor of the last 24 h against earlier days'.
    "floor_w", "floor_share", "floor_base_w", "floor_dev_w", "floor_over_max_14_w", "floor_over_lag_w",
    "floor_min_24h_w", "floor_min_step_w", "floor_min_over_max_14_w", "floor_up_days_7",
)
N_FEATURES = len(FEATURE_NAMES)
COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}

# Season index by month (0 = January): winter, summer, monsoon, post-monsoon.
SEASON_BY_MONTH = (0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 0)
HOW_WEEKS = 4  # same hour of week over the previous 4 weeks
HOD_DAYS = 7  # same hour of day over the previous 7 days
LEVEL_DAYS = 14  # daily level, minimum and spread over the previous 14 days
MAD_DAYS = 14  # spread of the same hour over the previous 14 days
REF_LAG_DAYS = (8, 28)  # the lagged reference: same hour 8..28 days back, before a recent step
PERSIST_DAYS = 7  # k-of-n: on how many of the last 7 days this hour was far above / below the reference


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """y[i] = x[i - k], NaN before the start."""
    y = np.full_like(x, np.nan)
    if k < len(x):
        y[k:] = x[: len(x) - k]
    return y


def _nanmedian_of_shifts(x: np.ndarray, shifts: range) -> np.ndarray:
    stack = np.stack([_shift(x, k) for k in shifts])
    out = np.full(len(x), np.nan)
    have = ~np.all(np.isnan(stack), axis=0)
    out[have] = np.nanmedian(stack[:, have], axis=0)
    return out


def _trailing(x: np.ndarray, width: int) -> np.ndarray:
    """(n, width) views of x[i-width+1 .. i], NaN-padded at the start."""
    return sliding_window_view(np.concatenate([np.full(width - 1, np.nan), x]), width)


def _nan_reduce(fn, windows: np.ndarray) -> np.ndarray:
    out = np.full(len(windows), np.nan)
    have = ~np.all(np.isnan(windows), axis=1)
    out[have] = fn(windows[have], axis=1)
    return out


def calendar_columns(first_date: dt.date, days: int, calendar: HolidayCalendar) -> np.ndarray:
    """(days, 4): weekday, weekend, holiday, season for each local date."""
    rows = []
    for d in range(days):
        date = first_date + dt.timedelta(days=d)
        rows.append((date.weekday(), date.weekday() >= 5, calendar.is_holiday(date), SEASON_BY_MONTH[date.month - 1]))
    return np.asarray(rows, dtype=np.float64).reshape(days, 4)


def build_features(power_w: np.ndarray, first_date: dt.date, calendar: HolidayCalendar, *, floor_w: np.ndarray) -> np.ndarray:
    """(n, N_FEATURES) float64 rows, one per hour of `power_w` and `floor_w` (n must be a whole number of days)."""
    with warnings.catch_warnings():
        # All-NaN slices (no history yet) are expected; they become neutral values below.
        warnings.simplefilter("ignore", RuntimeWarning)
        return _build_features(power_w, first_date, calendar, floor_w)


def _build_features(power_w: np.ndarray, first_date: dt.date, calendar: HolidayCalendar, floor_w: np.ndarray) -> np.ndarray:
    x = np.asarray(power_w, dtype=np.float64)
    n = len(x)
    if n == 0 or n % 24:
        raise EdgeModelError(f"features need whole local days of hourly values, got {n} hours")
    f = np.asarray(floor_w, dtype=np.float64)
    if f.shape != x.shape:
        raise EdgeModelError(f"floor_w must have one value per hour like power_w ({n}), got {f.shape}")
    f = np.where(np.isnan(f), x, np.minimum(f, x))  # a floor is never above its hour's mean
    days = n // 24
    hour = np.tile(np.arange(24, dtype=np.float64), days)
    day_index = np.repeat(np.arange(days), 24)
    cal = calendar_columns(first_date, days, calendar)[day_index]
    history_days = np.minimum(day_index, 28).astype(np.float64)

    w24 = _trailing(x, 24)
    mean_3h = _nan_reduce(np.nanmean, _trailing(x, 3))
    mean_24h = _nan_reduce(np.nanmean, w24)
    std_24h = _nan_reduce(np.nanstd, w24)
    min_24h = _nan_reduce(np.nanmin, w24)
    max_24h = _nan_reduce(np.nanmax, w24)
    zero_hours = np.sum(w24 < 10.0, axis=1).astype(np.float64)

    how_base = _nanmedian_of_shifts(x, range(168, 168 * HOW_WEEKS + 1, 168))
    hod_base = _nanmedian_of_shifts(x, range(24, 24 * HOD_DAYS + 1, 24))
    how_base = np.where(np.isnan(how_base), hod_base, how_base)
    how_dev = x - how_base
    hod_dev = x - hod_base
    hod_dev_mean_24h = _nan_reduce(np.nanmean, _trailing(hod_dev, 24))
    hod_dev_3d = np.nanmean(np.stack([_shift(hod_dev, k) for k in (0, 24, 48)]), axis=0)

    level_shifts = range(24, 24 * LEVEL_DAYS + 1, 24)
    day_ratio = mean_24h / (_nanmedian_of_shifts(mean_24h, level_shifts) + 20.0)
    min_step = min_24h - _nanmedian_of_shifts(min_24h, level_shifts)
    std_ratio = (std_24h + 5.0) / (_nanmedian_of_shifts(std_24h, level_shifts) + 5.0)

    nights = x.reshape(days, 24)[:, :6]
    night_base_day = np.full(days, np.nan)
    have = ~np.all(np.isnan(nights), axis=1)
    night_base_day[have] = np.nanquantile(nights[have], 0.2, axis=1)
    night_prev = _nanmedian_of_shifts(night_base_day, range(1, LEVEL_DAYS + 1))
    latest = np.where(hour >= 5, day_index, day_index - 1)
    valid_night = latest >= 0
    night_base = np.full(n, np.nan)
    night_step = np.full(n, np.nan)
    night_base[valid_night] = night_base_day[latest[valid_night]]
    night_step[valid_night] = night_base_day[latest[valid_night]] - night_prev[latest[valid_night]]

    b24 = _trailing(hod_base, 24)
    profile_corr = _rowwise_corr(w24, b24)
    with np.errstate(invalid="ignore"):
        low_frac = np.nanmean(np.where(np.isnan(b24), np.nan, w24 < 0.5 * b24), axis=1)
        high_frac = np.nanmean(np.where(np.isnan(b24), np.nan, (w24 - b24) > np.maximum(60.0, 0.3 * b24)), axis=1)

    # v2 ---------------------------------------------------------------------------------------
    mad_shifts = range(24, 24 * MAD_DAYS + 1, 24)
    base14 = _nanmedian_of_shifts(x, mad_shifts)
    hod_mad = _mad_of_shifts(x, base14, mad_shifts)
    hod_z = (x - base14) / (hod_mad + 15.0)
    ref = _nanmedian_of_shifts(x, range(24 * REF_LAG_DAYS[0], 24 * REF_LAG_DAYS[1] + 1, 24))
    ref = np.where(np.isnan(ref), base14, ref)
    ref_dev = x - ref
    up = np.where(np.isnan(ref), np.nan, ref_dev > np.maximum(40.0, 0.3 * ref))
    down = np.where(np.isnan(ref), np.nan, x < 0.6 * ref - 20.0)
    up_days = _sum_of_shifts(up, range(0, 24 * PERSIST_DAYS, 24))
    down_days = _sum_of_shifts(down, range(0, 24 * PERSIST_DAYS, 24))
    up_hours = _nan_reduce(np.nansum, _trailing(up, 24))

    night_ref = _nanmedian_of_shifts(night_base_day, range(REF_LAG_DAYS[0], REF_LAG_DAYS[1] + 1))
    night_ref = np.where(np.isnan(night_ref), night_prev, night_ref)
    night_ref_step_day = night_base_day - night_ref
    night_up_day = np.where(np.isnan(night_ref_step_day), np.nan, night_ref_step_day > np.maximum(30.0, 0.3 * night_ref))
    night_up3_day = _sum_of_shifts(night_up_day, range(0, 3))
    night_ref_step = np.full(n, np.nan)
    night_up3 = np.full(n, np.nan)
    night_ref_step[valid_night] = night_ref_step_day[latest[valid_night]]
    night_up3[valid_night] = night_up3_day[latest[valid_night]]

    # Against the lagged reference, so a multi-day h1/h6 does not become its own baseline after 4 days.
    dsf_ratio, dsf_corr, dsf_rev = _day_so_far(x.reshape(days, 24), ref.reshape(days, 24))
    up_run = _run_length(np.nan_to_num(up) > 0)
    excess_w = _trailing(np.where(np.nan_to_num(up) > 0, ref_dev, np.nan), 24)
    excess_mean = _nan_reduce(np.nanmean, excess_w)
    excess_cv = _nan_reduce(np.nanstd, excess_w) / (np.abs(excess_mean) + 20.0)
    excess_vs_band = ref_dev / (np.abs(excess_mean) + 20.0)
    # v3 ---------------------------------------------------------------------------------------
    prev14 = np.stack([_shift(x, 24 * k) for k in range(1, 15)])
    max14 = _nan_reduce_axis0(np.nanmax, prev14)
    rank14 = _rank(prev14, x)
    lag = np.stack([_shift(x, 24 * k) for k in range(REF_LAG_DAYS[0], REF_LAG_DAYS[1] + 1)])
    lag_max = _nan_reduce_axis0(np.nanmax, lag)
    lag_max = np.where(np.isnan(lag_max), max14, lag_max)
    new_high = np.where(np.isnan(lag_max), np.nan, x > lag_max + np.maximum(30.0, 0.1 * lag_max))
    new_high_hours = _nan_reduce(np.nansum, _trailing(new_high, 24))
    new_high_days = _sum_of_shifts(new_high, range(0, 24 * PERSIST_DAYS, 24))
    core = _night_core(x.reshape(days, 24))
    core_day = core[:, -1]  # the whole night's core, known from 04:00
    core_prev = np.stack([_shift(core_day, k) for k in range(1, 15)])
    core_max14 = _nan_reduce_axis0(np.nanmax, core_prev).repeat(24)
    core_rank = _rank(core_prev, core_day).repeat(24)
    core_rank = np.where(hour < 4, np.nan, core_rank)  # before 04:00 tonight's core is not complete
    core_lag = _nanmedian_of_shifts(core_day, range(REF_LAG_DAYS[0], REF_LAG_DAYS[1] + 1)).repeat(24)
    core_lag = np.where(np.isnan(core_lag), core_max14, core_lag)
    core_now = core.ravel()
    # v4 ---------------------------------------------------------------------------------------
    floor_base = _nanmedian_of_shifts(f, range(24, 24 * HOD_DAYS + 1, 24))
    floor_max14 = _nan_reduce_axis0(np.nanmax, np.stack([_shift(f, 24 * k) for k in range(1, 15)]))
    floor_lag = _nanmedian_of_shifts(f, range(24 * REF_LAG_DAYS[0], 24 * REF_LAG_DAYS[1] + 1, 24))
    floor_lag = np.where(np.isnan(floor_lag), _nanmedian_of_shifts(f, mad_shifts), floor_lag)
    floor_up = np.where(np.isnan(floor_lag), np.nan, f > floor_lag + np.maximum(30.0, 0.3 * floor_lag))
    fmin24 = _nan_reduce(np.nanmin, _trailing(f, 24))
    fmin_prev = np.stack([_shift(fmin24, k) for k in level_shifts])
    prev = lambda a: _shift(a.reshape(days, 24)[:, -1].repeat(24), 24)  # noqa: E731 - yesterday's full-day value
    columns = [
        hour, cal[:, 0], cal[:, 1], cal[:, 2], cal[:, 3], history_days,
        x, mean_3h, mean_24h, std_24h, min_24h, max_24h, zero_hours,
        how_base, how_dev, x / (how_base + 50.0),
        hod_base, hod_dev, hod_dev_mean_24h, hod_dev_3d,
        day_ratio, min_step, std_ratio,
        night_base, night_step,
        profile_corr, low_frac, high_frac,
        hod_mad, hod_z, ref_dev, up_days, up_hours, down_days,
        night_ref_step, night_up3,
        dsf_ratio.ravel(), dsf_corr.ravel(), dsf_rev.ravel(), prev(dsf_ratio), prev(dsf_corr), prev(dsf_rev),
        up_run, excess_mean, excess_cv, excess_vs_band,
        rank14, x - max14, x - lag_max, new_high_hours, new_high_days,
        core_now, core_now - core_max14, core_now - core_lag, core_rank,
        f, f / (x + 20.0), floor_base, f - floor_base, f - floor_max14, f - floor_lag,
        fmin24, fmin24 - _nan_reduce_axis0(np.nanmedian, fmin_prev), fmin24 - _nan_reduce_axis0(np.nanmax, fmin_prev),
        _sum_of_shifts(floor_up, range(0, 24 * PERSIST_DAYS, 24)),
    ]
    rows = np.column_stack(columns)
    return _fill_missing(rows)


def _nan_reduce_axis0(fn, stack: np.ndarray) -> np.ndarray:
    out = np.full(stack.shape[1], np.nan)
    have = ~np.all(np.isnan(stack), axis=0)
    out[have] = fn(stack[:, have], axis=0)
    return out


def _rank(stack: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Share of the earlier values (rows of stack) at or above x: 0 = a new high; NaN without history."""
    known = (~np.isnan(stack)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.sum(stack >= x, axis=0) / known
    return np.where((known == 0) | np.isnan(x), np.nan, share)


def _night_core(x: np.ndarray) -> np.ndarray:
    """(days, 24): the mean of 00:00-03:59 of the latest night so far (running before 04:00, then fixed)."""
    core = x[:, :4]
    running = np.cumsum(np.nan_to_num(core), axis=1) / np.cumsum(~np.isnan(core), axis=1).clip(min=1)
    out = np.empty_like(x)
    out[:, :4] = running
    out[:, 4:] = running[:, -1:]
    out[np.all(np.isnan(core), axis=1)] = np.nan
    return out


def _mad_of_shifts(x: np.ndarray, centre: np.ndarray, shifts: range) -> np.ndarray:
    """Median absolute deviation of x[i - k] (k in shifts) from centre[i]."""
    stack = np.abs(np.stack([_shift(x, k) for k in shifts]) - centre)
    out = np.full(len(x), np.nan)
    have = ~np.all(np.isnan(stack), axis=0)
    out[have] = np.nanmedian(stack[:, have], axis=0)
    return out


def _sum_of_shifts(x: np.ndarray, shifts: range) -> np.ndarray:
    """Sum of x[i - k] over shifts, NaN (unknown) counted as 0; NaN where x[i] itself is unknown."""
    total = np.nansum(np.stack([_shift(x, k) for k in shifts]), axis=0)
    return np.where(np.isnan(x), np.nan, total)


def _run_length(flag: np.ndarray) -> np.ndarray:
    """How many consecutive hours up to and including i are flagged."""
    idx = np.arange(len(flag))
    last_off = np.maximum.accumulate(np.where(flag, -1, idx))
    return (idx - last_off).astype(np.float64)


def _day_so_far(x: np.ndarray, usual: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(days, 24) each: energy so far today against the usual so far, and the correlation of today so far
    with the usual day and with the usual day reversed (h6), from running sums over hours 0..h."""
    mirror = usual[:, ::-1]
    count = np.arange(1, 25, dtype=np.float64)
    sx = np.cumsum(x, axis=1)
    ratio = (sx + 50.0) / (np.cumsum(usual, axis=1) + 50.0)

    def corr(b):
        sb, sxx, sbb, sxb = np.cumsum(b, axis=1), np.cumsum(x * x, axis=1), np.cumsum(b * b, axis=1), np.cumsum(x * b, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (count * sxb - sx * sb) / np.sqrt(np.maximum(count * sxx - sx * sx, 0) * np.maximum(count * sbb - sb * sb, 0))
        c[:, :4] = np.nan  # too few hours to say
        return c

    return ratio, corr(usual), corr(mirror)


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok = ~(np.isnan(a) | np.isnan(b))
    count = ok.sum(axis=1)
    a0 = np.where(ok, a, 0.0)
    b0 = np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a0.sum(axis=1) / count
        mb = b0.sum(axis=1) / count
        da = np.where(ok, a0 - ma[:, None], 0.0)
        db = np.where(ok, b0 - mb[:, None], 0.0)
        corr = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    corr[count < 12] = np.nan
    return corr


# What a missing value means when history is too short: "no change from usual".
_NEUTRAL = {
    "how_dev_w": 0.0, "how_ratio": np.nan, "hod_dev_w": 0.0, "hod_dev_mean_24h_w": 0.0,
    "hod_dev_same_hour_3d_w": 0.0, "day_ratio": 1.0, "min_step_w": 0.0, "std_ratio": 1.0,
    "night_step_w": 0.0, "profile_corr": 1.0, "low_frac_24h": 0.0, "high_frac_24h": 0.0,
    "hod_z": 0.0, "ref_dev_w": 0.0, "up_days_7": 0.0, "up_hours_24h": 0.0, "down_days_7": 0.0,
    "night_ref_step_w": 0.0, "night_up_3": 0.0, "dsf_ratio": 1.0, "dsf_corr": 1.0, "dsf_rev_corr": 0.0,
    "prev_day_ratio": 1.0, "prev_day_corr": 1.0, "prev_day_rev_corr": 0.0,
    "excess_mean_24h_w": 0.0, "excess_cv_24h": 0.0, "excess_vs_band": 0.0,
    "rank_14": 0.5, "over_max_14_w": 0.0, "over_lag_max_w": 0.0, "new_high_hours_24h": 0.0, "new_high_days_7": 0.0,
    "night_core_over_max_14_w": 0.0, "night_core_over_lag_w": 0.0, "night_core_rank_14": 0.5,
    "floor_dev_w": 0.0, "floor_over_max_14_w": 0.0, "floor_over_lag_w": 0.0, "floor_min_step_w": 0.0,
    "floor_min_over_max_14_w": 0.0, "floor_up_days_7": 0.0,
}


def _fill_missing(rows: np.ndarray) -> np.ndarray:
    power = rows[:, COLUMN["power_w"]]
    for name in ("how_base_w", "hod_base_w", "mean_3h_w", "mean_24h_w", "min_24h_w", "max_24h_w", "night_base_w", "night_core_w"):
        col = rows[:, COLUMN[name]]
        np.copyto(col, power, where=np.isnan(col))
    floor = rows[:, COLUMN["floor_w"]]
    for name in ("floor_base_w", "floor_min_24h_w"):
        col = rows[:, COLUMN[name]]
        np.copyto(col, floor, where=np.isnan(col))
    ratio = rows[:, COLUMN["how_ratio"]]
    np.copyto(ratio, power / (rows[:, COLUMN["how_base_w"]] + 50.0), where=np.isnan(ratio))
    for name, value in _NEUTRAL.items():
        if not np.isnan(value):
            col = rows[:, COLUMN[name]]
            col[np.isnan(col)] = value
    return np.nan_to_num(rows, nan=0.0, posinf=0.0, neginf=0.0)


def as_model_input(rows: np.ndarray) -> np.ndarray:
    """The single float64 -> float32 cast, right before the model."""
    if rows.ndim != 2 or rows.shape[1] != N_FEATURES:
        raise EdgeModelError(f"feature rows must be (n, {N_FEATURES}), got {rows.shape}")
    return np.ascontiguousarray(rows, dtype=np.float32)
