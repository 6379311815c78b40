"""The house's import and export from the store, for bills: energy, a cycle's Flows, the bank.

The adapter between the house rollup (gateway/house.py: `Store.house_usage` for what was drawn,
`Store.house_flows` for drawn and exported) and the pure `net_metering` core. Every figure is
exact integer mWh summed from hour rollups inside a span and minute rollups at its edges.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal

from ..store import Store, UnknownNodesError
from . import MeteredNodeError
from .cycle import Cycle, previous_cycle
from .net_metering import HOURS, Flows, bank_after, closes_settlement_year, settlement_year_start
from .settings import BillingSection
from .tariff import Tariff

MWH_PER_KWH = 1_000_000
CENTI = Decimal("0.01")


def kwh(mwh: int) -> Decimal:
    return Decimal(mwh) / MWH_PER_KWH


def units_of(mwh: int) -> Decimal:
    """mWh as kWh to 2 decimals (half up), the way the bill counts units."""
    return kwh(mwh).quantize(CENTI, rounding=ROUND_HALF_UP)


def follow_metering(store: Store, section: BillingSection | None) -> None:
    """Keep the store's house metering on [billing] metered_nodes (empty: every meter; gateway/house.py).

    MeteredNodeError when a listed id never reported: billing refuses rather than bill the other
    listed nodes, since a typo would under-bill in silence.
    """
    if section is None:
        return
    try:
        store.apply_config_mains(section.metered_nodes, int(time.time() * 1000))
    except UnknownNodesError as err:
        raise MeteredNodeError(err.unknown, err.known) from None


def spans(store: Store, start_ms: int, end_ms: int) -> list[tuple[int, int, str]]:
    """[start_ms, end_ms) as (start, end, resolution): whole local hours inside, minutes at the edges."""
    cal = store.calendar
    h0 = cal.hour_start_ms(start_ms)
    if h0 < start_ms:
        h0 = cal.hour_start_ms(h0 + 3_600_000 + 60_000)
    h1 = cal.hour_start_ms(end_ms)
    if h0 >= h1:
        return [(start_ms, end_ms, "minute")]
    parts = [(start_ms, h0, "minute"), (h0, h1, "hour"), (h1, end_ms, "minute")]
    return [p for p in parts if p[1] > p[0]]


def energy_mwh(store: Store, start_ms: int, end_ms: int, section: BillingSection | None) -> int:
    """Energy the house drew in [start_ms, end_ms): hour rollups inside, minutes at the edges."""
    if end_ms <= start_ms:
        return 0
    follow_metering(store, section)
    return sum(sum(store.house_usage(a, b, res).values()) for a, b, res in spans(store, start_ms, end_ms))


def flows_mwh(store: Store, start_ms: int, end_ms: int, section: BillingSection | None) -> tuple[int, int, list[int]]:
    """(import mWh, export mWh, import mWh by local hour of day 0..23) of the house in [start_ms, end_ms)."""
    by_hour = [0] * HOURS
    exported = 0
    if end_ms <= start_ms:
        return 0, 0, by_hour
    follow_metering(store, section)
    cal = store.calendar
    for a, b, res in spans(store, start_ms, end_ms):
        for bucket, (imp, exp) in store.house_flows(a, b, res).items():
            by_hour[cal.to_datetime(bucket).hour] += imp
            exported += exp
    return sum(by_hour), exported, by_hour


def hourly_flow_kwh(
    store: Store, start_ms: int, end_ms: int, section: BillingSection | None, which: int
) -> list[tuple[dt.datetime, float]]:
    """(local hour start, kWh) of the house's import (`which` 0) or export (1), hours with any flow."""
    follow_metering(store, section)
    cal = store.calendar
    rows = store.house_flows(start_ms, end_ms, "hour")
    return [(cal.to_datetime(s), cell[which] / MWH_PER_KWH) for s, cell in sorted(rows.items()) if any(cell)]


def banked_units(store: Store, section: BillingSection, tariff: Tariff, cycle: Cycle) -> Decimal:
    """Units banked before `cycle` in its settlement year: the bank run over the year's earlier
    cycles as the sensors measured them (0 for a tariff that does not bank)."""
    if tariff.export is None or tariff.export.settlement != "banking":
        return Decimal(0)
    cal = store.calendar
    year_start = settlement_year_start(tariff, cycle.start)
    earlier = []
    before = previous_cycle(section.anchor, tariff.cycle_months, cycle)
    while before.start >= year_start:
        imp, exp, _ = flows_mwh(store, cal.day_start_ms(before.start), cal.day_start_ms(before.end), section)
        earlier.append((units_of(imp), units_of(exp), False))
        before = previous_cycle(section.anchor, tariff.cycle_months, before)
    return bank_after(tariff, list(reversed(earlier)))


def cycle_flows(
    store: Store,
    section: BillingSection,
    tariff: Tariff,
    cycle: Cycle,
    end_ms: int,
    *,
    banked_in: Decimal | None = None,
) -> Flows:
    """The Flows of `cycle` from its start to `end_ms`: units drawn (by hour) and exported, the bank
    carried in, and whether the cycle closes the settlement year (it settles only when `end_ms` is
    its end)."""
    start_ms = store.calendar.day_start_ms(cycle.start)
    imp, exp, by_hour = flows_mwh(store, start_ms, end_ms, section)
    # Rounded cumulatively, so the hours are each >= 0 and add up to the rounded import exactly.
    cumulative = [units_of(sum(by_hour[: h + 1])) for h in range(HOURS)]
    hours = [c - (cumulative[h - 1] if h else 0) for h, c in enumerate(cumulative)]
    bank = banked_units(store, section, tariff, cycle) if banked_in is None else banked_in
    whole = end_ms >= store.calendar.day_start_ms(cycle.end)
    settles = whole and tariff.export is not None and closes_settlement_year(tariff, cycle.start, cycle.end)
    return Flows.of(units_of(imp), units_of(exp), hours, bank, settles)
