"""Readings at any resolution (1 s .. 1 min) to whole local days of hourly mean power, and back to windows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from edge_model import EdgeModelError


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
