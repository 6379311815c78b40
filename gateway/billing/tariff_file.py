"""Reading and validating a tariff file: TOML text -> Tariff; TariffError names the field.

The file format is in docs/tariffs.md. Only `load_tariff_file` touches the file system.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import TariffError
from .export_rules import SETTLEMENTS, ExportRule, TodWindow
from .tariff import (
    FIXED_BASES,
    FIXED_PER,
    METHODS,
    ZERO,
    Band,
    EnergySchedule,
    FixedCharge,
    PercentCharge,
    Slab,
    Subsidy,
    Tariff,
    plain_decimal,
)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


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

    def text(
        self, key: str, default: str | None = None, *, pattern: re.Pattern | None = None, expected: str = "a string"
    ) -> str:
        if key not in self.table:
            if default is None:
                raise self.missing(key)
            return default
        value = self.table[key]
        if not isinstance(value, str) or not value.strip() or (pattern and not pattern.match(value)):
            raise self.err(key, value, expected)
        return value

    def number(
        self,
        key: str,
        *,
        default: Decimal | None = None,
        minimum: Decimal = ZERO,
        positive: bool = False,
        required: bool = True,
    ) -> Decimal | None:
        if key not in self.table:
            if default is None and required:
                raise self.missing(key)
            return default
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.err(key, value, "a number")
        value = Decimal(value)
        if not value.is_finite() or value < minimum or (positive and value <= 0):
            raise self.err(
                key, str(value), "a number greater than 0" if positive else f"a number of at least {minimum}"
            )
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
            raise row.err(key, plain_decimal(edge), f"more than the previous {what} ({plain_decimal(edges[-1])})")
        edges.append(edge)
    return edges


def _bands(row: _Fields, edge_key: str, value_key: str, what: str) -> tuple[Band, ...]:
    bands = row.tables("bands", required=True)
    for b in bands:
        b.check_keys((edge_key, value_key))
    edges = _increasing_edges(bands, edge_key, what)
    if edges[-1] is not None:
        raise TariffError(
            f"{bands[-1].where}{bands[-1].path}: the last band must have no {edge_key} (it covers everything above)"
        )
    return tuple(Band(e, b.number(value_key)) for e, b in zip(edges, bands, strict=False))


TOP_KEYS = (
    "name",
    "title",
    "utility",
    "effective_from",
    "source",
    "currency",
    "cycle_months",
    "energy",
    "fixed",
    "charges",
    "subsidies",
    "export",
    "time_of_day",
)
EXPORT_KEYS = ("settlement", "rate", "settlement_year_starts", "label")
HOUR_RE = re.compile(r"^([01][0-9]|2[0-4]):00$")


def parse_tariff(data: dict, where: str = "") -> Tariff:
    """A Tariff from a parsed TOML document (floats parsed as Decimal); TariffError names the field."""
    where = f"{where}: " if where else ""
    top = _Fields(where, data, "")
    top.check_keys(TOP_KEYS)
    name = top.text("name", pattern=NAME_RE, expected="lower-case letters, digits and '-', like 'tn-domestic'")
    eff = _effective_from(top)
    source = top.text("source", expected="where the rates come from (the order and its date)")
    currency = top.choice("currency", ("INR",), default="INR")
    months = top.choice("cycle_months", (1, 2))
    schedules = _energy_schedules(top, where)
    fixed = _fixed_charges(top, where)
    known_bases = ["energy", "fixed"]
    charges = _percent_charges(top, known_bases)
    subsidies = _subsidies(top, known_bases)

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
        export=_export_rule(top, where),
        time_of_day=_time_of_day(top, where),
    )


def _export_rule(top: _Fields, where: str) -> ExportRule | None:
    """The `[export]` table: how exported units are settled; None when the tariff has none."""
    if not top.has("export"):
        return None
    row = _Fields(where, top.table["export"], "export")
    row.check_keys(EXPORT_KEYS)
    settlement = row.choice("settlement", SETTLEMENTS)
    if settlement == "net_units":
        rate = row.number("rate", default=ZERO)
    else:
        rate = row.number("rate")
    if settlement != "banking" and row.has("settlement_year_starts"):
        raise TariffError(f"{where}export.settlement_year_starts: only a banking settlement has a settlement year")
    month = row.choice("settlement_year_starts", tuple(range(1, 13)), default=4)
    label = {"feed_in": "Export credit", "net_units": "Surplus export", "banking": "Banked export"}[settlement]
    return ExportRule(settlement, rate, month, row.text("label", default=label))


def _hour(row: _Fields, key: str) -> int:
    value = row.table.get(key)
    if value is None:
        raise row.missing(key)
    if not isinstance(value, str) or not HOUR_RE.match(value) or (key == "from" and value == "24:00"):
        raise row.err(key, value, 'a whole hour like "18:00" (from 00:00 to 23:00; "to" may be 24:00)')
    return int(value[:2]) % 24


def _time_of_day(top: _Fields, where: str) -> tuple[TodWindow, ...]:
    """The `[[time_of_day]]` windows: whole local hours, none overlapping, a percent of the energy charge."""
    windows: list[TodWindow] = []
    for row in top.tables("time_of_day", required=False):
        row.check_keys(("label", "from", "to", "percent"))
        start, end = _hour(row, "from"), _hour(row, "to")
        if start == end:
            raise row.err("to", row.table["to"], f"a different hour from 'from' ({row.table['from']})")
        window = TodWindow(
            row.text("label", default="Time of day"), start, end, row.number("percent", minimum=Decimal(-100))
        )
        for i, other in enumerate(windows):
            shared = window.hours() & other.hours()
            if shared:
                raise TariffError(
                    f"{where}{row.path}: {start:02d}:00–{end:02d}:00 overlaps time_of_day[{i}] "
                    f"({other.start_hour:02d}:00–{other.end_hour:02d}:00) at {min(shared):02d}:00"
                )
        windows.append(window)
    return tuple(windows)


def _effective_from(top: _Fields) -> dt.date:
    """The file's `effective_from`, a TOML date or an ISO date string."""
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
    return eff


def _energy_schedules(top: _Fields, where: str) -> list[EnergySchedule]:
    """The `[[energy]]` tables: increasing max_units, the last open-ended, each slab table covering its range."""
    schedules = []
    energy_rows = top.tables("energy", required=True)
    max_edges = []
    for i, row in enumerate(energy_rows):
        row.check_keys(("method", "max_units", "slabs"))
        last = i == len(energy_rows) - 1
        max_units = row.number("max_units", positive=True, required=False)
        if last and max_units is not None:
            raise row.err(
                "max_units",
                plain_decimal(max_units),
                "no max_units on the last [[energy]] table (it covers every cycle above)",
            )
        if not last and max_units is None:
            raise row.missing("max_units")
        if max_units is not None and max_edges and max_units <= max_edges[-1]:
            raise row.err(
                "max_units",
                plain_decimal(max_units),
                f"more than the previous table's max_units ({plain_decimal(max_edges[-1])})",
            )
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
        slabs = tuple(Slab(e, s.number("rate")) for e, s in zip(edges, slab_rows, strict=False))
        schedules.append(EnergySchedule(method, slabs, max_units))
    return schedules


def _fixed_charges(top: _Fields, where: str) -> list[FixedCharge]:
    """The `[[fixed]]` tables: a flat amount, or bands by sanctioned load or by units."""
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
    return fixed


def _percent_charges(top: _Fields, known_bases: list[str]) -> list[PercentCharge]:
    """The `[[charges]]` tables in file order; each id is appended to `known_bases` for later lines."""
    charges = []
    for row in top.tables("charges", required=False):
        row.check_keys(("id", "label", "percent", "on"))
        cid = row.text("id", pattern=re.compile(r"^[a-z][a-z0-9_]*$"), expected="a short id like 'electricity_duty'")
        if cid in known_bases or cid == "all":
            raise row.err("id", cid, "an id not used before (and not 'energy', 'fixed' or 'all')")
        on = _on(row, known_bases, allow_all=False)
        charges.append(PercentCharge(cid, row.text("label", default=cid), row.number("percent"), on))
        known_bases.append(cid)
    return charges


def _subsidies(top: _Fields, known_bases: list[str]) -> list[Subsidy]:
    """The `[[subsidies]]` tables: a percentage from 0 to 100 off earlier lines within a range of units."""
    subsidies = []
    for row in top.tables("subsidies", required=False):
        row.check_keys(("label", "percent", "on", "max_units", "min_units", "cap", "opt_in"))
        opt_in = row.table.get("opt_in", False)
        if not isinstance(opt_in, bool):
            raise row.err("opt_in", opt_in, "true or false")
        percent = row.number("percent")
        if percent > 100:
            raise row.err("percent", plain_decimal(percent), "a percentage from 0 to 100")
        min_units = row.number("min_units", default=ZERO)
        max_units = row.number("max_units")
        if max_units < min_units:
            raise row.err("max_units", plain_decimal(max_units), f"at least min_units ({plain_decimal(min_units)})")
        subsidies.append(
            Subsidy(
                row.text("label", default="Subsidy"),
                percent,
                _on(row, known_bases, allow_all=True),
                max_units,
                min_units,
                row.number("cap", required=False),
                opt_in,
            )
        )
    return subsidies


def _on(row: _Fields, known: list[str], *, allow_all: bool) -> tuple[str, ...]:
    value = row.table.get("on")
    if value is None:
        raise row.missing("on")
    if allow_all and value == "all":
        return ("all",)
    choices = ", ".join(repr(k) for k in known) + (' or "all"' if allow_all else "")
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
