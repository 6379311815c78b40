"""Billing speed: bills per second per tariff against a trivial baseline in the same run, slab
position, the live estimate on a store with a full cycle of data, and ledger payments.

    .venv/bin/python benchmarks/bench_billing.py [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.app import open_store
from gateway.batch import Batch
from gateway.billing.estimate import cycle_estimate
from gateway.billing.ledger import Ledger
from gateway.billing.tariff import BillOptions, compute_bill, slab_position
from gateway.billing.tariff_book import TariffBook
from gateway.config import parse_config

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
UNITS = [Decimal(u) for u in range(0, 1200, 7)]


def rate(fn, seconds: float = 1.0) -> float:
    """Calls of fn() per second (fn runs over all UNITS once per call)."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n * len(UNITS) / (time.perf_counter() - start)


def baseline() -> None:
    # The trivial bill: one Decimal multiply and round per unit count.
    r = Decimal("4.70")
    for u in UNITS:
        (u * r).quantize(Decimal("0.01"))


def run() -> dict:
    book = TariffBook.load()
    day = dt.date(2025, 7, 1)
    opts = BillOptions(Decimal(3), True)
    out: dict = {"host": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"}
    out["baseline_per_s"] = rate(baseline)
    for name in ("tn-domestic", "delhi-domestic", "kerala-domestic"):
        t = book.in_force(name, day)
        out[f"{name}_bills_per_s"] = rate(lambda t=t: [compute_bill(t, u, opts) for u in UNITS])
    tn = book.in_force("tn-domestic", day)
    bounds = tn.boundaries()
    start = time.perf_counter()
    for u in UNITS:
        slab_position(lambda x: compute_bill(tn, x), bounds, u)
    out["slab_position_ms"] = 1000 * (time.perf_counter() - start) / len(UNITS)

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        key = store.ensure_node("main", "bench", 0)
        first = dt.date(2025, 5, 5)
        batch = Batch()
        for d in range(120):  # a previous and the current cycle, hourly intervals
            for h in range(24):
                s = int(dt.datetime.combine(first + dt.timedelta(days=d), dt.time(h), IST).timestamp() * 1000)
                batch.add_energy(key, s, s + 3_600_000, 250_000 + 40_000 * (h in (19, 20, 21)))
        store.write_batch(batch, [])
        cfg = parse_config({"billing": {"meter_reading_date": "2025-07-05", "budget_inr": 2000}})
        now = int(dt.datetime(2025, 9, 1, 12, tzinfo=IST).timestamp() * 1000)
        cycle_estimate(store, cfg.billing, book, now)  # warm (holidays, caches)
        runs, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2.0:
            cycle_estimate(store, cfg.billing, book, now)
            runs += 1
        out["live_estimate_ms"] = 1000 * (time.perf_counter() - start) / runs
        ledger = Ledger(store)
        start = time.perf_counter()
        for i in range(500):
            ledger.record_payment("100.50", payment_key=f"b{i}", now_ms=now + i)
        out["payments_per_s"] = 500 / (time.perf_counter() - start)
        store.close()
    return out


def report(r: dict) -> str:
    lines = [f"host: {r['host']}", f"baseline (units × rate): {r['baseline_per_s']:,.0f}/s"]
    for name in ("tn-domestic", "delhi-domestic", "kerala-domestic"):
        v = r[f"{name}_bills_per_s"]
        lines.append(f"{name}: {v:,.0f} bills/s ({r['baseline_per_s'] / v:.0f}× the baseline's cost)")
    lines += [
        f"slab position (next boundary and jump, ~12 bills): {r['slab_position_ms']:.2f} ms",
        f"live estimate (60-day cycle, hourly rollups, both projections): {r['live_estimate_ms']:.1f} ms",
        f"ledger payments (one transaction each, WAL, synchronous=NORMAL): {r['payments_per_s']:,.0f}/s",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    r = run()
    print(report(r))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
