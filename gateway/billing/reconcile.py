"""Meter reconciliation: the utility meter's reading (or billed units) against the sensors' energy.

A gap beyond [billing] meter_mismatch_pct raises a `meter_mismatch` alert: the meter counting
more than the sensors points at a load between meter and house (tapping) or an unmonitored
circuit; the sensors counting more points at a miscalibrated sensor or a slow meter.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..alerts import AlertStore
from ..store import transaction
from ..store import Store
from . import LedgerError
from .estimate import energy_mwh, kwh
from .settings import BillingSection


@dataclass(frozen=True)
class Comparison:
    """Meter and sensor energy over one period, and whether the gap is too large."""

    meter_kwh: Decimal
    sensor_kwh: Decimal
    gap_pct: Decimal
    flagged: bool
    threshold_pct: Decimal

    def message(self, period: str) -> str:
        head = f"meter {self.meter_kwh} kWh, sensors {self.sensor_kwh} kWh {period}"
        if self.meter_kwh == 0:
            return head + ": the meter shows no use"
        side = "below" if self.gap_pct > 0 else "above"
        text = f"{head}: sensors {abs(self.gap_pct)}% {side} the meter"
        if not self.flagged:
            return text + f" (within {self.threshold_pct}%)"
        why = ("a load between the meter and the sensors (tapping) or an unmonitored circuit" if self.gap_pct > 0
               else "a sensor reading high (calibration) or a slow meter")
        return text + f", more than {self.threshold_pct}%: {why}"


def compare(meter_kwh: Decimal, sensor_kwh: Decimal, threshold_pct: Decimal) -> Comparison:
    """Gap as a percentage of the meter: positive when the sensors saw less than the meter."""
    sensor = sensor_kwh.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if meter_kwh == 0:
        gap = Decimal(0) if sensor == 0 else Decimal(-100)
    else:
        gap = ((meter_kwh - sensor_kwh) * 100 / meter_kwh).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Comparison(meter_kwh, sensor, gap, abs(gap) > threshold_pct, threshold_pct)


def _kwh_value(value: Any, what: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise LedgerError(f"{what} {value!r}: give it as text like '12345.6'")
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        raise LedgerError(f"{what} {value!r}: expected a number of kWh") from None
    if not out.is_finite() or out < 0 or out.as_tuple().exponent < -3:
        raise LedgerError(f"{what} {value!r}: expected a number of kWh of at least 0, at most 3 decimals")
    return out


def record_meter_reading(store: Store, section: BillingSection, alerts: AlertStore, reading: Any, *, at_ms: int,
                         now_ms: int, note: str = "") -> tuple[dict, Comparison | None]:
    """Store a meter register reading and compare it with the sensors since the previous one."""
    value = _kwh_value(reading, "meter reading")
    cal = store.calendar
    with transaction(store) as conn:
        prev = conn.execute(
            "SELECT ts_ms, value_kwh FROM meter_readings WHERE kind = 'register' AND ts_ms < ? ORDER BY ts_ms DESC LIMIT 1",
            (at_ms,),
        ).fetchone()
        comparison = None
        if prev is not None:
            prev_value = Decimal(prev[1])
            if value < prev_value:
                raise LedgerError(
                    f"meter reading {value} is less than the previous reading {prev_value} on {cal.isoformat(prev[0])}: "
                    "check the digits (a replaced meter is not supported yet)"
                )
            comparison = compare(value - prev_value, kwh(energy_mwh(store, prev[0], at_ms, section)),
                                 Decimal(str(section.meter_mismatch_pct)))
        cur = conn.execute(
            "INSERT INTO meter_readings (kind, ts_ms, value_kwh, period_start_ms, meter_kwh, sensor_kwh, gap_pct, flagged, "
            "entered_ms, note) VALUES ('register', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at_ms, str(value), prev[0] if prev else None,
             str(comparison.meter_kwh) if comparison else None, str(comparison.sensor_kwh) if comparison else None,
             str(comparison.gap_pct) if comparison else None, int(bool(comparison and comparison.flagged)), now_ms, note),
        )
        if comparison is not None and comparison.flagged:
            period = f"from {cal.isoformat(prev[0])} to {cal.isoformat(at_ms)}"
            alerts.raise_alert(
                "meter_mismatch", None, comparison.message(period), now_ms=now_ms,
                dedup_key=f"meter_mismatch:{prev[0]}:{at_ms}",
                data={"meter_kwh": comparison.meter_kwh, "sensor_kwh": comparison.sensor_kwh, "gap_pct": comparison.gap_pct},
            )
        row = {"id": cur.lastrowid, "ts_ms": at_ms, "value_kwh": str(value)}
    return row, comparison


def record_billed_units(store: Store, section: BillingSection, alerts: AlertStore, units: Any, *, start_ms: int,
                        end_ms: int, now_ms: int, note: str = "") -> tuple[dict, Comparison]:
    """Store the units on a real bill for [start_ms, end_ms) and compare them with the sensors."""
    value = _kwh_value(units, "billed units")
    if end_ms <= start_ms:
        raise LedgerError("the billed period must end after it starts")
    cal = store.calendar
    comparison = compare(value, kwh(energy_mwh(store, start_ms, end_ms, section)), Decimal(str(section.meter_mismatch_pct)))
    with transaction(store) as conn:
        cur = conn.execute(
            "INSERT INTO meter_readings (kind, ts_ms, value_kwh, period_start_ms, meter_kwh, sensor_kwh, gap_pct, flagged, "
            "entered_ms, note) VALUES ('billed_units', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (end_ms, str(value), start_ms, str(value), str(comparison.sensor_kwh), str(comparison.gap_pct),
             int(comparison.flagged), now_ms, note),
        )
        if comparison.flagged:
            period = f"from {cal.day(start_ms)} to {cal.day(end_ms - 1)}"
            alerts.raise_alert(
                "meter_mismatch", None, comparison.message(period), now_ms=now_ms,
                dedup_key=f"meter_mismatch:{start_ms}:{end_ms}",
                data={"meter_kwh": comparison.meter_kwh, "sensor_kwh": comparison.sensor_kwh, "gap_pct": comparison.gap_pct},
            )
        row = {"id": cur.lastrowid, "ts_ms": end_ms, "value_kwh": str(value)}
    return row, comparison


def billed_units_for(store: Store, start_ms: int, end_ms: int) -> Decimal | None:
    """Units from a real bill entered for exactly this period, if any (the latest entry wins)."""
    row = store.conn.execute(
        "SELECT value_kwh FROM meter_readings WHERE kind = 'billed_units' AND period_start_ms = ? AND ts_ms = ? "
        "ORDER BY id DESC LIMIT 1",
        (start_ms, end_ms),
    ).fetchone()
    return Decimal(row[0]) if row else None
