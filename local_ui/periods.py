"""Usage periods (day / week / month / billing cycle / year) as local-date ranges. Pure code.

A period is a half-open range of local dates [first, end) plus the resolution its chart uses;
`previous()` gives the period before it, for "compare with the previous period".
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

PERIODS = ("day", "week", "month", "cycle", "year")
RESOLUTIONS = ("minute", "hour", "day", "month")

DEFAULT_RESOLUTION = {"day": "hour", "week": "hour", "month": "day", "cycle": "day", "year": "month"}
# Longest range each resolution may cover: bounds the rows one request can ask for.
MAX_DAYS = {"minute": 2, "hour": 400, "day": 3700, "month": 3700}


class PeriodError(ValueError):
    """A period, date or resolution the usage API cannot accept; the message says why."""


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # first local day
    end: dt.date  # the day after the last
    resolution: str
    cycle_day: int = 1

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def previous(self) -> "Period":
        if self.kind == "day":
            return period("day", self.first - dt.timedelta(days=1), self.resolution)
        if self.kind == "week":
            return period("week", self.first - dt.timedelta(days=7), self.resolution)
        if self.kind in ("month", "cycle"):
            return period(self.kind, self.first - dt.timedelta(days=1), self.resolution, cycle_day=self.cycle_day)
        if self.kind == "year":
            return period("year", self.first.replace(year=self.first.year - 1), self.resolution)
        span = self.end - self.first
        return Period("range", self.first - span, self.first, self.resolution)


def _add_months(d: dt.date, months: int, day: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def period(kind: str, anchor: dt.date, resolution: str | None = None, *, cycle_day: int = 1, cycle_months: int = 1) -> Period:
    """The `kind` period containing local date `anchor`."""
    if kind not in PERIODS:
        raise PeriodError(f"period {kind!r}: expected one of {', '.join(PERIODS)}")
    if kind == "day":
        first, end = anchor, anchor + dt.timedelta(days=1)
    elif kind == "week":  # Monday to Sunday, as Indian calendars print it
        first = anchor - dt.timedelta(days=anchor.weekday())
        end = first + dt.timedelta(days=7)
    elif kind == "month":
        first = anchor.replace(day=1)
        end = _add_months(first, 1, 1)
    elif kind == "year":
        first, end = dt.date(anchor.year, 1, 1), dt.date(anchor.year + 1, 1, 1)
    else:  # billing cycle: starts on the meter-reading day, lasts cycle_months
        if not 1 <= cycle_day <= 28:
            raise PeriodError(f"cycle day {cycle_day}: expected 1 to 28")
        first = _add_months(anchor, 0 if anchor.day >= cycle_day else -1, cycle_day)
        # Two-monthly cycles (Tamil Nadu) are anchored on even month counts from year 0.
        if cycle_months > 1:
            offset = (first.year * 12 + first.month - 1) % cycle_months
            first = _add_months(first, -offset, cycle_day)
        end = _add_months(first, cycle_months, cycle_day)
    res = resolution or DEFAULT_RESOLUTION[kind]
    p = Period(kind, first, end, res, cycle_day)
    check_range(p)
    return p


def date_range(first: dt.date, last: dt.date, resolution: str) -> Period:
    """A custom range of whole local days, `last` included."""
    if last < first:
        raise PeriodError(f"end {last} is before start {first}")
    p = Period("range", first, last + dt.timedelta(days=1), resolution)
    check_range(p)
    return p


def check_range(p: Period) -> None:
    if p.resolution not in RESOLUTIONS:
        raise PeriodError(f"resolution {p.resolution!r}: expected one of {', '.join(RESOLUTIONS)}")
    if p.days > MAX_DAYS[p.resolution]:
        raise PeriodError(
            f"{p.days} days at resolution {p.resolution!r} is too many points: at most {MAX_DAYS[p.resolution]} days"
        )


def parse_date(name: str, value: str) -> dt.date:
    try:
        d = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PeriodError(f"{name} {value!r}: expected a date as YYYY-MM-DD") from None
    if not 2000 <= d.year <= 2100:
        raise PeriodError(f"{name} {value!r}: expected a year from 2000 to 2100")
    return d


def month_key(day: str) -> str:
    return day[:7]
