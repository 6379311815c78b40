"""powergw doctor on real databases and files; the host's /dev, /sys and clock are pointed at a temp dir."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gateway.app import open_store
from gateway.config import Config
from gateway.ops.backup import take_backup
from gateway.ops.doctor import exit_code, run_checks
from gateway.ops.doctor_situation import OK, PROBLEM, WARNING, Host, Situation
from gateway.settings_store import apply_changes
from tests.support.ingest import T0, make_ingest, reading_wire

DAY_MS = 86_400_000


@pytest.fixture
def gateway_db(tmp_path):
    db = tmp_path / "data" / "powergw.db"
    ingest, clock = make_ingest(db)
    for seq in range(120):
        ingest.feed("p", reading_wire(seq, seq * 300))
        clock.advance(1000)
    ingest.flush()
    ingest.store.close()
    return db


def host(tmp_path, *, synced=True, ports=(), adapters=()):
    dev, sys_ = tmp_path / "dev", tmp_path / "sys"
    (dev / "powergw").mkdir(parents=True, exist_ok=True)
    for name in ports:
        (dev / "powergw" / name).touch()
    (sys_ / "class" / "bluetooth").mkdir(parents=True, exist_ok=True)
    for name in adapters:
        (sys_ / "class" / "bluetooth" / name).mkdir()
    return Host(dev=dev, sys=sys_, clock=lambda: (synced, "test clock"))


def situation(tmp_path, db, config, h, now_ms, live_age_ms=1000):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    if live_age_ms is not None:
        (run / "live.json").write_text(json.dumps({"ts_ms": now_ms - live_age_ms, "nodes": {"a": {"power_w": 100.0}}}))
    return Situation(config=config, db_path=db, runtime_dir=run, now_ms=now_ms, host=h)


def by_check(findings):
    out = {}
    for f in findings:
        out.setdefault(f.check, []).append(f)
    return out


def test_a_healthy_gateway_is_all_ok(tmp_path, gateway_db):
    h = host(tmp_path, ports=["cp210x-0001"], adapters=["hci0"])
    config = Config({}).replace("serial", ports=[str(tmp_path / "dev" / "powergw" / "cp210x-0001")])
    config = config.replace("backup", dir=str(tmp_path / "bk")).replace("billing", meter_reading_date="2025-12-12")
    now = T0 + 125_000
    take_backup(gateway_db, tmp_path / "bk", keep=2, now_ms=now - 3_600_000)
    findings = run_checks(situation(tmp_path, gateway_db, config, h, now))
    assert [f for f in findings if f.status != OK] == []
    checks = by_check(findings)
    assert {
        "clock",
        "disk",
        "database",
        "serial",
        "bluetooth",
        "daemon",
        "billing",
        "cloud sync",
        "theft model",
        "backup",
    } <= set(checks)
    assert "integrity_check ok" in checks["database"][0].message
    assert "version shipped" in checks["theft model"][0].message
    assert any(c.startswith("node ") for c in checks)
    assert exit_code(findings) == 0


def test_problems_each_say_what_to_do_and_set_the_exit_code(tmp_path, gateway_db):
    store = open_store(gateway_db)
    conn = store.conn
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES ('url', 'https://cloud.example.in'), ('token', 't'), "
        "('last_success_ms', ?), ('last_error', 'connection refused'), ('last_error_ms', ?)",
        (str(T0 - 3 * DAY_MS), str(T0)),
    )
    from cloud_sync.outbox import Outbox

    Outbox.enqueue(conn, "daily_summary", {"day": "2026-01-01"}, now_ms=T0)
    conn.execute(
        "INSERT INTO alerts (kind, severity, message, state, created_ms, last_seen_ms) "
        "VALUES ('node_offline', 'warning', 'x', 'open', 1, 1)"
    )
    store.close()
    h = host(tmp_path, synced=False)
    config = Config({}).replace("serial", ports=["/dev/powergw/gone"]).replace("backup", dir=str(tmp_path / "bk"))
    now = T0 + 2 * DAY_MS
    findings = run_checks(situation(tmp_path, gateway_db, config, h, now, live_age_ms=600_000))
    checks = by_check(findings)
    assert checks["clock"][0].status == PROBLEM
    assert checks["serial"][0].status == PROBLEM and "missing" in checks["serial"][0].message
    node = next(f for c, fs in checks.items() if c.startswith("node ") for f in fs)
    assert node.status == PROBLEM and "48.0 h ago" in node.message
    assert checks["cloud sync"][0].status == PROBLEM and "connection refused" in checks["cloud sync"][0].message
    assert checks["daemon"][0].status == WARNING
    assert checks["backup"][0].status == WARNING
    assert checks["alerts"][0].status == WARNING and "1 warning" in checks["alerts"][0].message
    for f in findings:
        if f.status != OK:
            assert f.action, f
    assert exit_code(findings) == 1


def test_a_current_theft_model_with_cut_off_metadata_is_a_problem_not_a_crash(tmp_path, gateway_db, monkeypatch):
    from gateway.ops.metrics import render

    monkeypatch.delenv("POWERGW_DATA_DIR", raising=False)
    models = gateway_db.parent / "models"
    (models / "v0001").mkdir(parents=True)
    (models / "state.json").write_text(json.dumps({"current": "v0001", "history": ["v0001"]}))
    (models / "v0001" / "metadata.json").write_text('{"features_version": 4, "thresh')  # cut off on the SD card
    findings = run_checks(situation(tmp_path, gateway_db, Config({}), host(tmp_path), T0 + 125_000))
    (model,) = by_check(findings)["theft model"]
    assert model.status == PROBLEM and "version v0001" in model.message and "unreadable" in model.message
    assert "the daemon scores with the shipped model meanwhile" in model.message and "rollback" in model.action
    assert exit_code(findings) != 0
    text = render(gateway_db).decode()  # /metrics still answers, without the model's info
    assert "powergw_database_up 1.0" in text and "powergw_model_info" not in text


def test_a_damaged_database_is_a_problem(tmp_path, gateway_db):
    data = bytearray(gateway_db.read_bytes())
    # Overwrite the middle of the file (table pages), keeping the header readable.
    data[len(data) // 2 : len(data) // 2 + 3000] = b"\x07" * 3000
    gateway_db.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        gateway_db.with_name(gateway_db.name + side).unlink(missing_ok=True)
    findings = run_checks(situation(tmp_path, gateway_db, Config({}), host(tmp_path), T0))
    db = by_check(findings)["database"][0]
    assert db.status == PROBLEM and "restore" in db.action


def test_missing_database_and_ble_nodes_without_adapter(tmp_path, gateway_db):
    findings = run_checks(situation(tmp_path, tmp_path / "nothing.db", Config({}), host(tmp_path), T0))
    assert by_check(findings)["database"][0].status == PROBLEM
    store = open_store(gateway_db)
    store.conn.execute("UPDATE nodes SET transport = 'ble'")
    store.close()
    findings = run_checks(situation(tmp_path, gateway_db, Config({}), host(tmp_path), T0))
    assert by_check(findings)["bluetooth"][0].status == PROBLEM


def test_unconfigured_bridges_are_pointed_out(tmp_path, gateway_db):
    findings = run_checks(situation(tmp_path, gateway_db, Config({}), host(tmp_path, ports=["ch340-port1"]), T0))
    serial = by_check(findings)["serial"][0]
    assert serial.status == WARNING and "ch340-port1" in serial.message and "[serial] ports" in serial.action


MAINS, SUB = "a4:cf:12:00:00:10", "a4:cf:12:00:00:20"


def house_db(tmp_path, nodes):
    """A real gateway database that has seen each of `nodes` ({node id: transport})."""
    db = tmp_path / "house" / "powergw.db"
    ingest, clock = make_ingest(db)
    for seq in range(3):
        for node, transport in nodes.items():
            ingest.feed(node, reading_wire(seq, seq * 300, node=node), transport=transport)
        clock.advance(1000)
    ingest.flush()
    ingest.store.close()
    return db


def billing(tmp_path, db, config):
    return by_check(run_checks(situation(tmp_path, db, config, host(tmp_path), T0 + 10_000)))["billing"]


def test_billing_defaults_are_flagged_while_mains_and_sub_circuits_are_summed(tmp_path):
    db = house_db(tmp_path, {MAINS: "serial", SUB: "serial"})
    date, nodes = billing(tmp_path, db, Config({}))
    assert date.status == WARNING and "meter_reading_date is still the default (2024-01-01)" in date.message
    assert 'meter_reading_date = "YYYY-MM-DD"' in date.action and "Settings page" in date.action
    assert nodes.status == WARNING and f"all 2 nodes added up: {MAINS}, {SUB}" in nodes.message
    assert "counted twice, in the bill and in the theft check" in nodes.message
    assert 'metered_nodes = ["<mains node id>"]' in nodes.action

    # The reading date set on the dashboard (the settings table) counts as set; the mains listed.
    store = open_store(db)
    apply_changes(store, Config({}), {"billing.meter_reading_date": "2025-12-05"}, [], by="test", now_ms=T0)
    store.close()
    (done,) = billing(tmp_path, db, Config({}).replace("billing", metered_nodes=[MAINS]))
    assert (done.status, done.message) == (OK, f"meter read on 2025-12-05; the house is {MAINS}")

    out = run("doctor", "--db", str(db), "--runtime-dir", str(tmp_path), "--quick")
    assert "WARNING  billing            [billing] metered_nodes is empty, so the house is all 2 nodes" in out.stdout
    assert "meter_reading_date is still the default" not in out.stdout


def test_one_node_on_serial_and_ble_is_one_circuit_not_a_house_to_split(tmp_path):
    twin = MAINS[:-2] + "12"  # the same ESP32's BLE address: base MAC + 2
    db = house_db(tmp_path, {MAINS: "serial", twin: "ble"})
    (done,) = billing(tmp_path, db, Config({}).replace("billing", meter_reading_date="2025-12-05"))
    assert (done.status, done.message) == (OK, "meter read on 2025-12-05; the house is every node")


def run(*args):
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=120)


def test_doctor_command_json_and_bad_config(tmp_path, gateway_db):
    out = run("doctor", "--db", str(gateway_db), "--runtime-dir", str(tmp_path), "--quick", "--format", "json")
    rows = json.loads(out.stdout)
    assert {"check", "status", "message", "action"} <= set(rows[0])
    assert out.returncode == (1 if any(r["status"] == PROBLEM for r in rows) else 0)
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway]\ncommit_interval_s = 0\n")
    out = run("doctor", "--config", str(bad))
    assert out.returncode == 1
    assert "PROBLEM  config" in out.stdout and "commit_interval_s" in out.stdout


def test_mains_set_with_powergw_meters_count_as_set(tmp_path):
    db = house_db(tmp_path, {MAINS: "serial", SUB: "serial"})
    assert run("meters", "--db", str(db), "--mains", MAINS).returncode == 0
    (date,) = billing(tmp_path, db, Config({}))  # the reading date is still to set; the mains are set
    assert date.status == WARNING and "meter_reading_date" in date.message
