"""Firmware core on the host: CPU time per 1 s measurement window against a baseline loop, and
RMS error against the synthetic signal's true value. Builds firmware/build/bench_meter with make.

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


def report(result: dict) -> str:
    t = result["timing"]
    lines = [
        f"host: {result['host']}",
        f"RMS loop, one 1 s window ({t['samples_per_window']} samples, feed + finish): "
        f"{t['core_us_per_window']:.2f} us = {t['core_ns_per_sample']:.3f} ns/sample; "
        f"baseline sum of the same samples {t['baseline_us_per_window']:.2f} us; ratio {t['ratio']:.1f}x",
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
