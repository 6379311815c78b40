"""What one ingest commit writes: raw readings, per-minute energy (import and export), coverage,
voltage and power factor, events, node state; and how its rollup increments are applied."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from .energy import NodeAccount, split_by_time
from .house_rollup import HouseRollup
from .localtime import LocalCalendar
from .protocol import FLAG_NOMINAL_VOLTAGE

MINUTE_MS = 60_000
READING_COLUMNS = (
    "node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, vrms_dv, energy_mwh, delta_mwh, flags, "
    "export_mwh, export_delta_mwh, pf_milli"
)
READING_INSERT = f"INSERT INTO readings ({READING_COLUMNS}) VALUES ({','.join('?' * 15)})"

# [vrms min, max, sum (0.1 V), readings, pf sum (0.001), readings with a pf] of a node minute
Quality = list


@dataclass
class NodeState:
    """A node as ingest keeps it in memory: key, accounting state, counters, latest values."""

    node_key: int
    account: NodeAccount
    frames_ok: int = 0
    frames_lost: int = 0
    reboots: int = 0
    energy_total_mwh: int = 0
    export_total_mwh: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_seen_ms: int | None = None
    last_power_dw: int | None = None
    last_irms_ma: int | None = None
    last_vrms_dv: int | None = None
    last_flags: int | None = None
    last_pf_milli: int | None = None
    hello: dict | None = None
    unsupported_version: int | None = None
    dirty: bool = False


@dataclass
class Batch:
    """Everything one ingest commit writes, in one transaction."""

    readings: list[tuple] = field(default_factory=list)
    minutes: dict[tuple[int, int], int] = field(default_factory=dict)
    covered: dict[tuple[int, int], int] = field(default_factory=dict)  # ms of each (node, minute) accounted for
    exports: dict[tuple[int, int], int] = field(default_factory=dict)  # exported mWh of each (node, minute)
    quality: dict[tuple[int, int], Quality] = field(default_factory=dict)
    events: list[tuple] = field(default_factory=list)
    raw_dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.readings or self.minutes or self.covered or self.exports or self.quality or self.events)

    def add_energy(
        self, node_key: int, start_ms: int, end_ms: int, energy_mwh: int, sign: int = 1, export_mwh: int = 0
    ) -> None:
        """An interval's imported and exported energy per minute and the time it covers in each (`sign` -1
        takes it back out)."""
        minutes, covered = self.minutes, self.covered
        for bucket, mwh in split_by_time(start_ms, end_ms, energy_mwh):
            key = (node_key, bucket)
            minutes[key] = minutes.get(key, 0) + sign * mwh
        if export_mwh:
            exports = self.exports
            for bucket, mwh in split_by_time(start_ms, end_ms, export_mwh):
                key = (node_key, bucket)
                exports[key] = exports.get(key, 0) + sign * mwh
        for bucket, ms in split_coverage(start_ms, end_ms):
            key = (node_key, bucket)
            covered[key] = covered.get(key, 0) + sign * ms

    def add_quality(self, node_key: int, ts_ms: int, vrms_dv: int, pf_milli: int | None) -> None:
        """A reading's measured voltage (and power factor, when it has one) in the minute it was received."""
        key = (node_key, ts_ms - ts_ms % MINUTE_MS)
        q = self.quality.get(key)
        if q is None:
            q = self.quality[key] = [vrms_dv, vrms_dv, 0, 0, 0, 0]
        q[0], q[1] = min(q[0], vrms_dv), max(q[1], vrms_dv)
        q[2] += vrms_dv
        q[3] += 1
        if pf_milli is not None:
            q[4] += pf_milli
            q[5] += 1

    def add_row(self, row: tuple) -> None:
        """A stored reading (`READING_COLUMNS` order) replayed: its energy and its voltage and power factor."""
        node_key, ts, start, vrms, delta, flags, export_delta, pf = (row[i] for i in (0, 1, 2, 8, 10, 11, 13, 14))
        if delta or export_delta:
            self.add_energy(node_key, start, ts, delta, export_mwh=export_delta)
        if not flags & FLAG_NOMINAL_VOLTAGE:
            self.add_quality(node_key, ts, vrms, pf)

    def cells(self) -> dict[tuple[int, int], tuple[int, int, int]]:
        """{(node key, minute): (import mWh, covered ms, export mWh)} of the batch."""
        keys = self.minutes.keys() | self.covered.keys() | self.exports.keys()
        return {k: (self.minutes.get(k, 0), self.covered.get(k, 0), self.exports.get(k, 0)) for k in keys}


def split_coverage(start_ms: int, end_ms: int, bucket_ms: int = 60_000) -> list[tuple[int, int]]:
    """(bucket start ms, ms of [start_ms, end_ms) inside it) for each UTC bucket the interval touches."""
    out, b = [], start_ms - start_ms % bucket_ms
    while b < end_ms:
        part = min(b + bucket_ms, end_ms) - max(b, start_ms)
        if part > 0:
            out.append((b, part))
        b += bucket_ms
    return out


NODE_UPDATE = (
    "UPDATE nodes SET acct_boot_id = ?, acct_seq = ?, acct_energy_mwh = ?, acct_uptime_ms = ?, acct_ts_ms = ?, "
    "acct_backwards_run = ?, acct_export_mwh = ?, frames_ok = ?, frames_lost = ?, reboots = ?, energy_total_mwh = ?, "
    "export_total_mwh = ?, rejected = ?, last_seen_ms = ?, last_power_dw = ?, last_irms_ma = ?, last_vrms_dv = ?, "
    "last_flags = ?, last_pf_milli = ?, unsupported_version = ?, "
    "name = coalesce(?, name), fw = coalesce(?, fw), sensor_amps = coalesce(?, sensor_amps), "
    "sample_rate_hz = coalesce(?, sample_rate_hz), mains_hz = coalesce(?, mains_hz), "
    "mv_per_a_x10 = coalesce(?, mv_per_a_x10) WHERE node_key = ?"
)


def node_row(s: NodeState) -> tuple:
    a = s.account
    h = s.hello or {}
    return (
        a.boot_id,
        a.seq,
        a.energy_mwh,
        a.uptime_ms,
        a.ts_ms,
        a.backwards_run,
        a.export_mwh,
        s.frames_ok,
        s.frames_lost,
        s.reboots,
        s.energy_total_mwh,
        s.export_total_mwh,
        json.dumps(s.rejected, sort_keys=True),
        s.last_seen_ms,
        s.last_power_dw,
        s.last_irms_ma,
        s.last_vrms_dv,
        s.last_flags,
        s.last_pf_milli,
        s.unsupported_version,
        h.get("name"),
        h.get("fw"),
        h.get("sensor_amps"),
        h.get("sample_rate_hz"),
        h.get("mains_hz"),
        h.get("mv_per_a_x10"),
        s.node_key,
    )


_MINUTE_UPSERT = (
    "INSERT INTO usage_minute (node_key, start_ms, energy_mwh, covered_ms, export_mwh, vrms_min_dv, vrms_max_dv, "
    "vrms_sum_dv, vrms_n, pf_sum_milli, pf_n) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (node_key, start_ms) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
    "covered_ms = covered_ms + excluded.covered_ms, export_mwh = export_mwh + excluded.export_mwh, "
    "vrms_min_dv = min(coalesce(vrms_min_dv, excluded.vrms_min_dv), coalesce(excluded.vrms_min_dv, vrms_min_dv)), "
    "vrms_max_dv = max(coalesce(vrms_max_dv, excluded.vrms_max_dv), coalesce(excluded.vrms_max_dv, vrms_max_dv)), "
    "vrms_sum_dv = coalesce(vrms_sum_dv + excluded.vrms_sum_dv, vrms_sum_dv, excluded.vrms_sum_dv), "
    "vrms_n = coalesce(vrms_n + excluded.vrms_n, vrms_n, excluded.vrms_n), "
    "pf_sum_milli = coalesce(pf_sum_milli + excluded.pf_sum_milli, pf_sum_milli, excluded.pf_sum_milli), "
    "pf_n = coalesce(pf_n + excluded.pf_n, pf_n, excluded.pf_n)"
)
_HOUR_UPSERT = (
    "INSERT INTO usage_hour (node_key, start_ms, energy_mwh, export_mwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (node_key, start_ms) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
    "export_mwh = export_mwh + excluded.export_mwh"
)
_DAY_UPSERT = (
    "INSERT INTO usage_day (node_key, day, energy_mwh, export_mwh) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (node_key, day) DO UPDATE SET energy_mwh = energy_mwh + excluded.energy_mwh, "
    "export_mwh = export_mwh + excluded.export_mwh"
)


def minute_row(key: tuple[int, int], cell: tuple[int, int, int], q: Quality | None) -> tuple:
    """A `usage_minute` upsert row; NULL voltage and power factor where the minute had no measured voltage."""
    if q is None:
        return (*key, *cell, None, None, None, None, None, None)
    pf = (q[4], q[5]) if q[5] else (None, None)
    return (*key, *cell, q[0], q[1], q[2], q[3], *pf)


def apply_rollups(conn: sqlite3.Connection, cal: LocalCalendar, batch: Batch) -> None:
    """Rollup increments of a batch: node minutes (energy, voltage, power factor), the local hours and
    days they fall in, and the house rollup of the minutes whose energy changed."""
    cells = batch.cells()
    if not cells and not batch.quality:
        return
    hours: dict[tuple[int, int], list[int]] = {}
    days: dict[tuple[int, str], list[int]] = {}
    for (node_key, minute), (mwh, _, export) in cells.items():
        for acc, key in ((hours, (node_key, cal.hour_start_ms(minute))), (days, (node_key, cal.day(minute)))):
            cell = acc.setdefault(key, [0, 0])
            cell[0] += mwh
            cell[1] += export
    rows = [minute_row(k, cells.get(k, (0, 0, 0)), batch.quality.get(k)) for k in cells.keys() | batch.quality.keys()]
    conn.executemany(_MINUTE_UPSERT, rows)
    conn.executemany(_HOUR_UPSERT, [(*k, *v) for k, v in hours.items() if any(v)])
    conn.executemany(_DAY_UPSERT, [(*k, *v) for k, v in days.items() if any(v)])
    if cells:
        HouseRollup(conn, cal).refresh({minute for _, minute in cells})


def recompute_quality(conn: sqlite3.Connection, keys: set[tuple[int, int]], first_id: int) -> None:
    """Set the voltage and power factor of these (node key, minute)s again from their raw readings, after
    the readings from id `first_id` on moved between minutes.

    One pass over the moved readings and the minute before them (`readings` has no time index: rows
    arrive in time order, so a rowid range finds them): at most 600 readings a node a minute.
    """
    if not keys:
        return
    nodes = conn.execute("SELECT count(*) FROM nodes").fetchone()[0]
    lo, hi = min(m for _, m in keys), max(m for _, m in keys) + MINUTE_MS
    batch = Batch()
    rows = conn.execute(
        "SELECT node_key, ts_ms, vrms_dv, pf_milli FROM readings WHERE id >= ? AND ts_ms >= ? AND ts_ms < ? "
        f"AND flags & {FLAG_NOMINAL_VOLTAGE} = 0",
        (first_id - 600 * nodes, lo, hi),
    )
    for node_key, ts, vrms, pf in rows:
        if (node_key, ts - ts % MINUTE_MS) in keys:
            batch.add_quality(node_key, ts, vrms, pf)
    rows = [minute_row(k, (0, 0, 0), batch.quality.get(k)) for k in keys]
    conn.executemany(
        "INSERT INTO usage_minute (node_key, start_ms, energy_mwh, covered_ms) VALUES (?, ?, 0, 0) "
        "ON CONFLICT (node_key, start_ms) DO NOTHING",
        [r[:2] for r in rows],
    )
    conn.executemany(
        "UPDATE usage_minute SET vrms_min_dv = ?, vrms_max_dv = ?, vrms_sum_dv = ?, vrms_n = ?, pf_sum_milli = ?, "
        "pf_n = ? WHERE node_key = ? AND start_ms = ?",
        [(*r[5:], *r[:2]) for r in rows],
    )
