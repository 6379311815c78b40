"""Billing cycles from the meter-reading date: pure date arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


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
