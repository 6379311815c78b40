"""Persistent lifts: how far a house's load at an hour stayed above its own usual, judged by its own history.

Pure numpy. Every array is (days, 24): one value per local day and end hour. A *lift* is the
lowest excess over the last `kd` days of a series at the same end hour (a tap is there every day;
a heater run once is not) above the median of the REF_DAYS before those days, so a tap that
started within them is not yet part of its own reference. Its *calibration* is the house's own
spread of that lift at the same hours over the CAL_DAYS before: the same 150 W means a lot in a
flat whose nights never move and little in a bungalow whose evenings swing by a kilowatt.

Everything at day d uses only days <= d (tests check it), so the daemon scoring today and the
evaluation scoring a year see the same numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

REF_DAYS = 28  # the usual level: median of the same end hour over these days before the lift's days
MIN_REF_DAYS = 14  # fewer known days than this: no reference yet
CAL_DAYS = 56  # the house's own spread of a lift: these days before it ...
MIN_CAL_DAYS = 14  # ... of which at least this many known (the house is "calibrated" from then on)
CAL_QUANTILE = 0.95
CAL_NEIGHBOURS = 1  # the hours either side that count as the same hour for the spread


def past(v: np.ndarray, days: int, lag: int = 1) -> np.ndarray:
    """(D, days, ...) views: for day d, v[d - lag - days + 1 .. d - lag] (NaN before the start)."""
    pad = np.concatenate([np.full((days + lag - 1,) + v.shape[1:], np.nan), v])
    return np.moveaxis(sliding_window_view(pad, days, axis=0)[: v.shape[0]], -1, 1)


def last_days(v: np.ndarray, k: int, fn=np.nanmin) -> np.ndarray:
    """fn over days d - k + 1 .. d at the same position (k = 1: v itself)."""
    if k == 1:
        return v.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(past(v, k, lag=0), axis=1)


def with_neighbours(v: np.ndarray, band: int = CAL_NEIGHBOURS) -> np.ndarray:
    """(D, 24, 2 * band + 1): each end hour beside its neighbours, circularly (23:00 next to 00:00)."""
    ext = np.concatenate([v[:, -band:], v, v[:, :band]], axis=1) if band else v
    return sliding_window_view(ext, 2 * band + 1, axis=1)


def reference(v: np.ndarray, kd: int) -> np.ndarray:
    """The usual value of each end hour: median of the REF_DAYS before the last kd days (NaN while too few)."""
    window = past(v, REF_DAYS, lag=kd)
    known = np.sum(~np.isnan(window), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(window, axis=1)
    return np.where(known >= MIN_REF_DAYS, med, np.nan)


def lift(v: np.ndarray, kd: int) -> tuple[np.ndarray, np.ndarray]:
    """(lift in the series' unit, reference): the lowest excess over the reference across the last kd days."""
    ref = reference(v, kd)
    excess = v - ref
    return last_days(excess, kd, np.nanmin), ref


def steadiness(v: np.ndarray, kd: int, ref: np.ndarray) -> np.ndarray:
    """Lowest over highest excess across the last kd days (1: the same lift every day, as a tap gives)."""
    excess = v - ref
    low, high = last_days(excess, kd, np.nanmin), last_days(excess, kd, np.nanmax)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(high > 0, np.clip(low / high, -1.0, 1.0), 0.0)


class Calibration:
    """The house's own history of a lift at each end hour (and its neighbours), over CAL_DAYS."""

    def __init__(self, lifted: np.ndarray, kd: int):
        hist = past(with_neighbours(lifted), CAL_DAYS, lag=kd)  # (D, CAL_DAYS, 24, 2b+1)
        d = hist.shape[0]
        hist = np.sort(hist.transpose(0, 2, 1, 3).reshape(d, 24, -1), axis=-1)  # NaN sort last
        known = np.sum(~np.isnan(hist), axis=-1)
        enough = known >= MIN_CAL_DAYS * (2 * CAL_NEIGHBOURS + 1)
        last = np.maximum(known - 1, 0)
        pos = last * CAL_QUANTILE
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        v_lo = np.take_along_axis(hist, lo[..., None], axis=-1)[..., 0]
        v_hi = np.take_along_axis(hist, hi[..., None], axis=-1)[..., 0]
        q = v_lo + (pos - lo) * (v_hi - v_lo)
        top = np.take_along_axis(hist, last[..., None], axis=-1)[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            rank = np.sum(hist >= lifted[:, :, None], axis=-1) / known
        self.known = known
        self.quantile = np.where(enough, q, np.nan)  # the house's usual high lift here
        self.top = np.where(enough, top, np.nan)  # its highest
        self.rank = np.where(enough, rank, np.nan)  # share of its history at least this high (0: a new high)
        self.calibrated = enough


def trailing(v: np.ndarray, k: int, fn) -> np.ndarray:
    """fn over the k values ending at each position of a flat series (NaN before k of them)."""
    if k == 1:
        return v.astype(np.float64, copy=True)
    out = np.full(len(v), np.nan)
    if len(v) >= k:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[k - 1 :] = fn(sliding_window_view(v, k), axis=1)
    return out
