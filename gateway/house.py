"""The house: its meters, which of them are the mains, and its energy, written once by the rollup.

A **meter** is one ESP32. It reaches the gateway over one or two transports (USB serial, BLE),
each a row in `nodes` with its own exact account of the same counter (`nodes.meter_key` says
whose). The **metering** says which meters are the mains, as dated changes: from `since_ms` on,
the house is the sum of those meters (one, or three on a three-phase supply); a change that names
none means every meter. Everything else is a sub-circuit.

The **house rollup** (`house_minute`, `house_hour`, `house_day`) is the house's energy and how much
of each period its meters covered, written in the same transaction as the nodes' rollups. Every
reader (bill, budget, theft, dashboard, CLI, MQTT, cloud reports) reads it through
`Store.house_usage`; nothing else applies the rules below.

Per UTC minute, a meter's energy is its serial transport's, exact to the mWh; BLE's where serial did
not cover the minute (the cable was out); and at the minute where serial coverage starts or stops
next to a minute only BLE covered, the larger of the two (each saw part of that minute or all of it,
never more). Its coverage is the larger of its transports'. The house's coverage is the smallest of
its mains' (every mains meter must be heard for the total to be whole), or with no mains set, the
largest of all meters' (the gateway was hearing the house).
"""

from __future__ import annotations

import bisect
import datetime as dt
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlite_utils

from .localtime import LocalCalendar
from .node_identity import ble_address_of, ble_twins, is_ble

MINUTE_MS = 60_000
LIVE_FRESH_MS = 300_000  # a node unheard this long drops out of the house's live power
CHUNK_MS = 7 * 86_400_000  # a rebuild reads a week of minutes at a time

# (energy mWh, covered ms) of one node or of the house in one minute
Cell = tuple[int, int]


def migrate(db: sqlite_utils.Database) -> None:
    """Tables of the meters registry, the dated metering and the house rollup (core migration)."""
    db.executescript(
        """
        CREATE TABLE meters (
            meter_key INTEGER PRIMARY KEY,
            first_seen_ms INTEGER NOT NULL
        );
        ALTER TABLE nodes ADD COLUMN meter_key INTEGER REFERENCES meters (meter_key);
        CREATE TABLE metering_changes (
            change_id INTEGER PRIMARY KEY,
            since_ms INTEGER NOT NULL,
            set_ms INTEGER NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('config', 'cli', 'ui'))
        );
        CREATE TABLE metering_mains (
            change_id INTEGER NOT NULL REFERENCES metering_changes (change_id),
            meter_key INTEGER NOT NULL REFERENCES meters (meter_key),
            named_as TEXT NOT NULL,
            PRIMARY KEY (change_id, named_as)
        ) WITHOUT ROWID;
        ALTER TABLE usage_minute ADD COLUMN covered_ms INTEGER NOT NULL DEFAULT 0;
        UPDATE usage_minute SET covered_ms = 60000 WHERE energy_mwh != 0;
        CREATE TABLE house_minute (
            start_ms INTEGER PRIMARY KEY,
            energy_mwh INTEGER NOT NULL,
            export_mwh INTEGER NOT NULL DEFAULT 0,
            covered_ms INTEGER NOT NULL
        );
        CREATE TABLE house_hour (
            start_ms INTEGER PRIMARY KEY,
            energy_mwh INTEGER NOT NULL,
            export_mwh INTEGER NOT NULL DEFAULT 0,
            covered_ms INTEGER NOT NULL
        );
        CREATE TABLE house_day (
            day TEXT PRIMARY KEY,
            energy_mwh INTEGER NOT NULL,
            export_mwh INTEGER NOT NULL DEFAULT 0,
            covered_ms INTEGER NOT NULL
        );
        """
    )
    # Minutes rolled up before coverage was kept: a minute with energy counts as covered.
    conn = db.conn
    nodes = conn.execute("SELECT node_key, node_id, transport, first_seen_ms FROM nodes ORDER BY node_key").fetchall()
    for node_key, node_id, transport, first_seen in nodes:
        assign_meter(conn, node_key, node_id, transport, first_seen or 0)


# ---- the registry --------------------------------------------------------------------------


def _twin_id(node_id: str, transport: str | None) -> str | None:
    """The other transport's node id of the same ESP32, for a serial node; None when it has none we can name."""
    if is_ble(transport):
        return None
    try:
        return ble_address_of(node_id)
    except ValueError:
        return None


def assign_meter(conn: sqlite3.Connection, node_key: int, node_id: str, transport: str | None, now_ms: int) -> int:
    """Put a node row on its meter: its twin's (the same ESP32 on the other transport), else a new one."""
    rows = conn.execute("SELECT node_id, transport, meter_key FROM nodes WHERE node_key != ?", (node_key,)).fetchall()
    twins = ble_twins([(node_id, transport)] + [(r[0], r[1]) for r in rows])
    meter_of = {r[0]: r[2] for r in rows}
    partner = twins.get(node_id) or next((ble for ble, serial in twins.items() if serial == node_id), None)
    meter_key = meter_of.get(partner) if partner else None
    if meter_key is None:
        meter_key = conn.execute("INSERT INTO meters (first_seen_ms) VALUES (?)", (now_ms,)).lastrowid
    conn.execute("UPDATE nodes SET meter_key = ? WHERE node_key = ?", (meter_key, node_key))
    return meter_key


@dataclass(frozen=True)
class Meter:
    """One ESP32: its node keys on serial and on BLE (None where it has no such transport)."""

    meter_key: int
    serial: int | None
    ble: int | None
    node_ids: tuple[str, ...]

    @property
    def node_keys(self) -> tuple[int, ...]:
        return tuple(k for k in (self.serial, self.ble) if k is not None)


def meters(conn: sqlite3.Connection) -> dict[int, Meter]:
    """{meter_key: Meter} of every meter with at least one node."""
    rows = conn.execute(
        "SELECT meter_key, node_key, node_id, transport FROM nodes WHERE meter_key IS NOT NULL ORDER BY node_key"
    ).fetchall()
    found: dict[int, dict] = {}
    for meter_key, node_key, node_id, transport in rows:
        m = found.setdefault(meter_key, {"serial": None, "ble": None, "ids": []})
        slot = "ble" if is_ble(transport) else "serial"
        if m[slot] is None:
            m[slot] = node_key
        m["ids"].append(node_id)
    return {k: Meter(k, m["serial"], m["ble"], tuple(m["ids"])) for k, m in found.items()}


@dataclass(frozen=True)
class Metering:
    """The dated metering: `changes` are (since_ms, mains meter keys, or None for every meter), in order."""

    changes: tuple[tuple[int, frozenset[int] | None], ...]

    def mains_at(self, minute_ms: int) -> frozenset[int] | None:
        i = bisect.bisect_right([c[0] for c in self.changes], minute_ms) - 1
        return self.changes[i][1] if i >= 0 else None


def metering(conn: sqlite3.Connection) -> Metering:
    rows = conn.execute(
        "SELECT c.change_id, c.since_ms, m.meter_key FROM metering_changes c "
        "LEFT JOIN metering_mains m USING (change_id) ORDER BY c.since_ms, c.change_id"
    ).fetchall()
    by_change: dict[int, tuple[int, set[int]]] = {}
    for change_id, since, meter_key in rows:
        since_keys = by_change.setdefault(change_id, (since, set()))
        if meter_key is not None:
            since_keys[1].add(meter_key)
    ordered = sorted(by_change.items(), key=lambda kv: (kv[1][0], kv[0]))
    return Metering(tuple((since, frozenset(keys) or None) for _, (since, keys) in ordered))


def mains_named(conn: sqlite3.Connection, source: str) -> list[str] | None:
    """The node ids the latest change from `source` named as mains ([] for every meter); None if it made none."""
    row = conn.execute("SELECT max(change_id) FROM metering_changes WHERE source = ?", (source,)).fetchone()
    if row[0] is None:
        return None
    return [
        r[0]
        for r in conn.execute("SELECT named_as FROM metering_mains WHERE change_id = ? ORDER BY named_as", (row[0],))
    ]


def current_mains(conn: sqlite3.Connection) -> list[str]:
    """The node ids named as mains by the metering in force now ([]: every meter is the house)."""
    row = conn.execute(
        "SELECT change_id FROM metering_changes ORDER BY since_ms DESC, change_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return []
    return [
        r[0] for r in conn.execute("SELECT named_as FROM metering_mains WHERE change_id = ? ORDER BY named_as", row)
    ]


def twin_ids(conn: sqlite3.Connection) -> dict[str, str]:
    """{BLE node id: serial node id} of each meter heard on both transports."""
    out = {}
    for m in meters(conn).values():
        if m.serial is not None and m.ble is not None:
            ids = dict(conn.execute("SELECT node_key, node_id FROM nodes WHERE node_key IN (?, ?)", (m.serial, m.ble)))
            out[ids[m.ble]] = ids[m.serial]
    return out


def metering_stamp(conn: sqlite3.Connection) -> tuple:
    """Something that changes whenever the metering or the meters do (two indexed lookups)."""
    change = conn.execute("SELECT max(change_id) FROM metering_changes").fetchone()[0]
    return change, conn.execute("SELECT max(meter_key) FROM meters").fetchone()[0]


def house_node_ids(conn: sqlite3.Connection) -> frozenset[str] | None:
    """Every node id (both transports) of the mains meters in force now; None when every meter is the house."""
    named = current_mains(conn)
    return same_meter_ids(conn, named) if named else None


def same_meter_ids(conn: sqlite3.Connection, node_ids: Iterable[str]) -> frozenset[str]:
    """Every node id (both transports) of the meters that `node_ids` name; ids that never reported name none."""
    found, _ = resolve_nodes(conn, list(node_ids))
    keys = set(found.values())
    return frozenset(r[0] for r in conn.execute("SELECT node_id, meter_key FROM nodes") if r[1] in keys)


@dataclass(frozen=True)
class Membership:
    """Which node ids make the house's live power: `house_ids` (None: every node), each ESP32 once."""

    house_ids: frozenset[str] | None
    twin_of: Mapping[str, str]  # {BLE id: serial id}

    def live_power_w(self, powers: Mapping[str, float | None]) -> float | None:
        """The house's power from the nodes heard lately ({node id: W}, see LIVE_FRESH_MS), by serial while
        both are heard."""
        on = {n: w for n, w in powers.items() if w is not None and (self.house_ids is None or n in self.house_ids)}
        counted = [w for n, w in on.items() if self.twin_of.get(n) not in on]
        return round(sum(counted), 1) if counted else None


def membership(conn: sqlite3.Connection) -> Membership:
    """The house's membership now, from the registry."""
    return Membership(house_node_ids(conn), twin_ids(conn))


def resolve_nodes(conn: sqlite3.Connection, node_ids: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """({node id: meter key} of the ids that have reported, [ids that never did])."""
    known = dict(conn.execute("SELECT node_id, meter_key FROM nodes").fetchall())
    found = {n: known[n] for n in node_ids if known.get(n) is not None}
    return found, [n for n in node_ids if n not in found]


def add_change(conn: sqlite3.Connection, mains: Mapping[str, int], since_ms: int, now_ms: int, source: str) -> None:
    """Record that from `since_ms` on the mains are `mains` ({node id as named: meter key}; empty: every meter).

    "From then on" replaces the changes dated after it; one dated the same day stays in the history,
    this one in force after it.
    """
    later = "SELECT change_id FROM metering_changes WHERE since_ms > ?"
    conn.execute(f"DELETE FROM metering_mains WHERE change_id IN ({later})", (since_ms,))
    conn.execute("DELETE FROM metering_changes WHERE since_ms > ?", (since_ms,))
    change_id = conn.execute(
        "INSERT INTO metering_changes (since_ms, set_ms, source) VALUES (?, ?, ?)", (since_ms, now_ms, source)
    ).lastrowid
    conn.executemany(
        "INSERT INTO metering_mains (change_id, meter_key, named_as) VALUES (?, ?, ?)",
        [(change_id, meter_key, named_as) for named_as, meter_key in sorted(mains.items())],
    )


# ---- the rule, pure -------------------------------------------------------------------------


def meter_cell(serial: Mapping[int, Cell], ble: Mapping[int, Cell], minute: int) -> Cell:
    """A meter's (mWh, covered ms) at `minute` from its two transports' minutes ({minute: cell}). Pure."""
    s, b = serial.get(minute), ble.get(minute)
    if b is None:
        return s or (0, 0)
    if s is None:
        return b
    covered = min(MINUTE_MS, max(s[1], b[1]))
    if b[0] > s[0] and any(m in ble and m not in serial for m in (minute - MINUTE_MS, minute + MINUTE_MS)):
        return b[0], covered
    return s[0], covered


def house_cells(
    minutes: Iterable[int], nodes: Mapping[int, Mapping[int, Cell]], all_meters: Mapping[int, Meter], plan: Metering
) -> dict[int, Cell]:
    """The house's (mWh, covered ms) at each of `minutes` from the nodes' minutes ({node key: {minute: cell}}).

    `nodes` must hold the minutes either side of each one asked for: whether BLE stands in at a minute
    depends on its neighbours. Pure.
    """
    empty: dict[int, Cell] = {}
    out: dict[int, Cell] = {}
    for minute in minutes:
        mains = plan.mains_at(minute)
        chosen = [all_meters[k] for k in (mains if mains is not None else all_meters) if k in all_meters]
        energy, covers = 0, []
        for meter in chosen:
            serial = nodes.get(meter.serial, empty) if meter.serial is not None else empty
            ble = nodes.get(meter.ble, empty) if meter.ble is not None else empty
            mwh, covered = meter_cell(serial, ble, minute)
            energy += mwh
            covers.append(min(MINUTE_MS, max(0, covered)))
        covered = (min(covers) if mains is not None else max(covers)) if covers else 0
        if energy or covered:
            out[minute] = (energy, covered)
    return out


# ---- the rollup, on a connection -------------------------------------------------------------


def node_minutes(conn: sqlite3.Connection, node_keys: Iterable[int], lo: int, hi: int) -> dict[int, dict[int, Cell]]:
    """{node key: {minute: (mWh, covered ms)}} of the stored minutes in [lo, hi)."""
    out: dict[int, dict[int, Cell]] = {}
    for key in node_keys:
        rows = conn.execute(
            "SELECT start_ms, energy_mwh, covered_ms FROM usage_minute "
            "WHERE node_key = ? AND start_ms >= ? AND start_ms < ?",
            (key, lo, hi),
        )
        out[key] = {m: (e, c) for m, e, c in rows if e or c}
    return out


def with_pending(
    nodes: dict[int, dict[int, Cell]], pending: Mapping[tuple[int, int], Cell]
) -> dict[int, dict[int, Cell]]:
    """`nodes` plus minutes not yet rolled up ({(node key, minute): cell}), in place."""
    for (key, minute), (mwh, covered) in pending.items():
        cells = nodes.setdefault(key, {})
        e, c = cells.get(minute, (0, 0))
        cells[minute] = (e + mwh, c + covered)
    return nodes


def affected(minutes: Iterable[int], twins: bool) -> set[int]:
    """House minutes to recompute when these node minutes change (neighbours too where a BLE twin may stand in)."""
    out = set(minutes)
    if twins:
        out |= {m + d for m in out for d in (-MINUTE_MS, MINUTE_MS)}
    return out


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
            "SELECT start_ms, energy_mwh, covered_ms FROM house_minute WHERE start_ms >= ? AND start_ms <= ?",
            (min(minutes), max(minutes)),
        )
        return {m: (e, c) for m, e, c in rows if m in minutes}

    def has_twins(self) -> bool:
        return any(m.serial is not None and m.ble is not None for m in meters(self.conn).values())

    def refresh(self, touched: Iterable[int]) -> None:
        """Recompute the house minutes the nodes' changed minutes affect, and move hours and days by the difference."""
        minutes = affected(touched, self.has_twins())
        new, old = self.computed(minutes), self.stored(minutes)
        self.write_deltas(new, old)

    def write_deltas(self, new: Mapping[int, Cell], old: Mapping[int, Cell]) -> None:
        conn, cal = self.conn, self.cal
        hours: dict[int, list[int]] = {}
        days: dict[str, list[int]] = {}
        for minute in set(new) | set(old):
            n, o = new.get(minute, (0, 0)), old.get(minute, (0, 0))
            if n == o:
                continue
            de, dc = n[0] - o[0], n[1] - o[1]
            for acc, key in ((hours, cal.hour_start_ms(minute)), (days, cal.day(minute))):
                cell = acc.setdefault(key, [0, 0])
                cell[0] += de
                cell[1] += dc
            if minute in new:
                conn.execute(
                    "INSERT INTO house_minute (start_ms, energy_mwh, covered_ms) VALUES (?, ?, ?) ON CONFLICT "
                    "(start_ms) DO UPDATE SET energy_mwh = excluded.energy_mwh, covered_ms = excluded.covered_ms",
                    (minute, *n),
                )
            else:
                conn.execute("DELETE FROM house_minute WHERE start_ms = ?", (minute,))
        conn.executemany(
            "INSERT INTO house_hour (start_ms, energy_mwh, covered_ms) VALUES (?, ?, ?) ON CONFLICT "
            "(start_ms) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
            "covered_ms = covered_ms + excluded.covered_ms",
            [(k, *v) for k, v in hours.items()],
        )
        conn.executemany(
            "INSERT INTO house_day (day, energy_mwh, covered_ms) VALUES (?, ?, ?) ON CONFLICT "
            "(day) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
            "covered_ms = covered_ms + excluded.covered_ms",
            [(k, *v) for k, v in days.items()],
        )

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
    """{bucket start ms: (mWh, covered ms)} of the house, bucketed and bounded as `Store.usage` does."""
    if end_ms <= start_ms:
        return {}
    lo = start_ms - start_ms % MINUTE_MS
    out: dict[int, list[int]] = {}
    if resolution == "day":
        first, last = cal.day(start_ms), cal.day(end_ms - 1)
        rows = conn.execute(
            "SELECT day, energy_mwh, covered_ms FROM house_day WHERE day >= ? AND day <= ?", (first, last)
        )
        for day, e, c in rows:
            out[cal.day_start_ms(day)] = [e, c]
        bucket_of = lambda m: cal.day_start_ms(cal.day(m))  # noqa: E731
        keep = lambda b: first <= cal.day(b) <= last  # noqa: E731
    elif resolution in ("hour", "minute"):
        table = "house_minute" if resolution == "minute" else "house_hour"
        rows = conn.execute(
            f"SELECT start_ms, energy_mwh, covered_ms FROM {table} WHERE start_ms >= ? AND start_ms < ?", (lo, end_ms)
        )
        for b, e, c in rows:
            out[b] = [e, c]
        bucket_of = (lambda m: m) if resolution == "minute" else cal.hour_start_ms
        keep = lambda b: lo <= b < end_ms  # noqa: E731
    else:
        raise ValueError(f"resolution {resolution!r}: expected one of minute, hour, day")
    for minute, (de, dc) in (pending_minutes or {}).items():
        b = bucket_of(minute)
        if keep(b):
            cell = out.setdefault(b, [0, 0])
            cell[0] += de
            cell[1] += dc
    return {b: (e, c) for b, (e, c) in sorted(out.items()) if e or c}


def day_bounds(cal: LocalCalendar, day: str) -> tuple[int, int]:
    return cal.day_start_ms(day), cal.day_start_ms(dt.date.fromisoformat(day) + dt.timedelta(days=1))
