"""A house's power minute by minute over whole local days, and the hourly views the detectors read.

The *floor* of a span is the lowest of its 5-minute mean powers: what ran the whole span. A tap is
a steady load and lifts it by its full power; an AC compressor, a fridge or a kettle cycles or
stops and barely moves it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

from edge_model import EdgeModelError

MINUTES_PER_DAY = 1_440
SLOT_MIN = 5  # the floor's resolution: 5-minute means
SLOTS_PER_HOUR = 60 // SLOT_MIN


@dataclass(frozen=True, eq=False)
class HouseSeries:
    """Power in W per local minute from the local midnight of `first_date`; NaN where nothing was recorded."""

    first_date: dt.date
    minute_w: np.ndarray

    def __post_init__(self):
        w = np.asarray(self.minute_w, dtype=np.float64)
        if w.ndim != 1 or len(w) == 0 or len(w) % MINUTES_PER_DAY:
            raise EdgeModelError(f"a house series is whole local days of minutes, got {w.shape}")
        object.__setattr__(self, "minute_w", w)

    @property
    def days(self) -> int:
        return len(self.minute_w) // MINUTES_PER_DAY

    @cached_property
    def hourly_mean_w(self) -> np.ndarray:
        """(days, 24) mean power of each hour over its recorded minutes."""
        return _nan_reduce(np.nanmean, self.minute_w.reshape(-1, 60)).reshape(self.days, 24)

    @cached_property
    def slot_w(self) -> np.ndarray:
        """5-minute means, flat."""
        return _nan_reduce(np.nanmean, self.minute_w.reshape(-1, SLOT_MIN))

    @cached_property
    def hourly_floor_w(self) -> np.ndarray:
        """(days, 24) lowest 5-minute mean of each hour."""
        return _nan_reduce(np.nanmin, self.slot_w.reshape(-1, SLOTS_PER_HOUR)).reshape(self.days, 24)

    @cached_property
    def missing_minutes(self) -> np.ndarray:
        """(days, 24) minutes of each hour with no record (a gateway off, a power cut)."""
        return np.isnan(self.minute_w).reshape(self.days, 24, 60).sum(axis=2)

    def window(self, start_day: int, days: int) -> HouseSeries:
        a = start_day * MINUTES_PER_DAY
        return HouseSeries(
            self.first_date + dt.timedelta(days=start_day), self.minute_w[a : a + days * MINUTES_PER_DAY]
        )

    def hour_start_s(self, tz: str) -> np.ndarray:
        """Epoch seconds of each hour's start, flat (local hours of an Indian day: no DST)."""
        zone = ZoneInfo(tz)
        origin = dt.datetime(self.first_date.year, self.first_date.month, self.first_date.day, tzinfo=zone).timestamp()
        return origin + 3_600.0 * np.arange(self.days * 24)


def _nan_reduce(fn, rows: np.ndarray) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    have = ~np.all(np.isnan(rows), axis=1)
    if have.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[have] = fn(rows[have], axis=1)
    return out


def from_readings(ts_s: np.ndarray, power_w: np.ndarray, tz: str = "Asia/Kolkata") -> HouseSeries:
    """Samples at any resolution (1 s .. 1 min) averaged into the local minutes of whole local days."""
    ts_s = np.asarray(ts_s, dtype=np.float64)
    power_w = np.asarray(power_w, dtype=np.float64)
    if len(ts_s) == 0:
        raise EdgeModelError("no readings")
    zone = ZoneInfo(tz)
    first = dt.datetime.fromtimestamp(float(ts_s.min()), zone).date()
    last = dt.datetime.fromtimestamp(float(ts_s.max()), zone).date()
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    n = ((last - first).days + 1) * MINUTES_PER_DAY
    index = ((ts_s - origin) // 60).astype(np.int64)  # a fixed offset from midnight is exact for Indian time (no DST)
    total = np.bincount(index, weights=power_w, minlength=n)[:n]
    count = np.bincount(index, minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return HouseSeries(first, np.where(count > 0, total / count, np.nan))


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
                raise EdgeModelError(f"line {number}: ts {raw_ts!r} needs a UTC offset, e.g. +05:30") from None
            t = stamp.timestamp()
        try:
            p = float(raw_p)
        except ValueError as err:
            raise EdgeModelError(f"line {number}: power_w {raw_p!r} is not a number") from err
        if not np.isfinite(p):
            raise EdgeModelError(f"line {number}: power_w {raw_p!r} is not a finite number")
        ts.append(t)
        power.append(p)
    return np.asarray(ts), np.asarray(power)
