"""The current cycle from the store: units and bill till date, projections, slab position, budget.

The adapter between the store's rollups and the pure billing core; the CLI, the dashboard and
the budget job all read this one `Estimate`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..store import Store, UnknownNodesError
from . import MeteredNodeError
from .cycle import Cycle, cycle_containing
from .money import format_inr, paise_str, to_paise
from .projection import FULL_COVERAGE, Projection, profile_projection, season_factor, straight_line
from .settings import BillingSection
from .tariff import (
    Bill,
    BillOptions,
    SlabPosition,
    Tariff,
    compute_split_bill,
    slab_position,
)
from .tariff_book import TariffBook

MWH_PER_KWH = 1_000_000
WHOLE_DAY_MS = 0.9 * 86_400_000  # a day the sensors heard at least this much of counts as a whole day


def kwh(mwh: int) -> Decimal:
    return Decimal(mwh) / MWH_PER_KWH


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


def energy_mwh(store: Store, start_ms: int, end_ms: int, section: BillingSection | None) -> int:
    """Energy of the house in [start_ms, end_ms): hour rollups inside, minutes at the edges."""
    if end_ms <= start_ms:
        return 0
    follow_metering(store, section)
    cal = store.calendar
    h0 = cal.hour_start_ms(start_ms)
    if h0 < start_ms:
        h0 = cal.hour_start_ms(h0 + 3_600_000 + 60_000)
    h1 = cal.hour_start_ms(end_ms)
    spans = (
        [(start_ms, end_ms, "minute")]
        if h0 >= h1
        else [(start_ms, h0, "minute"), (h0, h1, "hour"), (h1, end_ms, "minute")]
    )
    return sum(sum(store.house_usage(a, b, res).values()) for a, b, res in spans if b > a)


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
    projection: Projection
    bill: Bill
    low_total: Decimal
    high_total: Decimal

    def as_json(self) -> dict:
        p = self.projection
        return {
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

    @property
    def coverage_note(self) -> str:
        """What the sensors covered of the cycle so far, in words; "" when they covered nearly all of it."""
        if self.elapsed_days <= 0 or self.covered_days >= FULL_COVERAGE * self.elapsed_days:
            return ""
        return (
            f"the sensors covered {self.covered_days:.1f} of the {self.elapsed_days:.1f} days of this cycle so far: "
            "these units are only what they measured"
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
        if self.coverage_note:
            out.append(f"Coverage: {self.coverage_note}")
        for p in self.projections:
            pr = p.projection
            out.append(
                f"Projected ({pr.method.replace('_', ' ')}): {pr.units:.0f} units (likely {pr.low:.0f}–{pr.high:.0f}), "
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


def cycle_estimate(
    store: Store, section: BillingSection, book: TariffBook, now_ms: int, *, tariff: str | None = None
) -> Estimate:
    """Till-date and projected units and bill of the cycle containing `now_ms`."""
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

    mwh = energy_mwh(store, start_ms, now_ms, section)
    units = kwh(mwh).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    elapsed_days = (now_ms - start_ms) / 86_400_000
    total_days = (end_ms - start_ms) / 86_400_000
    covered = covered_days(store, start_ms, now_ms)

    # The day-to-day spread from whole days the sensors heard (a day half missed is not a small day).
    per_day = store.house_series(start_ms, cal.day_start_ms(today), "day")
    whole_days = [m / MWH_PER_KWH for m, c in per_day.values() if c >= WHOLE_DAY_MS]
    straight = straight_line(float(units), elapsed_days, total_days, whole_days, covered)
    projections = [straight]

    lookback_ms = section.projection_lookback_days * 86_400_000
    history = hourly_kwh(store, now_ms - lookback_ms, now_ms, section)
    if history:
        now = cal.to_datetime(now_ms)
        end = cal.to_datetime(end_ms)
        years = {now.year, end.year, history[0][0].year}
        holidays = holidays_for(section.holiday_state, years)
        year_ms = 365 * 86_400_000
        season = season_factor(
            energy_mwh(store, now_ms - lookback_ms - year_ms, now_ms - year_ms, section) / MWH_PER_KWH,
            energy_mwh(store, now_ms - year_ms, end_ms - year_ms, section) / MWH_PER_KWH,
            lookback_ms / 86_400_000,
            (end_ms - now_ms) / 86_400_000,
        )
        profile = profile_projection(
            history,
            now,
            end,
            float(units),
            holidays,
            season,
            uncovered_days=max(elapsed_days - covered, 0.0),
            elapsed_days=elapsed_days,
        )
        if profile is not None:
            projections.append(profile)

    projected = tuple(
        ProjectedBill(p, bill_of(_units(p.units)), bill_of(_units(p.low)).total, bill_of(_units(p.high)).total)
        for p in projections
    )
    boundaries = sorted({b for t, _ in parts for b in t.boundaries()})
    return Estimate(
        cycle=cycle,
        now_ms=now_ms,
        tariff=name if len(parts) == 1 else "+".join(f"{t.name}@{t.effective_from}" for t, _ in parts),
        units=units,
        bill=bill_of(units),
        elapsed_days=elapsed_days,
        covered_days=min(covered, elapsed_days),
        projections=projected,
        position=slab_position(bill_of, boundaries, units),
        budget_paise=budget_for_cycle(store, section, first),
    )


def today_cost(
    store: Store, section: BillingSection, book: TariffBook, now_ms: int, *, tariff: str | None = None
) -> Decimal:
    """What today's units add to the cycle's bill: bill(cycle till now) − bill(cycle till local midnight).

    With slabs a unit's price depends on the units before it in the cycle, so today's cost is the
    bill's growth today, not today's units times one rate. Same cycle, tariff versions, units
    rounding and metered nodes as `cycle_estimate`; fixed charges cancel out.
    """
    cal = store.calendar
    name = tariff or section.tariff
    today = dt.date.fromisoformat(cal.day(now_ms))
    cycle = cycle_containing(section.anchor, book.in_force(name, today).cycle_months, today)
    parts = book.parts_for_cycle(name, cycle.start, cycle.end)
    options = bill_options(section)
    start_ms = cal.day_start_ms(cycle.start)

    def bill_till(end_ms: int) -> Decimal:
        units = kwh(energy_mwh(store, start_ms, end_ms, section)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return compute_split_bill(parts, units, options).total

    return bill_till(now_ms) - bill_till(cal.day_start_ms(today))
