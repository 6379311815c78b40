"""Billing cycles from the meter-reading date: pure date arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from ..localtime import iso_day


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the month's last day (31 Jan + 1 month = 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Cycle:
    """A billing cycle: local dates [start, end), meter read on `start` and on `end`."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def key(self) -> str:
        return self.start.isoformat()

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end


def cycle_containing(anchor: dt.date, months: int, day: dt.date) -> Cycle:
    """The cycle holding `day`, for cycles of `months` starting on the meter-reading date `anchor`.

    Cycle k runs from anchor + k·months to anchor + (k+1)·months, each computed from the anchor
    (so a 31st anchor gives 28/29/30/31 as the months allow, never drifting).
    """
    if months < 1:
        raise ValueError(f"months {months!r}: expected at least 1")
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    while add_months(anchor, k * months) > day:
        k -= 1
    while add_months(anchor, (k + 1) * months) <= day:
        k += 1
    return Cycle(add_months(anchor, k * months), add_months(anchor, (k + 1) * months))


def previous_cycle(anchor: dt.date, months: int, cycle: Cycle) -> Cycle:
    return cycle_containing(anchor, months, cycle.start - dt.timedelta(days=1))


MAX_BILLED_DAYS = 100  # a bill covers one or two months, at most a quarter with a late reading


def billed_period(first: dt.date | str | None, end: dt.date | str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The local dates [first, end) of a real bill, checked: `end` is the next meter-reading day
    (exclusive), so it is after `first`, not after `today`, at most MAX_BILLED_DAYS later and
    not before 2000. Takes dates or YYYY-MM-DD text; BilledPeriodError says what is wrong."""
    from . import BilledPeriodError

    def day(value: dt.date | str | None, name: str) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return iso_day(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise BilledPeriodError(
                f"{name} {value!r}: expected the bill's dates as YYYY-MM-DD (to = the next meter-reading day)"
            ) from None

    first, end = day(first, "from"), day(end, "to")
    if first.year < 2000:
        raise BilledPeriodError(f"from {first}: a bill from before 2000 is not one this gateway measured")
    if end <= first:
        raise BilledPeriodError(f"to {end} is not after from {first}: the billed period must end after it starts")
    if end > today:
        raise BilledPeriodError(f"to {end} is after today ({today}): a bill covers a period that has ended")
    if (end - first).days > MAX_BILLED_DAYS:
        raise BilledPeriodError(
            f"from {first} to {end} is {(end - first).days} days: a bill covers at most "
            f"{MAX_BILLED_DAYS} days (one or two months)"
        )
    return first, end
