"""CSV export of readings, daily usage, bills and payments (`powergw export KIND`).

Rows stream from the database to the writer: a month of 1 s readings is millions of rows and
never sits in memory. Energy is written as exact decimals of the stored integer mWh, money as
exact rupees from integer paise; times are ISO 8601 in the household's time zone.

The table `EXPORTS` maps each kind to its writer, so the dashboard can offer the same list.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from gateway.localtime import LocalCalendar

from . import OpsError


@dataclass(frozen=True)
class ExportRange:
    """[start_ms, end_ms) and the calendar that turns times into local ISO strings and days."""

    start_ms: int
    end_ms: int
    calendar: LocalCalendar
    node_id: str | None = None


def _wh(mwh: int | None) -> str:
    return "" if mwh is None else str(Decimal(mwh).scaleb(-3))


def _node_filter(conn: sqlite3.Connection, node_id: str | None) -> dict[int, tuple[str, str]]:
    rows = conn.execute("SELECT node_key, node_id, coalesce(name, '') FROM nodes").fetchall()
    keys = {r[0]: (r[1], r[2]) for r in rows if node_id is None or r[1] == node_id}
    if node_id is not None and not keys:
        raise OpsError(f"no node {node_id!r} in the database")
    return keys


def export_readings(conn: sqlite3.Connection, rng: ExportRange) -> Iterator[list]:
    nodes = _node_filter(conn, rng.node_id)
    yield [
        "node_id",
        "node_name",
        "start",
        "end",
        "power_w",
        "irms_a",
        "vrms_v",
        "energy_wh",
        "counter_wh",
        "boot_id",
        "seq",
        "flags",
    ]
    cal = rng.calendar
    cur = conn.execute(
        "SELECT node_key, start_ms, ts_ms, power_dw, irms_ma, vrms_dv, delta_mwh, energy_mwh, boot_id, seq, flags "
        "FROM readings WHERE ts_ms >= ? AND ts_ms < ? ORDER BY id",
        (rng.start_ms, rng.end_ms),
    )
    for r in cur:
        node = nodes.get(r[0])
        if node is None:
            continue
        yield [
            node[0],
            node[1],
            cal.isoformat(r[1]),
            cal.isoformat(r[2]),
            str(Decimal(r[3]).scaleb(-1)),
            str(Decimal(r[4]).scaleb(-3)),
            str(Decimal(r[5]).scaleb(-1)),
            _wh(r[6]),
            _wh(r[7]),
            r[8],
            r[9],
            r[10],
        ]


def export_daily(conn: sqlite3.Connection, rng: ExportRange) -> Iterator[list]:
    """Energy per node per local day from the committed rollups (what bills are computed from)."""
    nodes = _node_filter(conn, rng.node_id)
    cal = rng.calendar
    first, last = cal.day(rng.start_ms), cal.day(rng.end_ms - 1)
    yield ["date", "node_id", "node_name", "energy_wh"]
    cur = conn.execute(
        "SELECT day, node_key, energy_mwh FROM usage_day WHERE day >= ? AND day <= ? ORDER BY day, node_key",
        (first, last),
    )
    for day, node_key, mwh in cur:
        if node_key in nodes:
            yield [day, nodes[node_key][0], nodes[node_key][1], _wh(mwh)]


def _table_export(
    table: str, time_columns: tuple[str, ...]
) -> Callable[[sqlite3.Connection, ExportRange], Iterator[list]]:
    """Every column of another part's table as stored, paise columns also as rupees; rows in range.

    Billing owns these tables and may add columns; exporting them as they are keeps the export
    true to the ledger without this module tracking its schema.
    """

    def export(conn: sqlite3.Connection, rng: ExportRange) -> Iterator[list]:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if not cols:
            raise OpsError(f"no {table} table in this database: billing is not set up on this gateway")
        time_col = next((c for c in time_columns if c in cols), None)
        where, params = "", ()
        if time_col:
            where, params = f" WHERE {time_col} >= ? AND {time_col} < ?", (rng.start_ms, rng.end_ms)
        money = [c for c in cols if c.endswith("_paise")]
        ms_cols = [c for c in cols if c.endswith("_ms")]
        yield (
            cols
            + [c.removesuffix("_paise") + "_inr" for c in money]
            + [c.removesuffix("_ms") + "_local" for c in ms_cols]
        )
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table}{where} ORDER BY rowid", params):
            item = dict(zip(cols, row, strict=False))
            inr = ["" if item[c] is None else str(Decimal(item[c]).scaleb(-2)) for c in money]
            local = ["" if item[c] is None else rng.calendar.isoformat(item[c]) for c in ms_cols]
            yield list(row) + inr + local

    return export


EXPORTS: dict[str, tuple[str, Callable[[sqlite3.Connection, ExportRange], Iterator[list]]]] = {
    "readings": ("raw readings (1 per node per window), kept for [gateway] retention_days", export_readings),
    "daily": ("energy per node per local day", export_daily),
    "bills": ("bills as the billing ledger stores them", _table_export("bills", ("closed_ms", "created_ms"))),
    "payments": (
        "payments as the billing ledger stores them",
        _table_export("payments", ("created_ms", "confirmed_ms")),
    ),
}


def write_csv(kind: str, conn: sqlite3.Connection, rng: ExportRange, out: TextIO) -> int:
    """Write one export as CSV to `out`; returns the number of data rows."""
    if kind not in EXPORTS:
        raise OpsError(f"export {kind!r}: expected one of {', '.join(EXPORTS)}")
    writer = csv.writer(out, lineterminator="\n")
    rows = -1
    try:
        for row in EXPORTS[kind][1](conn, rng):
            writer.writerow(row)
            rows += 1
    except sqlite3.Error as err:
        raise OpsError(f"cannot export {kind}: {err}") from err
    return max(rows, 0)
