"""An Ignore rule in words, from its saved JSON row: the one wording, without numpy.

The dashboard shows the household what the gateway is ignoring, and its process must not load
numpy (tests/test_memory_imports.py), which `edge_model.alerting` (SuppressionRule) needs. So the
words are made here from the row the daemon saves in the meta key RULES_KEY (SuppressionRule.to_dict
plus the alert_id that made it), and `SuppressionRule.describe` calls `describe` with its own row.
"""

from __future__ import annotations

import datetime as dt

RULES_KEY = "theft.rules"  # meta key: JSON list of SuppressionRule rows, each with the alert_id whose Ignore made it


def describe(row: dict, tz: str | None = None) -> str:
    """"up to +900 W over usual from 22:00 to 06:00, every day, until 2026-06-13 (renewed for 90 days
    each time it shows)". Rows from older versions (no hours, no renew_days) read as they did.
    The "until" date is the household's (`tz`, an IANA zone such as "Asia/Kolkata"; UTC without
    one): an expiry at 02:00 in India is that day there, the day before in UTC.
    Raises ValueError for a row that is not a rule."""
    try:
        return _describe(row, tz)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"not an Ignore rule ({type(err).__name__}: {err})") from None


def _describe(row: dict, tz: str | None) -> str:
    from zoneinfo import ZoneInfo

    weekdays = sorted({int(d) for d in row["weekdays"]})
    days = "every day" if len(weekdays) == 7 else ", ".join(dt.date(2024, 1, 1 + d).strftime("%a") for d in weekdays)
    until = dt.datetime.fromtimestamp(float(row["expires_s"]), ZoneInfo(tz) if tz else dt.timezone.utc).date().isoformat()
    hours = [int(h) for h in row.get("hours") or ()]
    first, last = int(row["first_hour"]), int(row["last_hour"])
    if hours:
        span = " and ".join(f"from {a:02d}:00 to {b:02d}:00" for a, b in hour_runs(hours))
    else:
        span = "all day" if first == last else f"from {first:02d}:00 to {last:02d}:00"
    renew_days = float(row.get("renew_days") or 0.0)
    renew = f" (renewed for {renew_days:.0f} days each time it shows)" if renew_days > 0 else ""
    return f"up to +{float(row.get('excess_cap_w') or 0.0):.0f} W over usual {span}, {days}, until {until}{renew}"


def hour_runs(hours) -> list[tuple[int, int]]:
    """Circular runs of hours of day as (first, last exclusive): (0, 1, 2, 22, 23) -> [(22, 3)]."""
    present = {int(h) % 24 for h in hours}
    starts = [h for h in sorted(present) if (h - 1) % 24 not in present]
    out = []
    for a in starts:
        b = a
        while (b + 1) % 24 in present and (b + 1) % 24 != a:
            b = (b + 1) % 24
        out.append((a, (b + 1) % 24))
    return out
