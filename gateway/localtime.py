"""Local days and hours of the household's time zone, for rollups and reports.

Pure code. Timestamps everywhere else are UTC milliseconds (`ts_ms`); this module is the one
place that turns them into local hours and dates.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
_QUARTER_MS = 15 * 60_000
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_day(text: str) -> dt.date:
    """A local date written YYYY-MM-DD, and only that (date.fromisoformat also takes 20260301 and
    2026-W09-7); ValueError otherwise."""
    if not isinstance(text, str) or not _ISO_DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return dt.date.fromisoformat(text)


class LocalCalendar:
    """Maps UTC milliseconds to local hour starts and local dates in one IANA zone."""

    def __init__(self, tz_name: str = "Asia/Kolkata"):
        try:
            self.tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {tz_name!r}; expected an IANA name like 'Asia/Kolkata'") from err
        self.name = tz_name
        self._offset = lru_cache(maxsize=4096)(self._offset_uncached)

    def _offset_uncached(self, quarter: int) -> int:
        # Offsets only change on quarter-hour boundaries in every real zone.
        when = dt.datetime.fromtimestamp(quarter * _QUARTER_MS / 1000, UTC)
        return int(when.astimezone(self.tz).utcoffset().total_seconds() * 1000)

    def offset_ms(self, ts_ms: int) -> int:
        return self._offset(ts_ms // _QUARTER_MS)

    def hour_start_ms(self, ts_ms: int) -> int:
        """UTC ms of the start of the local hour containing ts_ms."""
        off = self.offset_ms(ts_ms)
        local = ts_ms + off
        return local - local % 3_600_000 - off

    def day(self, ts_ms: int) -> str:
        """Local date 'YYYY-MM-DD' containing ts_ms."""
        local = ts_ms + self.offset_ms(ts_ms)
        return _date_of_days(local // 86_400_000)

    def day_start_ms(self, date: dt.date | str) -> int:
        if isinstance(date, str):
            date = dt.date.fromisoformat(date)
        local = dt.datetime(date.year, date.month, date.day, tzinfo=self.tz)
        return int(local.timestamp() * 1000)

    def to_datetime(self, ts_ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts_ms / 1000, self.tz)

    def isoformat(self, ts_ms: int) -> str:
        return self.to_datetime(ts_ms).isoformat(timespec="seconds")

    def today(self, now_ms: int) -> str:
        return self.day(now_ms)


@lru_cache(maxsize=8192)
def _date_of_days(days: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=days)).isoformat()
