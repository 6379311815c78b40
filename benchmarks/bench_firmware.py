"""Firmware core on the host: CPU time per 1 s measurement window against a baseline loop and, with
the voltage channel, against today's current-only window; RMS error against the synthetic signal's
true value; and the voltage channel's real-power error across power factors and harmonic content
(simulated signals). Builds firmware/build/bench_meter with make.

    .venv/bin/python benchmarks/bench_firmware.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"


def run() -> dict:
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), "bench"], check=True)
    out = subprocess.run([str(FIRMWARE / "build" / "bench_meter")], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    result["host"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    return result


def power_table(rows: list[dict]) -> list[str]:
    """The voltage channel's real-power error per displacement PF and current distortion (simulated)."""
    lines = [
        "Real power of the voltage channel, simulated: 2 kHz per channel, 4.5 deg skew, ZMPT101B leading 3 deg,",
        "mains with 3 % 3rd and 4 % 5th harmonic, 2 mV noise; mean (worst window) of 5 windows after pcal=now.",
        "",
        "| current | displacement PF | true PF | import error % | export error % | factory phase only % |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['current']} | {r['displacement_pf']:.2f} | {r['true_pf']:.3f} | "
            f"{r['import_error_pct']:+.2f} ({r['import_worst_pct']:+.2f}) | "
            f"{r['export_error_pct']:+.2f} ({r['export_worst_pct']:+.2f}) | {r['factory_phase_error_pct']:+.1f} |"
        )
    return lines


def report(result: dict) -> str:
    t = result["timing"]
    two = result["two_channel"]
    lines = [
        f"host: {result['host']}",
        f"RMS loop, one 1 s window ({t['samples_per_window']} samples, feed + finish): "
        f"{t['core_us_per_window']:.2f} us = {t['core_ns_per_sample']:.3f} ns/sample; "
        f"baseline sum of the same samples {t['baseline_us_per_window']:.2f} us; ratio {t['ratio']:.1f}x",
        f"two channels, one 1 s window: 2000 pairs (2 kHz each) {two['two_channel_2k_us']:.2f} us = "
        f"{two['ratio_2k']:.2f}x the current-only window; 4000 pairs (4 kHz each) "
        f"{two['two_channel_4k_us']:.2f} us = {two['ratio_4k']:.2f}x",
        "",
        *power_table(result["power"]),
        "",
        "| load W | true Irms A | mains Hz | zero=now | mean error % | max error % |",
        "| ---: | ---: | ---: | :---: | ---: | ---: |",
    ]
    for row in result["accuracy"]:
        lines.append(
            f"| {row['watts']:.0f} | {row['true_irms_a']:.4f} | {row['freq_hz']:.2f} | "
            f"{'yes' if row['zero_now'] else 'no'} | {row['mean_error_pct']:.3f} | {row['max_error_pct']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    result = run()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
