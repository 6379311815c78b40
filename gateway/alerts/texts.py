"""Alerts in household words: one sentence per alert as `{key, params}`, and its history as sentences.

Pure: an alert row (as AlertStore returns it) in, `{"key": ..., "params": {...}}` out. The
dashboard turns the key into words with its strings files (local_ui/static/strings/), so every
language says the same thing; the params are ready to show (ASCII digits, ₹ with Indian grouping,
"6 Dec 2026", "1 am"), and `formats` says which of them are hours or times, with the raw value, so
the dashboard can show those in its own language's words instead (`["hour", 1]`, `["day_ms", ms]`,
`["time_ms", ms]`, `["iso", "2026-12-06"]`). A kind is a row of SUMMARIES; a kind without a row
reads as its own key (`alert_sum_<kind>`) with no params.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from ..billing.money import format_inr

Summary = dict  # {"key": str, "params": {str: str}, and maybe "formats": {param: [kind, raw value]}}


def hour_label(hour: int) -> str:
    """A local hour of day as a household says it: 0 -> "midnight", 1 -> "1 am", 12 -> "noon", 13 -> "1 pm"."""
    hour %= 24
    if hour == 0:
        return "midnight"
    if hour == 12:
        return "noon"
    return f"{hour % 12} {'am' if hour < 12 else 'pm'}"


def power_label(watts: float) -> str:
    """About this much power: "850 W" below a kilowatt, "1.1 kW" from one."""
    return f"{watts / 1000:.1f} kW" if abs(watts) >= 1000 else f"{watts:.0f} W"


def day_label(ms: int, tz: str) -> str:
    """A local date as "6 Dec 2026" (day month year, English month abbreviations whatever the locale)."""
    d = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).date()
    return f"{d.day} {d.strftime('%b')} {d.year}"


def when_label(ms: int, tz: str) -> str:
    """A local time as "6 Dec 2026, 9:05 pm"."""
    t = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(tz))
    return f"{day_label(ms, tz)}, {t.hour % 12 or 12}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


def _rupees_paise(value) -> int | None:
    try:
        return int(Decimal(str(value)) * 100)
    except (InvalidOperation, ValueError, TypeError):
        return None


def _theft(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    if d.get("source") == "meter":
        start, end = int(d["period_start_ms"]), int(d["period_end_ms"]) - 1
        return {
            "key": "alert_sum_theft_meter",
            "params": {
                "from": day_label(start, tz),
                "to": day_label(end, tz),
                "units": f"{float(d.get('excess_kwh', 0)):.0f}",
            },
            "formats": {"from": ["day_ms", start], "to": ["day_ms", end]},
        }
    first, last = int(d["first_hour"]), int(d["last_hour"])
    params = {
        "from": hour_label(first),
        "to": hour_label(last),
        "power": power_label(float(d["excess_w"])),
        "days": str(int(d["days_seen"])),
        "of": str(int(d["days_considered"])),
    }
    hours = {"from": ["hour", first], "to": ["hour", last]}
    if "escalated_from_w" in d:
        return {
            "key": "alert_sum_theft_more",
            "params": {**params, "before": power_label(float(d["escalated_from_w"]))},
            "formats": hours,
        }
    if first == last:
        key = "alert_sum_theft_allday"
    else:
        night = all(h >= 20 or h < 6 for h in d.get("hours") or range(first, last if last > first else last + 24))
        key = "alert_sum_theft_nights" if night else "alert_sum_theft_days"
    # The steady-lift detector found the house's quietest minutes lifted: nothing the family runs explains it.
    if d.get("path") == "steady":
        key += "_quiet"
    return {"key": key, "params": params, "formats": hours}


def _budget_threshold(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    budget, spent = int(d["budget_paise"]), _rupees_paise(d["spent"])
    if budget <= 0 or spent is None:
        raise ValueError("a budget alert without its budget or spend")
    pct = 100 * spent // budget
    return {
        "key": "alert_sum_budget_threshold",
        "params": {
            "pct": str(pct),
            "budget": format_inr(budget).removesuffix(".00"),
            "spent": format_inr(spent or 0),
        },
    }


def _budget_projection(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    budget = int(d.get("budget_paise") or 0)
    projected = _rupees_paise(d.get("projected")) or 0
    return {
        "key": "alert_sum_budget_projection",
        "params": {
            "projected": format_inr(projected),
            "budget": format_inr(budget).removesuffix(".00"),
            "over": format_inr(max(0, projected - budget)),
        },
    }


def _slab_ahead(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    units, boundary = Decimal(str(d.get("units", 0))), Decimal(str(d.get("boundary", 0)))
    return {
        "key": "alert_sum_slab_ahead",
        "params": {
            "to_go": f"{max(Decimal(0), boundary - units):.0f}",
            "boundary": f"{boundary:.0f}",
            "projected": f"{float(d.get('projected_units', 0)):.0f}",
        },
    }


def _owed(alert: dict, tz: str) -> Summary:
    owed = int(alert["data"].get("owed_paise") or 0)
    return {"key": f"alert_sum_{alert['kind']}", "params": {"owed": format_inr(owed)}}


def _meter_mismatch(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    return {
        "key": "alert_sum_meter_mismatch",
        "params": {
            "meter": f"{float(d.get('meter_kwh', 0)):.0f}",
            "sensors": f"{float(d.get('sensor_kwh', 0)):.0f}",
            "gap": f"{abs(float(d.get('gap_pct', 0))):.0f}",
        },
    }


def _sensor(alert: dict, tz: str) -> Summary:
    return {"key": f"alert_sum_{alert['kind']}", "params": {"sensor": alert.get("node_id") or ""}}


def _power_cut(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    start = int(d["start_ms"])
    if d.get("ongoing"):
        return {
            "key": "alert_sum_power_cut_ongoing",
            "params": {"from": when_label(start, tz)},
            "formats": {"from": ["time_ms", start]},
        }
    end = int(d["end_ms"])
    params = {"from": when_label(start, tz), "to": when_label(end, tz), "minutes": str(round((end - start) / 60_000))}
    return {
        "key": "alert_sum_power_cut",
        "params": params,
        "formats": {"from": ["time_ms", start], "to": ["time_ms", end]},
    }


def _voltage(alert: dict, tz: str) -> Summary:
    d = alert["data"]
    day = dt.date.fromisoformat(d["day"])
    params = {"minutes": str(int(d["longest_out"])), "day": f"{day.day} {day.strftime('%b')} {day.year}"}
    return {"key": "alert_sum_voltage_out_of_band", "params": params, "formats": {"day": ["iso", day.isoformat()]}}


SUMMARIES: dict[str, Callable[[dict, str], Summary]] = {
    "theft": _theft,
    "budget_threshold": _budget_threshold,
    "budget_projection": _budget_projection,
    "slab_ahead": _slab_ahead,
    "bill_due": _owed,
    "bill_overdue": _owed,
    "meter_mismatch": _meter_mismatch,
    "power_cut": _power_cut,
    "voltage_out_of_band": _voltage,
    "node_offline": _sensor,
    "sensor_fault": _sensor,
}


def summary(alert: dict, tz: str = "Asia/Kolkata") -> Summary:
    """The alert in one plain sentence, as {key, params}: a kind without numbers to tell reads as
    `alert_sum_<kind>`; data without the numbers its sentence needs (stored by an older version)
    reads as `alert_sum_plain` ("see Details") rather than a sentence with holes."""
    fn = SUMMARIES.get(alert["kind"])
    if fn is None:
        return {"key": f"alert_sum_{alert['kind']}", "params": {}}
    try:
        return fn(alert, tz)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return {"key": "alert_sum_plain", "params": {}}


HISTORY_KEYS = {"ignore": "alert_hist_ignore", "unignore": "alert_hist_unignore", "raise": "alert_hist_raise"}
SYSTEM = "powergw"  # who the gateway's own jobs act as (a paid bill, a sensor heard again)


def history(actions: list[dict], me: str | None, tz: str = "Asia/Kolkata") -> list[Summary]:
    """Each action on an alert as a sentence: "You marked this as yours on 6 Dec 2026"."""
    out = []
    for a in actions:
        key = HISTORY_KEYS.get(a["action"], "alert_hist_resolve")
        if a["by"] == SYSTEM:
            key = "alert_hist_auto"
        elif me is not None and a["by"] == me:
            key += "_you"
        ts = int(a["ts_ms"])
        out.append(
            {"key": key, "params": {"who": a["by"], "date": day_label(ts, tz)}, "formats": {"date": ["day_ms", ts]}}
        )
    return out
