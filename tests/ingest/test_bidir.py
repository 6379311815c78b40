"""Import and export through the real Ingest on real SQLite files: a READING_BIDIR node (rooftop solar
behind it) and a READING node on one port, with lost frames, reboots with and without a restored
counter, a gateway crash between commit and rollup, and a bad frame; every mWh and every voltage
minute checked against what the nodes sent, and the house rollup against the oracle."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from gateway import store_schema
from gateway.app import open_store
from gateway.clock import AnchoredClock
from gateway.ingest import Ingest, LiveBoard
from gateway.protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Reading, encode_frame, encode_wire
from tests.support.house_oracle import Household
from tests.support.ingest import T0, make_ingest

SOLAR = "a4:cf:12:34:56:90"  # measures voltage: READING_BIDIR
PLAIN = "a4:cf:12:34:56:78"  # assumes 230 V: READING
MINUTE = 60_000


@dataclass
class Node:
    """A node's true counters in W·ms (so integer mWh = wms // 3600), boot and seq, as its firmware keeps them."""

    node_id: str
    bidir: bool
    boot: int = 1
    seq: int = 0
    uptime_ms: int = 0
    import_wms: int = 0
    export_wms: int = 0
    restored: bool = False
    sent: list = field(default_factory=list)  # (gateway ts, Reading) of every frame that reached the gateway

    def run(self, watts: int, ms: int) -> tuple[int, int]:
        """Meter `watts` for `ms`; returns how far the (integer mWh) import and export counters rose."""
        before = (self.import_wms // 3600, self.export_wms // 3600)
        if watts >= 0:
            self.import_wms += watts * ms
        else:
            self.export_wms += -watts * ms
        self.uptime_ms += ms
        return self.import_wms // 3600 - before[0], self.export_wms // 3600 - before[1]

    def reading(self, watts: int, vrms_dv: int) -> Reading:
        self.seq += 1
        flags = (FLAG_RESTORED if self.restored else 0) | (0 if self.bidir else FLAG_NOMINAL_VOLTAGE)
        energy, export = self.import_wms // 3600, self.export_wms // 3600
        common = (self.node_id, self.boot, self.seq, self.uptime_ms, 1000, abs(watts) * 1000 // 230, vrms_dv)
        if not self.bidir:
            return Reading(*common, watts * 10, energy, flags)
        return Reading(*common, watts * 10, energy, flags, export, 850 + self.seq % 150)

    def reboot(self, *, restore: bool) -> None:
        """A restart: with `restore` the counters come back from flash, else they start at zero."""
        self.boot += 1
        self.seq = -1
        self.uptime_ms = 0
        self.restored = restore
        if not restore:
            self.import_wms = self.export_wms = 0


def solar_watts(t: int) -> int:
    """Import in the morning, export at noon (inverter > load), import again; a cloud now and then."""
    minute = t // 60
    if minute < 12:
        return 700 + 50 * (t % 7)
    if minute < 30:
        return -1800 + 400 * (t % 11 == 0)
    return 300 if t % 5 else -200


def stream(ingest: Ingest, clock, nodes: list[Node], seconds: range, events: dict, truth: dict) -> None:
    """`seconds` of 1 Hz frames from each node into `ingest` on one port; `events` {second: action} happen
    to the first node. `truth` {node id: [import, export]} gains every mWh the counters rise after each
    node's first frame (its baseline)."""
    for t in seconds:
        clock.advance(1000)
        action = events.get(t)
        if action == "crash":
            return
        chunk = b""
        for node in nodes:
            special = action if node is nodes[0] else None
            if special in ("restart_restored", "restart_fresh"):
                node.run(0, 30_000)  # down for 30 s: the node meters nothing while it is off
                node.reboot(restore=special == "restart_restored")
            watts = solar_watts(t) if node.bidir else 400 + 10 * (t % 13)
            rise = node.run(watts, 1000)
            if node.sent:
                truth[node.node_id][0] += rise[0]
                truth[node.node_id][1] += rise[1]
            r = node.reading(watts, 2300 + (t % 40) - 20 if node.bidir else 2300)
            if special == "lose":
                continue
            node.sent.append((ingest.clock.now_ms(), r))
            chunk += encode_wire(r)
        if action == "bad_frame":  # a READING_BIDIR with READING's 25-byte body: counted, never stored
            raw = encode_frame(Reading(nodes[0].node_id, nodes[0].boot, 0, 0, 1000, 0, 2300, 0, 0, 0))
            chunk += encode_wire_raw(raw[:1] + bytes([0x04]) + raw[2:])
        ingest.feed("ttyUSB0", chunk)


def encode_wire_raw(raw: bytes) -> bytes:
    from binascii import crc_hqx

    from cobs import cobs

    body = raw[:-2]
    return cobs.encode(body + crc_hqx(body, 0xFFFF).to_bytes(2, "little")) + b"\x00"


@pytest.fixture
def fleet(tmp_path):
    """Both nodes through 45 simulated minutes, the gateway crashing once; yields (db, ingest, nodes, truth)."""
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db, commit_ms=5000)
    ingest.rollup_interval_ms = 120_000
    solar, plain = Node(SOLAR, True, import_wms=3_600_000 * 9_000), Node(PLAIN, False)
    truth = {SOLAR: [0, 0], PLAIN: [0, 0]}
    events = {300: "lose", 301: "lose", 302: "lose", 900: "restart_restored", 1500: "bad_frame"}
    events |= {1700: "restart_fresh", 2000: "lose", 2200: "crash"}
    stream(ingest, clock, [solar, plain], range(0, 2700), events, truth)
    # crashed at 2200 s: what was committed without a rollup is replayed by the next Ingest
    ingest.store.close()
    store = open_store(db)
    ingest = Ingest(store, AnchoredClock(clock, 2000), commit_interval_ms=5000, live=LiveBoard(None))
    assert ingest.replayed > 0
    stream(ingest, clock, [solar, plain], range(2201, 2700), {}, truth)
    yield db, ingest, {SOLAR: solar, PLAIN: plain}, truth
    ingest.store.close()


def test_import_and_export_are_exact_through_losses_reboots_and_a_crash(fleet):
    db, ingest, nodes, truth = fleet
    ingest.commit(rollup=False)  # the last frames committed raw: the queries overlay them
    store = ingest.store
    pending = store.house_flows(T0, T0 + 86_400_000, "day")
    ingest.flush()
    settled = store.house_flows(T0, T0 + 86_400_000, "day")
    assert pending == settled  # the pending overlay is the rollup to come, export included
    rows = {n["node_id"]: n for n in store.nodes()}
    assert (rows[SOLAR]["energy_total_mwh"], rows[SOLAR]["export_total_mwh"]) == tuple(truth[SOLAR])
    assert (rows[PLAIN]["energy_total_mwh"], rows[PLAIN]["export_total_mwh"]) == (truth[PLAIN][0], 0)
    assert truth[SOLAR][1] > 400_000 and truth[SOLAR][0] > 150_000  # both directions really happened
    assert rows[SOLAR]["reboots"] == 2 and rows[SOLAR]["frames_lost"] >= 4
    conn = sqlite3.connect(db)
    for table in ("usage_minute", "usage_hour", "usage_day"):
        e, x = conn.execute(f"SELECT sum(energy_mwh), sum(export_mwh) FROM {table}").fetchone()
        assert (e, x) == (truth[SOLAR][0] + truth[PLAIN][0], truth[SOLAR][1]), table
    e, x = conn.execute("SELECT sum(delta_mwh), sum(export_delta_mwh) FROM readings").fetchone()
    assert (e, x) == (truth[SOLAR][0] + truth[PLAIN][0], truth[SOLAR][1])
    assert list(settled.values()) == [(truth[SOLAR][0] + truth[PLAIN][0], truth[SOLAR][1])]
    assert store.house_series(T0, T0 + 86_400_000, "day") == {
        b: (e, conn.execute("SELECT covered_ms FROM house_day").fetchone()[0]) for b, (e, _) in settled.items()
    }
    events = [r[0] for r in conn.execute("SELECT kind FROM energy_events ORDER BY id")]
    assert events.count("restored") == 1 and events.count("fresh_boot") == 1
    conn.close()


def test_the_bad_frame_was_counted_and_lost_nothing(tmp_path):
    ingest, clock = make_ingest(tmp_path / "g.db")
    node, truth = Node(SOLAR, True), {SOLAR: [0, 0]}
    stream(ingest, clock, [node], range(700, 760), {720: "bad_frame"}, truth)
    ingest.flush()
    assert ingest.counters()["rejected"] == {"ttyUSB0": {"length": 1}}
    stored = ingest.store.nodes()[0]
    assert (stored["energy_total_mwh"], stored["export_total_mwh"]) == (truth[SOLAR][0], truth[SOLAR][1])


def test_house_rollup_agrees_with_the_oracle_for_import_and_export(fleet):
    _, ingest, _, _ = fleet
    ingest.flush()
    store, oracle = ingest.store, Household(ingest.store)
    end = T0 + 3 * 3_600_000
    for resolution in ("minute", "hour", "day"):
        flows = store.house_flows(T0 + 7 * MINUTE + 500, end, resolution)
        imports = {b: e for b, (e, _) in flows.items() if e}
        exports = {b: x for b, (_, x) in flows.items() if x}
        assert imports == oracle.usage(T0 + 7 * MINUTE + 500, end, resolution), resolution
        assert exports == oracle.export_usage(T0 + 7 * MINUTE + 500, end, resolution), resolution
        assert exports  # the noon export is in there


def test_voltage_and_power_factor_minutes_match_what_the_node_sent(fleet):
    _, ingest, nodes, _ = fleet
    ingest.flush()
    stats = ingest.store.minute_stats([SOLAR, PLAIN], T0, T0 + 86_400_000)
    solar = {r["start_ms"]: r for r in stats if r["node_id"] == SOLAR}
    plain = [r for r in stats if r["node_id"] == PLAIN]
    assert plain and all(r["vrms_mean_dv"] is None and r["pf_milli"] is None for r in plain)
    expected: dict[int, list] = {}
    for ts, r in nodes[SOLAR].sent:
        expected.setdefault(ts - ts % MINUTE, []).append(r)
    # the crash lost the frames held in memory (their energy is in the next delta; their voltage is not)
    stored = sqlite3.connect(ingest.store.path)
    kept = {
        r[0]
        for r in stored.execute("SELECT ts_ms FROM readings JOIN nodes USING (node_key) WHERE node_id = ?", (SOLAR,))
    }
    stored.close()
    checked = 0
    for minute in expected:
        readings = [r for ts, r in nodes[SOLAR].sent if ts - ts % MINUTE == minute and ts in kept]
        if not readings:
            continue
        row = solar[minute]
        volts = [r.vrms_dv for r in readings]
        assert (row["vrms_min_dv"], row["vrms_max_dv"]) == (min(volts), max(volts)), minute
        assert row["vrms_mean_dv"] == round(sum(volts) / len(volts))
        assert row["pf_milli"] == round(sum(r.pf_milli for r in readings) / len(readings))
        checked += 1
    assert checked >= 40


def test_a_database_from_before_export_migrates_losing_nothing(tmp_path):
    db = tmp_path / "old.db"
    old = Migrations("powergw.core")  # the core set as it was: two migrations
    old()(store_schema.m001_core_tables)
    old()(store_schema.m002_house)
    conn = sqlite3.connect(db)
    old.apply(sqlite_utils.Database(conn))
    minute = T0 + 5 * MINUTE
    conn.executescript(
        f"""
        INSERT INTO meters (meter_key, first_seen_ms) VALUES (1, {T0});
        INSERT INTO nodes (node_key, node_id, transport, first_seen_ms, last_seen_ms, last_flags, acct_boot_id,
            acct_seq, acct_energy_mwh, acct_uptime_ms, acct_ts_ms, energy_total_mwh, frames_ok, meter_key)
            VALUES (1, '{PLAIN}', 'serial', {T0}, {minute}, 4, 7, 300, 45000, 300000, {minute}, 41000, 301, 1);
        INSERT INTO readings (node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, vrms_dv,
            energy_mwh, delta_mwh, flags) VALUES (1, {minute}, {minute - 1000}, 7, 300, 300000, 4000, 1700, 2300,
            45000, 111, 4);
        INSERT INTO usage_minute (node_key, start_ms, energy_mwh, covered_ms) VALUES (1, {minute}, 41000, 60000);
        INSERT INTO usage_hour (node_key, start_ms, energy_mwh) VALUES (1, {T0 - 30 * MINUTE}, 41000);
        INSERT INTO usage_day (node_key, day, energy_mwh) VALUES (1, '2026-01-01', 41000);
        INSERT INTO house_minute (start_ms, energy_mwh, covered_ms) VALUES ({minute}, 41000, 60000);
        INSERT INTO house_hour (start_ms, energy_mwh, covered_ms) VALUES ({T0 - 30 * MINUTE}, 41000, 60000);
        INSERT INTO house_day (day, energy_mwh, covered_ms) VALUES ('2026-01-01', 41000, 60000);
        INSERT INTO meta (key, value) VALUES ('house_rollup', 'Asia/Kolkata'), ('rollup_watermark', '1');
        """
    )
    conn.commit()
    before = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in ("readings", "usage_minute", "house_day")}
    conn.close()

    ingest, clock = make_ingest(db, wall_ms=minute + 1000)  # opening it migrates
    conn = sqlite3.connect(db)
    for table, rows in before.items():
        assert [r[: len(rows[0])] for r in conn.execute(f"SELECT * FROM {table}")] == rows, table
    assert conn.execute("SELECT export_mwh, vrms_n, pf_n FROM usage_minute").fetchall() == [(0, None, None)]
    assert conn.execute("SELECT export_delta_mwh, export_mwh FROM readings").fetchall() == [(0, None)]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    # the node gains a voltage channel in the same boot: import continues, export starts from a baseline
    ingest.feed("p", encode_wire(Reading(PLAIN, 7, 301, 301000, 1000, 1700, 2318, 4000, 45300, 0, 88_000, 990)))
    clock.advance(1000)
    ingest.feed("p", encode_wire(Reading(PLAIN, 7, 302, 302000, 1000, 1700, 2322, -2000, 45300, 0, 88_550, 980)))
    ingest.flush()
    node = ingest.store.nodes()[0]
    assert (node["energy_total_mwh"], node["export_total_mwh"], node["acct_export_mwh"]) == (41300, 550, 88_550)
    assert sum(x for _, x in ingest.store.house_flows(T0, T0 + 86_400_000, "minute").values()) == 550
    assert ingest.store.house_usage(T0, T0 + 86_400_000, "day") == {T0 - 330 * MINUTE: 41300}


def test_a_clock_set_after_boot_moves_export_and_voltage_minutes_too(tmp_path):
    """The Pi booted believing it was 22:00 on Jan 1 (IST); NTP then says 04:00 on Jan 2."""
    db = tmp_path / "g.db"
    wrong = T0 + 16 * 3_600_000 + 1_800_000
    ingest, clock = make_ingest(db, wall_ms=wrong, synced=False)
    for seq in range(0, 31):
        if seq:
            clock.advance(60_000)
        r = Reading(SOLAR, 1, seq, 60_000 * seq + 1000, 1000, 9000, 2350 + seq, -20_000, 0, 0, 33_333 * seq, 970)
        ingest.feed("p", encode_wire(r))
    ingest.flush()
    clock.step_wall(6 * 3_600_000, synced=True)
    clock.advance(60_000)
    ingest.feed(
        "p", encode_wire(Reading(SOLAR, 1, 31, 60_000 * 31 + 1000, 1000, 9000, 2300, -20_000, 0, 0, 1_033_323, 970))
    )
    ingest.flush()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT day, energy_mwh, export_mwh FROM house_day WHERE export_mwh != 0").fetchall() == [
        ("2026-01-02", 0, 1_033_323)
    ]
    assert conn.execute("SELECT sum(export_mwh) FROM usage_day WHERE day = '2026-01-01'").fetchone() == (0,)
    moved = conn.execute(
        "SELECT min(start_ms), sum(vrms_n), min(vrms_min_dv), max(vrms_max_dv) FROM usage_minute WHERE vrms_n > 0"
    ).fetchone()
    assert moved == (wrong + 6 * 3_600_000, 32, 2300, 2380)
    assert conn.execute(
        "SELECT count(*) FROM usage_minute WHERE start_ms < ? AND vrms_n IS NOT NULL", (wrong + 6 * 3_600_000,)
    ).fetchone() == (0,)
    conn.close()


def test_a_meter_heard_on_serial_and_ble_exports_once_and_only_over_serial(tmp_path):
    """One ESP32 with a voltage channel on USB (READING_BIDIR) and BLE (its import counter in whole Wh,
    signed power), the cable out for twelve minutes from import into export: the house exports what the serial
    counter rose, BLE stands in for import only, and the oracle agrees minute by minute."""
    serial_id, ble_id = "a4:cf:12:34:56:78", "a4:cf:12:34:56:7a"
    ingest, _ = make_ingest(tmp_path / "g.db")
    wms = {"import": 0, "export": 0}
    seq = {"serial": 0, "ble": 0}
    for step in range(0, 361):  # an hour, a reading every 10 s
        t = T0 + step * 10_000
        minute = step // 6
        watts = 500 if minute < 20 else -1000 if minute < 40 else 300
        if step:
            wms["import" if watts > 0 else "export"] += abs(watts) * 10_000
        energy, export = wms["import"] // 3600, wms["export"] // 3600
        if not 15 <= minute < 27:
            seq["serial"] += 1
            r = Reading(
                serial_id, 1, seq["serial"], step * 10_000 + 5000, 1000, 0, 2315, watts * 10, energy, 0, export, 990
            )
            assert ingest.on_reading(r, t, "serial") is not None
        if step % 3 == 0:
            seq["ble"] += 1
            r = Reading(
                ble_id, 1, seq["ble"], step * 10_000 + 5000, 1000, 0, 2315, watts * 10, energy // 1000 * 1000, 4
            )
            assert ingest.on_reading(r, t, "ble") is not None
    ingest.flush()
    store, oracle = ingest.store, Household(ingest.store)
    serial = next(n for n in store.nodes() if n["node_id"] == serial_id)
    assert serial["export_total_mwh"] == wms["export"] // 3600 > 300_000
    end = T0 + 2 * 3_600_000
    flows = store.house_flows(T0, end, "minute")
    assert sum(x for _, x in flows.values()) == serial["export_total_mwh"]
    assert sum(e for e, _ in flows.values()) == serial["energy_total_mwh"]
    for resolution in ("minute", "hour", "day"):
        flows = store.house_flows(T0, end, resolution)
        assert {b: e for b, (e, _) in flows.items() if e} == oracle.usage(T0, end, resolution), resolution
        assert {b: x for b, (_, x) in flows.items() if x} == oracle.export_usage(T0, end, resolution), resolution
