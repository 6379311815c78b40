"""The meter evidence on a real house: the UCI house's own meter against what a current-only node reads.

    .venv/bin/python scripts/evaluate_meter_uci.py [--periods 30,61] [--taps 25,50,100,150,300]

The UCI table has, per minute, the real power the utility meter counts (Global_active_power) and
the current (Global_intensity, A). A powergw node without a voltage channel reports nominal voltage
× current × one configured power factor, so the house's real load mix (power factor) and its
voltage make the meter/sensor ratio drift from period to period: that drift is what the meter check
must not take for a tap. This cuts each part of the house (holdout 2006-12-17 .. 2008-12-31,
development 2009-01-01 ..) into meter periods of 30 and 61 days, learns the ratio on the first
and judges every later one with `edge_model.meter_evidence.judge`, the function the daemon runs:
clean (any alert is false), and with a steady tap before the sensors (added to the meter only),
reporting how many periods catch it and how far the watts estimate is from the tap.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge_model.meter_evidence import MeterPeriod, judge  # noqa: E402
from edge_model.recordings import UCI_MEMBER, UCI_SPLIT, find_uci_wheel  # noqa: E402

NOMINAL_V = 230.0


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minute as datetime64[m], real W, current-only node W) for every minute with a measurement."""
    with zipfile.ZipFile(find_uci_wheel()) as archive:
        text = archive.read(UCI_MEMBER).decode()
    rows = csv.reader(io.StringIO(text))
    next(rows)
    when, real, current = [], [], []
    for row in rows:
        if row[1] == "?":
            continue
        when.append(row[0])
        real.append(float(row[1]) * 1000.0)
        current.append(float(row[4]))
    return np.array(when, dtype="datetime64[m]"), np.array(real), NOMINAL_V * np.array(current)


def periods_of(when, real, node, start, end, days: int) -> list[tuple[int, int, float, float, float]]:
    out = []
    edges = np.arange(start, end, np.timedelta64(days, "D"))
    for a, b in zip(edges[:-1], edges[1:], strict=False):
        m = (when >= a) & (when < b)
        out.append(
            (
                int(a.astype(np.int64)) * 60_000,
                int(b.astype(np.int64)) * 60_000,
                real[m].sum() / 60_000,
                node[m].sum() / 60_000,
                m.sum() / (days * 1440),
            )
        )
    return out


def run(periods, tap_w: float):
    made = []
    for k, (a, b, meter, sensors, coverage) in enumerate(periods):
        extra = tap_w * (b - a) / 3_600_000 / 1000 if k else 0.0  # the tap starts after the learned period
        made.append(MeterPeriod(a, b, meter + extra, sensors, coverage, k))
    return judge(made)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", default="30,61", help="meter period lengths in days (default 30,61)")
    parser.add_argument("--taps", default="25,50,100,150,300", help="steady taps in W (default 25,50,100,150,300)")
    args = parser.parse_args()
    when, real, node = load()
    split = np.datetime64(UCI_SPLIT.isoformat(), "m")
    parts = {"holdout": (np.datetime64("2006-12-17T00:00", "m"), split), "development": (split, when[-1])}
    for part, (start, end) in parts.items():
        for days in (int(d) for d in args.periods.split(",")):
            periods = periods_of(when, real, node, start, end, days)
            ratios = [m / s for _, _, m, s, _ in periods]
            clean = run(periods, 0.0)
            print(
                f"{part}, {days}-day periods: {len(periods)}, meter/sensor ratio {min(ratios):.3f} .. "
                f"{max(ratios):.3f} "
                f"(median {np.median(ratios):.3f}); judged {len(clean)}, false alerts {sum(j.tap for j in clean)}; "
                f"|excess| p95 {np.quantile([abs(j.excess_share) for j in clean], 0.95) * 100:.1f} %"
            )
            for tap_w in (float(w) for w in args.taps.split(",")):
                judged = run(periods, tap_w)
                caught = [j for j in judged if j.tap]
                err = [abs(j.watts - tap_w) / tap_w * 100 for j in caught]
                est = f"watts estimate off by median {np.median(err):.0f} %, at most {max(err):.0f} %" if err else ""
                print(f"    {tap_w:5.0f} W all day: caught in {len(caught)} of {len(judged)} periods; {est}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
