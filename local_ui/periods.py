"""Usage periods (day / week / month / billing cycle / year) as local-date ranges. Pure code.

A period is a half-open range of local dates [first, end) plus the resolution its chart uses;
`previous()` gives the period before it, for "compare with the previous period".
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.localtime import iso_day

PERIODS = ("day", "week", "month", "cycle", "year")
RESOLUTIONS = ("minute", "hour", "day", "month")

DEFAULT_RESOLUTION = {"day": "hour", "week": "hour", "month": "day", "cycle": "day", "year": "month"}
# Longest range each resolution may cover: bounds the rows one request can ask for.
MAX_DAYS = {"minute": 2, "hour": 400, "day": 3700, "month": 3700}


class PeriodError(ValueError):
    """A period, date or resolution the usage API cannot accept; the message says why."""


# A billing cycle comes from billing itself: local date -> (first day, day after the last).
CycleFn = Callable[[dt.date], "tuple[dt.date, dt.date]"]


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date  # first local day
    end: dt.date  # the day after the last
    resolution: str
    cycles: CycleFn | None = field(default=None, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    def previous(self) -> Period:
        if self.kind == "day":
            return period("day", self.first - dt.timedelta(days=1), self.resolution)
        if self.kind == "week":
            return period("week", self.first - dt.timedelta(days=7), self.resolution)
        if self.kind in ("month", "cycle"):
            return period(self.kind, self.first - dt.timedelta(days=1), self.resolution, cycles=self.cycles)
        if self.kind == "year":
            return period("year", self.first.replace(year=self.first.year - 1), self.resolution)
        span = self.end - self.first
        return Period("range", self.first - span, self.first, self.resolution)


def _add_months(d: dt.date, months: int, day: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def period(kind: str, anchor: dt.date, resolution: str | None = None, *, cycles: CycleFn | None = None) -> Period:
    """The `kind` period containing local date `anchor`; a billing cycle needs billing's `cycles`."""
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
    else:
        if cycles is None:
            raise PeriodError("a billing cycle needs billing's cycle dates")
        first, end = cycles(anchor)
    res = resolution or DEFAULT_RESOLUTION[kind]
    p = Period(kind, first, end, res, cycles)
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
        d = iso_day(value)
    except (TypeError, ValueError):
        raise PeriodError(f"{name} {value!r}: expected a date as YYYY-MM-DD") from None
    if not 2000 <= d.year <= 2100:
        raise PeriodError(f"{name} {value!r}: expected a year from 2000 to 2100")
    return d


def month_key(day: str) -> str:
    return day[:7]
