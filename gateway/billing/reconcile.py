"""Meter reconciliation: the utility meter's reading (or billed units) against the sensors' energy.

A gap beyond [billing] meter_mismatch_pct raises a `meter_mismatch` alert: the meter counting
more than the sensors points at a load between meter and house (tapping) or an unmonitored
circuit; the sensors counting more points at a miscalibrated sensor or a slow meter.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..alerts import AlertStore
from ..store import Store, transaction
from . import LedgerError
from .estimate import covered_days, energy_mwh, kwh
from .projection import FULL_COVERAGE
from .settings import BillingSection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    """Meter and sensor energy over one period, and whether the gap is too large."""

    meter_kwh: Decimal
    sensor_kwh: Decimal
    gap_pct: Decimal
    flagged: bool
    threshold_pct: Decimal
    covered_days: float | None = None  # of the period, what the sensors covered (None: all of it)
    period_days: float | None = None

    @property
    def compared(self) -> bool:
        """Whether the sensors covered enough of the period for the gap to mean anything."""
        return self.covered_days is None or self.covered_days >= FULL_COVERAGE * (self.period_days or 0)

    def message(self, period: str) -> str:
        head = f"meter {self.meter_kwh} kWh, sensors {self.sensor_kwh} kWh {period}"
        if not self.compared:
            return (
                f"{head}: not compared, the sensors covered only {self.covered_days:.1f} of the period's "
                f"{self.period_days:.1f} days (a gap there is missing data, not a tap)"
            )
        if self.meter_kwh == 0:
            return head + ": the meter shows no use"
        side = "below" if self.gap_pct > 0 else "above"
        text = f"{head}: sensors {abs(self.gap_pct)}% {side} the meter"
        if not self.flagged:
            return text + f" (within {self.threshold_pct}%)"
        why = (
            "a load between the meter and the sensors (tapping) or an unmonitored circuit"
            if self.gap_pct > 0
            else "a sensor reading high (calibration) or a slow meter"
        )
        return text + f", more than {self.threshold_pct}%: {why}"


def compare(
    meter_kwh: Decimal,
    sensor_kwh: Decimal,
    threshold_pct: Decimal,
    covered_days: float | None = None,
    period_days: float | None = None,
) -> Comparison:
    """Gap as a percentage of the meter: positive when the sensors saw less than the meter. Flagged only
    when over the threshold and the sensors covered the period (at least 90 % of `period_days`)."""
    sensor = sensor_kwh.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if meter_kwh == 0:
        gap = Decimal(0) if sensor == 0 else Decimal(-100)
    else:
        gap = ((meter_kwh - sensor_kwh) * 100 / meter_kwh).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    out = Comparison(meter_kwh, sensor, gap, False, threshold_pct, covered_days, period_days)
    return replace(out, flagged=out.compared and abs(gap) > threshold_pct)


def sensor_period(store: Store, section: BillingSection, start_ms: int, end_ms: int) -> tuple:
    """(sensor kWh, days the sensors covered, days of the period) of a period a meter figure is compared over.

    The period's dates are checked where they are read (gateway.billing.cycle.billed_period).
    """
    sensor = kwh(energy_mwh(store, start_ms, end_ms, section))
    return sensor, covered_days(store, start_ms, end_ms), (end_ms - start_ms) / 86_400_000


# What a household meter can show: a 6-digit register, read to at most 3 decimals.
METER_MAX_KWH = Decimal("999999.999")
_KWH = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")
KWH_PATTERN = "^ *" + _KWH.pattern + " *$"  # the text _kwh_value reads, as a JSON Schema pattern (the API documents)
KWH_RULE = "kWh as the meter shows them: up to 6 digits and 3 decimals, e.g. 12345.6"
MIN_HOUSE_KW = 10  # the least a house is allowed to draw on average between two readings


def _kwh_value(value: Any, what: str) -> Decimal:
    """A meter register or billed units as a household meter shows them; LedgerError with the rule otherwise."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise LedgerError(f"{what} {value!r}: give it as text, {KWH_RULE}")
    text = value.strip(" ")
    if not _KWH.fullmatch(text):
        raise LedgerError(f"{what} {value[:40]!r}: expected {KWH_RULE}")
    return Decimal(text)


def max_draw_kw(section: BillingSection) -> float:
    """The most a house may draw on average between two readings: three times its sanctioned load, at least 10 kW."""
    return max(MIN_HOUSE_KW, 3 * section.sanctioned_load_kw)


def _plausible_rise(section: BillingSection, rise: Decimal, start_ms: int, end_ms: int, what: str) -> None:
    """Refuse a rise the house could not have drawn in the time (a digit typed twice, a misplaced point)."""
    hours = max(1.0, (end_ms - start_ms) / 3_600_000)
    limit = Decimal(str(round(hours * max_draw_kw(section), 3)))
    if rise > limit:
        raise LedgerError(
            f"{what}: {rise} kWh in {hours:.0f} h is {float(rise) / hours:.1f} kW on average, "
            "more than the house can draw "
            f"({max_draw_kw(section):g} kW: 3 x [billing] sanctioned_load_kw {section.sanctioned_load_kw:g}); "
            "check the digits"
        )


def _neighbours(conn, at_ms: int, exclude_id: int | None = None) -> tuple[tuple | None, tuple | None]:
    """The register readings just before and just after `at_ms`: (ts_ms, value) or None."""
    skip = -1 if exclude_id is None else exclude_id
    prev = conn.execute(
        "SELECT ts_ms, value_kwh FROM meter_readings WHERE kind = 'register' AND ts_ms < ? AND id != ? "
        "ORDER BY ts_ms DESC LIMIT 1",
        (at_ms, skip),
    ).fetchone()
    nxt = conn.execute(
        "SELECT ts_ms, value_kwh FROM meter_readings WHERE kind = 'register' AND ts_ms > ? AND id != ? "
        "ORDER BY ts_ms LIMIT 1",
        (at_ms, skip),
    ).fetchone()
    return prev, nxt


def _check_register(
    store: Store, section: BillingSection, conn, value: Decimal, at_ms: int, exclude_id: int | None = None
) -> None:
    cal = store.calendar
    prev, nxt = _neighbours(conn, at_ms, exclude_id)
    if prev is not None:
        prev_value = Decimal(prev[1])
        if value < prev_value:
            raise LedgerError(
                f"meter reading {value} is less than the previous reading {prev_value} on {cal.isoformat(prev[0])}: "
                "check the digits, or correct or delete that reading (a replaced meter is not supported yet)"
            )
        _plausible_rise(
            section,
            value - prev_value,
            prev[0],
            at_ms,
            f"meter reading {value} is {value - prev_value} kWh more than {prev_value} on {cal.isoformat(prev[0])}",
        )
    if nxt is not None:
        next_value = Decimal(nxt[1])
        if value > next_value:
            raise LedgerError(
                f"meter reading {value} is more than the next reading {next_value} on {cal.isoformat(nxt[0])}"
            )
        _plausible_rise(
            section,
            next_value - value,
            at_ms,
            nxt[0],
            f"the next reading {next_value} on {cal.isoformat(nxt[0])} would be {next_value - value} kWh more",
        )


def record_meter_reading(
    store: Store, section: BillingSection, alerts: AlertStore, reading: Any, *, at_ms: int, now_ms: int, note: str = ""
) -> tuple[dict, Comparison | None]:
    """Store a meter register reading and compare it with the sensors since the previous one."""
    value = _kwh_value(reading, "meter reading")
    with transaction(store) as conn:
        _check_register(store, section, conn, value, at_ms)
        cur = conn.execute(
            "INSERT INTO meter_readings (kind, ts_ms, value_kwh, flagged, entered_ms, note) VALUES "
            "('register', ?, ?, 0, ?, ?)",
            (at_ms, str(value), now_ms, note),
        )
        comparison = _compare_register(store, section, alerts, conn, cur.lastrowid, now_ms)
        _compare_register_after(store, section, alerts, conn, at_ms, now_ms)
        row = {"id": cur.lastrowid, "ts_ms": at_ms, "value_kwh": str(value)}
    return row, comparison


def _compare_register(
    store: Store, section: BillingSection, alerts: AlertStore, conn, reading_id: int, now_ms: int
) -> Comparison | None:
    """(Re)compare one register reading with the sensors since the reading before it; store and alert."""
    cal = store.calendar
    ts, value = conn.execute("SELECT ts_ms, value_kwh FROM meter_readings WHERE id = ?", (reading_id,)).fetchone()
    prev, _ = _neighbours(conn, ts, reading_id)
    comparison = None
    if prev is not None:
        sensor, covered = kwh(energy_mwh(store, prev[0], ts, section)), covered_days(store, prev[0], ts)
        days = (ts - prev[0]) / 86_400_000
        comparison = compare(
            Decimal(value) - Decimal(prev[1]), sensor, Decimal(str(section.meter_mismatch_pct)), covered, days
        )
    conn.execute(
        "UPDATE meter_readings SET period_start_ms = ?, meter_kwh = ?, sensor_kwh = ?, gap_pct = ?, "
        "flagged = ? WHERE id = ?",
        (
            prev[0] if prev else None,
            str(comparison.meter_kwh) if comparison else None,
            str(comparison.sensor_kwh) if comparison else None,
            str(comparison.gap_pct) if comparison else None,
            int(bool(comparison and comparison.flagged)),
            reading_id,
        ),
    )
    if comparison is not None and comparison.flagged:
        period = f"from {cal.isoformat(prev[0])} to {cal.isoformat(ts)}"
        alerts.raise_alert(
            "meter_mismatch",
            None,
            comparison.message(period),
            now_ms=now_ms,
            dedup_key=f"meter_mismatch:{prev[0]}:{ts}",
            data={
                "meter_kwh": comparison.meter_kwh,
                "sensor_kwh": comparison.sensor_kwh,
                "gap_pct": comparison.gap_pct,
            },
        )
    return comparison


def _compare_register_after(
    store: Store, section: BillingSection, alerts: AlertStore, conn, at_ms: int, now_ms: int
) -> None:
    """Recompare the register reading after `at_ms`, whose previous reading has changed."""
    nxt = conn.execute(
        "SELECT id FROM meter_readings WHERE kind = 'register' AND ts_ms > ? ORDER BY ts_ms LIMIT 1", (at_ms,)
    ).fetchone()
    if nxt is not None:
        _compare_register(store, section, alerts, conn, nxt[0], now_ms)


def record_billed_units(
    store: Store,
    section: BillingSection,
    alerts: AlertStore,
    units: Any,
    *,
    start_ms: int,
    end_ms: int,
    now_ms: int,
    note: str = "",
) -> tuple[dict, Comparison]:
    """Store the units on a real bill for [start_ms, end_ms) and compare them with the sensors."""
    value = _kwh_value(units, "billed units")
    if end_ms <= start_ms:
        raise LedgerError("the billed period must end after it starts")
    _plausible_rise(section, value, start_ms, end_ms, f"billed units {value}")
    cal = store.calendar
    sensor, covered, days = sensor_period(store, section, start_ms, end_ms)
    comparison = compare(value, sensor, Decimal(str(section.meter_mismatch_pct)), covered, days)
    with transaction(store) as conn:
        cur = conn.execute(
            "INSERT INTO meter_readings (kind, ts_ms, value_kwh, period_start_ms, meter_kwh, sensor_kwh, "
            "gap_pct, flagged, entered_ms, note) VALUES ('billed_units', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                end_ms,
                str(value),
                start_ms,
                str(value),
                str(comparison.sensor_kwh),
                str(comparison.gap_pct),
                int(comparison.flagged),
                now_ms,
                note,
            ),
        )
        if comparison.flagged:
            period = f"from {cal.day(start_ms)} to {cal.day(end_ms - 1)}"
            alerts.raise_alert(
                "meter_mismatch",
                None,
                comparison.message(period),
                now_ms=now_ms,
                dedup_key=f"meter_mismatch:{start_ms}:{end_ms}",
                data={
                    "meter_kwh": comparison.meter_kwh,
                    "sensor_kwh": comparison.sensor_kwh,
                    "gap_pct": comparison.gap_pct,
                },
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


# ---- corrections ---------------------------------------------------------------------------------


def _audit(conn, reading_id: int, action: str, old: str, new: str | None, by: str, now_ms: int, note: str) -> None:
    conn.execute(
        "INSERT INTO meter_reading_audit (reading_id, action, old_value_kwh, new_value_kwh, by, ts_ms, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (reading_id, action, old, new, by, now_ms, note),
    )
    log.info(
        "meter reading #%s %s by %s: %s -> %s kWh%s",
        reading_id,
        action,
        by,
        old,
        new or "(deleted)",
        f" ({note})" if note else "",
    )


def _resolve_mismatches(alerts: AlertStore, conn, keys: set[str], by: str, now_ms: int, why: str) -> None:
    """Resolve open meter_mismatch alerts of comparisons that no longer hold."""
    for key in keys:
        for (alert_id,) in conn.execute(
            "SELECT id FROM alerts WHERE dedup_key = ? AND state != 'resolved'", (key,)
        ).fetchall():
            alerts.act(alert_id, "resolve", by, why, now_ms=now_ms)


def _mismatch_keys(conn, reading_id: int) -> set[str]:
    """The dedup keys of the comparisons this reading takes part in: its own, and the next register reading's."""
    kind, ts, start = conn.execute(
        "SELECT kind, ts_ms, period_start_ms FROM meter_readings WHERE id = ?", (reading_id,)
    ).fetchone()
    keys = {f"meter_mismatch:{start}:{ts}"} if start is not None else set()
    if kind == "register":
        nxt = conn.execute(
            "SELECT ts_ms FROM meter_readings WHERE kind = 'register' AND ts_ms > ? ORDER BY ts_ms LIMIT 1", (ts,)
        ).fetchone()
        if nxt is not None:
            keys.add(f"meter_mismatch:{ts}:{nxt[0]}")
    return keys


def _reading(conn, reading_id: int) -> tuple:
    row = conn.execute(
        "SELECT kind, ts_ms, value_kwh, period_start_ms FROM meter_readings WHERE id = ?", (reading_id,)
    ).fetchone()
    if row is None:
        raise LedgerError(f"no meter reading #{reading_id}")
    return row


def correct_reading(
    store: Store,
    section: BillingSection,
    alerts: AlertStore,
    reading_id: int,
    value: Any,
    *,
    by: str,
    now_ms: int,
    note: str = "",
) -> dict:
    """Correct the kWh of a register reading or of a bill's units, compare again, and keep an audit line."""
    with transaction(store) as conn:
        kind, ts, old, start = _reading(conn, reading_id)
        new = _kwh_value(value, "meter reading" if kind == "register" else "billed units")
        if kind == "register":
            _check_register(store, section, conn, new, ts, exclude_id=reading_id)
        else:
            _plausible_rise(section, new, start, ts, f"billed units {new}")
        stale = _mismatch_keys(conn, reading_id)
        conn.execute("UPDATE meter_readings SET value_kwh = ? WHERE id = ?", (str(new), reading_id))
        _audit(conn, reading_id, "correct", old, str(new), by, now_ms, note)
        if kind == "register":
            _compare_register(store, section, alerts, conn, reading_id, now_ms)
            _compare_register_after(store, section, alerts, conn, ts, now_ms)
        else:
            sensor, covered = kwh(energy_mwh(store, start, ts, section)), covered_days(store, start, ts)
            comparison = compare(
                new, sensor, Decimal(str(section.meter_mismatch_pct)), covered, (ts - start) / 86_400_000
            )
            conn.execute(
                "UPDATE meter_readings SET meter_kwh = ?, sensor_kwh = ?, gap_pct = ?, flagged = ? WHERE id = ?",
                (str(new), str(comparison.sensor_kwh), str(comparison.gap_pct), int(comparison.flagged), reading_id),
            )
        still = {
            k
            for k in stale
            if conn.execute(
                "SELECT 1 FROM meter_readings WHERE flagged = 1 AND "
                "'meter_mismatch:' || period_start_ms || ':' || ts_ms = ?",
                (k,),
            ).fetchone()
        }
        _resolve_mismatches(
            alerts, conn, stale - still, by, now_ms, f"meter reading #{reading_id} corrected from {old} to {new} kWh"
        )
    return {"id": reading_id, "value_kwh": str(new), "previous_value_kwh": old}


def delete_reading(
    store: Store, section: BillingSection, alerts: AlertStore, reading_id: int, *, by: str, now_ms: int, note: str = ""
) -> dict:
    """Delete a register reading or a bill's units, compare the next reading again, and keep an audit line."""
    with transaction(store) as conn:
        kind, ts, old, _ = _reading(conn, reading_id)
        stale = _mismatch_keys(conn, reading_id)
        conn.execute("DELETE FROM meter_readings WHERE id = ?", (reading_id,))
        _audit(conn, reading_id, "delete", old, None, by, now_ms, note)
        _resolve_mismatches(alerts, conn, stale, by, now_ms, f"meter reading #{reading_id} ({old} kWh) deleted")
        if kind == "register":
            _compare_register_after(store, section, alerts, conn, ts, now_ms)
    return {"id": reading_id, "deleted": True, "value_kwh": old}


def audit_lines(store: Store, limit: int = 50) -> list[dict]:
    """Corrections and deletions of meter readings, newest first."""
    rows = store.conn.execute(
        "SELECT reading_id, action, old_value_kwh, new_value_kwh, by, ts_ms, note FROM meter_reading_audit "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    keys = ("reading_id", "action", "old_value_kwh", "new_value_kwh", "by", "ts_ms", "note")
    return [dict(zip(keys, r, strict=False)) for r in rows]
