"""Compact backups (every table, only recent and not-yet-rolled-up raw readings), --full, and full disks."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.app import open_store
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.tariff import Bill
from gateway.ops import OpsError
from gateway.ops.backup import list_backups, restore_backup, take_backup
from tests.support.ingest import T0, make_ingest, reading_wire

HOUR_MS = 3_600_000
STEP_MS = 10_000  # one reading every 10 s keeps hours of history quick to build


def stream(ingest, clock, seqs: range, *, counter: int, rollup_every: int = 30) -> int:
    """Feed readings `seqs` STEP_MS apart; a rollup commit every `rollup_every`, raw commits between."""
    for seq in seqs:
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=STEP_MS * (seq + 1)))
        clock.advance(STEP_MS)
        counter += 3_000
        ingest.commit(rollup=(seq + 1) % rollup_every == 0)
    return counter


def dump(db: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def picture(db: Path) -> dict:
    """What a restore must give back: energy, rollups, ledger, nodes, events, schema, migrations."""
    store = open_store(db)
    try:
        end = T0 + 2 * 86_400_000
        return {
            "energy": store.total_energy_mwh(),
            "usage": {r: store.usage(T0 - 86_400_000, end, r) for r in ("minute", "hour", "day")},
            "balance": Ledger(store).balance(),
            "bills": store.conn.execute("SELECT * FROM bills").fetchall(),
            "payments": store.conn.execute("SELECT * FROM payments").fetchall(),
            "nodes": store.conn.execute("SELECT * FROM nodes").fetchall(),
            "events": store.conn.execute("SELECT * FROM energy_events ORDER BY id").fetchall(),
            "meta": store.conn.execute("SELECT * FROM meta ORDER BY key").fetchall(),
            "schema": store.conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
            ).fetchall(),
            "migrations": store.conn.execute(
                "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id"
            ).fetchall(),
            "page_size": store.conn.execute("PRAGMA page_size").fetchone()[0],
        }
    finally:
        store.close()


@pytest.fixture
def three_hours(tmp_path):
    """A gateway database with three hours of readings, the last ones not yet rolled up, a bill and a payment."""
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    counter = stream(ingest, clock, range(1080), counter=0)
    counter = stream(ingest, clock, range(1080, 1100), counter=counter, rollup_every=10**9)  # raw commits only
    ledger = Ledger(ingest.store)
    ledger.close_bill(
        Cycle(dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
        Bill("tn-domestic", Decimal(120), (), Decimal("812.50")),
        source="test",
        now_ms=T0,
    )
    ledger.record_payment("500", payment_key="upi-1", now_ms=T0 + 60_000)
    ingest.store.close()
    last_ts = T0 + 1100 * STEP_MS
    return db, last_ts, counter


def test_compact_backup_keeps_recent_and_unrolled_readings_and_restores_to_the_same_totals(tmp_path, three_hours):
    db, last_ts, counter = three_hours
    before = picture(db)
    watermark = int(dump(db, "SELECT value FROM meta WHERE key = 'rollup_watermark'")[0][0])
    all_ids = [r[0] for r in dump(db, "SELECT id FROM readings ORDER BY id")]
    assert watermark < all_ids[-1]  # some readings are not in the rollups yet

    result = take_backup(db, tmp_path / "bk", keep=3, now_ms=last_ts, raw_hours=1)
    assert result.kind == "compact" and result.path.name.endswith("-compact.db")
    kept = [r for r in dump(result.path, "SELECT id, ts_ms FROM readings ORDER BY id")]
    source_recent = dump(
        db, "SELECT id FROM readings WHERE ts_ms >= ? OR id > ? ORDER BY id", last_ts - HOUR_MS, watermark
    )
    assert [r[0] for r in kept] == [r[0] for r in source_recent]  # the last hour, and everything past the watermark
    assert result.readings_left_out == len(all_ids) - len(kept) > 700
    assert dump(result.path, "PRAGMA integrity_check") == [("ok",)]
    assert dump(result.path, "PRAGMA journal_mode") == [("delete",)]

    # The backup itself, then restored over a database that moved on: the same everything.
    after = picture(result.path)
    assert after == before
    ingest, clock = make_ingest(db, wall_ms=last_ts)
    stream(ingest, clock, range(1100, 1200), counter=counter)
    ingest.store.close()
    assert picture(db)["energy"] > before["energy"]
    restore_backup(result.path, db, now_ms=last_ts + HOUR_MS)
    assert picture(db) == before

    # A working database: ingest resumes on it, replays what was not rolled up, loses nothing.
    ingest, clock = make_ingest(db, wall_ms=last_ts + HOUR_MS)
    assert ingest.replayed == 20
    end = stream(ingest, clock, range(1100, 1160), counter=counter)
    ingest.flush()
    assert ingest.store.integrity_check() == "ok"
    assert ingest.store.total_energy_mwh() == end - 3_000  # the counter rise since the baseline reading
    ingest.store.close()


def test_compact_backup_is_a_consistent_snapshot_while_ingest_keeps_writing(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    counter = stream(ingest, clock, range(300), counter=0, rollup_every=7)
    stop = threading.Event()

    def writer():
        seq, c = 300, counter
        while not stop.is_set():
            c = stream(ingest, clock, range(seq, seq + 1), counter=c, rollup_every=7)
            seq += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        # raw_hours = 0: only the readings past the watermark, so every copy cuts the table.
        results = [
            take_backup(db, tmp_path / "bk", keep=10, now_ms=T0 + (i + 1) * 86_400_000, force=True, raw_hours=0)
            for i in range(6)
        ]
    finally:
        stop.set()
        t.join()
    ingest.store.close()
    snapshots = set()
    for r in results:
        store = open_store(r.path, readonly=True)
        try:
            assert store.integrity_check() == "ok"
            conn = store.conn
            ids = [row[0] for row in conn.execute("SELECT id FROM readings ORDER BY id")]
            assert all(i > store.rollup_watermark() for i in ids)
            assert ids == list(range(store.rollup_watermark() + 1, store.rollup_watermark() + 1 + len(ids)))
            last_counter = conn.execute("SELECT energy_mwh FROM readings ORDER BY id DESC LIMIT 1").fetchone()
            last_counter = (
                last_counter[0] if last_counter else conn.execute("SELECT acct_energy_mwh FROM nodes").fetchone()[0]
            )
            # A snapshot: rollups, node state and the unrolled readings agree with the node's counter.
            assert store.total_energy_mwh() == last_counter
            snapshots.add(last_counter)
            sums = [
                conn.execute(f"SELECT sum(energy_mwh) FROM usage_{t}").fetchone()[0] for t in ("minute", "hour", "day")
            ]
            assert len(set(sums)) == 1
            assert conn.execute("SELECT acct_energy_mwh FROM nodes").fetchone()[0] == sums[0]
        finally:
            store.close()
        assert r.readings_left_out > 0
    assert len(snapshots) > 1  # ingest did write between (and during) the backups
    assert not list((tmp_path / "bk").glob(".partial-*"))


def test_full_backup_keeps_every_raw_reading(tmp_path, three_hours):
    db, last_ts, _ = three_hours
    bk = tmp_path / "bk"
    compact = take_backup(db, bk, keep=5, now_ms=last_ts, raw_hours=1)
    full = take_backup(db, bk, keep=5, now_ms=last_ts + 1000, kind="full")  # unchanged, but the newest was compact
    assert full.path is not None and full.path.name == "powergw-20260101T030321Z.db" and full.readings_left_out == 0
    assert dump(full.path, "SELECT count(*) FROM readings") == dump(db, "SELECT count(*) FROM readings")
    assert full.size_bytes > compact.size_bytes
    assert picture(full.path) == picture(db)
    # A compact backup of an unchanged database is skipped after a full one, which holds more.
    assert take_backup(db, bk, keep=5, now_ms=last_ts + 2000).skipped
    assert [b.kind for b in list_backups(bk)] == ["full", "compact"]


@pytest.mark.parametrize("kind", ["compact", "full"])
def test_a_full_disk_is_a_clear_error_and_leaves_the_rotation_alone(tmp_path, three_hours, kind):
    db, last_ts, _ = three_hours
    bk = tmp_path / "bk"
    good = take_backup(db, bk, keep=1, now_ms=T0, kind="full")
    # max_bytes becomes the new file's PRAGMA max_page_count: SQLite fails as on a full disk.
    with pytest.raises(OpsError, match=r"not enough space in .*bk.* free some space"):
        take_backup(db, bk, keep=1, now_ms=last_ts, force=True, kind=kind, max_bytes=64 * 1024)
    assert sorted(p.name for p in bk.iterdir()) == [good.path.name]
    assert dump(good.path, "PRAGMA integrity_check") == [("ok",)]


def test_a_backup_path_that_cannot_be_written_is_a_clear_error(tmp_path, three_hours):
    db, last_ts, _ = three_hours
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(OpsError, match="cannot write backups to .*a-file/bk"):
        take_backup(db, tmp_path / "a-file" / "bk", keep=1, now_ms=last_ts)
    assert list_backups(tmp_path / "a-file" / "bk") == []
