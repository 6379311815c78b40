"""Bills of a house that exports (rooftop solar) or is billed by time of day: Flows -> Bill. Pure.

A cycle's `Flows` are the units drawn from the grid and exported to it (and, for time-of-day
rates, the units drawn in each local hour of the day). The tariff's `[export]` rule
(export_rules.ExportRule) says what the slabs bill and how export is credited:

- net_units: the slabs bill max(import − export, 0); a surplus is paid at the rule's rate, or lapses.
- feed_in: the slabs bill import; each exported unit is credited at the feed-in rate.
- banking: the slabs bill what import − export leaves after the banked units are used; a surplus
  is banked, and the bank left when the settlement year closes is paid at the rule's rate.

Time-of-day windows add `percent` of the energy charge in proportion to the units drawn in each
window. A bill never goes below zero: credit beyond the bill is carried (`NetUnits.credit_carried`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import TariffError
from .export_rules import NetUnits
from .sentence import Note, units_note
from .tariff import (
    ZERO,
    Bill,
    BillLine,
    BillOptions,
    Tariff,
    bill_lines,
    checked_units,
    plain_decimal,
    rupees,
    split_bill,
)

HOURS = 24
DEFAULT_OPTIONS = BillOptions()


@dataclass(frozen=True)
class Flows:
    """One cycle's metered energy: units drawn and exported, import by local hour of day
    (24 values, or empty when unknown), units banked before the cycle, and whether the cycle
    closes the settlement year."""

    import_units: Decimal
    export_units: Decimal = ZERO
    import_by_hour: tuple[Decimal, ...] = ()
    banked_in: Decimal = ZERO
    settles: bool = False

    @classmethod
    def of(
        cls,
        import_units: Any,
        export_units: Any = 0,
        import_by_hour: Sequence[Any] = (),
        banked_in: Any = 0,
        settles: bool = False,
    ) -> Flows:
        """Checked flows: every figure a number of kWh ≥ 0, hours 24 of them summing to the import."""
        imp = checked_units(import_units, "import units")
        by_hour = tuple(checked_units(h, "import units in an hour") for h in import_by_hour)
        if by_hour and len(by_hour) != HOURS:
            raise TariffError(f"import by hour has {len(by_hour)} values: expected {HOURS}, one per hour of the day")
        if by_hour and sum(by_hour) != imp:
            raise TariffError(
                f"import by hour sums to {plain_decimal(sum(by_hour))}, not the import {plain_decimal(imp)}"
            )
        return cls(
            imp, checked_units(export_units, "export units"), by_hour, checked_units(banked_in, "banked units"), settles
        )

    def with_billed(self, tariff: Tariff, units: Decimal) -> Flows:
        """These flows with the import moved so the slabs would bill `units` (for the slab position)."""
        rule = tariff.export
        nets = rule is not None and rule.settlement != "feed_in"
        imp = units + (self.export_units + self.banked_in if nets else ZERO)
        return Flows(imp, self.export_units, (), self.banked_in if nets else ZERO, False)


def compute_net_bill(tariff: Tariff, flows: Flows, options: BillOptions = DEFAULT_OPTIONS) -> Bill:
    """The bill of one whole cycle of `flows` under one tariff (see the module's rules)."""
    rule = tariff.export
    if flows.export_units > 0 and rule is None:
        raise TariffError(
            f"the house exported {plain_decimal(flows.export_units)} units but tariff {tariff.name} does not "
            "settle export: choose a net-metered tariff, or add an [export] table to the tariff file"
        )
    mode = rule.settlement if rule is not None else None
    if flows.banked_in > 0 and mode != "banking":
        raise TariffError(
            f"{plain_decimal(flows.banked_in)} banked units, but tariff {tariff.name} does not bank export"
        )
    imp, exp = flows.import_units, flows.export_units
    surplus = used = ZERO
    if mode in (None, "feed_in"):
        billed = imp
    elif imp >= exp:
        used = min(flows.banked_in, imp - exp)
        billed = imp - exp - used
    else:
        billed, surplus = ZERO, exp - imp
    tod_notes: list[str] = []
    lines, notes = bill_lines(tariff, billed, options, _tod_adjust(tariff, flows, tod_notes))
    notes.extend(tod_notes)
    bank_out = flows.banked_in - used + surplus if mode == "banking" else ZERO
    credit, paid_units = _export_credit(tariff, flows, surplus, bank_out, notes)
    if mode == "banking":
        bank_out -= paid_units
    carried = ZERO
    if credit is not None:
        due = max(sum((entry.amount for entry in lines), ZERO), ZERO)
        carried = max(-credit.amount - due, ZERO)
        lines.append(credit)
        if carried:
            lines.append(BillLine("credit", "Credit beyond this bill, carried to the next", carried))
    total = rupees(sum((entry.amount for entry in lines), ZERO))
    net = None
    if rule is not None or tariff.time_of_day:
        net = NetUnits(imp, exp, billed, flows.banked_in, used, bank_out, paid_units, carried)
    return Bill(tariff.name, billed, tuple(lines), total, tuple(notes), net)


def _tod_adjust(tariff: Tariff, flows: Flows, notes: list[str]):
    """The time-of-day lines for an energy charge: each window's percent of the energy charge times
    its share of the import. None without windows; a note when the hours are not known."""
    if not tariff.time_of_day:
        return None
    if not flows.import_by_hour or flows.import_units == 0:
        if flows.import_units:
            notes.append(
                Note("time-of-day rates not applied: the units drawn in each hour are not known", "note_tod_unknown")
            )
        return None

    def adjust(energy: Decimal) -> list[BillLine]:
        out = []
        for w in tariff.time_of_day:
            drawn = sum((flows.import_by_hour[h] for h in w.hours()), ZERO)
            if drawn == 0:
                continue
            amount = rupees(energy * w.percent / 100 * drawn / flows.import_units)
            label = f"{w.label} ({w.start_hour:02d}:00–{w.end_hour:02d}:00, {plain_decimal(drawn)} units drawn)"
            out.append(BillLine("time_of_day", label, amount, units=drawn, percent=w.percent))
        return out

    return adjust


def _export_credit(
    tariff: Tariff, flows: Flows, surplus: Decimal, bank_out: Decimal, notes: list[str]
) -> tuple[BillLine | None, Decimal]:
    """The export line (a credit, ≤ 0) and the units it paid out; a note for units kept or lost."""
    rule = tariff.export
    if rule is None:
        return None, ZERO
    if rule.settlement == "feed_in":
        if flows.export_units == 0:
            return None, ZERO
        units = flows.export_units
        label = f"{rule.label}: {plain_decimal(units)} units exported × ₹{rule.rate:.2f}"
        return BillLine("export", label, -rupees(units * rule.rate), units, rule.rate), ZERO
    if rule.settlement == "net_units":
        if surplus == 0:
            return None, ZERO
        if rule.rate == 0:
            text = f"{plain_decimal(surplus)} units exported beyond the import lapse (this tariff pays nothing)"
            notes.append(units_note(text, "note_export_lapsed", units=surplus))
            return None, ZERO
        label = f"{rule.label}: {plain_decimal(surplus)} surplus units × ₹{rule.rate:.2f}"
        return BillLine("export", label, -rupees(surplus * rule.rate), surplus, rule.rate), surplus
    if bank_out == 0:
        return None, ZERO
    if not flows.settles:
        text = f"{plain_decimal(bank_out)} units banked, carried to the next cycle"
        notes.append(units_note(text, "note_banked", units=bank_out))
        return None, ZERO
    label = f"{rule.label}: {plain_decimal(bank_out)} banked units settled at year end × ₹{rule.rate:.2f}"
    return BillLine("export", label, -rupees(bank_out * rule.rate), bank_out, rule.rate), bank_out


def compute_split_net_bill(
    parts: list[tuple[Tariff, int]], flows: Flows, options: BillOptions = DEFAULT_OPTIONS
) -> Bill:
    """`compute_net_bill` for a cycle under more than one tariff version, split by days."""
    return split_bill(parts, lambda tariff: compute_net_bill(tariff, flows, options))


# ---- the bank across cycles and the settlement year -------------------------------------------------


def settlement_year_start(tariff: Tariff, day: dt.date) -> dt.date:
    """The first day of the settlement year holding `day` (day 1 of the rule's start month)."""
    month = tariff.export.period_start_month if tariff.export else 4
    year = day.year if day.month >= month else day.year - 1
    return dt.date(year, month, 1)


def closes_settlement_year(tariff: Tariff, cycle_start: dt.date, next_cycle_start: dt.date) -> bool:
    """Whether the cycle [cycle_start, next_cycle_start) is the last of its settlement year."""
    return settlement_year_start(tariff, cycle_start) != settlement_year_start(tariff, next_cycle_start)


def bank_after(tariff: Tariff, cycles: Sequence[tuple[Any, Any, bool]], banked_in: Any = 0) -> Decimal:
    """Units in the bank after `cycles` in order: (import, export, closes the settlement year).

    Only a banking tariff keeps a bank; every other tariff's bank is 0.
    """
    bank = checked_units(banked_in, "banked units")
    if tariff.export is None or tariff.export.settlement != "banking":
        return ZERO
    for imp, exp, closes in cycles:
        net = checked_units(imp, "import units") - checked_units(exp, "export units")
        bank = bank + (-net if net < 0 else -min(bank, net))
        if closes:
            bank = ZERO  # paid out at the settlement rate on that cycle's bill
    return bank


def position_bill(tariff_parts: list[tuple[Tariff, int]], flows: Flows, options: BillOptions):
    """`bill_fn(units)` for `slab_position`: the bill had the slabs billed `units` of these flows."""
    first = tariff_parts[0][0]

    def bill_fn(units: Decimal) -> Bill:
        return compute_split_net_bill(tariff_parts, flows.with_billed(first, units), options)

    return bill_fn
