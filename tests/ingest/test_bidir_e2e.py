"""`powergw simulate --voltage-channel` (frames encoded by gateway/protocol.py) into a pseudo-terminal read
by `powergw run`: a rooftop-solar day replayed from a CSV, import and export exact in the database."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

from gateway.app import open_store
from tests.support.cable import Cable


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
