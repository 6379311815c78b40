"""Backup benchmark: bytes written to the backup disk per nightly backup, against `cp` in the same run.

    .venv/bin/python benchmarks/bench_backup.py [--days 30] [--runs 3]
    BENCH_DIR=/path/on/the/disk/to/measure .venv/bin/python benchmarks/bench_backup.py

Builds a one-node database with `--days` of 1 s raw readings (inserted directly, as ingest
would have left them: rollups, node state, a rollup watermark 150 readings behind the newest),
then measures, each `--runs` times:

- `cp`: a read/write loop of 1 MiB and an fsync (what `cp` does without reflinks): the floor
  for copying the whole file, though not a consistent copy of a live database;
- `powergw backup --full`: SQLite's online backup API;
- `powergw backup` (compact, 24 h of raw readings, the default) and compact with raw_hours = 0;
- the alternative considered for compact: the backup API into a RAM file (/dev/shm), delete the
  old readings there, `VACUUM INTO` the backup disk.

Bytes are `wchar` (what the process hands the kernel) and `write_bytes` (what reaches the
block device), both from /proc/self/io, and the size of the file left behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import open_store  # noqa: E402
from gateway.ops.backup import take_backup  # noqa: E402

T_END = 1_769_904_000_000  # 2026-02-01 00:00 UTC
NODE = "a4:cf:12:34:56:78"
PENDING = 150  # readings past the rollup watermark (a rollup commit is due every 300 s)
MIB = 2**20


def _io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["wchar"]), int(fields["write_bytes"])


def build(db: Path, days: int) -> dict:
    """A one-node database with `days` of 1 s readings and the rollups ingest would have written."""
    store = open_store(db)
    cal = store.calendar
    key = store.ensure_node(NODE, "bench", T_END - days * 86_400_000)
    seconds = days * 86_400
    start = T_END - seconds * 1000
    minutes: dict[int, int] = {}

    def rows():
        counter = 0
        for i in range(seconds):
            ts = start + (i + 1) * 1000
            delta = 0 if i == 0 else 250 + (i % 7)  # about 900 W
            counter += delta
            if i and i < seconds - PENDING:
                m = (ts - 1000) - (ts - 1000) % 60_000  # one-second interval, always inside one minute
                minutes[m] = minutes.get(m, 0) + delta
            yield (key, ts, ts - 1000, 1, i, 1000 * (i + 1), 9000 + i % 100, 3900, 2300, counter, delta, 4)

    conn = store.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO readings (node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, "
        "vrms_dv, energy_mwh, delta_mwh, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows(),
    )
    hours: dict[int, int] = {}
    daysum: dict[str, int] = {}
    for m, mwh in minutes.items():
        hours[cal.hour_start_ms(m)] = hours.get(cal.hour_start_ms(m), 0) + mwh
        daysum[cal.day(m)] = daysum.get(cal.day(m), 0) + mwh
    conn.executemany(
        "INSERT INTO usage_minute (node_key, start_ms, energy_mwh, covered_ms) VALUES (?,?,?,60000)",
        [(key, m, v) for m, v in minutes.items()],
    )
    conn.executemany(
        "INSERT INTO usage_hour (node_key, start_ms, energy_mwh) VALUES (?,?,?)",
        [(key, h, v) for h, v in hours.items()],
    )
    conn.executemany(
        "INSERT INTO usage_day (node_key, day, energy_mwh) VALUES (?,?,?)", [(key, d, v) for d, v in daysum.items()]
    )
    conn.execute("INSERT INTO meta (key, value) VALUES ('rollup_watermark', ?)", (str(seconds - PENDING),))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = store.total_energy_mwh()
    store.close()
    return {"rows": seconds, "size": db.stat().st_size, "energy_mwh": total}


def cp(src: Path, dst: Path) -> None:
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while chunk := fi.read(MIB):
            fo.write(chunk)
        fo.flush()
        os.fsync(fo.fileno())


def ram_then_vacuum(src: Path, dst: Path, raw_hours: int) -> None:
    """Backup API into /dev/shm, delete old readings there, VACUUM INTO the backup disk."""
    ram = Path(tempfile.mkdtemp(dir="/dev/shm")) / "copy.db"
    try:
        s = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        r = sqlite3.connect(ram, isolation_level=None)
        s.backup(r, pages=-1)
        s.close()
        wm = int(r.execute("SELECT value FROM meta WHERE key = 'rollup_watermark'").fetchone()[0])
        r.execute("DELETE FROM readings WHERE id <= ? AND ts_ms < ?", (wm, T_END - raw_hours * 3_600_000))
        r.execute("VACUUM INTO ?", (str(dst),))
        r.close()
        with open(dst, "rb") as fh:
            os.fsync(fh.fileno())
    finally:
        shutil.rmtree(ram.parent)


def measure(name: str, fn, out: Path, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        os.sync()
        w0, b0 = _io()
        t = time.perf_counter()
        path = fn(out)
        seconds = time.perf_counter() - t
        w1, b1 = _io()
        samples.append((w1 - w0, b1 - b0, path.stat().st_size, seconds, path))
    w, b, size, _, path = samples[-1]
    return {
        "name": name,
        "wchar": w,
        "write_bytes": b,
        "size": size,
        "seconds": statistics.median(s[3] for s in samples),
        "path": path,
    }


def check(path: Path, energy_mwh: int) -> str:
    store = open_store(path, readonly=True)
    try:
        ok = store.integrity_check()
        same = store.total_energy_mwh() == energy_mwh
        raw = store.conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    finally:
        store.close()
    return f"integrity {ok}, energy {'identical' if same else 'DIFFERENT'}, {raw:,} raw readings"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="powergw-bench-", dir=os.environ.get("BENCH_DIR")))
    try:
        db = tmp / "powergw.db"
        t = time.perf_counter()
        facts = build(db, args.days)
        print(
            f"one node, {args.days} days of 1 s readings: {facts['rows']:,} rows, {facts['size'] / MIB:.1f} MiB "
            f"(built in {time.perf_counter() - t:.0f} s), SQLite {sqlite3.sqlite_version}, in {tmp}"
        )

        def backup(kind: str, raw_hours: int = 24):
            return lambda out: (
                take_backup(db, out, keep=1, now_ms=T_END, force=True, kind=kind, raw_hours=raw_hours).path
            )

        def to(fn):
            def run(out: Path) -> Path:
                fn(db, out / "copy.db")
                return out / "copy.db"

            return run

        methods = [
            ("cp (read/write + fsync)", to(cp)),
            ("backup --full (online backup API)", backup("full")),
            ("backup, compact, raw_hours = 24 (default)", backup("compact")),
            ("backup, compact, raw_hours = 0", backup("compact", 0)),
            ("alternative: API to /dev/shm, prune, VACUUM INTO", to(lambda s, d: ram_then_vacuum(s, d, 24))),
        ]
        rows = [measure(name, fn, tmp / f"out{i}", args.runs) for i, (name, fn) in enumerate(methods)]
        cp_bytes = rows[0]["write_bytes"] or rows[0]["wchar"]
        print(f"\n{'':52} {'wchar MiB':>10} {'write_bytes MiB':>16} {'file MiB':>9} {'s':>6} {'vs cp':>7}")
        for r in rows:
            print(
                f"{r['name']:52} {r['wchar'] / MIB:10.2f} {r['write_bytes'] / MIB:16.2f} {r['size'] / MIB:9.2f} "
                f"{r['seconds']:6.2f} {(r['write_bytes'] or r['wchar']) / cp_bytes:7.3f}"
            )
        print()
        for r in rows[1:]:
            print(f"{r['name']}: {check(r['path'], facts['energy_mwh'])}")
        per_day = facts["size"] / args.days
        print(
            f"\nraw readings: {per_day / MIB:.2f} MiB per node-day; ingest writes ~0.81 MB per node-hour "
            f"(docs/ingest.md), {0.81e6 * 24 / MIB:.1f} MiB per node-day"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
