"""The current cycle from the store: units and bill till date, projections, slab position, budget.

The adapter between the store's rollups and the pure billing core; the CLI, the dashboard and
the budget job all read this one `Estimate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..store import Store
from .cycle import Cycle, cycle_containing
from .cycle_flows import (
    MWH_PER_KWH,
    banked_units,
    cycle_flows,
    energy_mwh,
    flows_mwh,
    follow_metering,
    hourly_flow_kwh,
    units_of,
)
from .cycle_flows import kwh as kwh  # re-exported: the jobs and the dashboard read units here
from .export_rules import NetUnits
from .money import format_inr, paise_str, to_paise
from .net_estimate import net_bills, unsettled_export_note
from .net_metering import closes_settlement_year, compute_split_net_bill
from .projection import FULL_COVERAGE, Projection, profile_projection, season_factor, straight_line
from .sentence import Note
from .settings import BillingSection
from .tariff import (
    Bill,
    BillOptions,
    SlabPosition,
    Tariff,
    compute_split_bill,
    plain_decimal,
    slab_position,
)
from .tariff_book import TariffBook

WHOLE_DAY_MS = 0.9 * 86_400_000  # a day the sensors heard at least this much of counts as a whole day


def hourly_kwh(
    store: Store, start_ms: int, end_ms: int, section: BillingSection | None
) -> list[tuple[dt.datetime, float]]:
    """(local hour start, kWh) of the house."""
    follow_metering(store, section)
    sums = store.house_usage(start_ms, end_ms, "hour")
    cal = store.calendar
    return [(cal.to_datetime(s), m / MWH_PER_KWH) for s, m in sorted(sums.items())]


def covered_days(store: Store, start_ms: int, end_ms: int) -> float:
    """Days of [start_ms, end_ms) the house's meters covered (gateway/house.py)."""
    return sum(c for _, c in store.house_series(start_ms, end_ms, "hour").values()) / 86_400_000


def holidays_for(state: str, years: set[int]) -> set[dt.date]:
    """The state's public holidays in those years, with the state's corrections applied."""
    from ..public_holidays import HolidayCalendar

    if not state:
        return set()
    calendar = HolidayCalendar(state)
    return {date for year in sorted(years) for date in calendar.dates(year)}


@dataclass(frozen=True)
class ProjectedBill:
    """A projection of the units the cycle will bill and that bill; on a net-metered tariff the
    projection is of net units, and `drawn` and `exported` are the projections behind it."""

    projection: Projection
    bill: Bill
    low_total: Decimal
    high_total: Decimal
    drawn: Projection | None = None
    exported: Projection | None = None

    def as_json(self) -> dict:
        p = self.projection
        out = {
            "method": p.method,
            "units": round(p.units, 1),
            "low": round(p.low, 1),
            "high": round(p.high, 1),
            "confidence": p.confidence,
            "note": p.note,
            "total": f"{self.bill.total:.2f}",
            "low_total": f"{self.low_total:.2f}",
            "high_total": f"{self.high_total:.2f}",
        }
        if self.drawn is not None and self.exported is not None:
            out |= {"import_units": round(self.drawn.units, 1), "export_units": round(self.exported.units, 1)}
            out["net_units"] = out["units"]
        return out


@dataclass(frozen=True)
class Estimate:
    """Where the household stands in the current cycle."""

    cycle: Cycle
    now_ms: int
    tariff: str
    units: Decimal
    bill: Bill
    elapsed_days: float
    covered_days: float  # of elapsed_days, how much the sensors covered
    projections: tuple[ProjectedBill, ...]
    position: SlabPosition
    budget_paise: int | None
    notes: tuple[str, ...] = ()
    import_units: Decimal = Decimal(0)  # drawn from the grid so far
    export_units: Decimal = Decimal(0)  # exported so far (settled or not, as the tariff says)

    @property
    def net(self) -> NetUnits | None:
        """Units drawn, exported and banked when the tariff settles export or has time-of-day rates."""
        return self.bill.net

    @property
    def coverage_note(self) -> str:
        """What the sensors covered of the cycle so far, in words; "" when they covered nearly all of it."""
        if self.elapsed_days <= 0 or self.covered_days >= FULL_COVERAGE * self.elapsed_days:
            return ""
        covered, elapsed = f"{self.covered_days:.1f}", f"{self.elapsed_days:.1f}"
        return Note(
            f"the sensors covered {covered} of the {elapsed} days of this cycle so far: "
            "these units are only what they measured",
            "coverage_partial",
            {"covered": covered, "days": elapsed},
            {"covered": "days", "days": "days"},
        )

    @property
    def best(self) -> ProjectedBill:
        """The profile projection when there is history for it, else the straight line."""
        return self.projections[-1]

    def as_json(self) -> dict:
        out: dict[str, Any] = {
            "cycle": {
                "start": self.cycle.start.isoformat(),
                "end": self.cycle.end.isoformat(),
                "days": self.cycle.days,
                "elapsed_days": round(self.elapsed_days, 2),
                "covered_days": round(self.covered_days, 2),
                "coverage_note": self.coverage_note,
            },
            "tariff": self.tariff,
            "till_date": {
                "units": str(self.units),
                "total": f"{self.bill.total:.2f}",
                "lines": self.bill.as_json()["lines"],
            },
            "projections": [p.as_json() for p in self.projections],
            "slab_position": self.position.message(),
        }
        out["till_date"] |= {
            "import_units": str(self.import_units),
            "export_units": str(self.export_units),
            "net_units": str(self.import_units - self.export_units),
        }
        if self.net is not None:
            out["till_date"]["net_metering"] = self.net.as_json()
        if self.notes or self.bill.notes:
            out["notes"] = [*self.notes, *self.bill.notes]
        if self.budget_paise is not None:
            spent = to_paise(self.bill.total)
            out["budget"] = {
                "amount": paise_str(self.budget_paise),
                "spent_pct": round(100 * spent / self.budget_paise, 1),
                "projected": f"{self.best.bill.total:.2f}",
            }
        return out

    def lines(self) -> list[str]:
        """The estimate for people, one fact a line."""
        c = self.cycle
        out = [
            f"Cycle {c.start} to {c.end - dt.timedelta(days=1)} (day {int(self.elapsed_days) + 1} of {c.days}), "
            f"tariff {self.tariff}",
            f"Till date: {self.units} units, {format_inr(to_paise(self.bill.total))}",
        ]
        if self.net is not None:
            n = self.net
            out.append(
                f"Net metering: drawn {plain_decimal(n.import_units)}, exported {plain_decimal(n.export_units)}, "
                f"net {plain_decimal(n.net_units)} units; billed {plain_decimal(n.billed_units)}"
                + (f"; banked {plain_decimal(n.banked_out)}" if n.banked_out else "")
            )
        out.extend(f"Note: {note}" for note in (*self.notes, *self.bill.notes))
        if self.coverage_note:
            out.append(f"Coverage: {self.coverage_note}")
        for p in self.projections:
            pr = p.projection
            net = " net" if p.drawn is not None else ""
            out.append(
                f"Projected ({pr.method.replace('_', ' ')}): {pr.units:.0f}{net} units "
                f"(likely {pr.low:.0f}–{pr.high:.0f}), "
                f"{format_inr(to_paise(p.bill.total))} (likely {format_inr(to_paise(p.low_total))}–"
                f"{format_inr(to_paise(p.high_total))}); {pr.confidence} confidence: {pr.note}"
            )
        out.append(f"Slabs: {self.position.message()}")
        if self.budget_paise is not None:
            spent = to_paise(self.bill.total)
            out.append(
                f"Budget: {format_inr(spent)} of {format_inr(self.budget_paise)} "
                f"({100 * spent / self.budget_paise:.0f}%), projected {format_inr(to_paise(self.best.bill.total))}"
            )
        return out


BUDGET_META_KEY = "billing.budget_paise"


def budget_setting_paise(store: Store, section: BillingSection) -> int:
    """The budget per [billing] budget_period in paise: set from the dashboard (kept in the store's
    meta table) or else the config's budget_inr; 0 = no budget."""
    override = store.get_meta(BUDGET_META_KEY)
    return int(override) if override is not None else section.budget_inr * 100


def budget_for_cycle(store: Store, section: BillingSection, tariff: Tariff) -> int | None:
    """The budget in paise for one cycle (a monthly budget × the cycle's months)."""
    per_period = budget_setting_paise(store, section)
    if not per_period:
        return None
    months = tariff.cycle_months if section.budget_period == "month" else 1
    return per_period * months


def bill_options(section: BillingSection) -> BillOptions:
    return BillOptions(Decimal(str(section.sanctioned_load_kw)), section.subsidy_opt_in)


def _units(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _projections(
    store: Store,
    section: BillingSection,
    span: tuple[int, int, int],
    so_far: float,
    whole_days: list[float],
    history: list[tuple[dt.datetime, float]],
    energy: Callable[[int, int], int],
) -> list[Projection]:
    """The straight line, and the profile when there is history for it, of one flow (drawn or
    exported): `span` is (cycle start, now, cycle end) in ms, `energy(a, b)` that flow's mWh."""
    start_ms, now_ms, end_ms = span
    cal = store.calendar
    elapsed_days = (now_ms - start_ms) / 86_400_000
    covered = covered_days(store, start_ms, now_ms)
    projections = [straight_line(so_far, elapsed_days, (end_ms - start_ms) / 86_400_000, whole_days, covered)]
    if history:
        now, end = cal.to_datetime(now_ms), cal.to_datetime(end_ms)
        holidays = holidays_for(section.holiday_state, {now.year, end.year, history[0][0].year})
        lookback_ms, year_ms = section.projection_lookback_days * 86_400_000, 365 * 86_400_000
        season = season_factor(
            energy(now_ms - lookback_ms - year_ms, now_ms - year_ms) / MWH_PER_KWH,
            energy(now_ms - year_ms, end_ms - year_ms) / MWH_PER_KWH,
            lookback_ms / 86_400_000,
            (end_ms - now_ms) / 86_400_000,
        )
        profile = profile_projection(
            history,
            now,
            end,
            so_far,
            holidays,
            season,
            uncovered_days=max(elapsed_days - covered, 0.0),
            elapsed_days=elapsed_days,
        )
        if profile is not None:
            projections.append(profile)
    return projections


def _net_estimate(
    store: Store,
    section: BillingSection,
    parts: list[tuple[Tariff, int]],
    cycle: Cycle,
    span: tuple[int, int, int],
    per_day: dict[int, tuple[int, int]],
    drawn: list[Projection],
    common: dict[str, Any],
) -> Estimate:
    """The estimate on a tariff that settles export or has time-of-day rates: net units, the bank,
    export projected like import."""
    cal = store.calendar
    start_ms, now_ms, _ = span
    first = parts[0][0]
    lookback_ms = section.projection_lookback_days * 86_400_000
    flows = cycle_flows(store, section, first, cycle, now_ms)
    export_days = store.house_flows(start_ms, cal.day_start_ms(dt.date.fromisoformat(cal.day(now_ms))), "day")
    whole_export = [export_days.get(k, (0, 0))[1] / MWH_PER_KWH for k, (_, c) in per_day.items() if c >= WHOLE_DAY_MS]
    exported = _projections(
        store,
        section,
        span,
        float(flows.export_units),
        whole_export,
        hourly_flow_kwh(store, now_ms - lookback_ms, now_ms, section, 1),
        lambda a, b: flows_mwh(store, a, b, section)[1],
    )
    settles = closes_settlement_year(first, cycle.start, cycle.end) if first.export else False
    bill, rows, position = net_bills(parts, flows, bill_options(section), drawn, exported, settles)
    return Estimate(
        units=bill.units,
        bill=bill,
        projections=tuple(ProjectedBill(*row) for row in rows),
        position=position,
        import_units=flows.import_units,
        export_units=flows.export_units,
        **common,
    )


def cycle_estimate(
    store: Store, section: BillingSection, book: TariffBook, now_ms: int, *, tariff: str | None = None
) -> Estimate:
    """Till-date and projected units and bill of the cycle containing `now_ms`; on net units when
    the tariff settles export (or has time-of-day rates)."""
    cal = store.calendar
    name = tariff or section.tariff
    today = dt.date.fromisoformat(cal.day(now_ms))
    first = book.in_force(name, today)
    cycle = cycle_containing(section.anchor, first.cycle_months, today)
    parts = book.parts_for_cycle(name, cycle.start, cycle.end)
    options = bill_options(section)
    start_ms, end_ms = cal.day_start_ms(cycle.start), cal.day_start_ms(cycle.end)

    def bill_of(units: Any) -> Bill:
        return compute_split_bill(parts, units, options)

    units = units_of(energy_mwh(store, start_ms, now_ms, section))
    elapsed_days = (now_ms - start_ms) / 86_400_000
    covered = covered_days(store, start_ms, now_ms)
    lookback_ms = section.projection_lookback_days * 86_400_000
    span = (start_ms, now_ms, end_ms)

    # The day-to-day spread from whole days the sensors heard (a day half missed is not a small day).
    per_day = store.house_series(start_ms, cal.day_start_ms(today), "day")
    whole_days = [m / MWH_PER_KWH for m, c in per_day.values() if c >= WHOLE_DAY_MS]
    history = hourly_kwh(store, now_ms - lookback_ms, now_ms, section)
    drawn = _projections(
        store, section, span, float(units), whole_days, history, lambda a, b: energy_mwh(store, a, b, section)
    )
    common = {
        "cycle": cycle,
        "now_ms": now_ms,
        "tariff": name if len(parts) == 1 else "+".join(f"{t.name}@{t.effective_from}" for t, _ in parts),
        "elapsed_days": elapsed_days,
        "covered_days": min(covered, elapsed_days),
        "budget_paise": budget_for_cycle(store, section, first),
    }
    if any(t.export is not None or t.time_of_day for t, _ in parts):
        return _net_estimate(store, section, parts, cycle, span, per_day, drawn, common)
    notes = ()
    exported_mwh = flows_mwh(store, start_ms, now_ms, section)[1]
    if exported_mwh:
        notes = (unsettled_export_note(common["tariff"], exported_mwh, units_of),)
    projected = tuple(
        ProjectedBill(p, bill_of(_units(p.units)), bill_of(_units(p.low)).total, bill_of(_units(p.high)).total)
        for p in drawn
    )
    boundaries = sorted({b for t, _ in parts for b in t.boundaries()})
    return Estimate(
        units=units,
        bill=bill_of(units),
        projections=projected,
        position=slab_position(bill_of, boundaries, units),
        notes=notes,
        import_units=units,
        export_units=units_of(exported_mwh),
        **common,
    )


def today_cost(
    store: Store, section: BillingSection, book: TariffBook, now_ms: int, *, tariff: str | None = None
) -> Decimal:
    """What today's units add to the cycle's bill: bill(cycle till now) − bill(cycle till local midnight).

    With slabs a unit's price depends on the units before it in the cycle, so today's cost is the
    bill's growth today, not today's units times one rate. Same cycle, tariff versions, units
    rounding, metered nodes and (on a net-metered tariff) net units as `cycle_estimate`; fixed
    charges cancel out. Today's export can make it negative.
    """
    cal = store.calendar
    name = tariff or section.tariff
    today = dt.date.fromisoformat(cal.day(now_ms))
    first = book.in_force(name, today)
    cycle = cycle_containing(section.anchor, first.cycle_months, today)
    parts = book.parts_for_cycle(name, cycle.start, cycle.end)
    options = bill_options(section)
    start_ms = cal.day_start_ms(cycle.start)
    if any(t.export is not None or t.time_of_day for t, _ in parts):
        bank = banked_units(store, section, first, cycle)

        def bill_till(end_ms: int) -> Decimal:
            flows = cycle_flows(store, section, first, cycle, end_ms, banked_in=bank)
            return compute_split_net_bill(parts, flows, options).total

    else:

        def bill_till(end_ms: int) -> Decimal:
            return compute_split_bill(parts, units_of(energy_mwh(store, start_ms, end_ms, section)), options).total

    return bill_till(now_ms) - bill_till(cal.day_start_ms(today))
