"""Periodic events for the cloud: one daily_summary per closed local day, one node_health per hour.

Each is queued once: a watermark in sync_state moves in the same transaction as the events, and
the idempotency key is derived from the day or hour, so even a lost watermark (a restored
backup) only re-sends keys the cloud answers as duplicates. The first run after registration
catches up on every day since the first recorded energy.
"""

from __future__ import annotations

import datetime as dt

from gateway.store import Store, transaction

from .events import daily_summary, event_key, node_health
from .outbox import Outbox, SyncState

DAY_GRACE_MS = 3_600_000  # a day is summarised an hour after local midnight: late frames of it are in
HEALTH_EVERY_MS = 3_600_000
LAST_DAY = "daily_summary.last_day"
LAST_HEALTH = "node_health.last_ms"


def _next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def queue_daily_summaries(store: Store, now_ms: int) -> int:
    """Queue a daily_summary for each local day closed since the last one; returns how many."""
    conn, cal = store.conn, store.calendar
    state = SyncState(conn)
    end = cal.day(now_ms - DAY_GRACE_MS)  # the first day not yet closed
    last = state.get(LAST_DAY)
    start = _next_day(last) if last else conn.execute("SELECT min(day) FROM usage_day").fetchone()[0]
    if start is None or start >= end:
        return 0
    by_day: dict[str, list[dict]] = {}
    for row in store.usage(cal.day_start_ms(start), cal.day_start_ms(end), "day"):
        by_day.setdefault(cal.day(row["start_ms"]), []).append(row)
    queued = 0
    with transaction(conn):
        day = start
        while day < end:
            Outbox.enqueue(conn, "daily_summary", daily_summary(day, cal.name, by_day.get(day, ())),
                           key=event_key("daily_summary", day), now_ms=now_ms)
            last, day, queued = day, _next_day(day), queued + 1
        state.set(LAST_DAY, last)
    return queued


def queue_node_health(store: Store, now_ms: int) -> int:
    """Queue one node_health event for this hour, if none was queued for it yet; returns 0 or 1."""
    conn = store.conn
    state = SyncState(conn)
    hour = now_ms - now_ms % HEALTH_EVERY_MS
    if hour <= int(state.get(LAST_HEALTH, "0") or 0):
        return 0
    nodes = store.nodes()
    if not nodes:
        return 0
    with transaction(conn):
        Outbox.enqueue(conn, "node_health", node_health(hour, nodes), key=event_key("node_health", hour), now_ms=now_ms)
        state.set(LAST_HEALTH, hour)
    return 1
