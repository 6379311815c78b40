"""Ingest benchmarks for issue 2, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench_ingest.py [--frames 200000] [--quick]

1. Throughput: decode + account + store of READING frames (bytes in, committed rows out),
   against plain sqlite3 `executemany` of the same rows into the same table (the ceiling).
2. Disk writes per node-hour at 1 frame/s for several commit intervals (bytes SQLite hands to
   the kernel, `wchar`, and bytes the kernel sends to the block device, `write_bytes`, both
   from /proc/self/io), with the loss window each interval implies.
3. Usage query latency (p50/p95) for a day, month and year view with 4 years of 1-minute
   history, against the same queries with one month of history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import open_store  # noqa: E402
from gateway.clock import AnchoredClock, ManualClock  # noqa: E402
from gateway.ingest import Ingest  # noqa: E402
from gateway.protocol import Reading, encode_wire  # noqa: E402

T0 = 1_767_225_600_000
NODES = [f"a4:cf:12:34:56:{i:02x}" for i in range(4)]


def make_stream(frames: int) -> tuple[bytes, list]:
    """Wire bytes for `frames` READINGs round-robin over 4 nodes, and the rows they produce."""
    counters = [0] * len(NODES)
    parts = []
    for i in range(frames):
        n = i % len(NODES)
        seq = i // len(NODES)
        counters[n] += 250 + (seq % 7)
        parts.append(encode_wire(Reading(NODES[n], 1, seq, 1000 * (seq + 1), 1000, 4000, 2300, 9000, counters[n], 4)))
    return b"".join(parts), counters


def bench_throughput(frames: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="powergw-bench-"))
    data, _ = make_stream(frames)
    chunk = 4096  # what a serial read hands over at a time
    batch_frames = 10_000

    store = open_store(tmp / "ingest.db")
    clock = ManualClock(T0)
    ingest = Ingest(store, AnchoredClock(clock), commit_interval_ms=10**12)
    t = time.perf_counter()
    fed = 0
    for off in range(0, len(data), chunk):
        ingest.feed("bench", data[off : off + chunk])
        clock.advance(1)
        if ingest.frames - fed >= batch_frames:
            ingest.flush()
            fed = ingest.frames
    ingest.flush()
    ingest_s = time.perf_counter() - t
    rows = store.conn.execute(
        "SELECT node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, vrms_dv, energy_mwh, "
        "delta_mwh, flags FROM readings ORDER BY id"
    ).fetchall()
    schema = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'readings'").fetchone()[0]
    store.close()

    conn = sqlite3.connect(tmp / "ceiling.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(schema)
    sql = (
        "INSERT INTO readings (node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, vrms_dv, "
        "energy_mwh, delta_mwh, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    t = time.perf_counter()
    for off in range(0, len(rows), batch_frames):
        conn.execute("BEGIN")
        conn.executemany(sql, rows[off : off + batch_frames])
        conn.execute("COMMIT")
    ceiling_s = time.perf_counter() - t
    conn.close()
    shutil.rmtree(tmp)
    return {
        "frames": frames,
        "ingest_fps": frames / ingest_s,
        "ceiling_fps": len(rows) / ceiling_s,
        "ratio": (frames / ingest_s) / (len(rows) / ceiling_s),
    }


def _io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["wchar"]), int(fields["write_bytes"])


def bench_writes(interval_s: float, nodes: int = 1, hours: float = 1.0) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="powergw-bench-", dir=os.environ.get("BENCH_DIR")))
    store = open_store(tmp / "w.db")
    clock = ManualClock(T0)
    ingest = Ingest(store, AnchoredClock(clock), commit_interval_ms=int(interval_s * 1000), rollup_interval_ms=300_000)
    counters = [0] * nodes
    seconds = int(hours * 3600)
    os.sync()
    w0, b0 = _io()
    for s in range(seconds):
        for n in range(nodes):
            counters[n] += 250
            ingest.feed(
                f"n{n}", encode_wire(Reading(NODES[n], 1, s, 1000 * (s + 1), 1000, 4000, 2300, 9000, counters[n], 4))
            )
        clock.advance(1000)
    ingest.flush()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    os.sync()
    w1, b1 = _io()
    shutil.rmtree(tmp)
    per = nodes * hours
    return {
        "interval_s": interval_s,
        "nodes": nodes,
        "wchar_per_node_hour": (w1 - w0) / per,
        "write_bytes_per_node_hour": (b1 - b0) / per,
        "commits": ingest.commits,
    }


def _fill_history(db: Path, days: int) -> float:
    """One node's minutes over `days`, as the rollups hold them; returns seconds to rebuild the house rollup."""
    from gateway.house_rollup import HouseRollup
    from gateway.store import transaction

    store = open_store(db)
    conn = store.conn
    key = store.ensure_node(NODES[0], "bench", T0)
    cal = store.calendar
    end = T0
    start = end - days * 86_400_000
    rnd = random.Random(1)
    minutes, hours, daysum = [], {}, {}
    for m in range(start, end, 60_000):
        mwh = 5_000 + rnd.randrange(10_000)
        minutes.append((key, m, mwh, 60_000))
        hours[cal.hour_start_ms(m)] = hours.get(cal.hour_start_ms(m), 0) + mwh
        d = cal.day(m)
        daysum[d] = daysum.get(d, 0) + mwh
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO usage_minute (node_key, start_ms, energy_mwh, covered_ms) VALUES (?,?,?,?)", minutes)
    conn.executemany("INSERT INTO usage_hour VALUES (?,?,?)", [(key, h, v) for h, v in hours.items()])
    conn.executemany("INSERT INTO usage_day VALUES (?,?,?)", [(key, d, v) for d, v in daysum.items()])
    conn.execute("COMMIT")
    t = time.perf_counter()
    with transaction(store) as c:  # what a metering change from the first day costs
        HouseRollup(c, cal).rebuild(0)
    seconds = time.perf_counter() - t
    store.close()
    return seconds


def _latency(db: Path, runs: int) -> dict:
    store = open_store(db, readonly=True)
    cal = store.calendar
    end = T0
    views = {
        "day (minute)": (end - 86_400_000, end, "minute"),
        "month (hour)": (end - 30 * 86_400_000, end, "hour"),
        "month (day)": (end - 30 * 86_400_000, end, "day"),
        "year (day)": (end - 365 * 86_400_000, end, "day"),
    }
    out = {}
    for name, (s, e, res) in views.items():
        times = []
        for query, label in ((store.usage, name), (store.house_usage, f"house {name}")):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                rows = query(s, e, res)
                times.append((time.perf_counter() - t) * 1000)
            assert rows
            times.sort()
            out[label] = (statistics.median(times), times[int(0.95 * len(times)) - 1], len(rows))
    store.close()
    del cal
    return out


def bench_queries(runs: int, years: int) -> tuple[dict, dict, tuple[float, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="powergw-bench-"))
    rebuilds = (_fill_history(tmp / "month.db", 31), _fill_history(tmp / "years.db", 365 * years + 1))
    base = _latency(tmp / "month.db", runs)
    big = _latency(tmp / "years.db", runs)
    shutil.rmtree(tmp)
    return base, big, rebuilds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the benchmark itself)")
    args = ap.parse_args()
    frames = 20_000 if args.quick else args.frames
    print(
        f"powergw ingest benchmark, {dt.datetime.now().isoformat(timespec='seconds')}, "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores"
    )

    print("\n1. decode + account + store throughput (4 nodes, commits every 10,000 frames)")
    r = bench_throughput(frames)
    print(f"   powergw ingest      {r['ingest_fps']:>10,.0f} frames/s")
    print(f"   sqlite3 executemany {r['ceiling_fps']:>10,.0f} rows/s   (ceiling: the same rows, no decoding)")
    print(f"   ratio ingest/ceiling {r['ratio']:.2f}")

    print("\n2. bytes written per node-hour at 1 frame/s (1 node unless stated)")
    print("   commit interval   wchar/node-h    block writes/node-h   commits   loss window (raw rows only)")
    hours = 0.25 if args.quick else 1.0
    for interval, nodes in ((1, 1), (5, 1), (10, 1), (30, 1), (60, 1), (10, 4)):
        w = bench_writes(interval, nodes, hours)
        label = f"{interval:>4} s" + (f" ({nodes} nodes)" if nodes > 1 else "")
        print(
            f"   {label:<16} {w['wchar_per_node_hour'] / 1e6:>9.2f} MB   "
            f"{w['write_bytes_per_node_hour'] / 1e6:>12.2f} MB   {w['commits']:>8}   {interval} s"
        )

    print("\n3. usage query latency, ms (p50 / p95 over runs), 4 years of 1-minute history vs 1 month")
    runs = 30 if args.quick else 200
    years = 1 if args.quick else 4
    base, big, (month_s, years_s) = bench_queries(runs, years)
    print("   (a year view over one month of history returns 31 rows, not 366: compare p95 per row)")
    print("   view                  1 month p50/p95 (rows)      4 years p50/p95 (rows)     ratio p95   ratio p95/row")
    for name in big:
        b50, b95, bn = base[name]
        g50, g95, n = big[name]
        print(
            f"   {name:<21} {b50:>6.2f} / {b95:<6.2f} ({bn:>5})   {g50:>6.2f} / {g95:<6.2f} "
            f"({n:>5})   {g95 / b95:>8.2f}   {(g95 / n) / (b95 / bn):>8.2f}"
        )
    print(
        f"\n4. house rollup rebuilt from every minute (a metering change from the first day), one node:\n"
        f"   1 month {month_s:.2f} s, {years} year(s) {years_s:.2f} s, ratio {years_s / month_s:.1f} "
        f"for {(365 * years + 1) / 31:.1f}x the minutes"
    )


if __name__ == "__main__":
    main()
