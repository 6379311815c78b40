"""The utility meter as evidence of a tap: a meter that runs ahead of what the sensors explain.

Pure: meter periods in, a verdict out. The sensors never read exactly what the meter counts (a
node without a voltage channel misreads inductive loads, a circuit may bypass the mains node),
so the meter/sensor ratio is learned over the first meter period the sensors fully covered, and
each later fully covered period is judged against it: the meter counting more than that ratio
explains is a load the sensors never saw, in kWh and so in watts, however variable the house. A
meter counting less is a calibration matter (billing's `meter_mismatch`), never theft.

A tap made before the gateway was installed is inside the learned ratio: it shows only as a
ratio far from 1, which `Judgement.ratio_note` says in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

FULL_COVERAGE = 0.98  # a period is judged only when the sensors covered this share of its minutes
RISE_SHARE = 0.05  # the meter this much above what the learned ratio explains is a tap ...
MIN_EXCESS_KWH = 1.0  # ... and at least this many units (a meter shows whole units; readings are typed by hand)
ODD_RATIO = (0.85, 1.25)  # a learned ratio outside this says the sensors miss or add a lot from the start


@dataclass(frozen=True)
class MeterPeriod:
    """Two consecutive meter readings and what the sensors saw between them."""

    start_ms: int
    end_ms: int
    meter_kwh: float  # the rise of the meter's register
    sensor_kwh: float  # the house's energy from the sensors over the same span
    coverage: float  # share of the span's minutes the sensors covered (0..1)
    reading_id: int = 0  # the meter_readings row that closed the period

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / 3_600_000

    @property
    def covered(self) -> bool:
        return self.coverage >= FULL_COVERAGE and self.sensor_kwh > 0


@dataclass(frozen=True)
class Judgement:
    """One period against the learned ratio: how much the meter ran ahead, and the tap it implies."""

    period: MeterPeriod
    ratio: float  # meter / sensors, learned on `learned_from`
    learned_from: MeterPeriod
    expected_kwh: float  # what the meter should have counted for what the sensors saw
    excess_kwh: float  # meter - expected (negative: the meter counted less)
    tap: bool

    @property
    def excess_share(self) -> float:
        return self.excess_kwh / self.expected_kwh if self.expected_kwh > 0 else 0.0

    @property
    def watts(self) -> float:
        """The steady load that would explain the excess over the whole period."""
        return 1000.0 * self.excess_kwh / self.period.hours if self.period.hours > 0 else 0.0

    def message(self, tz: dt.tzinfo) -> str:
        since = dt.datetime.fromtimestamp(self.period.start_ms / 1000, tz)
        return (
            f"since {since.day} {since:%b} your meter counted {self.excess_kwh:.0f} units more than your sensors "
            f"usually explain: about {self.watts:.0f} W all day"
        )

    def ratio_note(self) -> str | None:
        """Words for a learned ratio far from 1 (a tap older than the gateway, or a circuit the sensors miss)."""
        lo, hi = ODD_RATIO
        if lo <= self.ratio <= hi:
            return None
        side = "more" if self.ratio > hi else "less"
        return (
            f"over the first fully measured meter period the meter counted {abs(self.ratio - 1) * 100:.0f} % {side} "
            "than the sensors: a circuit the sensors do not see, a sensor to calibrate, or a tap older than the gateway"
        )


def learn_ratio(periods: list[MeterPeriod]) -> MeterPeriod | None:
    """The first fully covered period, whose meter/sensor ratio the later ones are judged against."""
    for p in sorted(periods, key=lambda p: p.start_ms):
        if p.covered and p.meter_kwh > 0:
            return p
    return None


def judge(periods: list[MeterPeriod]) -> list[Judgement]:
    """Every fully covered period after the learned one, judged against its ratio (oldest first)."""
    base = learn_ratio(periods)
    if base is None:
        return []
    ratio = base.meter_kwh / base.sensor_kwh
    out = []
    for p in sorted(periods, key=lambda p: p.start_ms):
        if p.start_ms < base.end_ms or not p.covered:
            continue
        expected = ratio * p.sensor_kwh
        excess = p.meter_kwh - expected
        tap = excess >= max(MIN_EXCESS_KWH, RISE_SHARE * expected)
        out.append(Judgement(p, ratio, base, expected, excess, tap))
    return out
