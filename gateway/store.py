"""The SQLite store: nodes, raw readings (each closing an energy interval), rollups, events.

One writer (the ingest thread) writes whole batches in one transaction: the readings, the
rollup increments they produce and each node's last accounted counter, together. Readers
(CLI, dashboard) open their own connections; WAL lets them read while ingest writes.

Tables of the core (migration set "powergw.core"):

- `nodes`: one row per node, with its accounting state (`acct_*`) and health counters.
- `readings`: raw READINGs. Each row also closes an energy interval [`start_ms`, `ts_ms`] of
  `delta_mwh` (integer mWh, exact). No secondary index: rows arrive in time order, so rowid
  ranges serve retention, re-anchoring and "the last N minutes" without index writes.
- `usage_minute`, `usage_hour`, `usage_day`: energy per node per UTC minute, local hour and
  local day, kept forever; clustered by (node, time) so range queries are one seek.
- `energy_events`: reboots, baselines, gaps of unknown energy, refused readings.
- `meta`: small key/value facts (clock epochs, retention watermark).
- `meters`, `metering_changes`, `metering_mains`, `house_minute`/`hour`/`day`: the house (gateway/house.py).

The tables are created in gateway/store_schema.py; what one ingest commit writes is gateway/batch.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import house
from .batch import (
    NODE_UPDATE,
    READING_COLUMNS,
    READING_INSERT,
    Batch,
    NodeState,
    apply_rollups,
    node_row,
    recompute_quality,
)
from .db import StoreError, connect, transaction
from .energy import NodeAccount
from .house_rollup import HouseRollup, house_buckets
from .localtime import LocalCalendar
from .minute_stats import minute_stats
from .store_schema import core


class UnknownNodesError(StoreError):
    """A house named by node ids, some of which never reported: it cannot be summed."""

    def __init__(self, unknown: tuple[str, ...], known: tuple[str, ...]):
        self.unknown, self.known = tuple(unknown), tuple(known)
        super().__init__(
            f"node ids {', '.join(self.unknown)} never reported (known: {', '.join(self.known) or 'none'})"
        )


RESOLUTIONS = ("minute", "hour", "day")


class Store:
    """The gateway's SQLite file; `migrations` are the extra sets other parts of powergw own."""

    def __init__(
        self,
        path: Path | str,
        *,
        migrations: Sequence[Migrations] = (),
        timezone: str = "Asia/Kolkata",
        readonly: bool = False,
    ):
        self.path = Path(path)
        self.readonly = readonly
        self.calendar = LocalCalendar(timezone)
        self.conn = connect(self.path, readonly=readonly)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        if not readonly:
            try:
                for migration_set in (core, *migrations):
                    migration_set.apply(self.db)
                self._build_house_once()
            except sqlite3.Error as err:
                raise StoreError(f"cannot migrate database {self.path}: {err}") from err

    def _build_house_once(self) -> None:
        """Roll the house up from the nodes' history the first time this database is opened with house tables."""
        if self.get_meta("house_rollup") is not None:
            return
        with transaction(self) as conn:
            HouseRollup(conn, self.calendar).rebuild(0)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('house_rollup', ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value",
                (self.calendar.name,),
            )

    def close(self) -> None:
        self.conn.close()

    # ---- nodes ---------------------------------------------------------------------------

    def ensure_node(self, node_id: str, transport: str, now_ms: int) -> int:
        """The node's key, creating its row the first time it is seen."""
        with self.lock:
            row = self.conn.execute("SELECT node_key FROM nodes WHERE node_id = ?", (node_id,)).fetchone()
            if row:
                return row[0]
            with transaction(self) as conn:
                key = conn.execute(
                    "INSERT INTO nodes (node_id, transport, first_seen_ms, last_seen_ms) VALUES (?, ?, ?, ?)",
                    (node_id, transport, now_ms, now_ms),
                ).lastrowid
                house.assign_meter(conn, key, node_id, transport, now_ms)
            return key

    def load_node_states(self) -> dict[str, NodeState]:
        rows = self.conn.execute(
            "SELECT node_key, node_id, acct_boot_id, acct_seq, acct_energy_mwh, acct_uptime_ms, acct_ts_ms, "
            "acct_backwards_run, frames_ok, frames_lost, reboots, energy_total_mwh, rejected, last_seen_ms, "
            "last_power_dw, last_irms_ma, last_vrms_dv, last_flags, unsupported_version, acct_export_mwh, "
            "export_total_mwh, last_pf_milli FROM nodes"
        ).fetchall()
        out = {}
        for r in rows:
            account = NodeAccount(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[19])
            out[r[1]] = NodeState(
                node_key=r[0],
                account=account,
                frames_ok=r[8],
                frames_lost=r[9],
                reboots=r[10],
                energy_total_mwh=r[11],
                rejected=json.loads(r[12] or "{}"),
                last_seen_ms=r[13],
                last_power_dw=r[14],
                last_irms_ma=r[15],
                last_vrms_dv=r[16],
                last_flags=r[17],
                unsupported_version=r[18],
                export_total_mwh=r[20],
                last_pf_milli=r[21],
            )
        return out

    def nodes(self) -> list[dict]:
        """Every node with its health counters, for `powergw nodes` and the dashboard."""
        cur = self.conn.execute("SELECT * FROM nodes ORDER BY node_id")
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur.fetchall():
            item = dict(zip(cols, row, strict=False))
            item["rejected"] = json.loads(item["rejected"] or "{}")
            out.append(item)
        return out

    # ---- the ingest batch -------------------------------------------------------------------

    def write_batch(self, batch: Batch, states: Iterable[NodeState], *, rollup: bool = True) -> None:
        """Commit a batch in one transaction (or raise StoreError, leaving nothing half-written).

        With `rollup`, the batch's rollup increments, the dirty nodes' accounting state and the
        rollup watermark (the last reading whose energy the rollups hold) go in too. Without it
        only raw readings and events are written: one or two pages, which is what keeps SD-card
        writes low. Readings past the watermark are replayed into the rollups at start-up
        (`pending_readings`) and counted by the queries, so nothing waits on the next rollup.
        """
        states = list(states)
        node_rows = [node_row(s) for s in states if s.dirty] if rollup else []
        try:
            with transaction(self) as conn:
                if batch.readings:
                    conn.executemany(READING_INSERT, batch.readings)
                if batch.events:
                    conn.executemany(
                        "INSERT INTO energy_events (node_key, ts_ms, kind, detail, gap_ms) VALUES (?,?,?,?,?)",
                        batch.events,
                    )
                if rollup:
                    self._apply_rollups(batch)
                    if node_rows:
                        conn.executemany(NODE_UPDATE, node_rows)
                    conn.execute(
                        "INSERT INTO meta (key, value) SELECT 'rollup_watermark', coalesce(max(id), 0) FROM readings "
                        "WHERE true ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                    )
        except sqlite3.Error as err:
            raise StoreError(f"cannot write to {self.path}: {err}") from err
        if rollup:
            for s in states:
                s.dirty = False

    def rollup_watermark(self) -> int:
        """Id of the last reading whose energy is in the rollups."""
        return int(self.get_meta("rollup_watermark", "0"))

    def pending_readings(self) -> list[tuple]:
        """Committed readings whose energy is not yet in the rollups (after a crash), in order."""
        return self.conn.execute(
            f"SELECT {READING_COLUMNS} FROM readings WHERE id > ? ORDER BY id", (self.rollup_watermark(),)
        ).fetchall()

    def _apply_rollups(self, batch: Batch) -> None:
        """A batch's rollup increments on this connection, inside the caller's transaction (gateway/batch.py)."""
        apply_rollups(self.conn, self.calendar, batch)

    # ---- clock re-anchoring ---------------------------------------------------------------

    def last_reading_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM readings").fetchone()[0]

    def last_event_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM energy_events").fetchone()[0]

    def shift_epoch(self, first_id: int, first_event_id: int, epoch_start_ms: int, delta_ms: int) -> int:
        """Move readings (id >= first_id) and events (id >= first_event_id) by delta_ms: the
        clock they were stamped with was wrong until now.

        An interval whose start predates the epoch keeps its start (that side came from an
        earlier, trusted clock). Rollups are moved with the energy. Returns rows moved.
        """
        with self.lock:
            conn = self.conn
            rows = conn.execute(
                "SELECT id, node_key, start_ms, ts_ms, delta_mwh, export_delta_mwh FROM readings WHERE id >= ?",
                (first_id,),
            ).fetchall()
            if not rows:
                return 0
            change = Batch()
            updates, stamped = [], set()
            for rid, node_key, start, end, mwh, export in rows:
                new_end = end + delta_ms
                new_start = start + delta_ms if start >= epoch_start_ms else min(start, new_end)
                change.add_energy(node_key, new_start, new_end, mwh, export_mwh=export)
                change.add_energy(node_key, start, end, mwh, sign=-1, export_mwh=export)
                updates.append((new_start, new_end, rid))
                stamped |= {(node_key, t - t % 60_000) for t in (end, new_end)}
            change.minutes = {k: v for k, v in change.minutes.items() if v}
            change.covered = {k: v for k, v in change.covered.items() if v}
            change.exports = {k: v for k, v in change.exports.items() if v}
            try:
                with transaction(self):
                    conn.executemany("UPDATE readings SET start_ms = ?, ts_ms = ? WHERE id = ?", updates)
                    conn.execute("UPDATE energy_events SET ts_ms = ts_ms + ? WHERE id >= ?", (delta_ms, first_event_id))
                    self._apply_rollups(change)
                    recompute_quality(conn, stamped, first_id)
            except sqlite3.Error as err:
                raise StoreError(f"cannot re-anchor readings in {self.path}: {err}") from err
            return len(updates)

    # ---- retention ----------------------------------------------------------------------------

    def apply_retention(self, now_ms: int, days: int) -> int:
        """Drop raw readings older than `days`. Their energy is already in the rollups, which
        are written in the same transaction as the readings, so nothing accounted is lost."""
        cutoff = now_ms - days * 86_400_000
        with self.lock:
            row = self.conn.execute(
                "SELECT id FROM readings WHERE ts_ms >= ? ORDER BY id LIMIT 1", (cutoff,)
            ).fetchone()
            bound = row[0] if row else self.last_reading_id() + 1
            # Never drop a reading whose energy is not yet in the committed rollups.
            bound = min(bound, self.rollup_watermark() + 1)
            try:
                cur = self.conn.execute("DELETE FROM readings WHERE id < ?", (bound,))
            except sqlite3.Error as err:
                raise StoreError(f"cannot apply retention in {self.path}: {err}") from err
            return cur.rowcount

    # ---- queries -------------------------------------------------------------------------------

    def node_keys(self, node_id: str | None = None) -> dict[int, str]:
        if node_id is None:
            rows = self.conn.execute("SELECT node_key, node_id FROM nodes").fetchall()
        else:
            rows = self.conn.execute("SELECT node_key, node_id FROM nodes WHERE node_id = ?", (node_id,)).fetchall()
            if not rows:
                raise StoreError(f"no node {node_id!r} in {self.path}")
        return dict(rows)

    def house_usage(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, int]:
        """{bucket start ms: mWh} of the house (gateway/house.py), bucketed as `usage` buckets a node."""
        return {b: cell[0] for b, cell in self.house_series(start_ms, end_ms, resolution).items() if cell[0]}

    def house_series(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, tuple[int, int]]:
        """{bucket start ms: (imported mWh, ms its meters covered)} of the house, including readings not yet
        rolled up."""
        cells = self._house_cells(start_ms, end_ms, resolution)
        return {b: (e, c) for b, (e, c, _) in cells.items() if e or c}

    def house_flows(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, tuple[int, int]]:
        """{bucket start ms: (imported mWh, exported mWh)} of the house, bucketed as `house_series` (buckets
        with neither are left out)."""
        cells = self._house_cells(start_ms, end_ms, resolution)
        return {b: (e, x) for b, (e, _, x) in cells.items() if e or x}

    def _house_cells(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, tuple[int, int, int]]:
        overlay = HouseRollup(self.conn, self.calendar).overlay(self._pending_batch().cells())
        return house_buckets(self.conn, self.calendar, start_ms, end_ms, resolution, overlay)

    def set_mains(self, node_ids: Sequence[str], since_ms: int, now_ms: int, source: str = "cli") -> None:
        """From `since_ms` on, the house is the meters of `node_ids` (none: every meter); rebuilds the house
        rollup from that day. UnknownNodesError when an id never reported."""
        with self.lock:
            found, unknown = house.resolve_nodes(self.conn, list(node_ids))
            if unknown:
                raise UnknownNodesError(tuple(unknown), tuple(sorted(self.node_keys().values())))
            try:
                with transaction(self) as conn:
                    house.add_change(conn, found, since_ms, now_ms, source)
                    HouseRollup(conn, self.calendar).rebuild(since_ms)
            except sqlite3.Error as err:
                raise StoreError(f"cannot change the house's metering in {self.path}: {err}") from err

    def apply_config_mains(self, node_ids: Sequence[str], now_ms: int) -> None:
        """Make the metering follow [billing] metered_nodes: a change there applies from the start of
        the data, as the config has no date. UnknownNodesError when an id never reported."""
        wanted = sorted(node_ids)
        before = house.mains_named(self.conn, "config")
        if before == wanted or (before is None and not wanted):
            return
        _, unknown = house.resolve_nodes(self.conn, wanted)
        if unknown:
            raise UnknownNodesError(tuple(unknown), tuple(sorted(self.node_keys().values())))
        if self.readonly:
            return  # the daemon applies it when it starts with this config
        self.set_mains(wanted, 0, now_ms, source="config")

    def usage(self, start_ms: int, end_ms: int, resolution: str, node_id: str | None = None) -> list[dict]:
        """Energy per node per bucket in [start_ms, end_ms): dicts with node_id, start_ms, end_ms, energy_mwh.

        Rollups plus the committed readings not yet rolled up, so a query never lags ingest by
        more than one commit interval. An empty or reversed range has no buckets at any resolution
        (unguarded, "day" gave start_ms's whole day, and a start inside a minute gave that minute).
        """
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution {resolution!r}: expected one of {', '.join(RESOLUTIONS)}")
        keys = self.node_keys(node_id)
        if end_ms <= start_ms:
            return []
        cal = self.calendar
        pending = self._pending_minutes(keys)
        out = []
        for node_key, nid in sorted(keys.items(), key=lambda kv: kv[1]):
            buckets: dict = {}
            if resolution == "day":
                first, last = cal.day(start_ms), cal.day(end_ms - 1)
                rows = self.conn.execute(
                    "SELECT day, energy_mwh FROM usage_day WHERE node_key = ? AND day >= ? AND day <= ? ORDER BY day",
                    (node_key, first, last),
                ).fetchall()
                buckets.update(rows)
                for (k, minute), mwh in pending.items():
                    day = cal.day(minute)
                    if k == node_key and first <= day <= last:
                        buckets[day] = buckets.get(day, 0) + mwh
                for day in sorted(buckets):
                    s = cal.day_start_ms(day)
                    e = cal.day_start_ms(dt.date.fromisoformat(day) + dt.timedelta(days=1))
                    out.append({"node_id": nid, "start_ms": s, "end_ms": e, "energy_mwh": buckets[day]})
            else:
                table, width = ("usage_minute", 60_000) if resolution == "minute" else ("usage_hour", 3_600_000)
                lo = start_ms - start_ms % 60_000
                rows = self.conn.execute(
                    f"SELECT start_ms, energy_mwh FROM {table} WHERE node_key = ? AND start_ms >= ? AND start_ms < ? "
                    "AND energy_mwh != 0 ORDER BY start_ms",
                    (node_key, lo, end_ms),
                ).fetchall()
                buckets.update(rows)
                for (k, minute), mwh in pending.items():
                    b = minute if resolution == "minute" else cal.hour_start_ms(minute)
                    if k == node_key and lo <= b < end_ms:
                        buckets[b] = buckets.get(b, 0) + mwh
                out.extend(
                    {"node_id": nid, "start_ms": b, "end_ms": b + width, "energy_mwh": buckets[b]}
                    for b in sorted(buckets)
                )
        return out

    def minutes(self, node_ids: Sequence[str], start_ms: int, end_ms: int) -> dict[str, dict[int, int]]:
        """{node_id: {minute start ms: mWh}} for each of `node_ids` in [start_ms, end_ms): what
        `usage(start_ms, end_ms, "minute", node_id)` gives each, read in one query."""
        keys: dict[int, str] = {}
        for node_id in node_ids:
            keys.update(self.node_keys(node_id))
        out: dict[str, dict[int, int]] = {nid: {} for nid in keys.values()}
        if not keys or end_ms <= start_ms:  # as usage: a start inside a minute would give that minute
            return out
        lo = start_ms - start_ms % 60_000
        rows = self.conn.execute(
            f"SELECT node_key, start_ms, energy_mwh FROM usage_minute WHERE node_key IN ({','.join('?' * len(keys))}) "
            "AND start_ms >= ? AND start_ms < ? AND energy_mwh != 0",
            (*keys, lo, end_ms),
        )
        by_key = {k: out[nid] for k, nid in keys.items()}
        for node_key, minute, mwh in rows:
            by_key[node_key][minute] = mwh
        for (node_key, minute), mwh in self._pending_minutes(keys).items():
            if lo <= minute < end_ms:
                buckets = by_key[node_key]
                buckets[minute] = buckets.get(minute, 0) + mwh
        return out

    def minute_stats(self, node_ids: Sequence[str], start_ms: int, end_ms: int) -> list[dict]:
        """Each minute in [start_ms, end_ms) of each of `node_ids` with energy or a measured voltage
        (gateway/minute_stats.py), including readings not yet rolled up."""
        keys: dict[int, str] = {}
        for node_id in node_ids:
            keys.update(self.node_keys(node_id))
        if not keys or end_ms <= start_ms:
            return []
        return minute_stats(self.conn, keys, start_ms - start_ms % 60_000, end_ms, self._pending_batch())

    def _pending_minutes(self, keys: dict[int, str]) -> dict[tuple[int, int], int]:
        return {k: v for k, v in self._pending_batch().minutes.items() if k[0] in keys and v}

    def _pending_batch(self) -> Batch:
        """The committed readings not yet in the rollups, as the rollup increments they will make."""
        batch = Batch()
        for row in self.pending_readings():
            batch.add_row(row)
        return batch

    def total_energy_mwh(self, node_id: str | None = None) -> int:
        """Every accounted mWh (rollups plus readings not yet rolled up), for one node or all."""
        keys = self.node_keys(node_id)
        marks = ",".join("?" * len(keys)) or "NULL"
        rolled = self.conn.execute(
            f"SELECT coalesce(sum(energy_mwh), 0) FROM usage_day WHERE node_key IN ({marks})", tuple(keys)
        ).fetchone()[0]
        pending = self.conn.execute(
            f"SELECT coalesce(sum(delta_mwh), 0) FROM readings WHERE id > ? AND node_key IN ({marks})",
            (self.rollup_watermark(), *keys),
        ).fetchone()[0]
        return rolled + pending

    def latest_readings(self, window_ms: int, now_ms: int) -> list[dict]:
        """Raw readings of the last `window_ms`, oldest first, read from the tail of the table."""
        last = self.last_reading_id()
        nodes = max(1, self.conn.execute("SELECT count(*) FROM nodes").fetchone()[0])
        # At most ~1 reading per node per 100 ms; the tail beyond that is older than the window.
        bound = last - nodes * (window_ms // 100 + 10)
        rows = self.conn.execute(
            "SELECT n.node_id, r.ts_ms, r.power_dw, r.irms_ma, r.vrms_dv, r.flags FROM readings r "
            "JOIN nodes n USING (node_key) WHERE r.id > ? AND r.ts_ms >= ? ORDER BY r.id",
            (bound, now_ms - window_ms),
        ).fetchall()
        return [
            {
                "node_id": r[0],
                "ts_ms": r[1],
                "power_w": r[2] / 10,
                "irms_a": r[3] / 1000,
                "vrms_v": r[4] / 10,
                "flags": r[5],
            }
            for r in rows
        ]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]
