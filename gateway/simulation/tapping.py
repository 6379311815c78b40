"""Someone else's load on a simulated node's line: a steady tap in some local hours from a given day on.

Pure: wraps a power function (`gateway.sources.simulator.PowerFn`: start, windows, step in seconds
-> watts per window) and adds the tap's watts to the windows whose local time falls in its hours,
from `since_utc` on. The demo taps its house in the last nights of its history, so the theft
detector has something real to find (docs/theft-detection.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

PowerFn = Callable[[dt.datetime, int, float], np.ndarray]


@dataclass(frozen=True)
class SteadyTap:
    """A constant extra load of `watts` from `first_hour` to `last_hour` (local, exclusive; below
    first_hour wraps midnight) on every day from `since_utc` on."""

    watts: float
    first_hour: int
    last_hour: int
    since_utc: dt.datetime
    tz: str = "Asia/Kolkata"

    def __post_init__(self) -> None:
        if not (0 <= self.first_hour < 24 and 0 <= self.last_hour <= 24 and self.first_hour != self.last_hour % 24):
            raise ValueError(f"a tap's hours {self.first_hour}..{self.last_hour}: expected two different hours 0..24")
        if self.watts <= 0:
            raise ValueError(f"a tap of {self.watts} W: expected a positive load")

    def added_w(self, start_utc: dt.datetime, windows: int, step_s: float) -> np.ndarray:
        """The tap's watts in each window (0 outside its hours and before it starts)."""
        ends_s = start_utc.timestamp() + step_s * np.arange(1, windows + 1)
        zone = ZoneInfo(self.tz)
        # Each window counts as the local hour its middle falls in; the offset is looked up per
        # distinct UTC hour, so a zone with summer time is right too.
        mids = ends_s - step_s / 2
        hours_utc = np.floor(mids / 3600).astype(np.int64)
        offsets = {
            int(h): zone.utcoffset(
                dt.datetime.fromtimestamp(int(h) * 3600, dt.UTC).replace(tzinfo=None)
            ).total_seconds()
            for h in np.unique(hours_utc)
        }
        local_hour = ((mids + np.vectorize(offsets.__getitem__, otypes=[float])(hours_utc)) // 3600 % 24).astype(int)
        if self.first_hour < self.last_hour:
            in_hours = (local_hour >= self.first_hour) & (local_hour < self.last_hour)
        else:
            in_hours = (local_hour >= self.first_hour) | (local_hour < self.last_hour)
        on = in_hours & (mids >= self.since_utc.timestamp())
        return np.where(on, self.watts, 0.0)


def tapped(power: PowerFn, tap: SteadyTap) -> PowerFn:
    """`power` with the tap's load on top."""

    def fn(start_utc: dt.datetime, windows: int, step_s: float) -> np.ndarray:
        return np.asarray(power(start_utc, windows, step_s), dtype=np.float64) + tap.added_w(start_utc, windows, step_s)

    return fn
