"""End to end: the firmware's own node (firmware/host/powernode-host, the C core on a synthetic
ADC) streams through a pseudo-terminal into `powergw run`; the energy the gateway stores equals
the node's own final counter minus its first (baseline) counter, exactly."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cable import Cable

ROOT = Path(__file__).resolve().parents[2]
NODE = "a4:cf:12:34:56:78"


def stored(db: Path, node: str) -> tuple[int, int, int, int]:
    """(energy in rollups + pending readings, first reading's counter, accounted counter, readings)."""
    conn = sqlite3.connect(db)
    try:
        key, acct = conn.execute("SELECT node_key, acct_energy_mwh FROM nodes WHERE node_id = ?", (node,)).fetchone()
        first = conn.execute(
            "SELECT energy_mwh FROM readings WHERE node_key = ? ORDER BY id LIMIT 1", (key,)
        ).fetchone()[0]
        rolled = conn.execute(
            "SELECT coalesce(sum(energy_mwh), 0) FROM usage_day WHERE node_key = ?", (key,)
        ).fetchone()[0]
        count = conn.execute("SELECT count(*) FROM readings WHERE node_key = ?", (key,)).fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return rolled, first, acct, count
    finally:
        conn.close()


@pytest.mark.parametrize("watts,windows,noise", [(1800, 400, "2"), (230, 300, "1")])
def test_host_node_into_powergw_run_energy_exact(host_node, tmp_path, watts, windows, noise):
    cable = Cable()
    cable.start()
    db = tmp_path / "g.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[gateway]\ndb = "{db}"\ncommit_interval_s = 0.3\nrollup_interval_s = 1\n[ui]\nenabled = false\n')
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "run",
            "--config",
            str(cfg),
            "--serial",
            cable.gateway_path,
            "--db",
            str(db),
        ],
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while not db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the serial source opens its port
        node = subprocess.run(
            [
                str(host_node),
                "--out",
                cable.node_path,
                "--watts",
                str(watts),
                "--windows",
                str(windows),
                "--noise",
                noise,
                "--seed",
                "17",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert node.returncode == 0, node.stderr
        final = int(re.search(r"energy_mwh=(\d+)", node.stderr).group(1))
        # wait until the daemon has committed the node's last reading
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if stored(db, NODE)[2] == final:
                    break
            except (TypeError, sqlite3.OperationalError):
                pass
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=20)
        cable.close()
    assert daemon.returncode == 0, err.decode()[-3000:]
    rolled, first, acct, count = stored(db, NODE)
    assert count == windows
    assert acct == final
    assert rolled == final - first  # exact, in mWh
    assert abs(final - watts * windows / 3.6) <= 0.02 * watts * windows / 3.6  # and the node measured the load
