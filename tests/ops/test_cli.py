"""The core CLI as a user runs it: real processes, real files, real output formats."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tty

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_config, parse_config
from tests.support.ingest import NODE, make_ingest, reading_wire


def run(*args, stdin=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], input=stdin, capture_output=True, timeout=timeout
    )


@pytest.fixture
def history_db(tmp_path):
    db = tmp_path / "g.db"
    ingest, clock = make_ingest(db)
    counter = 0
    for seq in range(0, 3 * 24 * 60 + 1):  # three days of 1-minute readings at 600 W
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=60_000 * seq + 1000))
        clock.advance(60_000)
        counter += 10_000
    ingest.flush()
    ingest.store.close()
    return db, counter - 10_000


def test_every_command_has_help():
    for cmd in ("run", "demo", "simulate", "monitor", "nodes", "usage"):
        out = run(cmd, "--help")
        assert out.returncode == 0, out.stderr
        assert b"usage: powergw " + cmd.encode() in out.stdout


def test_usage_json_has_documented_fields_and_sums_to_the_total(history_db):
    db, total = history_db
    out = run(
        "usage",
        "--db",
        str(db),
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-04",
        "--resolution",
        "hour",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {"node_id", "start", "end", "energy_wh"} <= set(rows[0])
    assert rows[0]["start"].endswith("+05:30")
    assert round(sum(r["energy_wh"] for r in rows) * 1000) == total
    days = json.loads(
        run("usage", "--db", str(db), "--from", "2026-01-01", "--to", "2026-01-04", "--format", "json").stdout
    )
    assert [d["start"][:10] for d in days] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    assert round(sum(d["energy_wh"] for d in days) * 1000) == total


def test_usage_csv_and_table(history_db):
    db, total = history_db
    out = run("usage", "--db", str(db), "--from", "2026-01-01", "--to", "2026-01-04", "--format", "csv", "--node", NODE)
    rows = list(csv.DictReader(io.StringIO(out.stdout.decode())))
    assert len(rows) == 4 and round(sum(float(r["energy_wh"]) for r in rows) * 1000) == total
    table = run("usage", "--db", str(db), "--from", "2026-01-01", "--to", "2026-01-04")
    assert b"total 43.200 kWh" in table.stdout


def test_usage_bad_input_is_a_clear_error(history_db, tmp_path):
    db, _ = history_db
    out = run("usage", "--db", str(db), "--from", "2026-13-01", "--to", "2026-01-04")
    assert out.returncode == 2 and b"YYYY-MM-DD" in out.stderr
    out = run("usage", "--db", str(db), "--from", "2026-01-05", "--to", "2026-01-04")
    assert out.returncode == 2 and b"before" in out.stderr
    out = run("usage", "--db", str(tmp_path / "missing.db"), "--from", "2026-01-01", "--to", "2026-01-04")
    assert out.returncode == 2 and b"no database" in out.stderr
    out = run("usage", "--db", str(db), "--from", "2026-01-01", "--to", "2026-01-04", "--node", "ff:ff:ff:ff:ff:ff")
    assert out.returncode == 2 and b"no node" in out.stderr


def test_usage_and_nodes_take_the_db_and_the_timezone_from_the_config(history_db, tmp_path):
    db, total = history_db
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\ndb = "{db}"\ntimezone = "Europe/London"\n', encoding="utf-8")
    days = json.loads(
        run("usage", "-c", str(config), "--from", "2026-01-01", "--to", "2026-01-05", "--format", "json").stdout
    )
    assert days[0]["start"] == "2026-01-01T00:00:00+00:00"  # the household's local days, not India's
    assert round(sum(d["energy_wh"] for d in days) * 1000) == total
    out = run(
        "usage",
        "-c",
        str(config),
        "--timezone",
        "Asia/Kolkata",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-04",
        "--format",
        "json",
    )
    assert json.loads(out.stdout)[0]["start"].endswith("+05:30")  # --timezone wins over the file
    assert NODE.encode() in run("nodes", "-c", str(config)).stdout
    config.write_text('[gateway]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    out = run("usage", "-c", str(config), "--db", str(db), "--from", "2026-01-01", "--to", "2026-01-04")
    assert out.returncode == 2 and b"Mars/Olympus" in out.stderr and b"Traceback" not in out.stderr
    out = run("usage", "-c", str(tmp_path / "missing.toml"), "--from", "2026-01-01", "--to", "2026-01-04")
    assert out.returncode == 2 and b"does not exist" in out.stderr and b"Traceback" not in out.stderr
    config.write_text(f'[gateway]\ndb = "{tmp_path / "gone" / "powergw.db"}"\n', encoding="utf-8")
    out = run("nodes", "-c", str(config))
    assert out.returncode == 2 and b"no database at" in out.stderr and b"Traceback" not in out.stderr


def test_nodes_shows_health(history_db, tmp_path):
    db, _ = history_db
    no_daemon = ("--runtime-dir", str(tmp_path / "run"))  # not the machine's: another test's daemon may have left one
    out = run("nodes", "--db", str(db), "--format", "json", *no_daemon)
    node = json.loads(out.stdout)[0]
    assert node["node_id"] == NODE and node["frames_ok"] == 3 * 24 * 60 + 1 and node["source"] == "database"
    table = run("nodes", "--db", str(db), *no_daemon).stdout.decode()
    assert NODE in table and "lost" in table


def test_nodes_shows_what_the_running_daemon_knows_before_it_saves_node_health(tmp_path):
    """`powergw run` on a pseudo-terminal: within seconds `powergw nodes` shows the frames, the power and a
    fresh last-seen from live.json, while the store's node row still has none (it is saved every 5 minutes)."""
    import sqlite3
    import threading
    import time

    db, runtime = tmp_path / "g.db", tmp_path / "run"
    config = tmp_path / "powergw.toml"
    config.write_text(f'[gateway]\ndb = "{db}"\n\n[ui]\nenabled = false\n')
    master, slave = os.openpty()
    tty.setraw(slave)
    stop, sent = threading.Event(), []

    def node():  # a 1,234.5 W load, ten readings a second
        seq = 0
        while not stop.is_set():
            seq += 1
            os.write(master, reading_wire(seq, 10_000 + 34 * seq, power_dw=12_345, uptime_ms=100 * seq))
            sent.append(seq)
            time.sleep(0.1)

    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "-c",
            str(config),
            "--serial",
            os.ttyname(slave),
            "--no-ui",
            "--runtime-dir",
            str(runtime),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    writer = threading.Thread(target=node, daemon=True)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while not (runtime / "live.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        rows = json.loads(run("nodes", "--db", str(db), "--runtime-dir", str(runtime), "--format", "json").stdout)
        table = run("nodes", "--db", str(db), "--runtime-dir", str(runtime)).stdout.decode()
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        stored = conn.execute("SELECT frames_ok, last_power_dw FROM nodes WHERE node_id = ?", (NODE,)).fetchone()
        conn.close()
    finally:
        stop.set()
        writer.join(5)
        daemon.terminate()
        _, err = daemon.communicate(timeout=30)
        os.close(master)
        os.close(slave)
    (n,) = rows
    assert stored == (0, None)  # the store's row: what `nodes` showed before ("ok 0", no power)
    assert n["source"] == "live" and 15 <= n["frames_ok"] <= len(sent) and n["last_power_dw"] == 12_345
    assert abs(time.time() * 1000 - n["last_seen_ms"]) < 10_000
    line = next(row for row in table.splitlines() if row.startswith(NODE))
    # The table is a second read of live.json, a moment later: its count is the JSON's or newer.
    shown = int(re.search(r"1234\.5 W\s+(\d+)\s", line).group(1))
    assert n["frames_ok"] <= shown <= len(sent) and " s ago" in line

    # Stopped, the daemon saved node health: the store's row and `nodes` agree, with or without live.json.
    after = json.loads(run("nodes", "--db", str(db), "--runtime-dir", str(runtime), "--format", "json").stdout)[0]
    (runtime / "live.json").write_text('{"ts_ms": 1, "nodes": {"' + NODE + '": {"last_seen_ms": "soon"}}}')
    damaged = run("nodes", "--db", str(db), "--runtime-dir", str(runtime), "--format", "json")
    (runtime / "live.json").write_text("{not json")
    garbled = run("nodes", "--db", str(db), "--runtime-dir", str(runtime))
    assert daemon.returncode == 0, err
    assert after["source"] == "database" and after["frames_ok"] >= n["frames_ok"] and after["last_power_dw"] == 12_345
    assert damaged.returncode == 0 and json.loads(damaged.stdout)[0]["frames_ok"] == after["frames_ok"]
    assert garbled.returncode == 0 and NODE.encode() in garbled.stdout and b"Traceback" not in garbled.stderr


def test_monitor_decodes_stdin(vectors):
    data = bytes.fromhex(vectors["stream"]["wire_hex"])
    out = run("monitor", "-", stdin=data)
    lines = out.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == ["HELLO", "REJECT", "READING", "REJECT", "READING"]
    assert "980.5 W" in lines[2]


def test_monitor_reads_a_pty(vectors):
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "monitor", os.ttyname(slave), "--count", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        import time

        time.sleep(1.0)
        hello = next(v for v in vectors["valid"] if v["name"] == "hello")
        os.write(master, bytes.fromhex(vectors["valid"][0]["wire_hex"]) + bytes.fromhex(hello["wire_hex"]))
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert out.decode().splitlines()[1].startswith("HELLO")


def test_simulate_to_a_file_then_run_counts_exact_energy(tmp_path):
    frames = tmp_path / "frames.bin"
    out = run(
        "simulate",
        "--out",
        str(frames),
        "--nodes",
        "2",
        "--duration",
        "600",
        "--speed",
        "0",
        "--start",
        "2026-03-01T10:00:00+05:30",
        "--seed",
        "3",
    )
    assert out.returncode == 0, out.stderr
    counters = {line.split()[0]: int(line.split("counter ")[1].split()[0]) for line in out.stderr.decode().splitlines()}
    assert len(counters) == 2
    db = tmp_path / "g.db"
    ingest, _ = make_ingest(db)
    ingest.feed("file", frames.read_bytes())
    ingest.flush()
    assert ingest.frames == 2 * (600 + 10)  # a READING per second, a HELLO every minute
    first = {
        n: ingest.store.conn.execute(
            "SELECT r.energy_mwh FROM readings r JOIN nodes USING (node_key) WHERE node_id = ? ORDER BY r.id LIMIT 1",
            (n,),
        ).fetchone()[0]
        for n in counters
    }
    for node_id, counter in counters.items():
        assert ingest.store.total_energy_mwh(node_id) == counter - first[node_id]


def test_simulate_with_faults_is_survived(tmp_path):
    frames = tmp_path / "frames.bin"
    out = run(
        "simulate",
        "--out",
        str(frames),
        "--duration",
        "1200",
        "--speed",
        "0",
        "--loss",
        "0.05",
        "--bit-errors",
        "0.05",
        "--reboot-every",
        "300",
        "--seed",
        "5",
    )
    assert out.returncode == 0, out.stderr
    ingest, _ = make_ingest(tmp_path / "g.db")
    ingest.feed("file", frames.read_bytes())
    ingest.flush()
    node = ingest.store.nodes()[0]
    assert node["frames_lost"] > 0 and node["reboots"] >= 3
    assert sum(ingest.source_rejects.values()) > 0


def test_simulate_replays_a_csv(tmp_path):
    src = tmp_path / "load.csv"
    src.write_text(
        "ts,power_w\n2026-01-01T00:00:00+05:30,1000\n2026-01-01T00:30:00+05:30,2000\n2026-01-01T00:59:59+05:30,0\n"
    )
    frames = tmp_path / "frames.bin"
    out = run("simulate", "--csv", str(src), "--out", str(frames), "--speed", "0")
    assert out.returncode == 0, out.stderr
    counter = int(out.stderr.decode().split("counter ")[1].split()[0])
    # 1 kW for 1800 windows, 2 kW for 1799, then the 0 W sample of the last row: in mWh, exactly.
    assert counter == 1800 * 1000 * 1000 // 3600 + 1799 * 2000 * 1000 // 3600


def test_simulate_rejects_bad_input(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,watts\n1,2\n")
    out = run("simulate", "--csv", str(bad), "--out", str(tmp_path / "x"), "--speed", "0")
    assert out.returncode == 2 and b"ts,power_w" in out.stderr
    bad.write_text("ts,power_w\n2026-01-01T00:00:00+05:30,abc\n")
    out = run("simulate", "--csv", str(bad), "--out", str(tmp_path / "x"), "--speed", "0")
    assert out.returncode == 2 and b"bad.csv:2" in out.stderr
    out = run("simulate", "--loss", "1.5", "--out", str(tmp_path / "x"))
    assert out.returncode == 2 and b"--loss 1.5" in out.stderr
    out = run("simulate", "--preset", "palace", "--out", str(tmp_path / "x"), "--duration", "1", "--speed", "0")
    assert out.returncode == 2 and b"palace" in out.stderr


def test_config_errors_name_key_value_and_what_is_accepted(tmp_path):
    with pytest.raises(ConfigError, match=r"\[gateway\] commit_interval_s = 'fast': expected a number from 0.1 to 600"):
        parse_config({"gateway": {"commit_interval_s": "fast"}})
    with pytest.raises(ConfigError, match=r"\[serial\] baudrate = 1234: expected one of"):
        parse_config({"serial": {"baudrate": 1234}})
    with pytest.raises(ConfigError, match=r"unknown key 'colour'; known keys:"):
        parse_config({"gateway": {"colour": "red"}})
    with pytest.raises(ConfigError, match=r"unknown section \[gatway\]"):
        parse_config({"gatway": {}})
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse_config({"gateway": {"timezone": "Mars/Olympus"}}).gateway  # noqa: B018
    bad = tmp_path / "c.toml"
    bad.write_text("[gateway\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    bad.write_text("[gateway]\nretention_days = 0\n")
    out = run("run", "--config", str(bad))
    assert out.returncode == 2 and b"retention_days = 0: expected a whole number from 1 to 3650" in out.stderr


def test_config_defaults_and_overrides(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[gateway]\ndb = "~/x.db"\ncommit_interval_s = 2\n[serial]\nports = ["/dev/ttyUSB0"]\n')
    config = load_config(cfg)
    assert config.gateway.commit_interval_s == 2.0 and config.gateway.db.name == "x.db"
    assert config.serial.ports == ["/dev/ttyUSB0"] and config.ui.port == 8080
    assert main(["nodes", "--db", str(tmp_path / "none.db")]) == 2


def test_an_argument_that_is_not_utf8_is_refused_before_any_command_runs(tmp_path):
    """Bytes the terminal sent in another encoding reach Python as lone surrogates, which SQLite
    cannot store: a usage error naming the argument, not a traceback, and nothing written."""
    db = tmp_path / "g.db"
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "meter", "--db", str(db), "--reading", "100", "--note", b"caf\xe9"],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 2 and b"Traceback" not in out.stderr
    assert b"argument 'caf\\udce9' (after --note) is not UTF-8 text" in out.stderr
    assert not db.exists()
