"""Import and export into `powergw run` over real pseudo-terminals: `powergw simulate --voltage-channel`
replaying a rooftop-solar CSV, and the firmware's own host node with a voltage channel (exporting,
rebooting with its counters restored, importing) beside a current-only host node on a second port."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.app import open_store
from tests.support.cable import Cable

ROOT = Path(__file__).resolve().parents[2]


def solar_csv(path, start_s: int) -> None:
    """20 minutes: a 1.2 kW load, then the inverter exporting 2.5 kW, then a cloud, then 300 W of import."""
    rows = ["ts,power_w"]
    for s in range(0, 1200, 10):
        watts = 1200 if s < 300 else -2500 if s < 700 else -400 if s < 800 else 300
        rows.append(f"{start_s + s},{watts}")
    path.write_text("\n".join(rows) + "\n")


def test_solar_node_streams_import_and_export_into_the_daemon(tmp_path):
    cable = Cable()  # two real pseudo-terminals back to back
    cable.start()
    node_path, gw_path = cable.node_path, cable.gateway_path
    db, cfg, csv = tmp_path / "g.db", tmp_path / "c.toml", tmp_path / "solar.csv"
    start_s = 1_777_600_000  # 2026-05-01, around 07:16 IST
    solar_csv(csv, start_s)
    cfg.write_text(f'[gateway]\ndb = "{db}"\ncommit_interval_s = 0.5\n[ui]\nenabled = false\n')
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(cfg), "--serial", gw_path], stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.5)
        sim = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "simulate", "--out", node_path, "--csv", str(csv)]
            + ["--voltage-channel", "--speed", "200", "--seed", "3"],
            capture_output=True,
            timeout=60,
        )
        assert sim.returncode == 0, sim.stderr
        time.sleep(2.0)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=20)
        cable.close()
    assert daemon.returncode == 0, err.decode()[-3000:]
    line = sim.stderr.decode().strip().splitlines()[-1]
    node_id = line.split()[0]
    final_import = int(line.split("counter ")[1].split()[0])
    final_export = int(line.split("export ")[1].split()[0])
    assert final_export == (400 * 2500 + 100 * 400) * 1000 // 3600  # 400 s at 2.5 kW, 100 s at 0.4 kW
    conn = sqlite3.connect(db)
    first = conn.execute("SELECT energy_mwh, export_mwh FROM readings ORDER BY id LIMIT 1").fetchone()
    node = conn.execute(
        "SELECT acct_energy_mwh, acct_export_mwh, energy_total_mwh, export_total_mwh, frames_lost, last_flags "
        "FROM nodes WHERE node_id = ?",
        (node_id,),
    ).fetchone()
    assert node[:2] == (final_import, final_export)  # every frame arrived
    assert node[2:5] == (final_import - first[0], final_export - first[1], 0)
    assert not node[5] & 0x04  # the node measures its voltage
    assert conn.execute("SELECT sum(energy_mwh), sum(export_mwh) FROM usage_day").fetchone() == node[2:4]
    assert conn.execute("SELECT sum(energy_mwh), sum(export_mwh) FROM house_day").fetchone() == node[2:4]
    assert conn.execute("SELECT min(vrms_min_dv) > 2200, max(vrms_max_dv) < 2400 FROM usage_minute").fetchone() == (
        1,
        1,
    )
    conn.close()
    store = open_store(db)
    flows = store.house_flows(0, 2**45, "minute")  # stamped by the gateway's clock, not the CSV's
    assert (sum(e for e, _ in flows.values()), sum(x for _, x in flows.values())) == node[2:4]
    store.close()


# ---- the firmware's own node with a voltage channel -----------------------------------------------

SOLAR, PLAIN = "a4:cf:12:34:56:78", "a4:cf:12:34:56:90"


def node_run(host: Path, cable: Cable, *args: str) -> tuple[int, int]:
    """Run the host node to the end of its windows; its final (import, export) counters."""
    run = subprocess.run(
        [str(host), "--out", cable.node_path, "--seed", "17", *args], capture_output=True, text=True, timeout=90
    )
    assert run.returncode == 0, run.stderr
    found = re.search(r"energy_mwh=(\d+) export_mwh=(\d+)", run.stderr)
    return int(found.group(1)), int(found.group(2))


def wait_for(db: Path, node_id: str, counters: tuple[int, int]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            conn = sqlite3.connect(db)
            row = conn.execute(
                "SELECT acct_energy_mwh, coalesce(acct_export_mwh, 0) FROM nodes WHERE node_id = ?", (node_id,)
            ).fetchone()
            conn.close()
            if row == counters:
                return
        except sqlite3.OperationalError:
            pass  # the gateway has not created its tables yet: look again
        time.sleep(0.2)


def test_host_nodes_old_and_new_into_powergw_run_import_and_export_exact(host_node, tmp_path):
    """A voltage-channel node exporting, rebooting with its counters restored from NVS and importing,
    and a current-only node beside it on a second port: one gateway, every mWh of both directions."""
    cables = [Cable(), Cable()]
    for cable in cables:
        cable.start()
    db, cfg, nvs = tmp_path / "g.db", tmp_path / "c.toml", tmp_path / "nvs.txt"
    cfg.write_text(f'[gateway]\ndb = "{db}"\ncommit_interval_s = 0.3\nrollup_interval_s = 1\n[ui]\nenabled = false\n')
    ports = [a for c in cables for a in ("--serial", c.gateway_path)]
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(cfg), "--db", str(db), *ports],
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the serial sources open their ports
        plain = node_run(host_node, cables[1], "--node-id", PLAIN, "--watts", "600", "--windows", "120")
        solar = ["--voltage-channel", "--nvs", str(nvs), "--windows", "150"]
        first = node_run(host_node, cables[0], *solar, "--watts", "-1500", "--boot-id", "1")  # rooftop export
        wait_for(db, SOLAR, first)
        # a reboot: the counters come back from NVS (saved every 10 Wh, so a little behind); then a pump
        final = node_run(host_node, cables[0], *solar, "--watts", "900", "--pf", "0.7", "--boot-id", "2")
        wait_for(db, SOLAR, final)
        wait_for(db, PLAIN, plain)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=20)
        for cable in cables:
            cable.close()
    assert daemon.returncode == 0, err.decode()[-3000:]
    conn = sqlite3.connect(db)
    nodes = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT node_id, acct_energy_mwh, acct_export_mwh, energy_total_mwh, export_total_mwh, reboots, "
            "last_flags FROM nodes"
        )
    }
    boots = conn.execute(
        "SELECT boot_id, energy_mwh, export_mwh, flags, min(id) FROM readings JOIN nodes USING (node_key) "
        "WHERE node_id = ? GROUP BY boot_id ORDER BY min(id)",  # each boot's first reading (SQLite's min())
        (SOLAR,),
    ).fetchall()
    assert [b[0] for b in boots] == [1, 2] and boots[1][3] & 0x08  # the second boot restored its counters
    acct_e, acct_x, total_e, total_x, reboots, flags = nodes[SOLAR]
    assert (acct_e, acct_x) == final and reboots == 1 and not flags & 0x04
    assert first[1] > 50_000 and final[0] > 30_000  # export, then import after the reboot
    # each boot's rise, exactly; the restored export was behind the last one heard, so the reboot's
    # first frame is a new baseline (what was metered after the last save is unknown, not invented)
    assert boots[1][2] < first[1]
    assert (total_e, total_x) == (
        first[0] - boots[0][1] + final[0] - boots[1][1],
        first[1] - boots[0][2] + final[1] - boots[1][2],
    )
    acct_e, acct_x, total_e, total_x, _, flags = nodes[PLAIN]
    assert acct_e == plain[0] and acct_x is None and flags & 0x04
    house = conn.execute("SELECT sum(energy_mwh), sum(export_mwh) FROM house_day").fetchone()
    assert house == (nodes[SOLAR][2] + nodes[PLAIN][2], nodes[SOLAR][3])
    first_e = conn.execute(
        "SELECT energy_mwh FROM readings JOIN nodes USING (node_key) WHERE node_id = ? ORDER BY id LIMIT 1", (PLAIN,)
    ).fetchone()[0]
    assert (total_e, total_x) == (plain[0] - first_e, 0)
    volts = conn.execute(
        "SELECT min(vrms_min_dv), max(vrms_max_dv), sum(vrms_n), sum(pf_n) FROM usage_minute JOIN nodes USING "
        "(node_key) WHERE node_id = ?",
        (SOLAR,),
    ).fetchone()
    assert 2250 <= volts[0] <= volts[1] <= 2350 and volts[2] == volts[3] == 300  # every window's voltage and PF
    assert conn.execute(
        "SELECT count(*) FROM usage_minute JOIN nodes USING (node_key) WHERE node_id = ? AND vrms_n IS NOT NULL",
        (PLAIN,),
    ).fetchone() == (0,)
    conn.close()
