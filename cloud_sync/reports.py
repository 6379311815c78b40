"""Periodic events for the cloud: one daily_summary per closed local day, one node_health per hour.

Each is queued once: a watermark in sync_state moves in the same transaction as the events, and
the idempotency key is derived from the day or hour, so even a lost watermark (a restored
backup) only re-sends keys the cloud answers as duplicates. The first run after registration
catches up on every day since the first recorded energy.

A day's household total is the house rollup's (gateway/house.py: the mains meters of [billing]
metered_nodes, or every meter, each ESP32 once); each id's own energy is still in the payload.
The key stays the day's: a summary the cloud already has is never sent again under another key,
so the cloud holds one summary per day, whatever rule
counted it. While metered_nodes lists an id that never reported, billing cannot count the house
and no day is summarised (the watermark stays); the days go once the config is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging

from gateway.house import current_mains, twin_ids
from gateway.store import Store, UnknownNodesError, transaction

from .events import daily_summary, event_key, node_health
from .outbox import Outbox, SyncState

log = logging.getLogger(__name__)

DAY_GRACE_MS = 3_600_000  # a day is summarised an hour after local midnight: late frames of it are in
HEALTH_EVERY_MS = 3_600_000
LAST_DAY = "daily_summary.last_day"
HELD = "daily_summary.held"  # why days are not being summarised ('' when they are): logged once per reason
LAST_HEALTH = "node_health.last_ms"


def _next_day(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def queue_daily_summaries(store: Store, now_ms: int, billing=None) -> int:
    """Queue a daily_summary for each local day closed since the last one; returns how many.

    `billing` is the [billing] section: its metered_nodes decide the household total, as for the bill.
    """
    conn, cal = store.conn, store.calendar
    state = SyncState(conn)
    end = cal.day(now_ms - DAY_GRACE_MS)  # the first day not yet closed
    last = state.get(LAST_DAY)
    start = _next_day(last) if last else conn.execute("SELECT min(day) FROM usage_day").fetchone()[0]
    if start is None or start >= end:
        return 0
    try:
        store.apply_config_mains(billing.metered_nodes if billing else [], now_ms)
    except UnknownNodesError as err:
        if state.get(HELD, "") != str(err):  # billing_check raises the alert; say it here once
            log.warning("cloud reports: daily summaries wait until the household can be counted: %s", err)
            state.set(HELD, str(err))
        return 0
    if state.get(HELD, ""):
        log.info("cloud reports: the household can be counted again; summarising from %s", start)
        state.set(HELD, "")
    by_day: dict[str, list[dict]] = {}
    for row in store.usage(cal.day_start_ms(start), cal.day_start_ms(end), "day"):
        by_day.setdefault(cal.day(row["start_ms"]), []).append(row)
    totals = {
        cal.day(s): mwh for s, mwh in store.house_usage(cal.day_start_ms(start), cal.day_start_ms(end), "day").items()
    }
    twins, mains = twin_ids(conn), current_mains(conn)
    queued = 0
    with transaction(conn):
        day = start
        while day < end:
            payload = daily_summary(
                day, cal.name, by_day.get(day, ()), totals.get(day, 0), same_node_as=twins, metered_nodes=mains or None
            )
            Outbox.enqueue(conn, "daily_summary", payload, key=event_key("daily_summary", day), now_ms=now_ms)
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
