"""Serial source on real pseudo-terminals: streaming, unplug and replug, unopenable ports."""

from __future__ import annotations

import os
import threading
import time
import tty

from gateway.backoff import Backoff
from gateway.config import Config
from gateway.daemon import build_gateway
from gateway.protocol import FrameDecoder, Reading
from gateway.sources.serial_source import SerialSource
from tests.support.ingest import NODE, reading_wire

FAST = Backoff(initial_s=0.02, factor=2, max_s=0.1)


class Pty:
    """A pseudo-terminal pair; the test writes to the master like a node would."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class Collector:
    def __init__(self):
        self.decoder = FrameDecoder()
        self.items = []
        self.lock = threading.Lock()

    def __call__(self, source: str, data: bytes) -> None:
        with self.lock:
            self.items += self.decoder.feed(data)

    def readings(self):
        with self.lock:
            return [i for i in self.items if isinstance(i, Reading)]


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def test_frames_from_a_pty_arrive_intact():
    pty = Pty()
    sink = Collector()
    src = SerialSource(pty.path, sink, backoff=FAST)
    src.start()
    try:
        assert src.connected.wait(3)
        for seq in range(50):
            pty.write(reading_wire(seq, seq * 100))
        assert wait_for(lambda: len(sink.readings()) == 50)
        assert [r.seq for r in sink.readings()] == list(range(50))
    finally:
        src.stop()
        pty.unplug()


def test_unplug_and_replug_resumes_reading(tmp_path, caplog):
    link = tmp_path / "ttyNODE"  # like /dev/serial/by-id/...: a stable name for a changing device
    first = Pty()
    link.symlink_to(first.path)
    sink = Collector()
    src = SerialSource(str(link), sink, backoff=FAST)
    src.start()
    try:
        assert src.connected.wait(3)
        first.write(reading_wire(0, 0))
        assert wait_for(lambda: len(sink.readings()) == 1)
        first.unplug()
        assert wait_for(lambda: not src.connected.is_set())
        time.sleep(0.3)  # several failed reopen attempts while unplugged
        failures = src.failures
        assert failures >= 2
        second = Pty()
        link.unlink()
        link.symlink_to(second.path)
        assert src.connected.wait(3)
        second.write(reading_wire(1, 100))
        assert wait_for(lambda: len(sink.readings()) == 2)
        assert src.opens == 2
        lost = [r for r in caplog.records if "lost" in r.message or "cannot open" in r.message]
        assert 1 <= len(lost) <= 2  # logged once per outage, not once per attempt
        second.unplug()
    finally:
        src.stop()


def test_unopenable_port_is_retried_while_other_ports_feed_the_database(tmp_path):
    good = Pty()
    config = Config({}).replace("serial", retry_max_s=0.1)
    gw = build_gateway(
        config,
        db_path=tmp_path / "g.db",
        serial_ports=["/dev/powergw-no-such-port", good.path],
        runtime_dir=tmp_path / "run",
        jobs=(),
    )
    gw.start()
    try:
        bad, ok = gw.sources
        assert ok.connected.wait(3)
        for seq in range(20):
            good.write(reading_wire(seq, seq * 100))
        assert wait_for(lambda: gw.ingest.frames == 20)
        assert wait_for(lambda: bad.failures >= 2)
        assert bad.last_error and "no-such-port" in bad.last_error
    finally:
        gw.stop()
        good.unplug()
    from gateway.app import open_store

    store = open_store(tmp_path / "g.db")
    assert store.total_energy_mwh(NODE) == 1900
    assert store.nodes()[0]["frames_ok"] == 20


def test_reader_crash_is_restarted_and_counted():
    pty = Pty()
    calls = []

    def flaky_sink(source, data):
        calls.append(data)
        if len(calls) == 1:
            raise RuntimeError("bug in a sink")

    src = SerialSource(pty.path, flaky_sink, backoff=FAST)
    src.start()
    try:
        assert src.connected.wait(3)
        pty.write(b"\x01\x00")
        assert wait_for(lambda: src.restarts == 1)
        assert wait_for(lambda: src.connected.is_set())
        pty.write(b"\x01\x00")
        assert wait_for(lambda: len(calls) >= 2)
    finally:
        src.stop()
        pty.unplug()


def test_backoff_policy_grows_and_caps():
    b = Backoff(initial_s=0.5, factor=2, max_s=4)
    assert [b.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]
