"""Backups while ingest writes, rotation, skip-when-unchanged, restore, and the nightly job."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gateway.app import JOBS, JobContext, open_store
from gateway.config import Config
from gateway.ops import OpsError
from gateway.ops.backup import backup_due, backup_job, list_backups, restore_backup, take_backup
from tests.support.ingest import T0, make_ingest, reading_wire

HOUR_MS = 3_600_000


def fill(db: Path, readings: int = 600, start_seq: int = 0, counter: int = 0):
    ingest, clock = make_ingest(db)
    for seq in range(start_seq, start_seq + readings):
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=1000 * (seq + 1)))
        clock.advance(1000)
        counter += 300
    ingest.flush()
    return ingest, counter


def total_mwh(db: Path) -> int:
    store = open_store(db)
    try:
        return store.total_energy_mwh()
    finally:
        store.close()


def test_full_backup_is_consistent_while_ingest_keeps_writing(tmp_path):
    db = tmp_path / "g.db"
    ingest, counter = fill(db, 300)
    stop = threading.Event()

    def writer():
        seq, c = 300, counter
        while not stop.is_set():
            ingest.feed("p", reading_wire(seq, c, uptime_ms=1000 * (seq + 1)))
            ingest.clock.clock.advance(1000)
            ingest.flush()
            seq, c = seq + 1, c + 300

    t = threading.Thread(target=writer)
    t.start()
    try:
        results = [
            take_backup(db, tmp_path / "bk", keep=10, now_ms=T0 + i * 1000, force=True, kind="full") for i in range(5)
        ]
    finally:
        stop.set()
        t.join()
    for r in results:
        conn = sqlite3.connect(r.path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # A snapshot: the energy in the copy equals the counter rise of the readings in it.
        readings, energy = conn.execute("SELECT count(*), sum(delta_mwh) FROM readings").fetchone()
        assert energy == (readings - 1) * 300
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained file
        conn.close()
    assert not list((tmp_path / "bk").glob(".partial-*"))


def test_rotation_keeps_the_newest_and_unchanged_databases_are_skipped(tmp_path):
    db = tmp_path / "g.db"
    fill(db, 10)[0].store.close()
    bk = tmp_path / "bk"
    for day in range(5):
        r = take_backup(db, bk, keep=3, now_ms=T0 + day * 86_400_000, force=True)
        assert r.path is not None
    names = [b.path.name for b in list_backups(bk)]
    assert names == [
        "powergw-20260105T000000Z-compact.db",
        "powergw-20260104T000000Z-compact.db",
        "powergw-20260103T000000Z-compact.db",
    ]
    skipped = take_backup(db, bk, keep=3, now_ms=T0 + 6 * 86_400_000)
    assert skipped.path is None and "unchanged" in skipped.skipped
    fill(db, 5, start_seq=10, counter=3000)[0].store.close()
    assert take_backup(db, bk, keep=3, now_ms=T0 + 7 * 86_400_000).path is not None


def test_stale_partial_files_are_removed_and_missing_database_is_an_error(tmp_path):
    db = tmp_path / "g.db"
    fill(db, 3)[0].store.close()
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / ".partial-powergw-20250101T000000Z.db").write_bytes(b"half")
    take_backup(db, tmp_path / "bk", keep=2, now_ms=T0)
    assert [p.name for p in (tmp_path / "bk").iterdir()] == ["powergw-20260101T000000Z-compact.db"]
    with pytest.raises(OpsError, match="no database"):
        take_backup(tmp_path / "none.db", tmp_path / "bk", keep=2)


def test_restore_puts_the_backup_back_and_keeps_the_replaced_database(tmp_path):
    db = tmp_path / "g.db"
    ingest, _ = fill(db, 100)
    ingest.store.close()
    before = total_mwh(db)
    backup = take_backup(db, tmp_path / "bk", keep=3, now_ms=T0).path
    fill(db, 50, start_seq=100, counter=30_000)[0].store.close()
    assert total_mwh(db) > before
    kept = restore_backup(backup, db, now_ms=T0 + HOUR_MS)
    assert total_mwh(db) == before
    assert kept.name == "g.db.before-restore-20260101T010000Z"
    assert total_mwh(kept) > before
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0


def test_restore_refuses_a_database_in_use_and_a_damaged_backup(tmp_path):
    db = tmp_path / "g.db"
    fill(db, 10)[0].store.close()
    backup = take_backup(db, tmp_path / "bk", keep=3, now_ms=T0).path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sqlite3,time; c=sqlite3.connect({str(db)!r}); "
            "c.execute('select 1 from nodes').fetchall(); print('open', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(OpsError, match=rf"open by process {holder.pid}"):
            restore_backup(backup, db)
    finally:
        holder.kill()
        holder.wait()
    damaged = tmp_path / "damaged.db"
    data = bytearray(backup.read_bytes())
    data[4096:8192] = b"\xff" * 4096
    damaged.write_bytes(bytes(data))
    with pytest.raises(OpsError):
        restore_backup(damaged, db)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(OpsError, match="not a powergw database"):
        restore_backup(other, db)


def test_nightly_schedule():
    taken = dt.datetime(2026, 1, 1, 20, 30, tzinfo=dt.UTC)  # 02:00 IST on the 2nd

    class B:
        taken_utc = taken

    at = int(taken.timestamp() * 1000)
    assert backup_due(None, at, 14, 2)
    assert not backup_due(B, at + HOUR_MS, 3, 2)  # just taken
    assert not backup_due(B, at + 20 * HOUR_MS, 22, 2)  # not the hour yet
    assert backup_due(B, at + 24 * HOUR_MS, 2, 2)  # the next night
    assert backup_due(B, at + 48 * HOUR_MS, 15, 2)  # missed nights (power off): caught up


def test_backup_job_is_registered_and_takes_a_backup(tmp_path):
    assert any(j.target == "gateway.ops.backup:backup_job" for j in JOBS)
    db = tmp_path / "g.db"
    fill(db, 5)[0].store.close()
    config = Config({}).replace("backup", dir=str(tmp_path / "bk"))
    store = open_store(db)
    try:
        result = backup_job(JobContext(store=store, config=config, now_ms=lambda: T0, extras={}))
        assert result.path and result.path.parent == tmp_path / "bk" and result.kind == "compact"
        assert backup_job(JobContext(store=store, config=config, now_ms=lambda: T0 + HOUR_MS, extras={})) is None
        off = config.replace("backup", enabled=False)
        assert backup_job(JobContext(store=store, config=off, now_ms=lambda: T0 + 3 * 86_400_000, extras={})) is None
    finally:
        store.close()


def run(*args):
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


def test_backup_and_restore_from_the_command_line(tmp_path):
    db = tmp_path / "g.db"
    fill(db, 20)[0].store.close()
    before = total_mwh(db)
    bk = tmp_path / "bk"
    out = run("backup", "--db", str(db), "--dir", str(bk))
    assert out.returncode == 0, out.stderr
    assert "backup " in out.stdout and "(compact, " in out.stdout
    assert "skipped" in run("backup", "--db", str(db), "--dir", str(bk)).stdout
    # Nothing changed, but the newest backup is compact: --full is not skipped.
    out = run("backup", "--db", str(db), "--dir", str(bk), "--full")
    assert out.returncode == 0, out.stderr
    assert "(full, " in out.stdout
    listed = run("backup", "--db", str(db), "--dir", str(bk), "--list").stdout.splitlines()
    assert len(listed) == 2 and "full" in listed[0] and "compact" in listed[1]
    fill(db, 20, start_seq=20, counter=6000)[0].store.close()
    out = run("restore", "--latest", "--db", str(db), "--dir", str(bk))
    assert out.returncode == 0, out.stderr
    assert "kept as" in out.stdout
    assert total_mwh(db) == before
    out = run("restore", str(tmp_path / "missing.db"), "--db", str(db))
    assert out.returncode == 2 and "no backup file" in out.stderr
