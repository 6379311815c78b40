"""Tariffs as data, bills as pure functions: validated Tariff -> Bill.

Everything here takes values and returns values (no files, no clock, no database); `tariff_file`
reads and validates a tariff file into a Tariff. Money is `Decimal` rupees, rounded to paise (half
up) once per bill line; the total is the sum of the rounded lines, as on a printed bill.

Order of a bill: energy (the first `[[energy]]` schedule whose `max_units` covers the cycle's
units), fixed charges, percentage charges in file order (each on a stated base of earlier lines),
then subsidies (on a stated base, or "all" of the above). How export and time-of-day windows
change a bill is `net_metering`; the rules themselves are `export_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from . import TariffError
from .export_rules import ExportRule, NetUnits, TodWindow
from .sentence import Note

PAISE = Decimal("0.01")
ZERO = Decimal(0)
METHODS = ("telescopic", "non_telescopic")
FIXED_BASES = ("flat", "per_kw", "by_units")
FIXED_PER = ("month", "cycle")


def rupees(value: Decimal) -> Decimal:
    """Round to paise, half up (the way utilities round a bill line)."""
    return value.quantize(PAISE, rounding=ROUND_HALF_UP)


# ---- the tariff, as validated data -------------------------------------------------------------


@dataclass(frozen=True)
class Slab:
    """Units up to `up_to` (None: every unit above the previous slab) at `rate` ₹/unit."""

    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class EnergySchedule:
    """A slab table used when the cycle's units are at most `max_units` (None: any number)."""

    method: str
    slabs: tuple[Slab, ...]
    max_units: Decimal | None = None


@dataclass(frozen=True)
class Band:
    """One row of a fixed charge: up to `up_to` (kW or units; None: above) -> `value` (₹/kW or ₹)."""

    up_to: Decimal | None
    value: Decimal


@dataclass(frozen=True)
class FixedCharge:
    """A fixed charge: flat ₹, ₹ per kW of sanctioned load by load band, or ₹ by consumption band."""

    label: str
    basis: str
    per: str
    amount: Decimal = ZERO
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class PercentCharge:
    """A duty, tax or surcharge: `percent` of the sum of the lines named in `on`."""

    id: str
    label: str
    percent: Decimal
    on: tuple[str, ...]


@dataclass(frozen=True)
class Subsidy:
    """`percent` off the lines in `on` ("all": the whole bill so far) when units are in [min_units, max_units]."""

    label: str
    percent: Decimal
    on: tuple[str, ...]
    max_units: Decimal
    min_units: Decimal = ZERO
    cap: Decimal | None = None
    opt_in: bool = False


@dataclass(frozen=True)
class Tariff:
    """One tariff version, as its file states it."""

    name: str
    title: str
    effective_from: dt.date
    source: str
    cycle_months: int
    energy: tuple[EnergySchedule, ...]
    fixed: tuple[FixedCharge, ...] = ()
    charges: tuple[PercentCharge, ...] = ()
    subsidies: tuple[Subsidy, ...] = ()
    utility: str = ""
    currency: str = "INR"
    path: str = ""
    export: ExportRule | None = None
    time_of_day: tuple[TodWindow, ...] = ()

    def boundaries(self) -> list[Decimal]:
        """Unit counts where the bill's rule changes (slab edges, schedule switches, bands)."""
        edges: set[Decimal] = set()
        for s in self.energy:
            edges.update(sl.up_to for sl in s.slabs if sl.up_to is not None)
            if s.max_units is not None:
                edges.add(s.max_units)
        for f in self.fixed:
            if f.basis == "by_units":
                edges.update(b.up_to for b in f.bands if b.up_to is not None)
        for sub in self.subsidies:
            edges.add(sub.max_units)
        return sorted(edges)


@dataclass(frozen=True)
class BillOptions:
    """What a bill needs besides units: the household's sanctioned load and subsidy choice."""

    sanctioned_load_kw: Decimal | None = None
    subsidy_opt_in: bool = True


# ---- the bill ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillLine:
    """One line of a bill; `units` and `rate` are set for energy lines, `percent` for charges."""

    kind: str  # energy, fixed, charge, subsidy
    label: str
    amount: Decimal
    units: Decimal | None = None
    rate: Decimal | None = None
    percent: Decimal | None = None

    def as_json(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, "label": self.label, "amount": f"{self.amount:.2f}"}
        if self.units is not None:
            out["units"] = plain_decimal(self.units)
        if self.rate is not None:
            out["rate"] = f"{self.rate:.2f}"
        if self.percent is not None:
            out["percent"] = plain_decimal(self.percent)
        return out


@dataclass(frozen=True)
class Bill:
    """A computed bill: lines and their total, in rupees (Decimal, 2 places); `net` on a bill that
    counted export or time of day."""

    tariff: str
    units: Decimal
    lines: tuple[BillLine, ...]
    total: Decimal
    notes: tuple[str, ...] = ()
    net: NetUnits | None = None

    def as_json(self) -> dict:
        out = {
            "tariff": self.tariff,
            "units": plain_decimal(self.units),
            "total": f"{self.total:.2f}",
            "lines": [line.as_json() for line in self.lines],
            "notes": list(self.notes),
        }
        if self.net is not None:
            out["net_metering"] = self.net.as_json()
        return out


def plain_decimal(value: Decimal) -> str:
    """A Decimal as plain digits, without trailing zeros or an exponent."""
    text = format(value.normalize(), "f")
    return text


def checked_units(value: Any, what: str = "units") -> Decimal:
    """`value` as a number of kWh >= 0 (an int, a string or a Decimal); TariffError names `what`."""
    if isinstance(value, float):
        raise TariffError(f"{what} {value!r}: give units as an int, a string or a Decimal, not a float")
    try:
        units = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise TariffError(f"{what} {value!r}: expected a number of kWh") from None
    if not units.is_finite() or units < 0:
        raise TariffError(f"{what} {value!r}: expected a number of kWh of at least 0")
    return units


# A two-month cycle at 68 kW around the clock: past any domestic connection, so more is a typo.
MAX_CYCLE_UNITS = Decimal(100_000)


def cycle_units(text: str) -> Decimal:
    """Units a person typed for one cycle (`bill --units`): a plain number of kWh from 0 to
    MAX_CYCLE_UNITS, with at most 2 decimals; TariffError says which rule it broke."""
    units = checked_units(text)
    if units > MAX_CYCLE_UNITS:
        raise TariffError(
            f"units {text!r}: more than {plain_decimal(MAX_CYCLE_UNITS)} in one cycle; "
            "expected a household's kWh, e.g. 463"
        )
    if units != units.quantize(Decimal("0.01")):
        raise TariffError(f"units {text!r}: at most 2 decimals")
    return units


def _range_label(lower: Decimal, upper: Decimal | None) -> str:
    lo = plain_decimal(lower + 1) if lower == lower.to_integral_value() else f">{plain_decimal(lower)}"
    return f"{lo}–{plain_decimal(upper)}" if upper is not None else f"above {plain_decimal(lower)}"


def _band(bands: tuple[Band, ...], value: Decimal) -> Band:
    for b in bands:
        if b.up_to is None or value <= b.up_to:
            return b
    return bands[-1]  # validation makes the last band open-ended


def energy_lines(schedule: EnergySchedule, units: Decimal, floor: Decimal = ZERO) -> list[BillLine]:
    """The energy charge of one schedule, one line per slab that has units.

    `floor` is where a non-telescopic table's first slab starts (the previous table's max_units),
    for the label only.
    """
    lines = []
    if schedule.method == "non_telescopic":
        lower = floor
        for slab in schedule.slabs:
            if slab.up_to is None or units <= slab.up_to:
                label = f"all {plain_decimal(units)} units ({_range_label(lower, slab.up_to)} slab)"
                return [BillLine("energy", label, rupees(units * slab.rate), units, slab.rate)]
            lower = slab.up_to
        raise TariffError(f"{plain_decimal(units)} units are beyond the last slab")  # pragma: no cover - validated
    lower = ZERO
    for slab in schedule.slabs:
        upper = slab.up_to
        inside = (min(units, upper) if upper is not None else units) - lower
        if inside <= 0:
            break
        lines.append(BillLine("energy", _range_label(lower, upper), rupees(inside * slab.rate), inside, slab.rate))
        if upper is None:
            break
        lower = upper
    return lines


def compute_bill(tariff: Tariff, units: Any, options: BillOptions = BillOptions()) -> Bill:
    """The bill for one whole cycle of `units` kWh under one tariff."""
    units = checked_units(units)
    lines, notes = bill_lines(tariff, units, options)
    total = rupees(sum((entry.amount for entry in lines), ZERO))
    return Bill(tariff.name, units, tuple(lines), total, tuple(notes))


def bill_lines(
    tariff: Tariff,
    units: Decimal,
    options: BillOptions,
    energy_adjust: Callable[[Decimal], list[BillLine]] | None = None,
) -> tuple[list[BillLine], list[str]]:
    """The lines of a bill of `units` (checked), and its notes.

    `energy_adjust(energy charge)` gives lines that change the energy charge (time-of-day
    surcharges and rebates): they follow the energy lines and count as "energy" for the charges.
    """
    index = next(i for i, s in enumerate(tariff.energy) if s.max_units is None or units <= s.max_units)
    schedule = tariff.energy[index]
    floor = tariff.energy[index - 1].max_units if index else ZERO
    lines = energy_lines(schedule, units, floor)
    notes = []
    if index:
        method = schedule.method.replace("_", "-")
        notes.append(
            Note(
                f"above {plain_decimal(floor)} units the {method} table applies",
                "note_table_above",
                {"floor": plain_decimal(floor), "method": schedule.method},
                {"floor": "units", "method": "tariff_method"},
            )
        )
    energy = sum((entry.amount for entry in lines), ZERO)
    if energy_adjust is not None:
        extra = energy_adjust(energy)
        lines.extend(extra)
        energy += sum((entry.amount for entry in extra), ZERO)
    totals: dict[str, Decimal] = {"energy": energy}
    totals["fixed"] = _fixed_lines(tariff, units, options, lines)

    for c in tariff.charges:
        base = sum((totals[k] for k in c.on), ZERO)
        line = BillLine("charge", c.label, rupees(base * c.percent / 100), percent=c.percent)
        lines.append(line)
        totals[c.id] = line.amount

    for s in tariff.subsidies:
        if s.opt_in and not options.subsidy_opt_in:
            continue
        if not (s.min_units <= units <= s.max_units):
            continue
        base = (
            sum((entry.amount for entry in lines), ZERO) if s.on == ("all",) else sum((totals[k] for k in s.on), ZERO)
        )
        off = base * s.percent / 100
        if s.cap is not None:
            off = min(off, s.cap)
        lines.append(BillLine("subsidy", s.label, -rupees(off), percent=s.percent))
    return lines, notes


def _fixed_lines(tariff: Tariff, units: Decimal, options: BillOptions, lines: list[BillLine]) -> Decimal:
    """Append the fixed charges to `lines`; return their sum."""
    fixed_total = ZERO
    for f in tariff.fixed:
        months = Decimal(tariff.cycle_months if f.per == "month" else 1)
        if f.basis == "flat":
            amount, label = f.amount * months, f.label
        elif f.basis == "by_units":
            band = _band(f.bands, units)
            amount, label = band.value * months, f.label
        else:
            load = options.sanctioned_load_kw
            if load is None:
                raise TariffError(
                    f"tariff {tariff.name} charges '{f.label}' per kW of sanctioned load: "
                    "set [billing] sanctioned_load_kw"
                )
            band = _band(f.bands, load)
            amount = load * band.value * months
            per_months = " × " + str(months) + " months" if months > 1 else ""
            label = f"{f.label} ({plain_decimal(load)} kW × ₹{band.value:.2f}{per_months})"
        line = BillLine("fixed", label, rupees(amount))
        lines.append(line)
        fixed_total += line.amount
    return fixed_total


def compute_split_bill(parts: list[tuple[Tariff, int]], units: Any, options: BillOptions = BillOptions()) -> Bill:
    """A cycle under more than one tariff: `parts` are (tariff, days under it).

    The cycle's units are split by days, and so are the slabs: each tariff bills the whole
    cycle's units and contributes its share of days. (Billing units × f against slab edges × f
    is exactly f × the whole-cycle bill, so this is the same as pro-rating slabs.)
    """
    units = checked_units(units)
    return split_bill(parts, lambda tariff: compute_bill(tariff, units, options))


def split_bill(parts: list[tuple[Tariff, int]], bill_of: Callable[[Tariff], Bill]) -> Bill:
    """`bill_of(tariff)` for each part (tariff, days), each line scaled by the part's share of days.

    The bill's units and `net` are those of the first part (every part bills the same cycle).
    """
    parts = [(t, d) for t, d in parts if d > 0]
    if not parts:
        raise TariffError("a split bill needs at least one tariff with days > 0")
    if len(parts) == 1:
        return bill_of(parts[0][0])
    total_days = sum(d for _, d in parts)
    lines: list[BillLine] = []
    first: Bill | None = None
    for tariff, days in parts:
        share = Decimal(days) / Decimal(total_days)
        part = bill_of(tariff)
        first = first or part
        tag = f"[{tariff.name} from {tariff.effective_from}, {days}/{total_days} days] "
        for part_line in part.lines:
            lines.append(
                BillLine(
                    part_line.kind,
                    tag + part_line.label,
                    rupees(part_line.amount * share),
                    None
                    if part_line.units is None
                    else (part_line.units * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                    part_line.rate,
                    part_line.percent,
                )
            )
    total = rupees(sum((entry.amount for entry in lines), ZERO))
    name = "+".join(t.name + "@" + str(t.effective_from) for t, _ in parts)
    note = f"tariff changed during the cycle: split by days ({total_days} days)"
    return Bill(name, first.units, tuple(lines), total, (note,), first.net)


# ---- where the household stands on the slabs -------------------------------------------------------


@dataclass(frozen=True)
class SlabPosition:
    """The next boundary at or above `units`, and what crossing it costs."""

    units: Decimal
    boundary: Decimal | None
    units_to_boundary: Decimal | None
    rate_before: Decimal | None  # what the last unit below the boundary costs
    crossing_cost: Decimal | None  # what the first unit above the boundary costs (bill(b+1) - bill(b))
    step: bool  # crossing costs more than the units after it: a jump in the bill
    step_boundary: Decimal | None  # the next boundary where the bill jumps
    step_cost: Decimal | None

    def message(self) -> str:
        """Where the units stand, in English (a Note: its key and parameters word it on the dashboard)."""
        u = {"units": self.units, "left": self.units_to_boundary, "edge": self.boundary, "step": self.step_boundary}
        units = {k: v for k, v in u.items() if v is not None}
        money = {"cost": self.crossing_cost, "rate": self.rate_before, "jump": self.step_cost}
        rupee = {k: f"{v:.2f}" for k, v in money.items() if v is not None}

        def note(text: str, key: str) -> Note:
            params = {k: plain_decimal(v) for k, v in units.items()} | rupee
            return Note(text, key, params, {k: "units" for k in units} | {k: "inr" for k in rupee})

        if self.boundary is None:
            return note(f"{plain_decimal(self.units)} units: beyond the last slab", "slab_beyond")
        if self.units_to_boundary == 0:
            # Exactly on an edge: the very next unit is the one that crosses it.
            head = f"{plain_decimal(self.units)} units, the top of a slab: the next unit"
            last = f"(the last one cost ₹{self.rate_before:.2f})"
            if self.step:
                return note(f"{head} adds ₹{self.crossing_cost:.2f} {last}", "slab_top_step")
            text = f"{head} costs ₹{self.crossing_cost:.2f} {last}"
            if self.step_boundary is not None and self.step_boundary != self.boundary:
                jump = f"; at {plain_decimal(self.step_boundary)} the bill jumps by ₹{self.step_cost:.2f}"
                return note(text + jump, "slab_top_jump")
            return note(text, "slab_top")
        head = f"{plain_decimal(self.units_to_boundary)} units to {plain_decimal(self.boundary)}"
        if self.step:
            return note(f"{head}; crossing it adds ₹{self.crossing_cost:.2f}", "slab_to_edge_step")
        text = f"{head}; above it each unit costs ₹{self.crossing_cost:.2f} (now ₹{self.rate_before:.2f})"
        if self.step_boundary is not None:
            jump = f"; at {plain_decimal(self.step_boundary)} the bill jumps by ₹{self.step_cost:.2f}"
            return note(text + jump, "slab_to_edge_jump")
        return note(text, "slab_to_edge")


def slab_position(bill_fn: Callable[[Decimal], Bill], boundaries: list[Decimal], units: Any) -> SlabPosition:
    """Where `units` stands: `bill_fn(units) -> Bill` (a tariff with options, or a split bill)."""
    units = checked_units(units)
    one = Decimal(1)

    def cost(b: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        at = bill_fn(b).total
        return (
            at - bill_fn(max(b - one, ZERO)).total,
            bill_fn(b + one).total - at,
            bill_fn(b + 2).total - bill_fn(b + one).total,
        )

    ahead = [b for b in boundaries if b >= units]  # on an edge, the next unit crosses it
    if not ahead:
        return SlabPosition(units, None, None, None, None, False, None, None)
    info = []
    for b in ahead:
        before, crossing, after = cost(b)
        info.append((b, before, crossing, crossing - after > PAISE))
    b, before, crossing, step = info[0]
    step_b = next(((x[0], x[2]) for x in info if x[3]), (None, None))
    return SlabPosition(units, b, b - units, before, crossing, step, step_b[0], step_b[1])
