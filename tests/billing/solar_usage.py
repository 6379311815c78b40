"""Drawn and exported energy of a rooftop-solar home written into a real store the way ingest does."""

from __future__ import annotations

import datetime as dt

from gateway.batch import Batch
from tests.support.billing_usage import ms

MAY = dt.date(2024, 5, 1)  # a monthly Kerala cycle, 1–31 May 2024, in the settlement year from 1 April


def sunny_day(hour: int) -> tuple[int, int]:
    """(Wh drawn, Wh exported) in a local hour: 1 kWh an hour at night and in the evening, the
    plant exporting 1.25 kWh an hour from 09:00 to 16:00, nothing drawn then: 14 kWh in, 8.75 out."""
    if 9 <= hour < 16:
        return 0, 1250
    if 7 <= hour < 9 or hour == 16:
        return 0, 0
    return 1000, 0


def fill_flows(store, first: dt.date, days: int, hourly=sunny_day, node="main"):
    """Write drawn and exported energy into the store as ingest does: one interval per hour, each
    covering its hour whether or not energy flowed."""
    key = store.ensure_node(node, "test", ms(first))
    batch = Batch()
    for d in range(days):
        day = first + dt.timedelta(days=d)
        for h in range(24):
            drawn, exported = hourly(h)
            batch.add_energy(key, ms(day, h), ms(day, h) + 3_600_000, drawn * 1000, export_mwh=exported * 1000)
    store.write_batch(batch, [])
