"""The house rollup on a connection: `house_minute`, `house_hour`, `house_day` kept equal to the rule of
gateway/house.py applied to the nodes' minutes, imported and exported energy each.

Cells here are (import mWh, covered ms, export mWh) (`house.Cell`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from .house import MINUTE_MS, Cell, house_cells, metering, meters
from .localtime import LocalCalendar

CHUNK_MS = 7 * 86_400_000  # a rebuild reads a week of minutes at a time


def node_minutes(conn: sqlite3.Connection, node_keys: Iterable[int], lo: int, hi: int) -> dict[int, dict[int, Cell]]:
    """{node key: {minute: (import mWh, covered ms, export mWh)}} of the stored minutes in [lo, hi)."""
    out: dict[int, dict[int, Cell]] = {}
    for key in node_keys:
        rows = conn.execute(
            "SELECT start_ms, energy_mwh, covered_ms, export_mwh FROM usage_minute "
            "WHERE node_key = ? AND start_ms >= ? AND start_ms < ?",
            (key, lo, hi),
        )
        out[key] = {m: (e, c, x) for m, e, c, x in rows if e or c or x}
    return out


def with_pending(
    nodes: dict[int, dict[int, Cell]], pending: Mapping[tuple[int, int], Cell]
) -> dict[int, dict[int, Cell]]:
    """`nodes` plus minutes not yet rolled up ({(node key, minute): cell}), in place."""
    for (key, minute), cell in pending.items():
        cells = nodes.setdefault(key, {})
        cells[minute] = add_cells(cells.get(minute, (0, 0, 0)), cell)
    return nodes


def add_cells(a: Cell, b: Cell, sign: int = 1) -> Cell:
    return a[0] + sign * b[0], a[1] + sign * b[1], a[2] + sign * b[2]


def affected(minutes: Iterable[int], twins: bool) -> set[int]:
    """House minutes to recompute when these node minutes change (neighbours too where a BLE twin may stand in)."""
    out = set(minutes)
    if twins:
        out |= {m + d for m in out for d in (-MINUTE_MS, MINUTE_MS)}
    return out


_HOUSE_UPSERT = {
    "minute": "INSERT INTO house_minute (start_ms, energy_mwh, covered_ms, export_mwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (start_ms) DO UPDATE SET energy_mwh = excluded.energy_mwh, covered_ms = excluded.covered_ms, "
    "export_mwh = excluded.export_mwh",
    "hour": "INSERT INTO house_hour (start_ms, energy_mwh, covered_ms, export_mwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (start_ms) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
    "covered_ms = covered_ms + excluded.covered_ms, export_mwh = export_mwh + excluded.export_mwh",
    "day": "INSERT INTO house_day (day, energy_mwh, covered_ms, export_mwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (day) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
    "covered_ms = covered_ms + excluded.covered_ms, export_mwh = export_mwh + excluded.export_mwh",
}


class HouseRollup:
    """Writes and reads the house rollup of one connection; the store's calendar buckets hours and days."""

    def __init__(self, conn: sqlite3.Connection, calendar: LocalCalendar):
        self.conn, self.cal = conn, calendar

    def computed(self, minutes: set[int], pending: Mapping[tuple[int, int], Cell] | None = None) -> dict[int, Cell]:
        """The house's cells at `minutes`, computed from the nodes' stored minutes (plus `pending`)."""
        if not minutes:
            return {}
        all_meters = meters(self.conn)
        keys = [k for m in all_meters.values() for k in m.node_keys]
        nodes = node_minutes(self.conn, keys, min(minutes) - MINUTE_MS, max(minutes) + 2 * MINUTE_MS)
        if pending:
            with_pending(nodes, {k: v for k, v in pending.items() if k[0] in set(keys)})
        return house_cells(sorted(minutes), nodes, all_meters, metering(self.conn))

    def stored(self, minutes: set[int]) -> dict[int, Cell]:
        if not minutes:
            return {}
        rows = self.conn.execute(
            "SELECT start_ms, energy_mwh, covered_ms, export_mwh FROM house_minute "
            "WHERE start_ms >= ? AND start_ms <= ?",
            (min(minutes), max(minutes)),
        )
        return {m: (e, c, x) for m, e, c, x in rows if m in minutes}

    def overlay(self, pending: Mapping[tuple[int, int], Cell]) -> dict[int, Cell]:
        """{minute: change} that `pending` node cells (readings not yet rolled up) make to the stored house."""
        if not pending:
            return {}
        minutes = affected({m for _, m in pending}, self.has_twins())
        new, old = self.computed(minutes, pending), self.stored(minutes)
        out = {}
        for m in minutes:
            n, o = new.get(m, (0, 0, 0)), old.get(m, (0, 0, 0))
            if n != o:
                out[m] = add_cells(n, o, -1)
        return out

    def has_twins(self) -> bool:
        return any(m.serial is not None and m.ble is not None for m in meters(self.conn).values())

    def refresh(self, touched: Iterable[int]) -> None:
        """Recompute the house minutes the nodes' changed minutes affect, and move hours and days by the difference."""
        minutes = affected(touched, self.has_twins())
        new, old = self.computed(minutes), self.stored(minutes)
        self.write_deltas(new, old)

    def write_deltas(self, new: Mapping[int, Cell], old: Mapping[int, Cell]) -> None:
        conn, cal = self.conn, self.cal
        hours: dict[int, Cell] = {}
        days: dict[str, Cell] = {}
        for minute in set(new) | set(old):
            n, o = new.get(minute, (0, 0, 0)), old.get(minute, (0, 0, 0))
            if n == o:
                continue
            change = add_cells(n, o, -1)
            hk, dk = cal.hour_start_ms(minute), cal.day(minute)
            hours[hk] = add_cells(hours.get(hk, (0, 0, 0)), change)
            days[dk] = add_cells(days.get(dk, (0, 0, 0)), change)
            if minute in new:
                conn.execute(_HOUSE_UPSERT["minute"], (minute, *n))
            else:
                conn.execute("DELETE FROM house_minute WHERE start_ms = ?", (minute,))
        conn.executemany(_HOUSE_UPSERT["hour"], [(k, *v) for k, v in hours.items()])
        conn.executemany(_HOUSE_UPSERT["day"], [(k, *v) for k, v in days.items()])

    def rebuild(self, since_ms: int = 0) -> None:
        """Recompute the house rollup from `since_ms` on (its whole local day), after the metering changed."""
        conn, cal = self.conn, self.cal
        day_from = cal.day(max(since_ms, 0))
        lo = cal.day_start_ms(day_from) if since_ms > 0 else 0
        conn.execute("DELETE FROM house_minute WHERE start_ms >= ?", (lo,))
        conn.execute("DELETE FROM house_hour WHERE start_ms >= ?", (lo,))
        conn.execute("DELETE FROM house_day WHERE day >= ?", (day_from if since_ms > 0 else "",))
        first, last = conn.execute(
            "SELECT min(start_ms), max(start_ms) FROM usage_minute WHERE start_ms >= ?", (lo,)
        ).fetchone()
        if first is None:
            return
        all_meters, plan = meters(conn), metering(conn)
        keys = [k for m in all_meters.values() for k in m.node_keys]
        for a in range(first, last + MINUTE_MS, CHUNK_MS):
            b = min(a + CHUNK_MS, last + MINUTE_MS)
            nodes = node_minutes(conn, keys, a - MINUTE_MS, b + MINUTE_MS)
            minutes = sorted({m for cells in nodes.values() for m in cells if a <= m < b})
            cells = house_cells(minutes, nodes, all_meters, plan)
            self.write_deltas(cells, {})


def house_buckets(
    conn: sqlite3.Connection,
    cal: LocalCalendar,
    start_ms: int,
    end_ms: int,
    resolution: str,
    pending_minutes: Mapping[int, Cell] | None = None,
) -> dict[int, Cell]:
    """{bucket start ms: (import mWh, covered ms, export mWh)} of the house, bucketed and bounded as
    `Store.usage` does."""
    if end_ms <= start_ms:
        return {}
    lo = start_ms - start_ms % MINUTE_MS
    out: dict[int, Cell] = {}
    if resolution == "day":
        first, last = cal.day(start_ms), cal.day(end_ms - 1)
        rows = conn.execute(
            "SELECT day, energy_mwh, covered_ms, export_mwh FROM house_day WHERE day >= ? AND day <= ?", (first, last)
        )
        for day, e, c, x in rows:
            out[cal.day_start_ms(day)] = (e, c, x)
        bucket_of = lambda m: cal.day_start_ms(cal.day(m))  # noqa: E731
        keep = lambda b: first <= cal.day(b) <= last  # noqa: E731
    elif resolution in ("hour", "minute"):
        table = "house_minute" if resolution == "minute" else "house_hour"
        rows = conn.execute(
            f"SELECT start_ms, energy_mwh, covered_ms, export_mwh FROM {table} WHERE start_ms >= ? AND start_ms < ?",
            (lo, end_ms),
        )
        for b, e, c, x in rows:
            out[b] = (e, c, x)
        bucket_of = (lambda m: m) if resolution == "minute" else cal.hour_start_ms
        keep = lambda b: lo <= b < end_ms  # noqa: E731
    else:
        raise ValueError(f"resolution {resolution!r}: expected one of minute, hour, day")
    for minute, change in (pending_minutes or {}).items():
        b = bucket_of(minute)
        if keep(b):
            out[b] = add_cells(out.get(b, (0, 0, 0)), change)
    return {b: cell for b, cell in sorted(out.items()) if any(cell)}
