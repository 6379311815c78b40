"""Small builders shared by the core tests (real SQLite files, manual clocks, real frames)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

from gateway.app import open_store
from gateway.clock import AnchoredClock, ManualClock
from gateway.ingest import Ingest, LiveBoard
from gateway.protocol import Reading, encode_wire

NODE = "a4:cf:12:34:56:78"
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC = 05:30 IST


def make_ingest(db: Path, *, wall_ms: int = T0, synced: bool = True, commit_ms: int = 10_000, live: Path | None = None):
    store = open_store(db)
    manual = ManualClock(wall_ms, synced=synced)
    ingest = Ingest(store, AnchoredClock(manual, 2000), commit_interval_ms=commit_ms, live=LiveBoard(live))
    return ingest, manual


@contextmanager
def stand_in_writer(db: Path, every_s: float = 0.005):
    """A second writer on the same database while the block runs, as the daemon's ingest would be
    (a meta key every `every_s`); yields the list of its write latencies in seconds."""
    store = open_store(db)
    stop, latencies = threading.Event(), []

    def write() -> None:
        n = 0
        while not stop.is_set():
            t = time.perf_counter()
            store.set_meta("ingest_tick", str(n))
            latencies.append(time.perf_counter() - t)
            n += 1
            time.sleep(every_s)

    writer = threading.Thread(target=write, name="stand-in-ingest")
    writer.start()
    try:
        yield latencies
    finally:
        stop.set()
        writer.join()
        store.close()


@contextmanager
def ingesting(db: Path, *, start_ms: int, node: str = "a4:cf:12:34:56:7a", every_s: float = 0.005):
    """A node streaming through a real Ingest into `db` while the block runs, as the daemon's ingest
    thread does: a frame per simulated second (1.2 kW), a commit every 5 frames, rollups every 5
    minutes, all flushed when the block ends. Yields a dict that fills as it goes: `frames`,
    `sent_mwh` (energy after the first frame, which is the baseline), `feed_s` (each frame's
    feed, its commit included, in seconds) and `error` (what stopped the stream, if anything)."""
    manual = ManualClock(start_ms)
    ingest = Ingest(open_store(db), AnchoredClock(manual, 2000), commit_interval_ms=5000, live=LiveBoard(None))
    stop = threading.Event()
    sent: dict = {"frames": 0, "sent_mwh": 0, "feed_s": [], "error": None}

    def stream() -> None:
        energy = 10_000
        try:
            while not stop.is_set():
                manual.advance(1000)
                t = time.perf_counter()
                ingest.feed(
                    "load", reading_wire(sent["frames"], energy, node=node, power_dw=12_000), transport="serial"
                )
                sent["feed_s"].append(time.perf_counter() - t)
                sent["sent_mwh"] = energy - 10_000
                sent["frames"] += 1
                energy += 333
                time.sleep(every_s)
        except Exception as err:  # noqa: BLE001 - the test asserts there was none
            sent["error"] = repr(err)

    streamer = threading.Thread(target=stream, name="load-ingest")
    streamer.start()
    try:
        yield sent
    finally:
        stop.set()
        streamer.join()
        ingest.flush()
        ingest.store.close()


def reading_wire(
    seq: int,
    energy_mwh: int,
    *,
    node: str = NODE,
    boot: int = 1,
    power_dw: int = 10_000,
    uptime_ms: int | None = None,
    flags: int = 0,
) -> bytes:
    uptime = uptime_ms if uptime_ms is not None else 1000 * (seq + 1)
    return encode_wire(Reading(node, boot, seq, uptime, 1000, 4350, 2300, power_dw, energy_mwh, flags))
