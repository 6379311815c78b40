"""Supply benchmarks: what the power-cut job and the voltage roll-up cost the daemon.

    .venv/bin/python benchmarks/bench_supply.py [--nodes 5] [--hours 24]

A real Ingest writes `hours` of READING_BIDIR frames (one a second per node, a 40-minute cut in the
middle) into a fresh SQLite file; then it times the cut job's catch-up over all of it (a gateway
back after a long stop), its ordinary one-minute run, and the voltage roll-up of a full day.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import JobContext, open_store  # noqa: E402
from gateway.clock import AnchoredClock, ManualClock  # noqa: E402
from gateway.config import Config  # noqa: E402
from gateway.ingest import Ingest, LiveBoard  # noqa: E402
from gateway.protocol import Reading, encode_wire  # noqa: E402
from gateway.supply.jobs import roll_quality, track_cuts  # noqa: E402

T0 = 1_767_205_800_000  # 2026-01-01 00:00 IST


def fill(db: Path, nodes: int, hours: int) -> tuple[Ingest, ManualClock, int]:
    manual = ManualClock(T0)
    ingest = Ingest(open_store(db), AnchoredClock(manual, 2000), commit_interval_ms=30_000, live=LiveBoard(None))
    ids = [f"a4:cf:12:00:01:{i:02x}" for i in range(nodes)]
    boot, up, seq, energy = [1] * nodes, [0] * nodes, [0] * nodes, [0] * nodes
    frames = 0
    for s in range(hours * 3600):
        manual.advance(1000)
        if s == hours * 1800:
            ingest.flush()
            manual.advance(40 * 60_000)
            boot, up, seq = [b + 1 for b in boot], [0] * nodes, [0] * nodes
        for i, nid in enumerate(ids):
            up[i] += 1000
            seq[i] += 1
            energy[i] += 100
            vrms = 2300 + (s % 600) - 300
            frame = Reading(nid, boot[i], seq[i], up[i], 1000, 1500, vrms, 3400, energy[i], 8, 0, 950)
            ingest.feed(nid, encode_wire(frame), transport="serial")
            frames += 1
    ingest.flush()
    return ingest, manual, frames


def timed(fn, ctx) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(ctx)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--hours", type=int, default=24)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ingest, manual, frames = fill(Path(tmp) / "powergw.db", args.nodes, args.hours)
        print(f"{frames} readings of {args.nodes} nodes over {args.hours} h written in {time.perf_counter() - t:.1f} s")
        store = ingest.store
        config = Config({})

        def ctx() -> JobContext:
            now = manual.wall_ms()
            return JobContext(store=store, config=config, now_ms=lambda: now, extras={})

        took, cuts = timed(track_cuts, ctx())
        print(
            f"cut job, catch-up over every reading: {took * 1000:.0f} ms ({frames / took:,.0f} readings/s), "
            f"{len(cuts)} cut"
        )
        manual.advance(60_000)
        took, _ = timed(track_cuts, ctx())
        print(f"cut job, a run with nothing new: {took * 1000:.1f} ms")
        took, days = timed(roll_quality, ctx())
        rows = sum(len(v) for v in days.values())
        print(f"voltage roll-up of {len(days)} day(s), {rows} rows written: {took * 1000:.0f} ms")
        store.close()


if __name__ == "__main__":
    main()
