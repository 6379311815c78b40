"""What a theft alert's card draws: the flagged hours' watts against a usual day, and where they are.

`theft_view(store, alert, tz)` reads the house's hours from the store (`Store.house_series`, the
house as the bill counts it) and returns the small chart's data, the span to open in the power
graph and the days to take as evidence. The shaping (`day_profiles`) is pure: buckets in, lists out.
"""

from __future__ import annotations

import datetime as dt
import statistics
from zoneinfo import ZoneInfo

from .texts import hour_label

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
USUAL_DAYS = 14  # a usual day: the median of each hour over this many days before the flagged ones


def _local(ms: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, zone)


def _block(ms: int, zone: ZoneInfo, axis_start: int) -> tuple[dt.date, int]:
    """(the local day the hour belongs to on the chart's axis, its position 0..23 on that axis)."""
    t = _local(ms, zone) - dt.timedelta(hours=axis_start)
    return t.date(), t.hour


def day_profiles(
    buckets: dict[int, tuple[int, int]], zone: ZoneInfo, axis_start: int
) -> dict[dt.date, list[float | None]]:
    """{axis day: 24 mean watts (None where the sensors covered nothing)} from {hour start ms: (mWh, covered ms)}."""
    out: dict[dt.date, list[float | None]] = {}
    for start_ms, (mwh, covered_ms) in buckets.items():
        day, pos = _block(start_ms, zone, axis_start)
        row = out.setdefault(day, [None] * 24)
        if covered_ms > 0:
            row[pos] = mwh * 3600 / covered_ms  # mWh over covered ms -> mean W
    return out


def _mean(values: list[float | None], fn) -> float | None:
    known = [v for v in values if v is not None]
    return round(fn(known), 1) if known else None


def theft_view(store, alert: dict, tz: str, now_ms: int) -> dict | None:
    """{chart, link, evidence} of a theft alert, or None for an alert without hours to show."""
    d = alert["data"]
    zone = ZoneInfo(tz)
    if d.get("source") == "meter":
        start, end = int(d["period_start_ms"]), int(d["period_end_ms"])
        return {"chart": None, **_where(start, end, tz)}
    starts = sorted(int(round(s * 1000)) for s in d.get("window_starts_s") or () if isinstance(s, (int, float)))
    if not starts:
        return None
    first, last = int(d.get("first_hour", 0)), int(d.get("last_hour", 0))
    hours = [int(h) % 24 for h in d.get("hours") or ()] or list(range(24))
    axis_start = 12 if 0 < last < first else 0  # a band across midnight stays in one piece: noon to noon
    in_band = [s for s in starts if _local(s, zone).hour in hours] or starts
    flagged_days = sorted({_block(s, zone, axis_start)[0] for s in in_band})
    flagged_days = flagged_days[-max(1, int(d.get("days_considered") or 0) or len(flagged_days)) :]
    lo_day = flagged_days[0] - dt.timedelta(days=USUAL_DAYS)
    lo = int(dt.datetime.combine(lo_day, dt.time(axis_start), zone).timestamp() * 1000)
    hi = min(now_ms, int(dt.datetime.combine(flagged_days[-1], dt.time(axis_start), zone).timestamp() * 1000) + DAY_MS)
    profiles = day_profiles(store.house_series(lo, hi, "hour"), zone, axis_start)
    flagged = [profiles.get(day, [None] * 24) for day in flagged_days]
    usual = [p for day, p in profiles.items() if lo_day <= day < flagged_days[0]]
    axis = [(axis_start + k) % 24 for k in range(24)]
    chart = {
        "hours": axis,
        "hour_labels": [hour_label(h) for h in axis],
        "band_hours": sorted(hours),
        "flagged_w": [_mean([p[k] for p in flagged], statistics.fmean) for k in range(24)],
        "usual_w": [_mean([p[k] for p in usual], statistics.median) for k in range(24)],
        "days": [day.isoformat() for day in flagged_days],
        "usual_days": len(usual),
    }
    band = [k for k, h in enumerate(axis) if h in hours]
    chart["flagged_band_w"] = _mean([chart["flagged_w"][k] for k in band], statistics.fmean)
    chart["usual_band_w"] = _mean([chart["usual_w"][k] for k in band], statistics.fmean)
    in_days = [s for s in in_band if _block(s, zone, axis_start)[0] in flagged_days]
    return {"chart": chart, **_where(in_days[0], in_days[-1] + HOUR_MS, tz)}


def _where(start_ms: int, end_ms: int, tz: str) -> dict:
    """The span for the power graph (epoch ms) and the local days to export as evidence."""
    zone = ZoneInfo(tz)
    return {
        "link": {"from_ms": start_ms, "to_ms": end_ms},
        "evidence": {
            "from_day": _local(start_ms, zone).date().isoformat(),
            "to_day": _local(end_ms - 1, zone).date().isoformat(),
        },
    }
