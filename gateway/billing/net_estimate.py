"""The current cycle's bill on a net-metered or time-of-day tariff: till date, projections, slabs.

Pure: takes the cycle's Flows so far and the projections of the units drawn and exported (the
same straight line and profile as for import, `estimate`), and returns the till-date bill, one
projected bill per method on net units, and where the billed units stand on the slabs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from .net_metering import HOURS, Flows, compute_split_net_bill, position_bill
from .projection import Projection
from .sentence import units_note
from .tariff import Bill, BillOptions, SlabPosition, Tariff, plain_decimal, slab_position

CENTI = Decimal("0.01")


def whole_units(value: float) -> Decimal:
    """A projected figure as whole units (half up), at least 0."""
    return max(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP), Decimal(0))


def combine(drawn: Projection, exported: Projection) -> Projection:
    """Net units from the projections of what will be drawn and exported: the range's low end is
    the least drawn with the most exported, and the other way round."""
    note = f"{drawn.note}; exported {exported.units:.0f} units projected ({exported.method.replace('_', ' ')})"
    return Projection(
        drawn.method,
        drawn.units - exported.units,
        drawn.low - exported.high,
        drawn.high - exported.low,
        note,
        min(drawn.coverage, exported.coverage),
    )


def projected_flows(now: Flows, drawn: Decimal, exported: Decimal, settles: bool) -> Flows:
    """Flows at cycle end: `drawn` and `exported` units, drawn over the hours of the day in the
    shares seen so far (rounded cumulatively so they add up), the same bank carried in."""
    hours: tuple[Decimal, ...] = ()
    if now.import_by_hour and now.import_units > 0:
        running, cumulative = Decimal(0), []
        for h in range(HOURS):
            running += now.import_by_hour[h]
            cumulative.append((drawn * running / now.import_units).quantize(CENTI, rounding=ROUND_HALF_UP))
        cumulative[-1] = drawn
        hours = tuple(c - (cumulative[h - 1] if h else 0) for h, c in enumerate(cumulative))
    return Flows.of(drawn, exported, hours, now.banked_in, settles)


def net_bills(
    parts: list[tuple[Tariff, int]],
    flows_now: Flows,
    options: BillOptions,
    drawn: list[Projection],
    exported: list[Projection],
    settles: bool,
) -> tuple[Bill, list[tuple[Projection, Bill, Decimal, Decimal, Projection, Projection]], SlabPosition]:
    """(till-date bill, [(net projection, its bill, low total, high total, drawn, exported)], slab position).

    Each method's drawn projection pairs with the exported projection of the same method (the
    straight line when the export has no profile yet).
    """

    def bill_at(imp: float, exp: float) -> Bill:
        flows = projected_flows(flows_now, whole_units(imp), whole_units(exp), settles)
        return compute_split_net_bill(parts, flows, options)

    bill = compute_split_net_bill(parts, flows_now, options)
    projected = []
    for d in drawn:
        e = next((x for x in exported if x.method == d.method), exported[0])
        projected.append(
            (combine(d, e), bill_at(d.units, e.units), bill_at(d.low, e.high).total, bill_at(d.high, e.low).total, d, e)
        )
    boundaries = sorted({b for t, _ in parts for b in t.boundaries()})
    position = slab_position(position_bill(parts, flows_now, options), boundaries, bill.units)
    return bill, projected, position


def unsettled_export_note(tariff: str, exported_mwh: int, units_of: Callable[[int], Decimal]) -> str:
    """What a house that exported is told when its tariff does not settle export."""
    units = units_of(exported_mwh)
    text = (
        f"the house exported {plain_decimal(units)} units this cycle, but tariff {tariff} does "
        "not settle export: billed on the units drawn; choose a net-metered tariff (e.g. kerala-domestic-solar) "
        "or add an [export] table to your tariff file"
    )
    return units_note(text, "note_export_unsettled", units=units)
