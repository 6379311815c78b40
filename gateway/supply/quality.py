"""A day of mains voltage in figures: minutes outside the band, the longest run of them, the worst
sag and the worst surge. Pure: a day's minutes of voltage in, one `DayQuality` out.

A minute is outside the band when any window in it was: its lowest Vrms below the band's floor (a
sag) or its highest above the band's ceiling (a surge). The figures are those of whole-minute
statistics the ingest rollup keeps (lowest, highest, sum and count of Vrms per node minute), so a
day costs one row per node, never one per reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """The supply's allowed range in 0.1 V (India's LT supply: 230 V +/- 6 %, 216.2-243.8 V)."""

    low_dv: int
    high_dv: int


@dataclass(frozen=True)
class VoltMinute:
    """One minute of voltage: its start, lowest and highest Vrms, and the sum and count of its windows."""

    start_ms: int
    min_dv: int
    max_dv: int
    sum_dv: int
    n: int


@dataclass(frozen=True)
class DayQuality:
    """A local day of one node's (or the house's) voltage."""

    minutes: int  # minutes with a measured voltage
    minutes_low: int
    minutes_high: int
    minutes_out: int  # low or high (a minute with both counts once)
    longest_out: int  # the longest run of consecutive minutes outside the band
    longest_out_ms: int | None  # where that run started
    mean_dv: int
    sag_dv: int  # the lowest Vrms of the day
    sag_ms: int  # the minute it was in
    surge_dv: int  # the highest
    surge_ms: int


def merged(minutes: Iterable[VoltMinute]) -> list[VoltMinute]:
    """Minutes of several nodes (a three-phase house's mains, a meter's serial and BLE copies) as
    one per minute: the lowest of the lows, the highest of the highs, the windows added."""
    by_start: dict[int, VoltMinute] = {}
    for m in minutes:
        o = by_start.get(m.start_ms)
        by_start[m.start_ms] = (
            m
            if o is None
            else VoltMinute(
                m.start_ms, min(o.min_dv, m.min_dv), max(o.max_dv, m.max_dv), o.sum_dv + m.sum_dv, o.n + m.n
            )
        )
    return [by_start[k] for k in sorted(by_start)]


def day_quality(minutes: Iterable[VoltMinute], band: Band) -> DayQuality | None:
    """The day's figures from its minutes (any order); None when no minute measured a voltage."""
    ms = sorted((m for m in minutes if m.n > 0), key=lambda m: m.start_ms)
    if not ms:
        return None
    low = high = out = 0
    run, run_start, longest, longest_at, prev_out_ms = 0, 0, 0, None, None
    for m in ms:
        is_low, is_high = m.min_dv < band.low_dv, m.max_dv > band.high_dv
        low += is_low
        high += is_high
        if is_low or is_high:
            out += 1
            contiguous = prev_out_ms is not None and m.start_ms - prev_out_ms == 60_000
            run, run_start = (run + 1, run_start) if contiguous else (1, m.start_ms)
            prev_out_ms = m.start_ms
            if run > longest:
                longest, longest_at = run, run_start
        else:
            prev_out_ms = None
    sag = min(ms, key=lambda m: (m.min_dv, m.start_ms))
    surge = max(ms, key=lambda m: (m.max_dv, -m.start_ms))
    total, n = sum(m.sum_dv for m in ms), sum(m.n for m in ms)
    return DayQuality(
        minutes=len(ms),
        minutes_low=low,
        minutes_high=high,
        minutes_out=out,
        longest_out=longest,
        longest_out_ms=longest_at,
        mean_dv=round(total / n),
        sag_dv=sag.min_dv,
        sag_ms=sag.start_ms,
        surge_dv=surge.max_dv,
        surge_ms=surge.start_ms,
    )
