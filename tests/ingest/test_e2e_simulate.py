"""`powergw simulate` into a pseudo-terminal read by `powergw run`: two real processes."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tty


class Relay(threading.Thread):
    """Copies bytes from one pty master to another: the 'cable' between node and gateway."""

    def __init__(self, src: int, dst: int):
        super().__init__(daemon=True)
        self.src, self.dst = src, dst
        self.stop = threading.Event()
        self.bytes = 0

    def run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.src], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.src, 4096)
            except OSError:
                return
            self.bytes += len(data)
            view = memoryview(data)
            while view:
                n = os.write(self.dst, view)
                view = view[n:]


def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def test_simulated_household_streams_into_the_daemon(tmp_path):
    node_m, node_s, node_path = pty_pair()
    gw_m, gw_s, gw_path = pty_pair()
    relay = Relay(node_m, gw_m)
    relay.start()
    db = tmp_path / "g.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[gateway]\ndb = "{db}"\ncommit_interval_s = 0.5\n[ui]\nenabled = false\n')
    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(cfg), "--serial", gw_path], stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.5)
        sim = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "simulate",
                "--out",
                node_path,
                "--nodes",
                "2",
                "--duration",
                "300",
                "--speed",
                "100",
                "--seed",
                "11",
                "--bit-errors",
                "0.01",
                "--start",
                "2026-05-01T19:00:00+05:30",
            ],
            capture_output=True,
            timeout=60,
        )
        assert sim.returncode == 0, sim.stderr
        time.sleep(2.0)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=20)
        relay.stop.set()
        for fd in (node_m, node_s, gw_m, gw_s):
            os.close(fd)
    assert daemon.returncode == 0, err.decode()[-3000:]
    counters = {}
    for line in sim.stderr.decode().splitlines():
        node_id = line.split()[0]
        counters[node_id] = int(line.split("counter ")[1].split()[0])
    conn = sqlite3.connect(db)
    for node_id, final in counters.items():
        first, acct, lost = conn.execute(
            "SELECT (SELECT energy_mwh FROM readings r WHERE r.node_key = n.node_key ORDER BY id LIMIT 1), "
            "acct_energy_mwh, frames_lost FROM nodes n WHERE node_id = ?",
            (node_id,),
        ).fetchone()
        stored = conn.execute(
            "SELECT sum(energy_mwh) FROM usage_day JOIN nodes USING (node_key) WHERE node_id = ?", (node_id,)
        ).fetchone()[0]
        # Frames with flipped bits were rejected; the counter still carries their energy, unless
        # the very last frame was the one corrupted.
        assert acct <= final
        assert stored == acct - first
        assert final - acct <= 2 * 2000  # at most the last frame or two (≤ 2 kW·s each)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] > 500
