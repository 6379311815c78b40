"""The UCI household table (CSV bytes) as W per minute over whole days; pure: bytes in, arrays out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from edge_model.minute_recording import MINUTES_PER_DAY, RecordingError

UCI_HEADER = b"date_time,Global_active_power"
UCI_FILLS = ("keep", "missing")
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def parse_uci_csv(data: bytes, fills: str = "keep") -> tuple[dt.date, np.ndarray]:
    """(first whole day, W per minute over the whole days the table covers) from the UCI CSV's bytes.

    Rows are "YYYY-MM-DD HH:MM:SS,<Global_active_power kW>,..." in strictly increasing minutes; "?"
    (the original's missing mark) and minutes without a row are NaN. A partial first or last day is
    left out. fills="missing" also makes NaN of every row whose measurements all equal the row 24 h
    before: how this copy filled the original's missing minutes.
    """
    if fills not in UCI_FILLS:
        raise RecordingError(f"fills must be one of {', '.join(UCI_FILLS)}, got {fills!r}")
    buf, starts, line_ends = _rows(data)

    def bad(row: int, why: str) -> RecordingError:
        line = data[starts[row] : line_ends[row]].decode("latin-1")
        return RecordingError(f"UCI table, line {row + 2}: {why}: {line!r}")

    minute = _minutes(buf, starts, line_ends, bad)
    # Global_active_power: the field after the timestamp, "d+.ddd" or "?", parsed digit by digit.
    value_at = starts + 20
    watts = _watts(buf, value_at, line_ends, bad)
    return _whole_days(minute, watts, fills, buf, value_at, line_ends)


def _rows(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the bytes as uint8, each data row's start, each row's end without its line break)."""
    header_end = data.find(b"\n")
    if not data.startswith(UCI_HEADER) or header_end < 0:
        raise RecordingError(f"not the UCI table: its header is {data[:80]!r}, expected one starting {UCI_HEADER!r}")
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts, line_ends = ends[:-1] + 1, ends[1:]
    keep = line_ends - starts > 1  # blank lines (a trailing "\r\n") carry nothing
    starts, line_ends = starts[keep], line_ends[keep]
    line_ends = line_ends - (buf[line_ends - 1] == ord("\r"))
    if len(starts) == 0:
        raise RecordingError("the UCI table has no rows")
    return buf, starts, line_ends


def _minutes(
    buf: np.ndarray, starts: np.ndarray, line_ends: np.ndarray, bad: Callable[[int, str], RecordingError]
) -> np.ndarray:
    """Each row's timestamp as minutes since 1970-01-01, checked to be whole, valid and increasing."""
    short = np.flatnonzero(line_ends - starts < 21)
    if len(short):
        raise bad(int(short[0]), "too short for 'YYYY-MM-DD HH:MM:SS,<kW>'")
    for offset, char in ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"), (19, ",")):
        wrong = np.flatnonzero(buf[starts + offset] != ord(char))
        if len(wrong):
            raise bad(int(wrong[0]), f"expected {char!r} at column {offset + 1}")
    fields = {}
    for name, offsets in (
        ("y", (0, 1, 2, 3)),
        ("mo", (5, 6)),
        ("d", (8, 9)),
        ("h", (11, 12)),
        ("mi", (14, 15)),
        ("s", (17, 18)),
    ):
        value = np.zeros(len(starts), dtype=np.int64)
        for offset in offsets:
            digit = _digits(buf, starts + offset)
            wrong = np.flatnonzero((digit < 0) | (digit > 9))
            if len(wrong):
                raise bad(int(wrong[0]), f"expected a digit at column {offset + 1}")
            value = value * 10 + digit
        fields[name] = value
    wrong = np.flatnonzero(
        (fields["mo"] < 1)
        | (fields["mo"] > 12)
        | (fields["d"] < 1)
        | (fields["d"] > 31)
        | (fields["h"] > 23)
        | (fields["mi"] > 59)
        | (fields["s"] != 0)
    )
    if len(wrong):
        raise bad(int(wrong[0]), "not a whole minute of a valid date")
    minute = (
        _days_from_civil(fields["y"], fields["mo"], fields["d"]) * MINUTES_PER_DAY + fields["h"] * 60 + fields["mi"]
    )
    wrong = np.flatnonzero(np.diff(minute) <= 0)
    if len(wrong):
        raise bad(int(wrong[0]) + 1, "not after the row before it")
    return minute


def _watts(
    buf: np.ndarray, value_at: np.ndarray, line_ends: np.ndarray, bad: Callable[[int, str], RecordingError]
) -> np.ndarray:
    """Each row's Global_active_power in W (NaN for "?"), from the field starting at `value_at`."""
    last = len(buf) - 1
    width = 12
    chars = np.stack([buf[np.minimum(value_at + k, last)] for k in range(width)]).astype(np.int16)
    inside = (value_at[None, :] + np.arange(width)[:, None]) < line_ends[None, :]
    stop = inside & (chars != ord(","))
    length = np.where(stop.all(axis=0), width, np.argmin(stop, axis=0))
    mantissa = np.zeros(len(value_at), dtype=np.int64)
    decimals = np.zeros(len(value_at), dtype=np.int64)
    dots = np.zeros(len(value_at), dtype=np.int64)
    digits = np.zeros(len(value_at), dtype=np.int64)
    ok = np.ones(len(value_at), dtype=bool)
    for k in range(width):
        active = k < length
        digit = chars[k] - 48
        is_digit = (digit >= 0) & (digit <= 9)
        is_dot = chars[k] == ord(".")
        ok &= ~active | is_digit | is_dot
        mantissa = np.where(active & is_digit, mantissa * 10 + np.clip(digit, 0, 9), mantissa)
        decimals = np.where(active & is_digit & (dots > 0), decimals + 1, decimals)
        digits = digits + (active & is_digit)
        dots = dots + (active & is_dot)
    missing = (length == 1) & (chars[0] == ord("?"))
    wrong = np.flatnonzero(~(ok & (dots <= 1) & (digits > 0)) & ~missing)
    if len(wrong):
        raise bad(int(wrong[0]), "Global_active_power is not a number of kW or '?'")
    watts = mantissa * 1_000.0 / 10.0**decimals
    watts[missing] = np.nan
    return watts


def _whole_days(
    minute: np.ndarray, watts: np.ndarray, fills: str, buf: np.ndarray, value_at: np.ndarray, line_ends: np.ndarray
) -> tuple[dt.date, np.ndarray]:
    """The rows on a minute grid, cut to whole days (with fills="missing", the copied rows NaN)."""
    first_day = -(-int(minute[0]) // MINUTES_PER_DAY)  # the first midnight at or after the first row
    end_day = (int(minute[-1]) + 1) // MINUTES_PER_DAY  # the midnight after the last complete day
    if end_day <= first_day:
        raise RecordingError("the UCI table does not cover one whole day")
    span_day = int(minute[0]) // MINUTES_PER_DAY
    grid = np.full((end_day - span_day) * MINUTES_PER_DAY + MINUTES_PER_DAY, np.nan, dtype=np.float64)
    index = minute - span_day * MINUTES_PER_DAY
    inside_grid = index < len(grid)
    grid[index[inside_grid]] = watts[inside_grid]
    if fills == "missing":
        row_hash = _row_hashes(buf, value_at, line_ends)
        hashes = np.zeros(len(grid), dtype=np.uint64)
        known = np.zeros(len(grid), dtype=bool)
        hashes[index[inside_grid]] = row_hash[inside_grid]
        known[index[inside_grid]] = True
        copied = (
            known[MINUTES_PER_DAY:] & known[:-MINUTES_PER_DAY] & (hashes[MINUTES_PER_DAY:] == hashes[:-MINUTES_PER_DAY])
        )
        grid[MINUTES_PER_DAY:][copied] = np.nan
    offset = (first_day - span_day) * MINUTES_PER_DAY
    power = grid[offset : offset + (end_day - first_day) * MINUTES_PER_DAY].astype(np.float32)
    return dt.date.fromordinal(_EPOCH_ORDINAL + first_day), power


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates, elementwise (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def _digits(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return buf[at].astype(np.int64) - 48


def _row_hashes(buf: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A 64-bit polynomial hash of each row's bytes begin..end (all its measurements), elementwise."""
    h = np.zeros(len(begin), dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    last = len(buf) - 1
    for k in range(int((end - begin).max())):
        active = begin + k < end
        byte = buf[np.minimum(begin + k, last)].astype(np.uint64) + np.uint64(1)
        h = np.where(active, (h ^ byte) * prime, h)
    return h
