"""Attack and benign-anomaly injection on hourly mean power, each labelled with its kind and span.

Theft: tapping (extra load delta through this connection: constant, night-only, intermittent,
recurring on some weekdays) and the false-data attacks h1-h6 of Jokar, Arianpoo and Leung (IEEE
Trans. Smart Grid, 2016). Benign: what a household really does that looks odd (a new AC in a heat
wave, guests, a festival, a holiday away, an EV charger); these are what Ignore is for. Training
labels the short ones normal and the new persistent loads (PERSISTENT_BENIGN_KINDS) "alert once"
(see `dataset.to_examples`), because hour by hour they look like a tap. All functions are pure:
(hourly power, span, rng) -> (new power, per-hour mask).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

THEFT = "theft"
BENIGN = "benign"


@dataclass(frozen=True)
class Injection:
    """One injected event: hours [start_h, end_h) of the series, relative to its first local midnight."""

    kind: str
    category: str  # THEFT or BENIGN
    start_h: int
    end_h: int
    magnitude_w: float = 0.0  # delta for tapping and the benign loads; 0 for h1-h6


Injector = Callable[[np.ndarray, int, int, np.random.Generator, float], tuple[np.ndarray, np.ndarray]]


def _hours(start_h: int, end_h: int) -> np.ndarray:
    return np.arange(start_h, end_h)


def _band_mask(n: int, start_h: int, end_h: int, first_hour: int, last_hour: int) -> np.ndarray:
    """Hours in [start_h, end_h) whose hour of day is in the band first..last (wrapping midnight)."""
    mask = np.zeros(n, dtype=bool)
    idx = _hours(start_h, end_h)
    hod = idx % 24
    inside = (hod >= first_hour) | (hod < last_hour) if first_hour > last_hour else (hod >= first_hour) & (hod < last_hour)
    mask[idx[inside]] = True
    return mask


def tap_constant(x, start_h, end_h, rng, delta_w):
    mask = np.zeros(len(x), dtype=bool)
    mask[start_h:end_h] = True
    return x + delta_w * mask, mask


def tap_night(x, start_h, end_h, rng, delta_w):
    first = int(rng.integers(20, 24))
    last = int(rng.integers(4, 7))
    mask = _band_mask(len(x), start_h, end_h, first, last)
    return x + delta_w * mask, mask


def tap_intermittent(x, start_h, end_h, rng, delta_w):
    mask = np.zeros(len(x), dtype=bool)
    mask[start_h:end_h] = rng.random(end_h - start_h) < rng.uniform(0.3, 0.7)
    # A tap that runs part of an hour shows as a fraction of delta in that hour's mean.
    fraction = np.where(mask, rng.uniform(0.4, 1.0, len(x)), 0.0)
    return x + delta_w * fraction, mask


def tap_recurring(x, start_h, end_h, rng, delta_w):
    weekdays = rng.choice(7, size=int(rng.integers(2, 4)), replace=False)
    first = int(rng.integers(8, 20))
    mask = _band_mask(len(x), start_h, end_h, first, min(24, first + int(rng.integers(3, 9))))
    day_of = (np.arange(len(x)) // 24 + int(rng.integers(0, 7))) % 7  # weekday of the series' day 0 is arbitrary
    mask &= np.isin(day_of, weekdays)
    return x + delta_w * mask, mask


def _days(start_h: int, end_h: int) -> range:
    return range(start_h // 24, -(-end_h // 24))


def _per_day(x, start_h, end_h, rng, fn):
    y = x.copy()
    mask = np.zeros(len(x), dtype=bool)
    for d in _days(start_h, end_h):
        day = slice(d * 24, d * 24 + 24)
        if day.stop > len(x):
            break
        y[day] = fn(x[day], rng)
        mask[day] = True
    return y, mask


def jokar_h1(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, lambda day, r: day * r.uniform(0.1, 0.8))


def _h2_day(day, rng):
    length = int(rng.integers(4, 25))
    start = int(rng.integers(0, 24 - length + 1))
    out = day.copy()
    out[start : start + length] = 0.0
    return out


def jokar_h2(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, _h2_day)


def jokar_h3(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, lambda day, r: day * r.uniform(0.1, 0.8, len(day)))


def jokar_h4(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, lambda day, r: r.uniform(0.1, 0.8, len(day)) * day.mean())


def jokar_h5(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, lambda day, r: np.full_like(day, day.mean()))


def jokar_h6(x, start_h, end_h, rng, _delta):
    return _per_day(x, start_h, end_h, rng, lambda day, r: day[::-1].copy())


def new_ac_heatwave(x, start_h, end_h, rng, delta_w):
    """A newly bought AC: nights from bedtime to dawn and hot afternoons, from start to the end."""
    night = _band_mask(len(x), start_h, len(x), int(rng.integers(21, 24)), int(rng.integers(5, 7)))
    afternoon = _band_mask(len(x), start_h, len(x), 13, 17) & (rng.random(len(x)) < 0.4)
    duty = rng.uniform(0.5, 0.85, len(x))
    mask = night | afternoon
    return x + delta_w * duty * mask, mask


def guests(x, start_h, end_h, rng, _delta):
    mask = _band_mask(len(x), start_h, end_h, 6, 24)
    return np.where(mask, x * rng.uniform(1.3, 1.8), x), mask


def festival(x, start_h, end_h, rng, delta_w):
    mask = _band_mask(len(x), start_h, end_h, 17, 24)
    return x + delta_w * mask, mask


def away(x, start_h, end_h, rng, _delta):
    """Nobody home: only the fridge and standby, the level of a quiet night."""
    mask = np.zeros(len(x), dtype=bool)
    mask[start_h:end_h] = True
    history = x[max(0, start_h - 14 * 24) : max(1, start_h)]
    floor = np.quantile(history, 0.05) if len(history) else x.min()
    noise = rng.normal(0, 0.05 * floor, len(x))
    return np.where(mask, np.minimum(x, floor + noise), x), mask


def ev_charger(x, start_h, end_h, rng, delta_w):
    """An e-scooter or car on charge most nights for a few hours, from start to the end."""
    first = int(rng.integers(20, 24))
    mask = _band_mask(len(x), start_h, len(x), first, (first + int(rng.integers(3, 6))) % 24)
    mask &= rng.random(len(x)) < 0.85
    return x + delta_w * mask, mask


@dataclass(frozen=True)
class Kind:
    """How to draw and apply one kind of injection."""

    category: str
    apply: Injector
    magnitude_w: tuple[float, float]  # uniform range; (0, 0) when the kind has none
    days: tuple[int, int]  # duration range; benign persistent kinds run to the end anyway


KINDS: dict[str, Kind] = {
    "tap_constant": Kind(THEFT, tap_constant, (50, 2000), (3, 30)),
    "tap_night": Kind(THEFT, tap_night, (50, 2000), (3, 30)),
    "tap_intermittent": Kind(THEFT, tap_intermittent, (50, 2000), (3, 30)),
    "tap_recurring": Kind(THEFT, tap_recurring, (50, 2000), (7, 30)),
    "h1": Kind(THEFT, jokar_h1, (0, 0), (1, 10)),
    "h2": Kind(THEFT, jokar_h2, (0, 0), (1, 10)),
    "h3": Kind(THEFT, jokar_h3, (0, 0), (1, 10)),
    "h4": Kind(THEFT, jokar_h4, (0, 0), (1, 10)),
    "h5": Kind(THEFT, jokar_h5, (0, 0), (1, 10)),
    "h6": Kind(THEFT, jokar_h6, (0, 0), (1, 10)),
    "new_ac_heatwave": Kind(BENIGN, new_ac_heatwave, (900, 1800), (30, 30)),
    "guests": Kind(BENIGN, guests, (0, 0), (2, 10)),
    "festival": Kind(BENIGN, festival, (200, 800), (1, 3)),
    "away": Kind(BENIGN, away, (0, 0), (3, 14)),
    "ev_charger": Kind(BENIGN, ev_charger, (500, 3300), (30, 30)),
}
THEFT_KINDS = tuple(k for k, v in KINDS.items() if v.category == THEFT)
TAP_KINDS = ("tap_constant", "tap_night", "tap_intermittent", "tap_recurring")  # someone drawing power through this connection
BENIGN_KINDS = tuple(k for k, v in KINDS.items() if v.category == BENIGN)
PERSISTENT_BENIGN_KINDS = ("new_ac_heatwave", "ev_charger")  # run from their start to the end of the series


# How each kind moves the hour's *floor* (its lowest 5-minute mean; edge_model.series). The
# injections work on hourly means; a steady load lifts the floor by what it adds to the mean, a
# load that cycles or runs part of the hour mostly does not, and the false-data attacks scale,
# flatten or mirror the floor with the mean.
STEADY_KINDS = ("tap_constant", "tap_night", "tap_recurring", "festival", "ev_charger")
SCALING_KINDS = ("h1", "h2", "h3", "guests")
FLAT_KINDS = ("h4", "h5")


def floor_after(kind: str, before: np.ndarray, after: np.ndarray, floor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The hourly floor after injecting `kind` (before/after: the hourly means around the injection)."""
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    added = after - before
    if kind in STEADY_KINDS:
        out = floor + added
    elif kind == "new_ac_heatwave":
        # A compressor off for less than a 5-minute slot leaves part of its power in the lowest slot:
        # duty 0.5-0.85 of a 15-30 minute cycle (as in the household simulator).
        duty = rng.uniform(0.5, 0.85, len(added))
        off_s = (1.0 - duty) * rng.uniform(900.0, 1_800.0, len(added))
        out = floor + (added / duty) * np.clip(1.0 - off_s / 300.0, 0.0, None)
    elif kind in SCALING_KINDS:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(before > 0, floor * after / before, after)
    elif kind in FLAT_KINDS:
        out = np.where(added != 0, after, floor)
    elif kind == "h6":
        days = len(after) // 24
        changed = (added.reshape(days, 24) != 0).any(axis=1).repeat(24)
        out = np.where(changed, floor.reshape(days, 24)[:, ::-1].ravel(), floor)
    else:  # tap_intermittent runs part of each hour; away only lowers the mean
        out = floor.copy()
    return np.clip(np.minimum(out, after), 0.0, None)


def inject(
    x: np.ndarray,
    kind: str,
    start_day: int,
    rng: np.random.Generator,
    days: int | None = None,
    magnitude_w: float | None = None,
) -> tuple[np.ndarray, np.ndarray, Injection]:
    """Apply one `kind` from local day `start_day`; returns new series, per-hour mask and label."""
    spec = KINDS[kind]
    if days is None:
        days = int(rng.integers(spec.days[0], spec.days[1] + 1))
    if magnitude_w is None:
        low, high = spec.magnitude_w
        magnitude_w = float(np.exp(rng.uniform(np.log(low), np.log(high)))) if high > 0 else 0.0
    start_h = start_day * 24
    end_h = min(len(x), start_h + days * 24)
    y, mask = spec.apply(np.asarray(x, dtype=np.float64), start_h, end_h, rng, magnitude_w)
    if kind in PERSISTENT_BENIGN_KINDS:
        end_h = len(x)
    return np.maximum(y, 0.0), mask, Injection(kind, spec.category, start_h, end_h, magnitude_w)
