"""Ignores the theft job has not taken in yet: what the dashboard lists as pending patterns at once.

An Ignore becomes a rule (theft_rules) at the next hourly theft check (edge_model.store_job); until
then the household would see nothing change. This reads, without numpy, the theft alerts whose
last answer after the feedback cursor is Ignore, which are still ignored and have no rule yet, and
words the pattern from the alert's own numbers as the rule will cover it.
"""

from __future__ import annotations

import json
import sqlite3

from edge_model import rule_text
from edge_model.feedback_store import FeedbackTables


def pending_ignores(store) -> list[dict]:
    """[{alert_id, ignored_ms, text, excess_w, first_hour, last_hour, hours}] oldest answer first;
    [] on a database without the theft tables."""
    try:
        cursor = FeedbackTables(store).cursor()
        rows = store.conn.execute(
            "SELECT a.alert_id, a.ts_ms, t.data FROM alert_actions a JOIN alerts t ON t.id = a.alert_id "
            "WHERE a.id > ? AND t.kind = 'theft' AND t.state = 'ignored' AND a.action = 'ignore' "
            "AND a.id = (SELECT max(b.id) FROM alert_actions b WHERE b.alert_id = a.alert_id "
            "AND b.action IN ('ignore', 'raise', 'unignore')) "
            "AND NOT EXISTS (SELECT 1 FROM theft_rules r WHERE r.alert_id = a.alert_id) ORDER BY a.id",
            (cursor,),
        ).fetchall()
    except sqlite3.OperationalError:  # not migrated by this version: no theft tables, no pending Ignore
        return []
    out = []
    for alert_id, ts_ms, data in rows:
        try:
            d = json.loads(data or "{}")
            if "excess_w" not in d:
                continue  # an alert without the numbers of its hours: the Ignore has nothing to learn
            item = {
                "alert_id": alert_id,
                "ignored_ms": ts_ms,
                "excess_w": float(d.get("excess_w", 0.0)),
                "first_hour": int(d.get("first_hour", 0)),
                "last_hour": int(d.get("last_hour", 0)),
                "hours": [int(h) % 24 for h in d.get("hours") or ()],
            }
        except (ValueError, TypeError):
            continue
        item["text"] = describe(item)
        out.append(item)
    return out


def describe(item: dict) -> str:
    """ "about +1136 W over usual from 01:00 to 05:00; taken in at the next hourly check"."""
    if item["hours"] and len(item["hours"]) < 24:
        span = " and ".join(f"from {a:02d}:00 to {b:02d}:00" for a, b in rule_text.hour_runs(item["hours"]))
    elif item["first_hour"] != item["last_hour"]:
        span = f"from {item['first_hour']:02d}:00 to {item['last_hour']:02d}:00"
    else:
        span = "all day"
    return f"about +{item['excess_w']:.0f} W over usual {span}; taken in at the next hourly check"
