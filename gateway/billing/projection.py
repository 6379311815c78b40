"""Projected units at cycle end: a straight line, and the household's own profile. Pure code.

Energy here is kWh as float (a measurement with noise, not money); bills are computed from the
result with Decimal. Each projection carries an ~80 % range (±1.28 σ) and a confidence word.

- Straight line: units so far ÷ elapsed time × cycle length. σ from the spread of the full days
  of this cycle (independent days: σ_total = σ_day · √remaining days).
- Profile: mean kWh for each (day type, hour of day) over the recent weeks, weighted so the last
  two weeks count most (the current season); public holidays use the Sunday profile; an
  optional season factor (last year's remaining-window ÷ lookback-window use) scales the rest.
  σ from how well the profile predicted each recent day (a backtest).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

Z80 = 1.2816  # two-sided 80 % for a normal error
HALF_LIFE_DAYS = 14.0
FULL_COVERAGE = 0.9  # below this share of the cycle so far covered, a projection is at best "medium"
HALF_COVERAGE = 0.5  # and below this, "low"
CONFIDENCE_ORDER = ("low", "medium", "high")
MISSED_SHARE = 0.25  # the least uncertainty of units estimated for days the sensors missed


@dataclass(frozen=True)
class Projection:
    """Units expected at cycle end, with an ~80 % range."""

    method: str
    units: float
    low: float
    high: float
    note: str = ""
    coverage: float = 1.0  # share of the cycle so far that the sensors covered

    @property
    def confidence(self) -> str:
        """From the range's width, and never above what the sensors' coverage of the cycle allows."""
        if self.units <= 0:
            return "low"
        half = (self.high - self.low) / 2 / self.units
        word = "high" if half < 0.10 else "medium" if half < 0.25 else "low"
        cap = "high" if self.coverage >= FULL_COVERAGE else "medium" if self.coverage >= HALF_COVERAGE else "low"
        return min(word, cap, key=CONFIDENCE_ORDER.index)


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def coverage_note(covered_days: float, elapsed_days: float, filled: str) -> str:
    """Words for a cycle the sensors covered only in part ("" when they covered nearly all of it)."""
    if elapsed_days <= 0 or covered_days >= FULL_COVERAGE * elapsed_days:
        return ""
    return f"the sensors covered {covered_days:.1f} of the {elapsed_days:.1f} days so far, {filled}"


def missed_spread(missed_units: float, missed_days: float, day_sd: float | None) -> float:
    """The ~80 % half-range of the units of days the sensors missed: the day-to-day spread, and at least
    MISSED_SHARE of their estimate (nobody knows if the house was away or ran its AC those days)."""
    spread = Z80 * day_sd * math.sqrt(missed_days) if day_sd is not None else 0.0
    return max(spread, MISSED_SHARE * missed_units)


def straight_line(
    units_so_far: float,
    elapsed_days: float,
    total_days: float,
    daily_totals: list[float],
    covered_days: float | None = None,
) -> Projection:
    """units_so_far at the rate of the time the sensors covered, over the whole cycle; range from this
    cycle's day-to-day spread over the days still to come and the days nobody measured."""
    if elapsed_days <= 0:
        return Projection("straight_line", units_so_far, units_so_far, units_so_far, "the cycle has just started")
    covered = elapsed_days if covered_days is None else min(covered_days, elapsed_days)
    coverage = covered / elapsed_days
    if covered <= 0:
        return Projection(
            "straight_line",
            units_so_far,
            units_so_far,
            units_so_far,
            "nothing measured in this cycle yet",
            coverage=0.0,
        )
    rate = units_so_far / covered
    remaining, missed = max(total_days - elapsed_days, 0.0), elapsed_days - covered
    units = rate * total_days
    if len(daily_totals) >= 3:
        sd = _sd(daily_totals)
        spread = Z80 * sd * math.sqrt(remaining)
        note = f"from {len(daily_totals)} full days of this cycle"
    else:
        sd, spread = None, 0.5 * rate * remaining  # too early to measure the spread: say so with a wide range
        note = "too early in the cycle to say how sure"
    spread = math.hypot(spread, missed_spread(rate * missed, missed, sd))
    gap = coverage_note(covered, elapsed_days, "the days missed counted at the measured rate")
    note = f"{note}; {gap}" if gap else note
    return Projection("straight_line", units, max(units_so_far, units - spread), units + spread, note, coverage)


def day_type(day: dt.date, holidays: frozenset[dt.date] | set[dt.date]) -> int:
    """0..6 Monday..Sunday; a public holiday counts as a Sunday."""
    return 6 if day in holidays else day.weekday()


def build_profile(hourly: list[tuple[dt.datetime, float]], now: dt.datetime, holidays: set[dt.date]) -> dict:
    """Recency-weighted mean kWh per (day type, hour), with per-hour and overall fallbacks."""
    sums: dict[tuple[int, int], list[float]] = {}
    by_hour: dict[int, list[float]] = {}
    total = [0.0, 0.0]
    for start, kwh in hourly:
        age_days = (now - start).total_seconds() / 86400
        w = 0.5 ** (age_days / HALF_LIFE_DAYS)
        key = (day_type(start.date(), holidays), start.hour)
        acc = sums.setdefault(key, [0.0, 0.0])
        acc[0] += w * kwh
        acc[1] += w
        hacc = by_hour.setdefault(start.hour, [0.0, 0.0])
        hacc[0] += w * kwh
        hacc[1] += w
        total[0] += w * kwh
        total[1] += w
    return {
        "cell": {k: v[0] / v[1] for k, v in sums.items() if v[1] > 0},
        "hour": {k: v[0] / v[1] for k, v in by_hour.items() if v[1] > 0},
        "all": total[0] / total[1] if total[1] else 0.0,
    }


def profile_kwh(profile: dict, when: dt.datetime, holidays: set[dt.date]) -> float:
    key = (day_type(when.date(), holidays), when.hour)
    if key in profile["cell"]:
        return profile["cell"][key]
    return profile["hour"].get(when.hour, profile["all"])


def season_factor(
    last_year_lookback_kwh: float | None,
    last_year_remaining_kwh: float | None,
    lookback_days: float,
    remaining_days: float,
) -> float:
    """How much more (or less) per day the household used last year in the rest of the cycle than in
    the lookback weeks; 1.0 without last year's data. Clipped to [0.5, 2]."""
    if not last_year_lookback_kwh or not last_year_remaining_kwh or lookback_days <= 0 or remaining_days <= 0:
        return 1.0
    ratio = (last_year_remaining_kwh / remaining_days) / (last_year_lookback_kwh / lookback_days)
    return min(2.0, max(0.5, ratio))


def profile_projection(
    hourly: list[tuple[dt.datetime, float]],
    now: dt.datetime,
    cycle_end: dt.datetime,
    units_so_far: float,
    holidays: set[dt.date] = frozenset(),
    season: float = 1.0,
    uncovered_days: float = 0.0,
    elapsed_days: float | None = None,
) -> Projection | None:
    """Project from the household's own (day type, hour) profile; None with under 7 days of history.

    `uncovered_days` of the cycle so far that the sensors missed are filled with the profile's mean day.
    """
    days = {start.date() for start, _ in hourly}
    if len(days) < 7:
        return None
    profile = build_profile(hourly, now, holidays)
    tz = now.tzinfo
    hour = now.replace(minute=0, second=0, microsecond=0)
    remaining = profile_kwh(profile, hour, holidays) * (1 - (now - hour).total_seconds() / 3600)
    t = hour + dt.timedelta(hours=1)
    # Step in UTC so a DST change (not in India, but anywhere) neither skips nor repeats an hour.
    t_utc, end_utc = t.astimezone(dt.UTC), cycle_end.astimezone(dt.UTC)
    while t_utc < end_utc:
        remaining += profile_kwh(profile, t_utc.astimezone(tz), holidays)
        t_utc += dt.timedelta(hours=1)
    remaining *= season
    # Backtest: how far off was the profile's daily total on each full day it learned from?
    per_day: dict[dt.date, float] = {}
    for start, kwh in hourly:
        per_day[start.date()] = per_day.get(start.date(), 0.0) + kwh
    residuals = []
    for day, actual in per_day.items():
        if day >= now.date():
            continue
        predicted = sum(profile_kwh(profile, dt.datetime.combine(day, dt.time(h), tz), holidays) for h in range(24))
        residuals.append(actual - predicted)
    remaining_days = max((cycle_end - now).total_seconds() / 86400, 0.0)
    uncovered = max(uncovered_days, 0.0)
    missed = uncovered * 24 * profile["all"]
    sd = _sd(residuals) if len(residuals) >= 3 else None
    spread = Z80 * sd * math.sqrt(remaining_days) if sd is not None else 0.5 * remaining
    spread = math.hypot(spread, missed_spread(missed, uncovered, sd))
    units = units_so_far + remaining + missed
    note = f"profile of {len(days)} days (weekday × hour, holidays as Sundays)"
    if season != 1.0:
        note += f", season factor {season:.2f} from last year"
    elapsed = elapsed_days if elapsed_days is not None else 0.0
    coverage = (elapsed - uncovered_days) / elapsed if elapsed > 0 else 1.0
    gap = coverage_note(elapsed - uncovered_days, elapsed, "the days missed filled from the profile")
    note = f"{note}; {gap}" if gap else note
    return Projection("profile", units, max(units_so_far, units - spread), units + spread, note, coverage)
