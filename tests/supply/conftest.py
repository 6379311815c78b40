"""A fleet of nodes streaming real frames through a real Ingest into a real SQLite file, with a manual
clock, and the supply part's jobs run on that file as the daemon runs them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.app import JobContext
from gateway.config import Config
from gateway.protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Reading, encode_wire
from gateway.supply.jobs import roll_quality, track_cuts
from tests.support.ingest import T0, make_ingest


@dataclass
class Node:
    node_id: str
    boot: int = 1
    seq: int = 0
    uptime_ms: int = 0
    energy_mwh: int = 5_000
    volts: bool = False  # a voltage module: READING_BIDIR with the measured Vrms


class Fleet:
    """Nodes on one gateway, by name ("mains", "kitchen"; node ids a4:cf:12:00:00:01 and on): `run`
    streams a reading a second from each."""

    def __init__(self, db, node_ids=("mains", "kitchen"), *, volts=(), ble=()):
        self.db = db
        self.ingest, self.clock = make_ingest(db, commit_ms=5_000)
        self.nodes = {n: Node(f"a4:cf:12:00:00:{i + 1:02x}", volts=n in volts) for i, n in enumerate(node_ids)}
        self.config = Config({})
        self.transport = {n: "ble" if n in ble else "serial" for n in node_ids}

    def now(self) -> int:
        return self.clock.wall_ms()

    def run(self, seconds: int, only=None, vrms_dv=2300) -> None:
        """`seconds` of readings from the nodes (all, or `only`); `vrms_dv` a value or a function of the second."""
        for i in range(seconds):
            self.clock.advance(1000)
            for name, node in self.nodes.items():
                node.uptime_ms += 1000
                if only is not None and name not in only:
                    continue
                v = vrms_dv(i) if callable(vrms_dv) else vrms_dv
                self.send(node, v, self.transport[name])
        self.ingest.tick()

    def send(self, node: Node, vrms_dv: int, transport: str = "serial") -> None:
        node.seq += 1
        node.energy_mwh += 100
        flags = FLAG_RESTORED if node.seq == 1 else 0
        extra = {"export_mwh": 0, "pf_milli": 1000} if node.volts else {}
        flags |= 0 if node.volts else FLAG_NOMINAL_VOLTAGE
        frame = Reading(
            node.node_id,
            node.boot,
            node.seq,
            node.uptime_ms,
            1000,
            1500,
            vrms_dv,
            3400,
            node.energy_mwh,
            flags,
            **extra,
        )
        self.ingest.feed(node.node_id, encode_wire(frame), transport=transport)

    def silence(self, ms: int, powered=()) -> None:
        """Nobody reports for `ms`; the nodes in `powered` keep their power (and their uptime)."""
        self.ingest.flush()
        self.clock.advance(ms)
        for name, node in self.nodes.items():
            node.uptime_ms += ms if name in powered else 0

    def restart(self, *node_ids: str, booted_ms_ago: int = 1_500) -> None:
        """The nodes boot anew (new boot_id, counter restored from flash), `booted_ms_ago` before now."""
        for n in node_ids:
            node = self.nodes[n]
            node.boot += 1
            node.seq = 0
            node.uptime_ms = booted_ms_ago - 1000  # the next `run` second adds 1000

    def context(self, now_ms: int | None = None, extras=None, **supply) -> JobContext:
        config = self.config.replace("supply", **supply) if supply else self.config
        now = self.now() if now_ms is None else now_ms
        return JobContext(store=self.ingest.store, config=config, now_ms=lambda: now, extras=extras or {})

    def cuts_job(self, now_ms: int | None = None, **supply):
        self.ingest.flush()
        return track_cuts(self.context(now_ms, **supply))

    def quality_job(self, now_ms: int | None = None, **supply):
        self.ingest.flush()
        return roll_quality(self.context(now_ms, **supply))


@pytest.fixture
def fleet(tmp_path):
    f = Fleet(tmp_path / "powergw.db")
    yield f
    f.ingest.store.close()


@pytest.fixture
def make_fleet(tmp_path):
    made = []

    def make(*node_ids, volts=(), ble=(), name="powergw.db"):
        f = Fleet(tmp_path / name, node_ids or ("mains", "kitchen"), volts=volts, ble=ble)
        made.append(f)
        return f

    yield make
    for f in made:
        f.ingest.store.close()


__all__ = ["T0", "Fleet"]
