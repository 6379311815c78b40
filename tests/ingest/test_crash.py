"""kill -9 the daemon at random moments while two nodes stream (a READING node importing, a
READING_BIDIR node exporting): nothing corrupt, import and export exact."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tty

import pytest

from gateway.protocol import Reading, encode_wire

NODE = "a4:cf:12:34:56:78"
SOLAR = "a4:cf:12:34:56:90"


class StreamingNode(threading.Thread):
    """Writes a READING of a 1.2 kW load and a READING_BIDIR of a 0.9 kW export into a pty master, in
    turn, as fast as the reader takes them."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.stop = threading.Event()
        self.seq = 0
        self.energy = 10_000
        self.export = 50_000
        self.sent_energy, self.sent_export = self.energy, self.export
        self.uptime = 0

    def run(self) -> None:
        pending = b""
        while not self.stop.is_set():
            if not pending:
                self.seq += 1
                self.uptime += 1000
                self.energy += 333
                self.export += 250
                pending = encode_wire(Reading(NODE, 7, self.seq, self.uptime, 1000, 5217, 2300, 12_000, self.energy, 4))
                pending += encode_wire(
                    Reading(SOLAR, 9, self.seq, self.uptime, 1000, 3900, 2310, -9_000, 777, 0, self.export, 1000)
                )
            try:
                n = os.write(self.master, pending)
                pending = pending[n:]
                if not pending:
                    self.sent_energy, self.sent_export = self.energy, self.export
            except BlockingIOError:
                time.sleep(0.002)  # nobody reading (daemon dead): the line buffer is full
            time.sleep(0.0005)


def start_daemon(config, port):
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(config), "--serial", port, "--no-ui"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def query(db, sql):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchone()
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_ten_times_keeps_energy_exact(tmp_path):
    db = tmp_path / "g.db"
    config = tmp_path / "powergw.toml"
    config.write_text(f'[gateway]\ndb = "{db}"\ncommit_interval_s = 0.2\n\n[ui]\nenabled = false\n')
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    port = os.ttyname(slave)
    node = StreamingNode(master)
    node.start()
    rnd = random.Random(20261126)
    try:
        for _ in range(10):
            proc = start_daemon(config, port)
            time.sleep(rnd.uniform(0.8, 2.0))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        proc = start_daemon(config, port)
        time.sleep(1.5)
        node.stop.set()
        node.join()
        final, final_export = node.sent_energy, node.sent_export
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if db.exists() and query(db, "SELECT max(acct_energy_mwh), max(acct_export_mwh) FROM nodes") == (
                final,
                final_export,
            ):
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err.decode()[-2000:]
    finally:
        node.stop.set()
        os.close(master)
        os.close(slave)

    assert query(db, "PRAGMA integrity_check")[0] == "ok"
    acct, total = query(db, f"SELECT acct_energy_mwh, energy_total_mwh FROM nodes WHERE node_id = '{NODE}'")
    baseline = query(
        db, f"SELECT energy_mwh FROM readings JOIN nodes USING (node_key) WHERE node_id = '{NODE}' ORDER BY id LIMIT 1"
    )[0]
    stored = query(db, "SELECT sum(energy_mwh) FROM usage_day")[0]
    assert acct == final
    assert stored == total == final - baseline  # every mWh the counter rose, exactly once
    assert query(db, "SELECT sum(energy_mwh) FROM usage_minute")[0] == stored
    assert query(db, "SELECT sum(delta_mwh) FROM readings")[0] == stored
    assert query(db, "SELECT count(*) FROM readings")[0] > 100
    # the exporting node: its import counter never moved, its export counter's rise is all there
    acct, total, export_total = query(
        db, f"SELECT acct_export_mwh, energy_total_mwh, export_total_mwh FROM nodes WHERE node_id = '{SOLAR}'"
    )
    first_export = query(db, "SELECT export_mwh FROM readings WHERE export_mwh IS NOT NULL ORDER BY id LIMIT 1")[0]
    assert acct == final_export and total == 0
    exported = query(db, "SELECT sum(export_mwh) FROM usage_day")[0]
    assert exported == export_total == final_export - first_export
    assert query(db, "SELECT sum(export_mwh) FROM house_day")[0] == exported
    assert query(db, "SELECT sum(export_delta_mwh) FROM readings")[0] == exported
