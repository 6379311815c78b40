"""The core tables of the store (migration set "powergw.core"): nodes, readings, rollups, events, meta,
and the house's meters, metering and rollup (gateway/house.py)."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import house

core = Migrations("powergw.core")


@core()
def m001_core_tables(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE nodes (
            node_key INTEGER PRIMARY KEY,
            node_id TEXT NOT NULL UNIQUE,
            name TEXT,
            transport TEXT,
            first_seen_ms INTEGER,
            last_seen_ms INTEGER,
            fw TEXT,
            sensor_amps INTEGER,
            sample_rate_hz INTEGER,
            mains_hz INTEGER,
            mv_per_a_x10 INTEGER,
            last_power_dw INTEGER,
            last_irms_ma INTEGER,
            last_vrms_dv INTEGER,
            last_flags INTEGER,
            acct_boot_id INTEGER,
            acct_seq INTEGER,
            acct_energy_mwh INTEGER,
            acct_uptime_ms INTEGER,
            acct_ts_ms INTEGER,
            acct_backwards_run INTEGER NOT NULL DEFAULT 0,
            energy_total_mwh INTEGER NOT NULL DEFAULT 0,
            frames_ok INTEGER NOT NULL DEFAULT 0,
            frames_lost INTEGER NOT NULL DEFAULT 0,
            reboots INTEGER NOT NULL DEFAULT 0,
            rejected TEXT NOT NULL DEFAULT '{}',
            unsupported_version INTEGER
        );
        CREATE TABLE readings (
            id INTEGER PRIMARY KEY,
            node_key INTEGER NOT NULL,
            ts_ms INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            boot_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            uptime_ms INTEGER NOT NULL,
            power_dw INTEGER NOT NULL,
            irms_ma INTEGER NOT NULL,
            vrms_dv INTEGER NOT NULL,
            energy_mwh INTEGER NOT NULL,
            delta_mwh INTEGER NOT NULL,
            flags INTEGER NOT NULL
        );
        CREATE TABLE usage_minute (
            node_key INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            energy_mwh INTEGER NOT NULL,
            PRIMARY KEY (node_key, start_ms)
        ) WITHOUT ROWID;
        CREATE TABLE usage_hour (
            node_key INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            energy_mwh INTEGER NOT NULL,
            PRIMARY KEY (node_key, start_ms)
        ) WITHOUT ROWID;
        CREATE TABLE usage_day (
            node_key INTEGER NOT NULL,
            day TEXT NOT NULL,
            energy_mwh INTEGER NOT NULL,
            PRIMARY KEY (node_key, day)
        ) WITHOUT ROWID;
        CREATE TABLE energy_events (
            id INTEGER PRIMARY KEY,
            node_key INTEGER NOT NULL,
            ts_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            gap_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX energy_events_node_ts ON energy_events (node_key, ts_ms);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


@core()
def m002_house(db: sqlite_utils.Database) -> None:
    house.migrate(db)


@core()
def m003_export_and_voltage(db: sqlite_utils.Database) -> None:
    """Export energy beside import, and the voltage and power factor of nodes that measure them.

    Only columns are added: every existing row keeps its values, with no export and NULL voltage
    statistics (those nodes assumed their voltage). Per node minute, `vrms_*` summarise the
    readings with a measured voltage (mean = vrms_sum_dv / vrms_n) and `pf_sum_milli` / `pf_n` the
    power factor of those that sent one; NULL where the node assumed its voltage all minute.
    """
    db.executescript(
        """
        ALTER TABLE nodes ADD COLUMN acct_export_mwh INTEGER;
        ALTER TABLE nodes ADD COLUMN export_total_mwh INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE nodes ADD COLUMN last_pf_milli INTEGER;
        ALTER TABLE readings ADD COLUMN export_mwh INTEGER;
        ALTER TABLE readings ADD COLUMN export_delta_mwh INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE readings ADD COLUMN pf_milli INTEGER;
        ALTER TABLE usage_minute ADD COLUMN export_mwh INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage_minute ADD COLUMN vrms_min_dv INTEGER;
        ALTER TABLE usage_minute ADD COLUMN vrms_max_dv INTEGER;
        ALTER TABLE usage_minute ADD COLUMN vrms_sum_dv INTEGER;
        ALTER TABLE usage_minute ADD COLUMN vrms_n INTEGER;
        ALTER TABLE usage_minute ADD COLUMN pf_sum_milli INTEGER;
        ALTER TABLE usage_minute ADD COLUMN pf_n INTEGER;
        ALTER TABLE usage_hour ADD COLUMN export_mwh INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage_day ADD COLUMN export_mwh INTEGER NOT NULL DEFAULT 0;
        """
    )
