"""Hourly energy written into a real store the way ingest writes it, from a cycle starting 5 July 2025."""

from __future__ import annotations

import datetime as dt

from gateway.batch import Batch

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
START = dt.date(2025, 7, 5)  # meter-reading date: the cycle runs 5 Jul – 3 Sep (60 days)


def ms(day: dt.date, hour: int = 0) -> int:
    return int(dt.datetime.combine(day, dt.time(hour), IST).timestamp() * 1000)


def fill(store, first: dt.date, days: int, wh_per_hour, node="main"):
    """Write energy into the store the way ingest does: one interval per hour."""
    key = store.ensure_node(node, "test", ms(first))
    batch = Batch()
    for d in range(days):
        day = first + dt.timedelta(days=d)
        for h in range(24):
            wh = wh_per_hour(day, h) if callable(wh_per_hour) else wh_per_hour
            if wh:
                batch.add_energy(key, ms(day, h), ms(day, h) + 3_600_000, int(wh * 1000))
    store.write_batch(batch, [])
