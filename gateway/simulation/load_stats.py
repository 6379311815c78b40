"""Figures that set a household's load series beside a real house's: energy, floors, day-to-day variability.

Pure numpy on (days, 1440) arrays of minute power in W from local midnight (NaN where a recording
has a gap), so simulated households and a recording are measured by the same code. `main` is the
command line `python -m gateway.simulation.load_stats`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .household import Household, LoadProfile, random_profile
from .wide_draw import random_wide_profile

MINUTES_PER_DAY = 1_440
NIGHT_SLOTS = slice(12, 60)  # 5-minute slots from 01:00 to 05:00
HISTORY_DAYS = 7  # same-hour variability compares a day with the median of the 7 before it
RAISED_NIGHT_W = 100.0  # a night whose floor is this far above the house's usual night floor


@dataclass(frozen=True)
class LoadFigures:
    """One series' figures; percentiles are (p10, p50, p90) over its days."""

    days: int
    daily_kwh: tuple[float, float, float]
    median_hourly_w: float
    night_floor_w: tuple[float, float, float]
    floor_24h_w: tuple[float, float, float]
    same_hour_variability: float
    raised_nights: float  # share of nights with a floor >= RAISED_NIGHT_W above the median night floor


def _p(x: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.nanpercentile(x, [10, 50, 90]))


def daily_kwh(minutes: np.ndarray) -> np.ndarray:
    return np.nanmean(minutes, axis=1) * 24 / 1_000


def five_minute_means(minutes: np.ndarray) -> np.ndarray:
    return np.nanmean(minutes.reshape(len(minutes), MINUTES_PER_DAY // 5, 5), axis=2)


def night_floor_w(minutes: np.ndarray) -> np.ndarray:
    """Each day's lowest 5-minute mean between 01:00 and 05:00."""
    return np.nanmin(five_minute_means(minutes)[:, NIGHT_SLOTS], axis=1)


def floor_24h_w(minutes: np.ndarray) -> np.ndarray:
    """Each day's lowest 5-minute mean."""
    return np.nanmin(five_minute_means(minutes), axis=1)


def hourly_means(minutes: np.ndarray) -> np.ndarray:
    return np.nanmean(minutes.reshape(len(minutes), 24, 60), axis=2)


def same_hour_deviations(minutes: np.ndarray) -> np.ndarray:
    """For each day from the 8th and each hour: |hourly mean - median of that hour on the 7 days
    before| / that median."""
    hourly = hourly_means(minutes)
    out = np.full((max(0, len(hourly) - HISTORY_DAYS), 24), np.nan)
    for i in range(HISTORY_DAYS, len(hourly)):
        usual = np.nanmedian(hourly[i - HISTORY_DAYS : i], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i - HISTORY_DAYS] = np.where(usual > 0, np.abs(hourly[i] - usual) / usual, np.nan)
    return out


def figures(minutes: np.ndarray) -> LoadFigures:
    """The figures of one series of whole local days."""
    if minutes.ndim != 2 or minutes.shape[1] != MINUTES_PER_DAY:
        raise ValueError(f"expected (days, {MINUTES_PER_DAY}) minute samples, got shape {minutes.shape}")
    night = night_floor_w(minutes)
    return LoadFigures(
        days=len(minutes),
        daily_kwh=_p(daily_kwh(minutes)),
        median_hourly_w=float(np.nanmedian(hourly_means(minutes))),
        night_floor_w=_p(night),
        floor_24h_w=_p(floor_24h_w(minutes)),
        same_hour_variability=float(np.nanmedian(same_hour_deviations(minutes))),
        raised_nights=float(np.nanmean(night >= np.nanmedian(night) + RAISED_NIGHT_W)),
    )


FAMILIES: dict[str, Callable[[np.random.Generator], LoadProfile]] = {
    "classic": random_profile,
    "wide": random_wide_profile,
}
_IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
_FIRST_DATE = dt.date(2023, 1, 1)


def simulated_minutes(profile: LoadProfile, seed: int, first_date: dt.date, days: int) -> np.ndarray:
    """(days, 1440) minute power of a simulated household from local midnight of first_date."""
    start = dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=_IST)
    return Household(profile, seed).power_w(start, days * MINUTES_PER_DAY, 60.0).reshape(days, MINUTES_PER_DAY)


def family_household(family: str, seed: int) -> tuple[LoadProfile, dt.date]:
    """(profile, first date) of household `seed` of a family, drawn the way edge_model.dataset draws them."""
    rng = np.random.default_rng([seed, 0x5EED])
    profile = FAMILIES[family](rng)
    return profile, _FIRST_DATE + dt.timedelta(days=int(rng.integers(0, 3 * 365)))


@dataclass(frozen=True)
class SimulatedHouse:
    seed: int
    profile: LoadProfile
    first_date: dt.date
    figures: LoadFigures


def family_figures(family: str, households: int, days: int, first_seed: int = 0) -> list[SimulatedHouse]:
    """The figures of `households` households of a family (seeds first_seed onwards), `days` days each."""
    rows = []
    for seed in range(first_seed, first_seed + households):
        profile, first_date = family_household(family, seed)
        minutes = simulated_minutes(profile, seed, first_date, days)
        rows.append(SimulatedHouse(seed, profile, first_date, figures(minutes)))
    return rows


def recording_days(power_w: np.ndarray, start_local: dt.datetime, since: dt.date | None = None) -> np.ndarray:
    """A recording's minute power as whole local days, cut to start at `since`; NaN before its first sample."""
    lead = start_local.hour * 60 + start_local.minute
    padded = np.concatenate([np.full(lead, np.nan), np.asarray(power_w, dtype=np.float64)])
    whole = padded[: len(padded) // MINUTES_PER_DAY * MINUTES_PER_DAY].reshape(-1, MINUTES_PER_DAY)
    if since is not None:
        whole = whole[max(0, (since - start_local.date()).days) :]
    return whole


def stretches(minutes: np.ndarray, days: int, count: int = 6) -> list[np.ndarray]:
    """`count` stretches of `days` days spread evenly over a recording (they overlap when it is short)."""
    if len(minutes) < days:
        return [minutes]
    starts = np.linspace(0, len(minutes) - days, count).round().astype(int)
    return [minutes[s : s + days] for s in sorted(set(starts.tolist()))]


def _fmt3(x: tuple[float, float, float], digits: int = 0) -> str:
    return "/".join(f"{v:.{digits}f}" for v in x)


def _row(label: str, f: LoadFigures) -> str:
    return (
        f"{label:<26} {_fmt3(f.daily_kwh, 1):>16} {f.median_hourly_w:>7.0f} {_fmt3(f.night_floor_w):>16} "
        f"{_fmt3(f.floor_24h_w):>16} {f.same_hour_variability:>6.2f} {100 * f.raised_nights:>6.1f}"
    )


HEADER = (
    f"{'series':<26} {'kWh/day p10/50/90':>16} {'med h W':>7} {'night floor W':>16} "
    f"{'24 h floor W':>16} {'var':>6} {'raised%':>6}"
)


# The summary's rows: what each household contributes, and its decimals.
SUMMARY_ROWS: tuple[tuple[str, Callable[[LoadFigures], float], int], ...] = (
    ("daily kWh p10", lambda f: f.daily_kwh[0], 1),
    ("daily kWh p50", lambda f: f.daily_kwh[1], 1),
    ("daily kWh p90", lambda f: f.daily_kwh[2], 1),
    ("median hourly W", lambda f: f.median_hourly_w, 0),
    ("night floor p10 W", lambda f: f.night_floor_w[0], 0),
    ("night floor p50 W", lambda f: f.night_floor_w[1], 0),
    ("night floor p90 W", lambda f: f.night_floor_w[2], 0),
    ("24 h floor p50 W", lambda f: f.floor_24h_w[1], 0),
    ("same-hour variability", lambda f: f.same_hour_variability, 2),
    ("raised nights %", lambda f: 100 * f.raised_nights, 1),
)


def summary(label: str, per_house: Sequence[LoadFigures]) -> list[str]:
    """Across households: the spread (min / p10 / p50 / p90 / max) of each household's figures."""
    lines = [f"{label}: {len(per_house)} series; min / p10 / p50 / p90 / max over them of"]
    for name, value, digits in SUMMARY_ROWS:
        q = np.percentile([value(f) for f in per_house], [0, 10, 50, 90, 100])
        lines.append(f"  {name:<22} " + " / ".join(f"{v:.{digits}f}" for v in q))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.simulation.load_stats",
        description="Energy, floors and day-to-day variability of simulated households (and of a recording).",
    )
    parser.add_argument(
        "--family", choices=sorted(FAMILIES), action="append", help="household family (repeatable; default: all)"
    )
    parser.add_argument("--households", type=int, default=48)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--per-household", action="store_true", help="a row per household")
    parser.add_argument("--recording", help=".npz: 'power' (W, one a minute), 'start' (local time of the first)")
    parser.add_argument("--since", type=dt.date.fromisoformat, help="use the recording from this local date on")
    args = parser.parse_args(argv)

    print(HEADER)
    blocks = []
    for family in args.family or sorted(FAMILIES):
        houses = family_figures(family, args.households, args.days, args.first_seed)
        if args.per_household:
            for h in houses:
                print(_row(f"{family} {h.seed} {h.profile.name} {h.first_date:%b}", h.figures))
        per_house = [h.figures for h in houses]
        blocks.append(summary(f"{family} family, {args.days} days from a random date in 2023-2025", per_house))
    if args.recording:
        data = np.load(args.recording)
        start = dt.datetime.fromisoformat(str(data["start"]))
        minutes = recording_days(data["power"], start, args.since)
        parts = [figures(part) for part in stretches(minutes, args.days)]
        for part in parts:
            print(_row(f"recording {part.days} d", part))
        blocks.append(summary(f"recording, {len(parts)} stretches of {args.days} days", parts))
    for block in blocks:
        print()
        print("\n".join(block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
