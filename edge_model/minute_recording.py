"""One household's power per minute over whole days (`Recording`), and the error for a bad one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np

from edge_model import EdgeModelError

MINUTES_PER_DAY = 1_440


class RecordingError(EdgeModelError):
    """A recording that cannot be found, read or cut as asked; the message says which and why."""


@dataclass(frozen=True, eq=False)
class Recording:
    """One household's real power, one value per minute over whole local days (NaN = missing).

    The series starts at the local midnight of first_date. power_w is a read-only float32 array;
    two recordings are equal only if they are the same object (an array has no single truth value).
    """

    name: str
    source: str
    first_date: dt.date
    power_w: np.ndarray
    note: str = ""

    def __post_init__(self):
        power = np.array(self.power_w, dtype=np.float32)  # a copy: the caller's array stays theirs
        if power.ndim != 1 or len(power) == 0 or len(power) % MINUTES_PER_DAY:
            raise RecordingError(
                f"recording {self.name!r}: power_w must be 1-D whole days of {MINUTES_PER_DAY} minutes, "
                f"got shape {power.shape}"
            )
        power.flags.writeable = False
        object.__setattr__(self, "power_w", power)

    @property
    def days(self) -> int:
        return len(self.power_w) // MINUTES_PER_DAY

    @property
    def last_date(self) -> dt.date:
        return self.first_date + dt.timedelta(days=self.days - 1)

    def window(self, start_day: int, days: int, name: str | None = None) -> Recording:
        """Days start_day .. start_day+days-1 of this recording as a recording of its own."""
        if start_day < 0 or days < 1 or start_day + days > self.days:
            raise RecordingError(
                f"recording {self.name!r} has {self.days} days; days {start_day}..{start_day + days - 1} are not in it"
            )
        first = self.first_date + dt.timedelta(days=start_day)
        part = self.power_w[start_day * MINUTES_PER_DAY : (start_day + days) * MINUTES_PER_DAY]
        note = f"days {start_day}..{start_day + days - 1} of {self.name}. {self.note}".strip()
        return replace(self, name=name or f"{self.name}@{first.isoformat()}", first_date=first, power_w=part, note=note)

    def stretches(self, days: int = 120, count: int = 6) -> list[Recording]:
        """`count` stretches of `days` days, evenly spaced from the first day to the last.

        When the recording is shorter than count*days they overlap, each pair by the same amount
        (within a day); the first starts on the first day and the last ends on the last day.
        """
        if days < 1 or count < 1:
            raise RecordingError(f"stretches need days >= 1 and count >= 1, got days={days}, count={count}")
        if days > self.days:
            raise RecordingError(f"recording {self.name!r} has {self.days} days, fewer than one stretch of {days}")
        starts = np.rint(np.linspace(0, self.days - days, count)).astype(int) if count > 1 else np.array([0])
        return [self.window(int(s), days, f"{self.name}/{i + 1}") for i, s in enumerate(starts)]
