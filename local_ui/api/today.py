"""The overview's pictures, priced as the bill prices them: today by hour against a usual day, and the
next slab when the projection reaches it.

With slabs a unit's price depends on the units before it in the cycle, so an hour's cost is the
bill's growth over that hour (the sum of today's hours is `estimate.today_cost`), and "what the
slab costs" is the projected bill minus the bill at the slab's edge.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ..context import UiContext
from ..services import Unavailable
from .billing import billing_service
from .endpoint import rupees

HOUR_MS = 3_600_000
USUAL_DAYS = 14  # a usual day: each hour's median over the last two weeks
USUAL_MIN_SAMPLES = 3  # an hour heard on fewer of those days has no usual value
WHOLE_HOUR_MS = 0.9 * HOUR_MS  # an hour the sensors heard at least this much of is a sample
NEAR_SHARE = Decimal("0.1")  # a projection this close below a slab's edge makes it the headline,
OVER_SHARE = Decimal("0.2")  # and one this far above an edge the cycle has not reached yet


@dataclass(frozen=True)
class Pricing:
    """The current cycle's bill as a function of its units, and where the cycle starts."""

    bill: Callable[[Decimal], Decimal]  # units -> the cycle's bill total (rupees)
    boundaries: tuple[Decimal, ...]
    cycle_start_ms: int


def pricing_for(ctx: UiContext, first: dt.date, end: dt.date) -> Pricing:
    """The bill of the cycle [first, end) for any number of units, as `estimate.cycle_estimate` computes it."""
    from gateway.billing.estimate import bill_options
    from gateway.billing.tariff import compute_split_bill
    from gateway.billing.tariff_book import TariffBook

    section = ctx.effective_config()["billing"]

    def make() -> Pricing:
        parts = TariffBook.load(section.tariff_dir).parts_for_cycle(section.tariff, first, end)
        options = bill_options(section)
        return Pricing(
            lambda units: compute_split_bill(parts, units, options).total,
            tuple(sorted({b for t, _ in parts for b in t.boundaries()})),
            ctx.calendar.day_start_ms(first),
        )

    return billing_service(ctx).call(make)


def cycle_pricing(ctx: UiContext, now_ms: int) -> Pricing:
    """The pricing of the cycle containing `now_ms`."""
    first, end = billing_service(ctx).cycle_dates()(dt.date.fromisoformat(ctx.calendar.day(now_ms)))
    return pricing_for(ctx, first, end)


def bucket_costs(ctx: UiContext, starts: list[int], end_ms: int, mwh: dict[int, int]) -> list[Decimal | None]:
    """What each bucket [starts[i], starts[i+1] or end_ms) added to its cycle's bill (None after now);
    `mwh` is the house's energy per bucket. A bucket that spans two cycles is priced in each."""
    from gateway.billing.estimate import energy_mwh

    store, cal, now = ctx.store(), ctx.calendar, ctx.now_ms()
    section = ctx.effective_config()["billing"]
    cycles = billing_service(ctx).cycle_dates()
    running: dict[dt.date, tuple[Pricing, int]] = {}  # cycle start -> (pricing, its mWh so far)
    out: list[Decimal | None] = []
    for i, a in enumerate(starts):
        b = min(starts[i + 1] if i + 1 < len(starts) else end_ms, now)
        if a >= b:
            out.append(None)
            continue
        cost, x = Decimal(0), a
        while x < b:
            first, end = cycles(dt.date.fromisoformat(cal.day(x)))
            y = min(b, cal.day_start_ms(end))
            if first not in running:
                pricing = pricing_for(ctx, first, end)
                base = billing_service(ctx).call(lambda p=pricing, x=x: energy_mwh(store, p.cycle_start_ms, x, section))
                running[first] = (pricing, base)
            pricing, cum = running[first]
            whole = (x, y) == (a, starts[i + 1] if i + 1 < len(starts) else end_ms)
            e = mwh.get(a, 0) if whole else billing_service(ctx).call(lambda x=x, y=y: energy_mwh(store, x, y, section))
            cost += pricing.bill(_units(cum + e)) - pricing.bill(_units(cum))
            running[first] = (pricing, cum + e)
            x = y
        out.append(cost)
    return out


def _units(mwh: int) -> Decimal:
    """kWh as the cycle's units are counted: to 0.01."""
    return (Decimal(mwh) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _costs(pricing: Pricing, base_mwh: int, hours_mwh: list[int]) -> list[Decimal]:
    """What each hour adds to the bill, the cycle having `base_mwh` before the first."""
    out, cum = [], base_mwh
    before = pricing.bill(_units(cum))
    for mwh in hours_mwh:
        cum += mwh
        after = pricing.bill(_units(cum))
        out.append(after - before)
        before = after
    return out


def usual_day(store, midnight_ms: int) -> tuple[list[int | None], int]:
    """Each local hour's median mWh over the USUAL_DAYS before `midnight_ms` (None with too few samples),
    from hours the sensors heard whole; and how many days had any such hour."""
    cal = store.calendar
    start = midnight_ms - USUAL_DAYS * 86_400_000
    samples: dict[int, list[int]] = {h: [] for h in range(24)}
    days = set()
    for b, (mwh, covered) in store.house_series(start, midnight_ms, "hour").items():
        if covered >= WHOLE_HOUR_MS:
            samples[cal.to_datetime(b).hour].append(mwh)
            days.add(cal.day(b))
    medians = [round(statistics.median(v)) if len(v) >= USUAL_MIN_SAMPLES else None for _, v in sorted(samples.items())]
    return medians, len(days)


def today_by_hour(ctx: UiContext, now_ms: int) -> dict:
    """Today's 24 hours (units and what each adds to the bill) and a usual day's, for the overview's chart.

    A usual day's rupees are priced from where the cycle stood at midnight, as if today went as usual.
    """
    from gateway.billing.estimate import energy_mwh

    store, cal = ctx.store(), ctx.calendar
    today = cal.day(now_ms)
    midnight = cal.day_start_ms(today)
    tomorrow = cal.day_start_ms(dt.date.fromisoformat(today) + dt.timedelta(days=1))
    starts = list(range(midnight, tomorrow, HOUR_MS))
    heard = store.house_series(midnight, now_ms, "hour")
    done = [s for s in starts if s <= now_ms]
    measured = [heard.get(s, (0, 0))[0] for s in done]
    usual, usual_days = usual_day(store, midnight)
    try:
        pricing = cycle_pricing(ctx, now_ms)
        section = ctx.effective_config()["billing"]
        base = billing_service(ctx).call(lambda: energy_mwh(store, pricing.cycle_start_ms, midnight, section))
        costs = _costs(pricing, base, measured)
        usual_costs = _costs(pricing, base, [m or 0 for m in usual])
    except Unavailable:
        costs, usual_costs = [None] * len(done), [None] * 24
    hours = []
    for i, start in enumerate(starts):
        row = {
            "start_ms": start,
            "kwh": round(measured[i] / 1e6, 3) if i < len(done) else None,
            "cost": rupees(costs[i]) if i < len(done) and costs[i] is not None else None,
            "covered_ms": heard.get(start, (0, 0))[1] if i < len(done) else None,
            "usual_kwh": None if usual[i] is None else round(usual[i] / 1e6, 3),
            "usual_cost": rupees(usual_costs[i]) if usual[i] is not None and usual_costs[i] is not None else None,
        }
        hours.append(row)
    # A usual day by now: its whole hours before this one, and the part of this hour gone by.
    current = len(done) - 1
    share = [1.0] * current + [(now_ms - starts[current]) / HOUR_MS]
    usual_so_far = [u * f for u, f in zip(usual, share, strict=False) if u is not None]
    return {
        "hours": hours,
        "usual_days": usual_days,
        "usual_kwh_so_far": round(sum(usual_so_far) / 1e6, 3) if usual_so_far else None,
        "usual_kwh_day": round(sum(u for u in usual if u is not None) / 1e6, 3) if any(usual) else None,
    }


def headline_edge(pricing, now: Decimal, projected: Decimal) -> tuple[str, Decimal] | None:
    """("over", edge) for an edge the projection runs over, ("near", edge) for one it stops just below, or None
    when no edge is near. With both, the one with more money at stake: what stopping at the edge run over
    saves, against what the first unit over the edge ahead costs (in Tamil Nadu, the unit after 500 reprices
    every unit below it)."""
    crossed = [b for b in pricing.boundaries if now < b < projected]
    ahead = [b for b in pricing.boundaries if b >= projected and b > now]
    over = crossed[-1] if crossed and projected - crossed[-1] <= OVER_SHARE * crossed[-1] else None
    near = ahead[0] if ahead and ahead[0] - projected <= NEAR_SHARE * ahead[0] else None
    if over is not None and near is not None:
        saved = pricing.bill(projected) - pricing.bill(over)
        step = pricing.bill(near + 1) - pricing.bill(near)
        return ("over", over) if saved >= step else ("near", near)
    if over is not None:
        return "over", over
    return None if near is None else ("near", near)


def slab_headline(ctx: UiContext, bill: dict) -> dict | None:
    """The slab edge that matters most near the projection (headline_edge): `over` ("40 units over 500 would
    cost ₹571 more than stopping at 500": the projected bill minus the bill at the edge, for an edge the cycle
    has not reached yet) or `near` (the units left below it at the projection, and what each unit above it
    costs); None when no edge is near or nothing was measured."""
    from gateway.billing.tariff import plain_decimal

    if "unavailable" in bill or not bill.get("projection") or bill["cycle"].get("covered_days", 0) < 1:
        return None  # a projection from less than a day of readings is no headline
    try:
        pricing = cycle_pricing(ctx, ctx.now_ms())
    except Unavailable:
        return None
    now = Decimal(bill["units_till_date"])
    projected = Decimal(str(bill["projection"]["units"])).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    chosen = headline_edge(pricing, now, projected)
    if chosen is None:
        return None
    kind, edge = chosen
    if kind == "over":
        return {
            "kind": "over",
            "boundary": plain_decimal(edge),
            "units_over": plain_decimal(projected - edge),
            "projected_units": plain_decimal(projected),
            "extra": rupees(pricing.bill(projected) - pricing.bill(edge)),
        }
    return {
        "kind": "near",
        "boundary": plain_decimal(edge),
        "units_left": plain_decimal(edge - projected),
        "projected_units": plain_decimal(projected),
        "rate_above": rupees(pricing.bill(edge + 1) - pricing.bill(edge)),
    }
