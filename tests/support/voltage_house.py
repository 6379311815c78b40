"""A house with one sensor that measures the voltage (READING_BIDIR: rooftop solar behind it, so it exports
at times) and one that assumes 230 V (READING), streamed through the real Ingest into a real SQLite file,
with a sag, a power cut and a surge in the last two hours before `now`; the supply jobs (cuts, voltage
quality, a power-cut alert) run on it as the daemon runs them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.app import JobContext
from gateway.config import Config
from gateway.protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Reading, encode_wire
from gateway.supply.jobs import roll_quality, track_cuts
from tests.support.ingest import make_ingest

SOLAR = "a4:cf:12:00:00:01"  # measures the voltage: READING_BIDIR
PLAIN = "a4:cf:12:00:00:02"  # assumes 230 V: READING
MINUTE = 60_000
# What happens, in minutes before `now`: normal supply from 100 min before, a sag to 205 V for two minutes
# at 90 min before, a cut from 70 to 45 min before, a surge to 252 V for three minutes at 25 min before.
START_MIN, SAG_MIN, CUT_MIN, BACK_MIN, SURGE_MIN = 100, 90, 70, 45, 25


@dataclass
class Node:
    node_id: str
    volts: bool
    boot: int = 1
    seq: int = 0
    uptime_ms: int = 0
    import_mwh: int = 5_000_000
    export_mwh: int = 0


def watts_of(node: Node, minute_before: float) -> int:
    """The solar node exports 1.2 kW in a sunny stretch (from 40 to 30 min before now), else both import."""
    if node.volts:
        return -1200 if 30 < minute_before <= 40 else 900
    return 400


def vrms_of(minute_before: float) -> int:
    if SAG_MIN - 2 < minute_before <= SAG_MIN:
        return 2050
    if SURGE_MIN - 3 < minute_before <= SURGE_MIN:
        return 2520
    return 2300


class VoltageHouse:
    def __init__(self, db: Path, now_ms: int, events: bool = True):
        self.db = db
        self.now_ms = now_ms
        self.events = events
        self.ingest, self.clock = make_ingest(db, wall_ms=now_ms - START_MIN * MINUTE, commit_ms=5_000)
        self.nodes = [Node(SOLAR, True), Node(PLAIN, False)]

    def send(self, node: Node, minute_before: float) -> None:
        node.seq += 1
        node.uptime_ms += 2000
        w = watts_of(node, minute_before)
        if w >= 0:
            node.import_mwh += w * 2000 // 3600
        else:
            node.export_mwh += -w * 2000 // 3600
        flags = (FLAG_RESTORED if node.seq == 1 else 0) | (0 if node.volts else FLAG_NOMINAL_VOLTAGE)
        vrms = vrms_of(minute_before) if node.volts and self.events else 2300
        common = (node.node_id, node.boot, node.seq, node.uptime_ms, 2000, abs(w) * 1000 // 230, vrms)
        if node.volts:
            frame = Reading(*common, w * 10, node.import_mwh, flags, node.export_mwh, 870)
        else:
            frame = Reading(*common, w * 10, node.import_mwh, flags)
        self.ingest.feed(node.node_id, encode_wire(frame), transport="serial")

    def run_until(self, minute_before: float) -> None:
        """A reading every 2 s from each node until `minute_before` minutes before now."""
        while self.clock.wall_ms() < self.now_ms - minute_before * MINUTE:
            self.clock.advance(2000)
            m = (self.now_ms - self.clock.wall_ms()) / MINUTE
            for node in self.nodes:
                self.send(node, m)
        self.ingest.tick()

    def cut(self, until_minute_before: float) -> None:
        """Every node loses power until then and boots anew (counters restored from flash)."""
        self.ingest.flush()
        self.clock.advance(self.now_ms - until_minute_before * MINUTE - self.clock.wall_ms())
        for node in self.nodes:
            node.boot += 1
            node.seq = 0
            node.uptime_ms = 500

    def context(self) -> JobContext:
        config = Config({}).replace("supply", alerts=True, cut_alert_minutes=10, voltage_alert_minutes=2)
        return JobContext(store=self.ingest.store, config=config, now_ms=lambda: self.now_ms, extras={})

    def build(self) -> None:
        if self.events:
            self.run_until(CUT_MIN)
            self.cut(BACK_MIN)
        self.run_until(0)
        self.ingest.flush()
        track_cuts(self.context())
        roll_quality(self.context())
        self.ingest.flush()
        self.ingest.store.close()


def build_voltage_house(db: Path, now_ms: int, events: bool = True) -> dict:
    """The house in `db`, its last reading at `now_ms` (without `events`: no sag, cut or surge):
    the node ids and the events' times."""
    VoltageHouse(db, now_ms, events).build()
    return {
        "solar": SOLAR,
        "plain": PLAIN,
        "cut_start_ms": now_ms - CUT_MIN * MINUTE,
        "sag_ms": now_ms - SAG_MIN * MINUTE,
        "surge_ms": now_ms - SURGE_MIN * MINUTE,
    }


def serve_voltage_house(tmp: Path, now_ms: int, clock, events: bool = True):
    """The dashboard on waitress at 127.0.0.1 over a new voltage house in `tmp` on `clock`: (server, site)."""
    from tests.support.browser import serve_dashboard

    db = tmp / "powergw.db"
    house = build_voltage_house(db, now_ms, events=events)
    server = serve_dashboard(db, tmp, clock)
    return server, {"url": server.url, "clock": clock, **house}
