"""The theft job's look at the utility meter: each period between two register readings against the sensors.

Reads the readings billing keeps (`meter_readings`) and the house's energy through the store's
one door, keeps what it measured per period in `theft_meter_periods` (a period is measured once,
again only when one of its readings is corrected), and raises a theft alert when a fully covered
period shows the meter running ahead of its learned ratio to the sensors (edge_model.meter_evidence).
An Ignore on such an alert says the gap is the household's own (a circuit the sensors miss): the
ratio is learned afresh from the next fully covered period.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from edge_model.meter_evidence import MeterPeriod, judge
from gateway.store import transaction

log = logging.getLogger(__name__)


def measure(store, start_ms: int, end_ms: int) -> tuple[float, float]:
    """(sensor kWh, share of the time its meters covered) of the house over [start_ms, end_ms)."""
    minutes = store.house_series(start_ms, end_ms, "minute")
    covered = sum(c for _, c in minutes.values())
    return sum(e for e, _ in minutes.values()) / 1e6, min(1.0, covered / max(1, end_ms - start_ms))


def _kwh(text: str) -> float | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return None
    return float(value) if value.is_finite() else None


def periods(store) -> list[MeterPeriod]:
    """Every period between consecutive register readings, measured (and remembered) once."""
    readings = store.conn.execute(
        "SELECT id, ts_ms, value_kwh FROM meter_readings WHERE kind = 'register' ORDER BY ts_ms, id"
    ).fetchall()
    known = {
        r[0]: r
        for r in store.conn.execute(
            "SELECT reading_id, start_ms, end_ms, start_kwh, end_kwh, sensor_kwh, coverage FROM theft_meter_periods"
        ).fetchall()
    }
    out = []
    for (_, a_ms, a_kwh), (b_id, b_ms, b_kwh) in zip(readings, readings[1:], strict=False):
        start, end = _kwh(a_kwh), _kwh(b_kwh)
        if start is None or end is None or b_ms <= a_ms:
            continue
        row = known.get(b_id)
        if row is None or (row[1], row[2], row[3], row[4]) != (a_ms, b_ms, a_kwh, b_kwh):
            sensor, coverage = measure(store, a_ms, b_ms)
            with transaction(store) as conn:
                conn.execute(
                    "INSERT INTO theft_meter_periods (reading_id, start_ms, end_ms, start_kwh, end_kwh, "
                    "sensor_kwh, coverage) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reading_id) DO UPDATE SET start_ms = excluded.start_ms, "
                    "end_ms = excluded.end_ms, start_kwh = excluded.start_kwh, end_kwh = excluded.end_kwh, "
                    "sensor_kwh = excluded.sensor_kwh, coverage = excluded.coverage, alert_id = NULL",
                    (b_id, a_ms, b_ms, a_kwh, b_kwh, sensor, coverage),
                )
        else:
            sensor, coverage = row[5], row[6]
        out.append(MeterPeriod(a_ms, b_ms, end - start, sensor, coverage, b_id))
    return out


def _relearn_after_ms(store, alerts) -> int:
    """The end of the latest meter period whose theft alert the household last answered with Ignore
    (0: none). Read from the alert's history, not its state: an Ignored alert later resolved is still Ignored."""
    rows = store.conn.execute("SELECT end_ms, alert_id FROM theft_meter_periods WHERE alert_id IS NOT NULL").fetchall()
    return max((int(end) for end, alert_id in rows if alerts.last_answer(alert_id) == "ignore"), default=0)


def meter_check(store, alerts, tz: str, now_ms: int) -> list[int]:
    """Judge the periods not yet alerted on; raise a theft alert for each that shows a tap. Returns their ids."""
    since = _relearn_after_ms(store, alerts)
    raised = []
    alerted = {
        r[0] for r in store.conn.execute("SELECT reading_id FROM theft_meter_periods WHERE alert_id IS NOT NULL")
    }
    for j in judge([p for p in periods(store) if p.start_ms >= since]):
        if not j.tap or j.period.reading_id in alerted:
            continue
        note = j.ratio_note()
        message = j.message(ZoneInfo(tz)) + (f" ({note})" if note else "")
        data = {
            "source": "meter",
            "excess_kwh": round(j.excess_kwh, 2),
            "expected_kwh": round(j.expected_kwh, 2),
            "excess_w": round(j.watts, 1),
            "ratio": round(j.ratio, 4),
            "period_start_ms": j.period.start_ms,
            "period_end_ms": j.period.end_ms,
            "learned_from_ms": [j.learned_from.start_ms, j.learned_from.end_ms],
            "first_hour": 0,
            "last_hour": 0,
            "hours": list(range(24)),
        }
        alert_id, _ = alerts.raise_alert(
            "theft", None, message, now_ms=now_ms, dedup_key=f"theft:meter:{j.period.reading_id}", data=data
        )
        with transaction(store) as conn:
            conn.execute(
                "UPDATE theft_meter_periods SET alert_id = ? WHERE reading_id = ?", (alert_id, j.period.reading_id)
            )
        log.info("theft: meter period to reading #%d: %s", j.period.reading_id, json.dumps(data))
        raised.append(alert_id)
    return raised
