"""Ingest end to end on real SQLite files: frames in, exact energy and rollups out."""

from __future__ import annotations

import json
import sqlite3

from gateway.app import open_store
from gateway.protocol import FLAG_RESTORED, Hello, encode_wire
from tests.support.ingest import NODE, T0, make_ingest, reading_wire

DAY_MS = 86_400_000


def stored(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_vector_stream_counts_frames_and_rejections(tmp_path, vectors):
    ingest, _ = make_ingest(tmp_path / "g.db")
    ingest.feed("ttyUSB0", bytes.fromhex(vectors["stream"]["wire_hex"]))
    ingest.flush()
    assert ingest.frames == 3
    assert sum(ingest.source_rejects.values()) == 2
    node = ingest.store.nodes()[0]
    assert node["node_id"] == NODE and node["frames_ok"] == 2
    # The HELLO is from another boot; the readings are seq 7 and 8 of boot 48879: nothing lost.
    assert node["frames_lost"] == 0
    assert node["rejected"] == {}  # COBS and CRC failures cannot be pinned on a node: per source
    assert ingest.counters()["rejected"] == {"ttyUSB0": {"cobs": 1, "crc": 1}}


def test_energy_equals_counter_rise_and_rollups_agree(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    counter = 5_000
    ingest.feed("p", reading_wire(0, counter))
    for seq in range(1, 3601):
        clock.advance(1000)
        counter += 278 + seq % 3
        ingest.feed("p", reading_wire(seq, counter))
    ingest.flush()
    store = ingest.store
    assert store.total_energy_mwh(NODE) == counter - 5_000
    for table in ("usage_minute", "usage_hour", "usage_day"):
        assert stored(db, f"SELECT sum(energy_mwh) FROM {table}")[0][0] == counter - 5_000
    assert stored(db, "SELECT acct_energy_mwh, energy_total_mwh FROM nodes")[0] == (counter, counter - 5_000)
    minutes = store.usage(T0, T0 + 3_600_000 + 60_000, "minute")
    assert 58 <= len(minutes) <= 62


def test_interval_across_local_midnight_is_split_between_days(tmp_path):
    # 23:59:30 IST to 00:00:30 IST, 1000 mWh: 500 on each side of midnight.
    midnight_ist = T0 + DAY_MS - 5 * 3_600_000 - 1_800_000  # 2026-01-02 00:00 IST
    ingest, clock = make_ingest(tmp_path / "g.db", wall_ms=midnight_ist - 30_000)
    ingest.feed("p", reading_wire(0, 0))
    clock.advance(60_000)
    ingest.feed("p", reading_wire(1, 1000, uptime_ms=61_000))
    ingest.flush()
    days = stored(tmp_path / "g.db", "SELECT day, energy_mwh FROM usage_day ORDER BY day")
    assert days == [("2026-01-01", 500), ("2026-01-02", 500)]


def test_reboots_with_and_without_restore(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    ingest.feed("p", reading_wire(0, 1000))
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 1300))
    clock.advance(60_000)
    ingest.feed("p", reading_wire(0, 1500, boot=2, uptime_ms=3000, flags=FLAG_RESTORED))
    clock.advance(60_000)
    ingest.feed("p", reading_wire(0, 200, boot=3, uptime_ms=5000))
    ingest.flush()
    assert ingest.store.total_energy_mwh() == 300 + 200 + 200
    events = stored(db, "SELECT kind, gap_ms FROM energy_events ORDER BY id")
    assert events == [("baseline", 0), ("restored", 0), ("fresh_boot", 55_000)]
    assert ingest.store.nodes()[0]["reboots"] == 2


def test_bad_readings_are_refused_counted_and_never_stored(tmp_path, vectors):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    ingest.feed("p", reading_wire(0, 1000))
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 1200))
    ingest.feed("p", reading_wire(1, 1200))  # duplicate
    ingest.feed("p", reading_wire(2, 900))  # backwards
    ingest.feed("p", reading_wire(3, 10**9))  # impossible step
    sat = next(v for v in vectors["valid"] if v["name"] == "reading_saturated")
    ingest.feed("p", bytes.fromhex(sat["wire_hex"]))  # counter above 2^63
    ingest.flush()
    nodes = {n["node_id"]: n for n in ingest.store.nodes()}
    assert nodes[NODE]["rejected"] == {"counter_backwards": 1, "duplicate_seq": 1, "energy_step_impossible": 1}
    assert nodes["30:ae:a4:00:00:01"]["rejected"] == {"counter_out_of_range": 1}
    assert ingest.store.total_energy_mwh() == 200
    assert stored(db, "SELECT count(*) FROM readings")[0][0] == 2


def test_unknown_version_is_shown_once_on_the_node(tmp_path, vectors, caplog):
    ingest, _ = make_ingest(tmp_path / "g.db")
    v = next(v for v in vectors["invalid"] if v["name"] == "unknown_version")
    for _ in range(5):
        ingest.feed("p", bytes.fromhex(v["wire_hex"]))
    ingest.flush()
    node = ingest.store.nodes()[0]
    assert node["unsupported_version"] == 2 and node["rejected"] == {"version": 5}
    assert sum("speaks protocol version 2" in r.message for r in caplog.records) == 1


def test_hello_sets_name_and_firmware(tmp_path):
    ingest, _ = make_ingest(tmp_path / "g.db")
    ingest.feed("p", encode_wire(Hello(NODE, 1, 0, 1, 2, 30, 4000, 50, 660, "kitchen-main")))
    ingest.flush()
    node = ingest.store.nodes()[0]
    assert (node["name"], node["fw"], node["sensor_amps"], node["mains_hz"]) == ("kitchen-main", "1.2", 30, 50)


def test_clock_jump_after_boot_moves_readings_to_the_right_day(tmp_path):
    """The Pi booted believing it was 22:00 on Jan 1 (IST); NTP then says 04:00 on Jan 2."""
    db = tmp_path / "g.db"
    wrong = T0 + 16 * 3_600_000 + 1_800_000  # 2026-01-01 22:00 IST
    ingest, clock = make_ingest(db, wall_ms=wrong, synced=False)
    counter = 0
    ingest.feed("p", reading_wire(0, counter))
    for seq in range(1, 61):
        clock.advance(60_000)
        counter += 16_000
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=60_000 * seq + 1000))
    ingest.flush()
    assert stored(db, "SELECT day, sum(energy_mwh) FROM usage_day GROUP BY day") == [("2026-01-01", 960_000)]
    clock.step_wall(6 * 3_600_000, synced=True)
    clock.advance(60_000)
    counter += 16_000
    ingest.feed("p", reading_wire(61, counter, uptime_ms=60_000 * 61 + 1000))
    ingest.flush()
    days = dict(stored(db, "SELECT day, sum(energy_mwh) FROM usage_day GROUP BY day"))
    assert days.get("2026-01-01", 0) == 0
    assert days["2026-01-02"] == counter
    first, last = stored(db, "SELECT min(ts_ms), max(ts_ms) FROM readings")[0]
    assert first == wrong + 6 * 3_600_000
    assert last == first + 61 * 60_000
    hours = stored(db, "SELECT start_ms, energy_mwh FROM usage_hour WHERE energy_mwh != 0 ORDER BY start_ms")
    assert hours[0][0] == T0 + 22 * 3_600_000 + 1_800_000  # 2026-01-02 04:00 IST
    assert sum(m for _, m in hours) == counter


def test_jump_of_a_trusted_clock_keeps_earlier_readings(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db, synced=True)
    ingest.feed("p", reading_wire(0, 0))
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 100))
    ingest.flush()
    before = stored(db, "SELECT ts_ms FROM readings ORDER BY id")
    clock.step_wall(3_600_000)
    clock.advance(1000)
    ingest.feed("p", reading_wire(2, 200))
    ingest.flush()
    after = stored(db, "SELECT ts_ms FROM readings ORDER BY id")
    assert after[:2] == before
    assert after[2][0] == before[1][0] + 1000 + 3_600_000
    assert ingest.store.total_energy_mwh() == 200


def test_full_disk_keeps_batch_in_memory_and_loses_no_energy(tmp_path, caplog):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    ingest.feed("p", reading_wire(0, 0))
    ingest.flush()
    conn = ingest.store.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full for this file
    counter = 0
    for seq in range(1, 2001):
        clock.advance(1000)
        counter += 250
        ingest.feed("p", reading_wire(seq, counter))
    assert ingest.flush() is False
    assert ingest.write_failures >= 1
    assert any("cannot commit" in r.message for r in caplog.records)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert ingest.flush() is True
    assert ingest.store.total_energy_mwh() == counter
    assert stored(db, "SELECT count(*) FROM readings")[0][0] == 2001


def test_read_only_database_does_not_crash_ingest(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    ingest.feed("p", reading_wire(0, 0))
    ingest.flush()
    ingest.store.conn.execute("PRAGMA query_only = 1")
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 100))
    assert ingest.flush() is False
    ingest.store.conn.execute("PRAGMA query_only = 0")
    assert ingest.flush() is True
    assert ingest.store.total_energy_mwh() == 100


def test_retention_drops_old_raw_readings_but_not_their_energy(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db, commit_ms=60_000)
    counter = 0
    for seq in range(0, 40 * 24):
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=3_600_000 * seq + 1000))
        clock.advance(3_600_000)
        counter += 500_000
    ingest.flush()
    total = ingest.store.total_energy_mwh()
    dropped = ingest.store.apply_retention(clock.wall_ms(), 30)
    assert dropped == 10 * 24
    assert ingest.store.total_energy_mwh() == total
    assert stored(db, "SELECT sum(energy_mwh) FROM usage_minute")[0][0] == total


def test_state_survives_restart(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    ingest.feed("p", reading_wire(0, 0))
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 100))
    ingest.flush()
    ingest.store.close()
    again, clock2 = make_ingest(db, wall_ms=T0 + 5000)
    again.feed("p", reading_wire(5, 700, uptime_ms=6000))
    again.flush()
    assert again.store.total_energy_mwh() == 700
    assert again.store.nodes()[0]["frames_lost"] == 3


def test_live_board_is_written_to_ram_file(tmp_path):
    live = tmp_path / "run" / "live.json"
    ingest, clock = make_ingest(tmp_path / "g.db", live=live)
    ingest.feed("p", reading_wire(0, 0, power_dw=9805))
    clock.advance(1500)
    ingest.tick()
    data = json.loads(live.read_text())
    assert data["nodes"][NODE]["power_w"] == 980.5


def test_migrations_are_idempotent(tmp_path):
    db = tmp_path / "g.db"
    open_store(db).close()
    store = open_store(db)
    assert store.integrity_check() == "ok"
    names = [
        r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'powergw.core'")
    ]
    assert names == ["m001_core_tables", "m002_house", "m003_export_and_voltage"]


def test_raw_commits_between_rollups_are_counted_and_replayed_after_a_crash(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db, commit_ms=10_000)
    ingest.rollup_interval_ms = 3_600_000
    counter = 0
    ingest.feed("p", reading_wire(0, 0))
    ingest.flush()
    for seq in range(1, 121):
        clock.advance(1000)
        counter += 300
        ingest.feed("p", reading_wire(seq, counter))
    # Raw commits happened every 10 s, no rollup since the first flush: the rollup tables lag...
    assert stored(db, "SELECT coalesce(sum(energy_mwh), 0) FROM usage_day")[0][0] == 0
    assert stored(db, "SELECT count(*) FROM readings")[0][0] >= 111
    # ...but a reader (another connection, like the dashboard) already sees every committed mWh.
    reader = open_store(db, readonly=True)
    committed = stored(db, "SELECT sum(delta_mwh) FROM readings")[0][0]
    assert reader.total_energy_mwh() == committed
    assert sum(r["energy_mwh"] for r in reader.usage(T0 - DAY_MS, T0 + DAY_MS, "minute")) == committed
    assert sum(r["energy_mwh"] for r in reader.usage(T0 - DAY_MS, T0 + DAY_MS, "day")) == committed
    # The process dies (no flush). At restart the committed readings are replayed into the rollups.
    ingest.store.close()
    again, clock2 = make_ingest(db, wall_ms=T0 + 200_000)
    assert again.replayed == stored(db, "SELECT count(*) FROM readings")[0][0] - 1
    assert stored(db, "SELECT sum(energy_mwh) FROM usage_day")[0][0] == committed
    last_seq = stored(db, "SELECT max(seq) FROM readings")[0][0]
    again.feed("p", reading_wire(121, counter + 300, uptime_ms=122_000))
    again.flush()
    assert again.store.total_energy_mwh() == counter + 300  # the gap since the last commit is covered
    assert again.states[NODE].account.seq == 121 and last_seq < 121
    # Retention never drops a reading whose energy is not yet rolled up.
    assert again.store.rollup_watermark() == stored(db, "SELECT max(id) FROM readings")[0][0]


def test_clock_jump_becomes_an_alert_in_the_daemon(tmp_path):
    from gateway.alerts import AlertStore
    from gateway.clock import ManualClock
    from gateway.config import Config
    from gateway.daemon import build_gateway

    clock = ManualClock(T0, synced=False)
    gw = build_gateway(
        Config({}), db_path=tmp_path / "g.db", serial_ports=[], clock=clock, runtime_dir=tmp_path / "run", jobs=()
    )
    gw.ingest.feed("p", reading_wire(0, 0))
    clock.step_wall(3 * 3_600_000, synced=True)
    clock.advance(1000)
    gw.ingest.feed("p", reading_wire(1, 100))
    [alert] = AlertStore(gw.ingest.store).list(kind="clock_jump")
    assert "+10800 s" in alert["message"] and "1 readings" in alert["message"]


def test_a_new_node_is_remembered_by_a_gateway_killed_before_its_first_commit(tmp_path):
    """Ten gateways in a row, each dropped (as by kill -9) a few seconds after start, long before
    its 30 s commit: the node's first counter was committed at once, so every later gateway
    replays from it and the energy is the whole counter rise."""
    db = tmp_path / "g.db"
    counter, seq, wall = 5_000, 0, T0
    first = counter
    for _ in range(10):
        ingest, clock = make_ingest(db, wall_ms=wall, commit_ms=30_000)
        for _ in range(5):
            ingest.feed("p", reading_wire(seq, counter, uptime_ms=1000 * (seq + 1)))
            seq, counter = seq + 1, counter + 400
            clock.advance(1000)
        wall = clock.wall_ms() + 2000
        ingest.store.conn.close()  # no flush: what was not committed is gone
    ingest, clock = make_ingest(db, wall_ms=wall)
    ingest.feed("p", reading_wire(seq, counter, uptime_ms=1000 * (seq + 1)))
    ingest.flush()
    assert ingest.store.total_energy_mwh(NODE) == counter - first == 50 * 400
    assert stored(db, "SELECT count(*) FROM energy_events WHERE kind = 'baseline'") == [(1,)]
