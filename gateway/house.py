"""The house: its meters, which of them are the mains, and its energy, written once by the rollup.

A **meter** is one ESP32. It reaches the gateway over one or two transports (USB serial, BLE),
each a row in `nodes` with its own exact account of the same counter (`nodes.meter_key` says
whose). The **metering** says which meters are the mains, as dated changes: from `since_ms` on,
the house is the sum of those meters (one, or three on a three-phase supply); a change that names
none means every meter. Everything else is a sub-circuit.

The **house rollup** (`house_minute`, `house_hour`, `house_day`, written by gateway/house_rollup.py)
is the house's imported and exported energy and how much of each period its meters covered, written
in the same transaction as the nodes' rollups. Every reader (bill, budget, theft, dashboard, CLI,
MQTT, cloud reports) reads it through `Store.house_usage`, `house_series` or `house_flows`; nothing
else applies the rules below.

Per UTC minute, a meter's energy is its serial transport's, exact to the mWh; BLE's where serial did
not cover the minute (the cable was out); and at the minute where serial coverage starts or stops
next to a minute only BLE covered, the larger of the two (each saw part of that minute or all of it,
never more). Its coverage is the larger of its transports'. Its export is always its serial
transport's: BTHome has no object for exported energy, so a BLE copy carries none. The house's
coverage is the smallest of its mains' (every mains meter must be heard for the total to be whole),
or with no mains set, the largest of all meters' (the gateway was hearing the house). The house's
import and export are the sums of its meters' (each meter's counters are kept apart, as a
net meter on each phase would).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlite_utils

from .node_identity import ble_address_of, ble_twins, is_ble

MINUTE_MS = 60_000
LIVE_FRESH_MS = 300_000  # a node unheard this long drops out of the house's live power

# (import mWh, covered ms, export mWh) of one node or of the house in one minute
Cell = tuple[int, int, int]


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
    """A meter's (import mWh, covered ms, export mWh) at `minute` from its two transports' minutes
    ({minute: cell}). Pure."""
    s, b = serial.get(minute), ble.get(minute)
    if b is None:
        return s or (0, 0, 0)
    export = s[2] if s is not None else 0
    if s is None:
        return b[0], b[1], export
    covered = min(MINUTE_MS, max(s[1], b[1]))
    if b[0] > s[0] and any(m in ble and m not in serial for m in (minute - MINUTE_MS, minute + MINUTE_MS)):
        return b[0], covered, export
    return s[0], covered, export


def house_cells(
    minutes: Iterable[int], nodes: Mapping[int, Mapping[int, Cell]], all_meters: Mapping[int, Meter], plan: Metering
) -> dict[int, Cell]:
    """The house's (import mWh, covered ms, export mWh) at each of `minutes` from the nodes' minutes
    ({node key: {minute: cell}}).

    `nodes` must hold the minutes either side of each one asked for: whether BLE stands in at a minute
    depends on its neighbours. Pure.
    """
    empty: dict[int, Cell] = {}
    out: dict[int, Cell] = {}
    for minute in minutes:
        mains = plan.mains_at(minute)
        chosen = [all_meters[k] for k in (mains if mains is not None else all_meters) if k in all_meters]
        energy, export, covers = 0, 0, []
        for meter in chosen:
            serial = nodes.get(meter.serial, empty) if meter.serial is not None else empty
            ble = nodes.get(meter.ble, empty) if meter.ble is not None else empty
            mwh, covered, exported = meter_cell(serial, ble, minute)
            energy += mwh
            export += exported
            covers.append(min(MINUTE_MS, max(0, covered)))
        covered = (min(covers) if mains is not None else max(covers)) if covers else 0
        if energy or covered or export:
            out[minute] = (energy, covered, export)
    return out
