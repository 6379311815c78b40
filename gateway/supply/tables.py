"""The supply part's tables: the cut log, the cut tracker's state, the gateway's runs, and voltage
quality per day. Migration set "powergw.supply"; `SupplyTables(store)` reads and writes them.

What the tracker keeps is rows, not a blob: the reading it has taken in up to, the latest time of
any reading, each node's last reading, and for a silence still being judged its start and each
reporting node's state. A restart of the gateway resumes where the last run committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ..db import StoreError, transaction
from ..node_identity import is_ble
from .cuts import Back, Cut, Run, Seen, Silence, Tracker
from .quality import DayQuality, VoltMinute

supply_migrations = Migrations("powergw.supply")

HOUSE = "house"  # the scope of the house's own voltage figures (its mains meters)


@supply_migrations()
def m001_supply(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE supply_cuts (
            id INTEGER PRIMARY KEY,
            start_ms INTEGER NOT NULL UNIQUE,
            end_ms INTEGER NOT NULL,
            nodes INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            found_ms INTEGER NOT NULL
        );
        CREATE TABLE supply_tracker (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            reading_id INTEGER NOT NULL,
            latest_ms INTEGER,
            silence_start_ms INTEGER,
            silence_first_back_ms INTEGER
        );
        CREATE TABLE supply_nodes (
            node_key INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            boot_id INTEGER NOT NULL,
            uptime_ms INTEGER NOT NULL,
            before_ts_ms INTEGER,
            before_boot_id INTEGER,
            before_uptime_ms INTEGER,
            back_ts_ms INTEGER,
            back_restarted INTEGER,
            back_boot_ms INTEGER
        );
        CREATE TABLE supply_runs (started_ms INTEGER PRIMARY KEY, host_boot_ms INTEGER NOT NULL);
        CREATE TABLE supply_quality_day (
            day TEXT NOT NULL,
            scope TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            minutes_low INTEGER NOT NULL,
            minutes_high INTEGER NOT NULL,
            minutes_out INTEGER NOT NULL,
            longest_out INTEGER NOT NULL,
            longest_out_ms INTEGER,
            mean_dv INTEGER NOT NULL,
            sag_dv INTEGER NOT NULL,
            sag_ms INTEGER NOT NULL,
            surge_dv INTEGER NOT NULL,
            surge_ms INTEGER NOT NULL,
            PRIMARY KEY (day, scope)
        ) WITHOUT ROWID;
        """
    )


QUALITY_FIELDS = (
    "minutes",
    "minutes_low",
    "minutes_high",
    "minutes_out",
    "longest_out",
    "longest_out_ms",
    "mean_dv",
    "sag_dv",
    "sag_ms",
    "surge_dv",
    "surge_ms",
)
RUN_MATCH_MS = 5_000  # two readings of one run's start this close are the same run


class SupplyTables:
    """The supply tables of one store (its connection, lock and path)."""

    def __init__(self, store):
        self.store = store
        self.conn: sqlite3.Connection = store.conn

    # ---- the tracker ----------------------------------------------------------------------------

    def tracker(self) -> tuple[Tracker, int]:
        """The tracker as the last run left it, and the id of the last reading it took in."""
        row = self.conn.execute(
            "SELECT reading_id, latest_ms, silence_start_ms, silence_first_back_ms FROM supply_tracker"
        ).fetchone()
        reading_id, latest, s_start, s_back = row or (0, None, None, None)
        t = Tracker(latest_ms=latest)
        reporting, back = {}, {}
        for key, ts, boot, up, b_ts, b_boot, b_up, k_ts, k_re, k_boot in self.conn.execute(
            "SELECT node_key, ts_ms, boot_id, uptime_ms, before_ts_ms, before_boot_id, before_uptime_ms, "
            "back_ts_ms, back_restarted, back_boot_ms FROM supply_nodes"
        ):
            t.last[key] = Seen(key, ts, boot, up)
            if b_ts is not None:
                reporting[key] = Seen(key, b_ts, b_boot, b_up)
            if k_ts is not None:
                back[key] = Back(k_ts, bool(k_re), k_boot)
        if s_start is not None:
            t.silence = Silence(s_start, s_back, reporting, back)
        return t, reading_id

    def save(self, tracker: Tracker, reading_id: int, cuts: Iterable[Cut], now_ms: int) -> None:
        """The tracker's state and the cuts it judged, in one transaction."""
        s = tracker.silence
        rows = []
        for key, seen in tracker.last.items():
            before = s.reporting.get(key) if s else None
            back = s.back.get(key) if s else None
            rows.append(
                (
                    key,
                    seen.ts_ms,
                    seen.boot_id,
                    seen.uptime_ms,
                    *((before.ts_ms, before.boot_id, before.uptime_ms) if before else (None, None, None)),
                    *((back.ts_ms, int(back.restarted), back.boot_ms) if back else (None, None, None)),
                )
            )
        try:
            with transaction(self.store) as conn:
                conn.execute(
                    "INSERT INTO supply_tracker (id, reading_id, latest_ms, silence_start_ms, silence_first_back_ms) "
                    "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET reading_id = excluded.reading_id, "
                    "latest_ms = excluded.latest_ms, silence_start_ms = excluded.silence_start_ms, "
                    "silence_first_back_ms = excluded.silence_first_back_ms",
                    (reading_id, tracker.latest_ms, s.start_ms if s else None, s.first_back_ms if s else None),
                )
                conn.execute("DELETE FROM supply_nodes")
                conn.executemany("INSERT INTO supply_nodes VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                conn.executemany(
                    "INSERT INTO supply_cuts (start_ms, end_ms, nodes, missing, found_ms) VALUES (?,?,?,?,?) "
                    "ON CONFLICT (start_ms) DO NOTHING",
                    [(c.start_ms, c.end_ms, c.nodes, c.missing, now_ms) for c in cuts],
                )
        except sqlite3.Error as err:
            raise StoreError(f"cannot write the power-cut log in {self.store.path}: {err}") from err

    def readings_after(self, reading_id: int, limit: int) -> list[tuple[int, Seen]]:
        """(id, reading) of up to `limit` readings after `reading_id`, in the order ingest wrote them."""
        rows = self.conn.execute(
            "SELECT id, node_key, ts_ms, boot_id, uptime_ms FROM readings WHERE id > ? ORDER BY id LIMIT ?",
            (reading_id, limit),
        )
        return [(rid, Seen(key, ts, boot, up)) for rid, key, ts, boot, up in rows]

    def guessed_nodes(self) -> frozenset[int]:
        """The nodes whose boot_id and uptime the gateway infers (BLE: gateway/sources/ble_source.py)."""
        rows = self.conn.execute("SELECT node_key, transport FROM nodes").fetchall()
        return frozenset(key for key, transport in rows if is_ble(transport))

    # ---- the gateway's runs ---------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        """Note a start of the gateway (once: a start read again a little differently is the same)."""
        with transaction(self.store) as conn:
            near = conn.execute(
                "SELECT 1 FROM supply_runs WHERE started_ms BETWEEN ? AND ?",
                (run.started_ms - RUN_MATCH_MS, run.started_ms + RUN_MATCH_MS),
            ).fetchone()
            if near is None:
                conn.execute("INSERT INTO supply_runs VALUES (?, ?)", (run.started_ms, run.host_boot_ms))

    def runs_since(self, since_ms: int) -> list[Run]:
        rows = self.conn.execute(
            "SELECT started_ms, host_boot_ms FROM supply_runs WHERE started_ms >= ? ORDER BY started_ms", (since_ms,)
        )
        return [Run(a, b) for a, b in rows]

    # ---- the log --------------------------------------------------------------------------------

    def cuts(self, start_ms: int, end_ms: int) -> list[Cut]:
        """The cuts overlapping [start_ms, end_ms), oldest first."""
        rows = self.conn.execute(
            "SELECT start_ms, end_ms, nodes, missing FROM supply_cuts WHERE end_ms > ? AND start_ms < ? "
            "ORDER BY start_ms",
            (start_ms, end_ms),
        )
        return [Cut(*r) for r in rows]

    # ---- voltage quality ------------------------------------------------------------------------

    def volt_minutes(self, start_ms: int, end_ms: int) -> dict[int, list[VoltMinute]]:
        """{node key: its minutes with a measured voltage in [start_ms, end_ms)} from ingest's minute rollup
        (read node by node: one seek each on the rollup's (node, minute) key)."""
        out: dict[int, list[VoltMinute]] = {}
        for (key,) in self.conn.execute("SELECT node_key FROM nodes ORDER BY node_key").fetchall():
            rows = self.conn.execute(
                "SELECT start_ms, vrms_min_dv, vrms_max_dv, vrms_sum_dv, vrms_n FROM usage_minute "
                "WHERE node_key = ? AND start_ms >= ? AND start_ms < ? AND vrms_n > 0 ORDER BY start_ms",
                (key, start_ms, end_ms),
            ).fetchall()
            if rows:
                out[key] = [VoltMinute(*r) for r in rows]
        return out

    def last_quality_day(self) -> str | None:
        """The latest day with voltage figures (the one still filling, or the last before a pause)."""
        return self.conn.execute("SELECT max(day) FROM supply_quality_day").fetchone()[0]

    def save_quality(self, day: str, by_scope: dict[str, DayQuality]) -> None:
        """The day's figures per scope (the house, each node id), replacing what the day had."""
        try:
            with transaction(self.store) as conn:
                conn.execute("DELETE FROM supply_quality_day WHERE day = ?", (day,))
                conn.executemany(
                    f"INSERT INTO supply_quality_day (day, scope, {', '.join(QUALITY_FIELDS)}) "
                    f"VALUES (?, ?, {', '.join('?' * len(QUALITY_FIELDS))})",
                    [(day, scope, *(getattr(q, f) for f in QUALITY_FIELDS)) for scope, q in by_scope.items()],
                )
        except sqlite3.Error as err:
            raise StoreError(f"cannot write voltage quality in {self.store.path}: {err}") from err

    def quality(self, first_day: str, last_day: str) -> dict[str, dict[str, DayQuality]]:
        """{day: {scope: figures}} for the local days first_day..last_day."""
        out: dict[str, dict[str, DayQuality]] = {}
        for day, scope, *values in self.conn.execute(
            f"SELECT day, scope, {', '.join(QUALITY_FIELDS)} FROM supply_quality_day WHERE day >= ? AND day <= ? "
            "ORDER BY day, scope",
            (first_day, last_day),
        ):
            out.setdefault(day, {})[scope] = DayQuality(*values)
        return out
