"""Tariffs as data, bills as pure functions: TOML tariff file -> validated Tariff -> Bill.

Everything here takes values and returns values (no files except `load_tariff_file`, no clock,
no database). Money is `Decimal` rupees, rounded to paise (half up) once per bill line; the total
is the sum of the rounded lines, as on a printed bill. The file format is in docs/tariffs.md.

Order of a bill: energy (the first `[[energy]]` schedule whose `max_units` covers the cycle's
units), fixed charges, percentage charges in file order (each on a stated base of earlier lines),
then subsidies (on a stated base, or "all" of the above).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import TariffError

PAISE = Decimal("0.01")
ZERO = Decimal(0)
METHODS = ("telescopic", "non_telescopic")
FIXED_BASES = ("flat", "per_kw", "by_units")
FIXED_PER = ("month", "cycle")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


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
            out["units"] = _plain(self.units)
        if self.rate is not None:
            out["rate"] = f"{self.rate:.2f}"
        if self.percent is not None:
            out["percent"] = _plain(self.percent)
        return out


@dataclass(frozen=True)
class Bill:
    """A computed bill: lines and their total, in rupees (Decimal, 2 places)."""

    tariff: str
    units: Decimal
    lines: tuple[BillLine, ...]
    total: Decimal
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {
            "tariff": self.tariff,
            "units": _plain(self.units),
            "total": f"{self.total:.2f}",
            "lines": [line.as_json() for line in self.lines],
            "notes": list(self.notes),
        }


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _units(value: Any) -> Decimal:
    if isinstance(value, float):
        raise TariffError(f"units {value!r}: give units as an int, a string or a Decimal, not a float")
    try:
        units = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise TariffError(f"units {value!r}: expected a number of kWh") from None
    if not units.is_finite() or units < 0:
        raise TariffError(f"units {value!r}: expected a number of kWh of at least 0")
    return units


# A two-month cycle at 68 kW around the clock: past any domestic connection, so more is a typo.
MAX_CYCLE_UNITS = Decimal(100_000)


def cycle_units(text: str) -> Decimal:
    """Units a person typed for one cycle (`bill --units`): a plain number of kWh from 0 to
    MAX_CYCLE_UNITS, with at most 2 decimals; TariffError says which rule it broke."""
    units = _units(text)
    if units > MAX_CYCLE_UNITS:
        raise TariffError(f"units {text!r}: more than {_plain(MAX_CYCLE_UNITS)} in one cycle; expected a household's kWh, e.g. 463")
    if units != units.quantize(Decimal("0.01")):
        raise TariffError(f"units {text!r}: at most 2 decimals")
    return units


def _range_label(lower: Decimal, upper: Decimal | None) -> str:
    lo = _plain(lower + 1) if lower == lower.to_integral_value() else f">{_plain(lower)}"
    return f"{lo}–{_plain(upper)}" if upper is not None else f"above {_plain(lower)}"


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
                label = f"all {_plain(units)} units ({_range_label(lower, slab.up_to)} slab)"
                return [BillLine("energy", label, rupees(units * slab.rate), units, slab.rate)]
            lower = slab.up_to
        raise TariffError(f"{_plain(units)} units are beyond the last slab")  # pragma: no cover - validated
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
    units = _units(units)
    index = next(i for i, s in enumerate(tariff.energy) if s.max_units is None or units <= s.max_units)
    schedule = tariff.energy[index]
    floor = tariff.energy[index - 1].max_units if index else ZERO
    lines = energy_lines(schedule, units, floor)
    notes = []
    if index:
        notes.append(f"above {_plain(floor)} units the {schedule.method.replace('_', '-')} table applies")
    totals: dict[str, Decimal] = {"energy": sum((l.amount for l in lines), ZERO)}

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
                    f"tariff {tariff.name} charges '{f.label}' per kW of sanctioned load: set [billing] sanctioned_load_kw"
                )
            band = _band(f.bands, load)
            amount = load * band.value * months
            label = f"{f.label} ({_plain(load)} kW × ₹{band.value:.2f}{' × ' + str(months) + ' months' if months > 1 else ''})"
        line = BillLine("fixed", label, rupees(amount))
        lines.append(line)
        fixed_total += line.amount
    totals["fixed"] = fixed_total

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
        base = sum((l.amount for l in lines), ZERO) if s.on == ("all",) else sum((totals[k] for k in s.on), ZERO)
        off = base * s.percent / 100
        if s.cap is not None:
            off = min(off, s.cap)
        lines.append(BillLine("subsidy", s.label, -rupees(off), percent=s.percent))

    total = rupees(sum((l.amount for l in lines), ZERO))
    return Bill(tariff.name, units, tuple(lines), total, tuple(notes))


def compute_split_bill(parts: list[tuple[Tariff, int]], units: Any, options: BillOptions = BillOptions()) -> Bill:
    """A cycle under more than one tariff: `parts` are (tariff, days under it).

    The cycle's units are split by days, and so are the slabs: each tariff bills the whole
    cycle's units and contributes its share of days. (Billing units × f against slab edges × f
    is exactly f × the whole-cycle bill, so this is the same as pro-rating slabs.)
    """
    units = _units(units)
    parts = [(t, d) for t, d in parts if d > 0]
    if not parts:
        raise TariffError("a split bill needs at least one tariff with days > 0")
    if len(parts) == 1:
        return compute_bill(parts[0][0], units, options)
    total_days = sum(d for _, d in parts)
    lines: list[BillLine] = []
    for tariff, days in parts:
        share = Decimal(days) / Decimal(total_days)
        part = compute_bill(tariff, units, options)
        tag = f"[{tariff.name} from {tariff.effective_from}, {days}/{total_days} days] "
        for l in part.lines:
            lines.append(
                BillLine(
                    l.kind,
                    tag + l.label,
                    rupees(l.amount * share),
                    None if l.units is None else (l.units * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                    l.rate,
                    l.percent,
                )
            )
    total = rupees(sum((l.amount for l in lines), ZERO))
    name = "+".join(t.name + "@" + str(t.effective_from) for t, _ in parts)
    return Bill(name, units, tuple(lines), total, (f"tariff changed during the cycle: split by days ({total_days} days)",))


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
        if self.boundary is None:
            return f"{_plain(self.units)} units: beyond the last slab"
        if self.units_to_boundary == 0:
            # Exactly on an edge: the very next unit is the one that crosses it.
            head = f"{_plain(self.units)} units, the top of a slab: the next unit"
            if self.step:
                return f"{head} adds ₹{self.crossing_cost:.2f} (the last one cost ₹{self.rate_before:.2f})"
            text = f"{head} costs ₹{self.crossing_cost:.2f} (the last one cost ₹{self.rate_before:.2f})"
            if self.step_boundary is not None and self.step_boundary != self.boundary:
                text += f"; at {_plain(self.step_boundary)} the bill jumps by ₹{self.step_cost:.2f}"
            return text
        head = f"{_plain(self.units_to_boundary)} units to {_plain(self.boundary)}"
        if self.step:
            return f"{head}; crossing it adds ₹{self.crossing_cost:.2f}"
        text = f"{head}; above it each unit costs ₹{self.crossing_cost:.2f} (now ₹{self.rate_before:.2f})"
        if self.step_boundary is not None:
            text += f"; at {_plain(self.step_boundary)} the bill jumps by ₹{self.step_cost:.2f}"
        return text


def slab_position(bill_fn: Callable[[Decimal], Bill], boundaries: list[Decimal], units: Any) -> SlabPosition:
    """Where `units` stands: `bill_fn(units) -> Bill` (a tariff with options, or a split bill)."""
    units = _units(units)
    one = Decimal(1)

    def cost(b: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        at = bill_fn(b).total
        return at - bill_fn(max(b - one, ZERO)).total, bill_fn(b + one).total - at, bill_fn(b + 2).total - bill_fn(b + one).total

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


# ---- reading and validating a tariff file -------------------------------------------------------------


class _Fields:
    """Typed reads from one table of a tariff file; errors name the field's path."""

    def __init__(self, where: str, table: Any, path: str):
        if not isinstance(table, dict):
            raise TariffError(f"{where}{path}: expected a table")
        self.where, self.table, self.path = where, table, path

    def err(self, key: str, value: Any, expected: str) -> TariffError:
        return TariffError(f"{self.where}{self._key(key)} = {value!r}: expected {expected}")

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def check_keys(self, known: tuple[str, ...]) -> None:
        for key in self.table:
            if key not in known:
                raise TariffError(f"{self.where}{self._key(key)}: unknown field; known fields: {', '.join(known)}")

    def has(self, key: str) -> bool:
        return key in self.table

    def missing(self, key: str) -> TariffError:
        return TariffError(f"{self.where}{self._key(key)}: missing")

    def text(self, key: str, default: str | None = None, *, pattern: re.Pattern | None = None, expected: str = "a string") -> str:
        if key not in self.table:
            if default is None:
                raise self.missing(key)
            return default
        value = self.table[key]
        if not isinstance(value, str) or not value.strip() or (pattern and not pattern.match(value)):
            raise self.err(key, value, expected)
        return value

    def number(self, key: str, *, default: Decimal | None = None, minimum: Decimal = ZERO, positive: bool = False,
               required: bool = True) -> Decimal | None:
        if key not in self.table:
            if default is None and required:
                raise self.missing(key)
            return default
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.err(key, value, "a number")
        value = Decimal(value)
        if not value.is_finite() or value < minimum or (positive and value <= 0):
            raise self.err(key, str(value),
                           "a number greater than 0" if positive else f"a number of at least {minimum}")
        return value

    def choice(self, key: str, choices: tuple, default: Any = None) -> Any:
        if key not in self.table:
            if default is None:
                raise self.missing(key)
            return default
        value = self.table[key]
        if value not in choices:
            raise self.err(key, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def tables(self, key: str, *, required: bool) -> list[_Fields]:
        if key not in self.table:
            if required:
                raise self.missing(key)
            return []
        value = self.table[key]
        if not isinstance(value, list) or (required and not value):
            raise self.err(key, value, "a non-empty list of tables" if required else "a list of tables")
        return [_Fields(self.where, item, f"{self._key(key)}[{i}]") for i, item in enumerate(value)]


def _increasing_edges(rows: list[_Fields], key: str, what: str) -> list[Decimal | None]:
    """Each row's `key` (None on the last row only, meaning 'and above'), strictly increasing."""
    edges: list[Decimal | None] = []
    for i, row in enumerate(rows):
        last = i == len(rows) - 1
        edge = row.number(key, positive=True, required=False)
        if edge is None and not last:
            raise row.missing(key)
        if edge is not None and edges and edge <= edges[-1]:
            raise row.err(key, _plain(edge), f"more than the previous {what} ({_plain(edges[-1])})")
        edges.append(edge)
    return edges


def _bands(row: _Fields, edge_key: str, value_key: str, what: str) -> tuple[Band, ...]:
    bands = row.tables("bands", required=True)
    for b in bands:
        b.check_keys((edge_key, value_key))
    edges = _increasing_edges(bands, edge_key, what)
    if edges[-1] is not None:
        raise TariffError(f"{bands[-1].where}{bands[-1].path}: the last band must have no {edge_key} (it covers everything above)")
    return tuple(Band(e, b.number(value_key)) for e, b in zip(edges, bands))


TOP_KEYS = ("name", "title", "utility", "effective_from", "source", "currency", "cycle_months", "energy", "fixed",
            "charges", "subsidies")


def parse_tariff(data: dict, where: str = "") -> Tariff:
    """A Tariff from a parsed TOML document (floats parsed as Decimal); TariffError names the field."""
    where = f"{where}: " if where else ""
    top = _Fields(where, data, "")
    top.check_keys(TOP_KEYS)
    name = top.text("name", pattern=NAME_RE, expected="lower-case letters, digits and '-', like 'tn-domestic'")
    eff = top.table.get("effective_from")
    if eff is None:
        raise top.missing("effective_from")
    if isinstance(eff, str):
        try:
            eff = dt.date.fromisoformat(eff)
        except ValueError:
            raise top.err("effective_from", eff, "a date like 2024-07-01") from None
    if not isinstance(eff, dt.date) or isinstance(eff, dt.datetime):
        raise top.err("effective_from", eff, "a date like 2024-07-01")
    source = top.text("source", expected="where the rates come from (the order and its date)")
    currency = top.choice("currency", ("INR",), default="INR")
    months = top.choice("cycle_months", (1, 2))

    schedules = []
    energy_rows = top.tables("energy", required=True)
    max_edges = []
    for i, row in enumerate(energy_rows):
        row.check_keys(("method", "max_units", "slabs"))
        last = i == len(energy_rows) - 1
        max_units = row.number("max_units", positive=True, required=False)
        if last and max_units is not None:
            raise row.err("max_units", _plain(max_units), "no max_units on the last [[energy]] table (it covers every cycle above)")
        if not last and max_units is None:
            raise row.missing("max_units")
        if max_units is not None and max_edges and max_units <= max_edges[-1]:
            raise row.err("max_units", _plain(max_units), f"more than the previous table's max_units ({_plain(max_edges[-1])})")
        max_edges.append(max_units)
        method = row.choice("method", METHODS)
        slab_rows = row.tables("slabs", required=True)
        for s in slab_rows:
            s.check_keys(("up_to", "rate"))
        edges = _increasing_edges(slab_rows, "up_to", "slab's up_to")
        covered = edges[-1] is None or (max_units is not None and edges[-1] >= max_units)
        if not covered:
            raise TariffError(
                f"{where}{slab_rows[-1].path}: the last slab must have no up_to (it covers every unit above), "
                "or reach this table's max_units"
            )
        slabs = tuple(Slab(e, s.number("rate")) for e, s in zip(edges, slab_rows))
        schedules.append(EnergySchedule(method, slabs, max_units))

    fixed = []
    for row in top.tables("fixed", required=False):
        row.check_keys(("label", "basis", "per", "amount", "bands"))
        basis = row.choice("basis", FIXED_BASES)
        per = row.choice("per", FIXED_PER)
        label = row.text("label", default="Fixed charge")
        if basis == "flat":
            if row.has("bands"):
                raise TariffError(f"{where}{row.path}.bands: a flat fixed charge has an amount, not bands")
            fixed.append(FixedCharge(label, basis, per, amount=row.number("amount")))
        else:
            if row.has("amount"):
                raise TariffError(f"{where}{row.path}.amount: a {basis} fixed charge has bands, not one amount")
            edge_key, value_key = ("up_to_kw", "rate_per_kw") if basis == "per_kw" else ("up_to", "amount")
            fixed.append(FixedCharge(label, basis, per, bands=_bands(row, edge_key, value_key, "band's " + edge_key)))

    charges = []
    known_bases = ["energy", "fixed"]
    for row in top.tables("charges", required=False):
        row.check_keys(("id", "label", "percent", "on"))
        cid = row.text("id", pattern=re.compile(r"^[a-z][a-z0-9_]*$"), expected="a short id like 'electricity_duty'")
        if cid in known_bases or cid == "all":
            raise row.err("id", cid, "an id not used before (and not 'energy', 'fixed' or 'all')")
        on = _on(row, known_bases, allow_all=False)
        charges.append(PercentCharge(cid, row.text("label", default=cid), row.number("percent"), on))
        known_bases.append(cid)

    subsidies = []
    for row in top.tables("subsidies", required=False):
        row.check_keys(("label", "percent", "on", "max_units", "min_units", "cap", "opt_in"))
        opt_in = row.table.get("opt_in", False)
        if not isinstance(opt_in, bool):
            raise row.err("opt_in", opt_in, "true or false")
        percent = row.number("percent")
        if percent > 100:
            raise row.err("percent", _plain(percent), "a percentage from 0 to 100")
        min_units = row.number("min_units", default=ZERO)
        max_units = row.number("max_units")
        if max_units < min_units:
            raise row.err("max_units", _plain(max_units), f"at least min_units ({_plain(min_units)})")
        subsidies.append(
            Subsidy(row.text("label", default="Subsidy"), percent, _on(row, known_bases, allow_all=True), max_units,
                    min_units, row.number("cap", required=False), opt_in)
        )

    return Tariff(
        name=name,
        title=top.text("title", default=name),
        effective_from=eff,
        source=source,
        cycle_months=months,
        energy=tuple(schedules),
        fixed=tuple(fixed),
        charges=tuple(charges),
        subsidies=tuple(subsidies),
        utility=top.text("utility", default=""),
        currency=currency,
        path=where.rstrip(": "),
    )


def _on(row: _Fields, known: list[str], *, allow_all: bool) -> tuple[str, ...]:
    value = row.table.get("on")
    if value is None:
        raise row.missing("on")
    if allow_all and value == "all":
        return ("all",)
    choices = ", ".join(repr(k) for k in known) + (" or \"all\"" if allow_all else "")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise row.err("on", value, f"a list of earlier lines from {choices}")
    for v in value:
        if v not in known:
            raise row.err("on", value, f"lines defined earlier in the file: {choices} (not {v!r})")
    return tuple(value)


def parse_tariff_text(text: str, where: str = "") -> Tariff:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as err:
        raise TariffError(f"{where + ': ' if where else ''}not valid TOML: {err}") from None
    return parse_tariff(data, where)


def load_tariff_file(path: Path | str) -> Tariff:
    """Read and validate one tariff file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise TariffError(f"cannot read tariff file {path}: {err.strerror or err}") from None
    return parse_tariff_text(text, str(path))
