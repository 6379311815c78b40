"""An Ignore rule in words, from its saved fields: the one wording, without numpy.

The dashboard shows the household what the gateway is ignoring, and its process must not load
numpy (tests/ops/test_memory_imports.py), which `edge_model.alerting` (SuppressionRule) needs. So the
words are made here from a rule's fields as the theft_rules table holds them (edge_model.feedback_store;
SuppressionRule.to_dict gives the same), read by edge_model.rule_row, and `SuppressionRule.describe`
calls `describe` with its own row.
"""

from __future__ import annotations

import datetime as dt

from edge_model import rule_row


def describe(row: dict, tz: str | None = None) -> str:
    """ "up to +900 W over usual from 22:00 to 06:00, every day, until 2026-06-13 (renewed for 90 days
    each time it shows)". Rows from older versions (no hours, no renew_days) read as they did.
    The "until" date is the household's (`tz`, an IANA zone such as "Asia/Kolkata"; UTC without
    one): an expiry at 02:00 in India is that day there, the day before in UTC.
    Raises ValueError for a row that is not a rule."""
    fields = rule_row.fields(row)
    try:
        return _describe(fields, tz)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"not an Ignore rule ({type(err).__name__}: {err})") from None


def _describe(f: dict, tz: str | None) -> str:
    from zoneinfo import ZoneInfo

    weekdays = f["weekdays"]
    days = "every day" if len(weekdays) == 7 else ", ".join(dt.date(2024, 1, 1 + d).strftime("%a") for d in weekdays)
    until = dt.datetime.fromtimestamp(f["expires_s"], ZoneInfo(tz) if tz else dt.UTC).date().isoformat()
    if f["hours"]:
        span = " and ".join(f"from {a:02d}:00 to {b:02d}:00" for a, b in hour_runs(f["hours"]))
    else:
        span = (
            "all day"
            if f["first_hour"] == f["last_hour"]
            else f"from {f['first_hour']:02d}:00 to {f['last_hour']:02d}:00"
        )
    renew = f" (renewed for {f['renew_days']:.0f} days each time it shows)" if f["renew_days"] > 0 else ""
    return f"up to +{f['excess_cap_w']:.0f} W over usual {span}, {days}, until {until}{renew}"


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
