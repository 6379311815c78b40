"""One house's hourly windows as the alert logic sees them, the alerts it makes, and hour-band helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Windows:
    """One household's scored hourly windows, oldest first."""

    start_s: np.ndarray  # epoch seconds of each window's start
    hour: np.ndarray  # local hour of day
    weekday: np.ndarray  # local weekday, Monday = 0
    day: np.ndarray  # local day number (any origin), for "spread over days"
    power_w: np.ndarray  # the window's mean power
    usual_w: np.ndarray  # the household's usual power at this hour (median of the previous week)
    score: np.ndarray
    history_days: np.ndarray
    usual_floor_w: np.ndarray | None = None  # the household's usual floor at this hour, for Ignore rules
    floor_w: np.ndarray | None = None  # the window's floor (lowest 5-minute mean), as metered
    steady: np.ndarray | None = None  # the steady-lift detector's hits (edge_model.steady)
    steady_w: np.ndarray | None = None  # ... the lift it found, in W ...
    steady_span_h: np.ndarray | None = None  # ... and the hours it held over, ending at the window


@dataclass(frozen=True)
class Alert:
    """A theft alert: when, why in words, and the numbers behind the words."""

    index: int  # the window at which it fired
    start_s: float
    score: float
    threshold: float
    hits: tuple[int, ...]  # windows over the threshold that made it
    message: str
    numbers: dict = field(default_factory=dict)


def _hour_band(hours: np.ndarray) -> tuple[int, int]:
    """The shortest circular band of hours covering all of `hours`: (first, last exclusive)."""
    present = sorted(set(int(h) for h in hours))
    if len(present) == 24:
        return 0, 0
    # The band is the complement of the largest gap between consecutive hours.
    gaps = [((present[(k + 1) % len(present)] - present[k]) % 24 or 24, k) for k in range(len(present))]
    gap, k = max(gaps)
    first = present[(k + 1) % len(present)]
    last = (present[k] + 1) % 24
    return first, last


def _in_band(hour: np.ndarray, first: int, last: int) -> np.ndarray:
    if first == last:
        return np.ones(len(hour), dtype=bool)
    if first < last:
        return (hour >= first) & (hour < last)
    return (hour >= first) | (hour < last)


def _runs_widened(mask: np.ndarray, widen_h: int) -> np.ndarray:
    """A 24-hour mask with every run of hours widened by widen_h each side (circularly)."""
    out = mask.copy()
    for k in range(1, widen_h + 1):
        out |= np.roll(mask, k) | np.roll(mask, -k)
    return out
