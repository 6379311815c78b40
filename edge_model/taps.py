"""Someone else's load on the house's connection, and the house's own look-alikes, added minute by minute.

Pure: a minute series in, a new one out with the minutes that carry a tap. Used to train the
forest, to evaluate every detector on houses nobody here made, and by `powergw model score
--inject` so anyone can try a tap on their own recording. Kinds are rows of a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edge_model import EdgeModelError
from edge_model.series import MINUTES_PER_DAY


@dataclass(frozen=True)
class Tap:
    """One injection: what, how large, when it starts, in which local hours, on which days."""

    kind: str
    watts: float
    start_day: int
    first_hour: int = 0
    last_hour: int = 24  # exclusive; below first_hour wraps midnight
    days: int | None = None  # how long it runs (None: to the end)
    period_min: int = 30  # switched: one on/off cycle
    duty: float = 0.5  # switched: share of the cycle it is on
    per_week: int = 3  # some_days: days a week it runs
    seed: int = 0


def band_minutes(first_hour: int, last_hour: int) -> np.ndarray:
    """A day's minutes in [first_hour, last_hour) (wrapping midnight when last < first; equal: all day)."""
    hour = np.arange(MINUTES_PER_DAY) // 60
    if first_hour == last_hour % 24 and last_hour in (first_hour, first_hour + 24):
        return np.ones(MINUTES_PER_DAY, dtype=bool)
    if first_hour < last_hour:
        return (hour >= first_hour) & (hour < last_hour)
    return (hour >= first_hour) | (hour < last_hour)


def _steady(tap: Tap, days: int, rng) -> np.ndarray:
    active = np.arange(days) >= tap.start_day
    return np.outer(active, band_minutes(tap.first_hour, tap.last_hour))


def _switched(tap: Tap, days: int, rng) -> np.ndarray:
    minute = np.arange(MINUTES_PER_DAY)
    phase = int(rng.integers(0, tap.period_min))
    on = ((minute + phase) % tap.period_min) < round(tap.duty * tap.period_min)
    return np.outer(np.arange(days) >= tap.start_day, band_minutes(tap.first_hour, tap.last_hour) & on)


def _some_days(tap: Tap, days: int, rng) -> np.ndarray:
    active = np.zeros(days, dtype=bool)
    for week in range(tap.start_day, days, 7):
        chosen = week + rng.choice(7, size=min(tap.per_week, 7), replace=False)
        active[chosen[chosen < days]] = True
    active[tap.start_day] = True  # it starts on its first day
    return np.outer(active, band_minutes(tap.first_hour, tap.last_hour))


# kind -> which minutes carry the load
KINDS: dict[str, Callable[[Tap, int, np.random.Generator], np.ndarray]] = {
    "constant": _steady,
    "night": _steady,
    "evening": _steady,
    "switched": _switched,
    "some_days": _some_days,
}

# Defaults per kind when only KIND:WATTS is given (powergw model score --inject; the goals' cases)
PRESETS = {
    "night": dict(first_hour=1, last_hour=4),
    "constant": dict(first_hour=0, last_hour=0),
    "evening": dict(first_hour=18, last_hour=23),
    "switched": dict(first_hour=18, last_hour=22, period_min=30, duty=0.5),
    "some_days": dict(first_hour=18, last_hour=23, per_week=3),
}


def inject(minute_w: np.ndarray, tap: Tap) -> tuple[np.ndarray, np.ndarray]:
    """(the series with the tap's load added, the minutes that carry it)."""
    if tap.kind not in KINDS:
        raise EdgeModelError(f"unknown tap kind {tap.kind!r}; expected one of {', '.join(KINDS)}")
    if not tap.watts > 0:
        raise EdgeModelError(f"a tap draws power: watts must be above 0, got {tap.watts}")
    x = np.asarray(minute_w, dtype=np.float64)
    days = len(x) // MINUTES_PER_DAY
    mask = KINDS[tap.kind](tap, days, np.random.default_rng([tap.seed, 0x7A9]))
    if tap.days is not None:
        mask &= (np.arange(days) < tap.start_day + tap.days)[:, None]
    mask = mask.ravel()
    return np.where(mask, x + tap.watts, x), mask


def parse_inject(text: str, days: int) -> Tap:
    """KIND:WATTS[:START_DAY] (start defaults to the middle of the series), e.g. night:300 or switched:1000:40."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in PRESETS:
        raise EdgeModelError(
            f"--inject {text!r}: expected KIND:WATTS[:START_DAY] with KIND one of {', '.join(PRESETS)}"
        )
    try:
        watts = float(parts[1])
        start = int(parts[2]) if len(parts) == 3 else days // 2
    except ValueError:
        raise EdgeModelError(f"--inject {text!r}: WATTS must be a number and START_DAY a whole day") from None
    if not 0 < watts <= 20_000 or not 0 <= start < days:
        raise EdgeModelError(f"--inject {text!r}: WATTS must be in (0, 20000] and START_DAY within the {days} days")
    return Tap(parts[0], watts, start, **PRESETS[parts[0]])


# -- the house's own look-alikes, for training: never labelled a tap -------------------------------


def sporadic(minute_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A steady load on some days at random hours (a heater, a pump, guests' AC)."""
    x = np.asarray(minute_w, dtype=np.float64).reshape(-1, MINUTES_PER_DAY).copy()
    for d in np.flatnonzero(rng.random(len(x)) < rng.uniform(0.03, 0.15)):
        a = int(rng.integers(0, MINUTES_PER_DAY))
        x[d, a : min(MINUTES_PER_DAY, a + int(rng.integers(60, 720)))] += float(
            np.exp(rng.uniform(np.log(200), np.log(2500)))
        )
    return x.ravel()


def power_cuts(minute_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Power cuts (nothing recorded) and an inverter's battery recharging after each, fading out."""
    x = np.asarray(minute_w, dtype=np.float64).reshape(-1, MINUTES_PER_DAY).copy()
    for _ in range(int(rng.integers(2, 8))):
        d, a, cut = int(rng.integers(1, len(x))), int(rng.integers(0, 1_000)), int(rng.integers(30, 240))
        x[d, a : a + cut] = np.nan
        end = min(MINUTES_PER_DAY, a + cut + int(rng.integers(120, 360)))
        x[d, a + cut : end] += rng.uniform(200, 900) * np.linspace(1.0, 0.2, max(0, end - a - cut))
    return x.ravel()
