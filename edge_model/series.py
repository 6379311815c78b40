"""Readings at any resolution (1 s .. 1 min) to whole local days of hourly mean power and hourly floor.

The *floor* of an hour is the lowest of its twelve 5-minute mean powers: what ran the whole hour.
A tap is a steady load and lifts it; an AC compressor or a fridge cycles and does not.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from edge_model import EdgeModelError


SLOT_S = 300  # the floor's resolution: 5-minute means
SLOTS_PER_HOUR = 3_600 // SLOT_S


def floor_of_slots(slot_means: np.ndarray) -> np.ndarray:
    """Hourly floor from consecutive 5-minute means (NaN = no data): the lowest known slot of each hour."""
    slots = np.asarray(slot_means, dtype=np.float64).reshape(-1, SLOTS_PER_HOUR)
    out = np.full(len(slots), np.nan)
    have = ~np.all(np.isnan(slots), axis=1)
    out[have] = np.nanmin(slots[have], axis=1)
    return out


def hourly_mean_and_floor(ts_s: np.ndarray, power_w: np.ndarray, tz: str = "Asia/Kolkata") -> tuple[dt.date, np.ndarray, np.ndarray]:
    """(first local date, hourly mean W, hourly floor W) over whole local days; hours with no sample are NaN."""
    first, mean = hourly_mean_power(ts_s, power_w, tz)
    ts_s = np.asarray(ts_s, dtype=np.float64)
    zone = ZoneInfo(tz)
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    n_slots = len(mean) * SLOTS_PER_HOUR
    index = ((ts_s - origin) // SLOT_S).astype(np.int64)
    total = np.bincount(index, weights=np.asarray(power_w, dtype=np.float64), minlength=n_slots)[:n_slots]
    count = np.bincount(index, minlength=n_slots)[:n_slots]
    with np.errstate(invalid="ignore", divide="ignore"):
        slots = np.where(count > 0, total / count, np.nan)
    return first, mean, floor_of_slots(slots)


def hourly_mean_power(ts_s: np.ndarray, power_w: np.ndarray, tz: str = "Asia/Kolkata") -> tuple[dt.date, np.ndarray]:
    """(first local date, hourly mean W over whole local days); hours with no sample are NaN."""
    ts_s = np.asarray(ts_s, dtype=np.float64)
    power_w = np.asarray(power_w, dtype=np.float64)
    if len(ts_s) == 0:
        raise EdgeModelError("no readings")
    zone = ZoneInfo(tz)
    first = dt.datetime.fromtimestamp(float(ts_s.min()), zone).date()
    last = dt.datetime.fromtimestamp(float(ts_s.max()), zone).date()
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    days = (last - first).days + 1
    # Local-time hours; a fixed offset from the first midnight is exact for Indian time (no DST).
    index = ((ts_s - origin) // 3_600).astype(np.int64)
    total = np.bincount(index, weights=power_w, minlength=days * 24)[: days * 24]
    count = np.bincount(index, minlength=days * 24)[: days * 24]
    with np.errstate(invalid="ignore", divide="ignore"):
        return first, np.where(count > 0, total / count, np.nan)


def parse_csv(text: str) -> tuple[np.ndarray, np.ndarray]:
    """`ts,power_w` rows (ts in ISO 8601 with offset, or epoch seconds); a header line is optional."""
    ts, power = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.lower().startswith("ts,"):
            continue
        parts = line.split(",")
        if len(parts) != 2:
            raise EdgeModelError(f"line {number}: expected 'ts,power_w', got {line!r}")
        raw_ts, raw_p = parts
        try:
            t = float(raw_ts)
        except ValueError:
            try:
                stamp = dt.datetime.fromisoformat(raw_ts.strip())
            except ValueError as err:
                raise EdgeModelError(f"line {number}: ts {raw_ts!r} is neither ISO 8601 nor epoch seconds") from err
            if stamp.tzinfo is None:
                raise EdgeModelError(f"line {number}: ts {raw_ts!r} needs a UTC offset, e.g. +05:30")
            t = stamp.timestamp()
        try:
            ts.append(t)
            power.append(float(raw_p))
        except ValueError as err:
            raise EdgeModelError(f"line {number}: power_w {raw_p!r} is not a number") from err
    return np.asarray(ts), np.asarray(power)
