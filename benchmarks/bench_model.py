"""Theft model benchmarks: onnxruntime vs sklearn predict_proba (one window, a day's batch), the
daemon's whole scoring pass over a house's history, model size, RSS.

    .venv/bin/python benchmarks/bench_model.py [--json] [--households N]

Trains a forest with the shipped model's params (on --households simulated houses, default the
shipped data set's count) so sklearn and onnxruntime score the same trees in the same run; the
ratio onnxruntime/sklearn is measured in one run, so it holds on a noisy machine. The scoring pass
(`edge_model.scored.score_house` over the history the daemon reads: features, forest, steady-lift
detector) is timed against building the features alone, its baseline. Resident memory is measured
in fresh subprocesses: one that only loads the model with onnxruntime and scores a house's
history (what the daemon adds), and one that also imports the gateway's store and alerting core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RSS_PROBE = """
import datetime as dt, sys
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
base = rss_mb()
import numpy as np
from gateway.public_holidays import HolidayCalendar
from edge_model.dataset import simulated_house
from edge_model.scored import score_house
from edge_model.scoring import Scorer
from edge_model.registry import SHIPPED_MODEL_DIR
from edge_model.store_job import HISTORY_DAYS
{extra}
scorer = Scorer(SHIPPED_MODEL_DIR)
series, state = simulated_house(900_000, HISTORY_DAYS)
score_house(series, scorer, HolidayCalendar(state))
print(base, rss_mb(), "sklearn" in sys.modules)
"""


def _time(fn, repeat: int) -> float:
    """Median seconds per call over `repeat` calls after a warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples))


def main() -> int:
    args = _parse_args()

    from dataclasses import replace

    from edge_model.dataset import DatasetSpec
    from edge_model.registry import SHIPPED_MODEL_DIR
    from edge_model.training import ForestParams

    meta = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    spec = DatasetSpec(**meta["dataset"])
    if args.households:
        spec = replace(spec, households=args.households)
    params = ForestParams(**meta["training"]["forest"])
    forest, onnx_bytes, session, train_s = _train(spec, params)
    rows, scoring_pass = _scoring_pass()
    results = {
        "train_seconds_same_params_as_shipped": round(train_s, 1),
        "model_bytes": len(onnx_bytes),
        "shipped_model_bytes": (SHIPPED_MODEL_DIR / "model.onnx").stat().st_size,
        "trees": params.n_trees,
        "nodes": int(sum(t.tree_.node_count for t in forest.estimators_)),
        "trained_on_households": spec.households,
        "scoring_pass": scoring_pass,
    }
    results.update(_speedups(forest, session, rows))
    results.update(_rss())

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    _print_results(results, spec.households, train_s)
    return 0


def _parse_args() -> argparse.Namespace:
    """The command line: --json, --households."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--households", type=int, default=None, help="simulated houses to train on (default: the shipped model's)"
    )
    return parser.parse_args()


def _train(spec, params):
    """A forest trained on `spec` with `params`, its ONNX bytes, a one-thread onnxruntime session, the seconds taken."""
    import onnxruntime as ort

    from edge_model.dataset import training_examples
    from edge_model.training import export_onnx, train_forest

    data = training_examples(spec)
    t0 = time.perf_counter()
    forest = train_forest(data.X, data.y, data.weight, params, progress=False)
    train_s = time.perf_counter() - t0
    forest.set_params(n_jobs=1)  # the Pi scores on one core; same for both
    onnx_bytes = export_onnx(forest)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    return forest, onnx_bytes, session, train_s


def _scoring_pass() -> tuple[np.ndarray, dict]:
    """A house's model input rows, and the daemon's scoring pass over its history timed against the features alone."""
    from edge_model.dataset import EVAL_SEEDS, simulated_house
    from edge_model.features import as_model_input, build_features
    from edge_model.registry import SHIPPED_MODEL_DIR
    from edge_model.scored import score_house
    from edge_model.scoring import Scorer
    from edge_model.store_job import HISTORY_DAYS
    from gateway.public_holidays import HolidayCalendar

    series, state = simulated_house(EVAL_SEEDS, HISTORY_DAYS)
    calendar = HolidayCalendar(state)
    rows = as_model_input(build_features(series, calendar).rows)
    shipped = Scorer(SHIPPED_MODEL_DIR)
    features_s = _time(lambda: build_features(series, calendar), 5)
    pass_s = _time(lambda: score_house(series, shipped, calendar), 5)
    return rows, {
        "history_days": HISTORY_DAYS,
        "features_only_s": features_s,
        "whole_pass_s": pass_s,
        "ratio_to_features": pass_s / features_s,
    }


def _speedups(forest, session, rows: np.ndarray) -> dict:
    """sklearn against onnxruntime on one window and on a day's batch of 24."""
    one, day = rows[:1], rows[:24]
    results = {}
    for name, batch, repeat in (("one_window", one, 300), ("day_batch_24", day, 300)):
        sk = _time(lambda batch=batch: forest.predict_proba(batch), repeat)
        ox = _time(lambda batch=batch: session.run(None, {"features": batch}), repeat)
        results[name] = {"sklearn_ms": sk * 1e3, "onnxruntime_ms": ox * 1e3, "speedup": sk / ox}
    return results


def _rss() -> dict:
    """Resident memory of fresh subprocesses: the model alone, and with the gateway's core imported."""
    results = {}
    for label, extra in (
        ("model_only", ""),
        (
            "with_gateway_core",
            "import gateway.store, gateway.protocol, gateway.energy, edge_model.store_job, edge_model.alerting",
        ),
    ):
        out = subprocess.run(
            [sys.executable, "-c", RSS_PROBE.format(extra=extra)], capture_output=True, text=True, cwd=ROOT, check=True
        )
        base, loaded, sklearn_loaded = out.stdout.split()
        results[f"rss_mb_{label}"] = {
            "interpreter": float(base),
            "after_load_and_score": float(loaded),
            "sklearn_imported": sklearn_loaded == "True",
        }
    return results


def _print_results(results: dict, households: int, train_s: float) -> None:
    """The results as lines: the model, the scoring pass, the speedups, the memory."""
    print(
        f"model: {results['trees']} trees, {results['nodes']} nodes, {results['model_bytes'] / 1e6:.2f} MB ONNX "
        f"(shipped {results['shipped_model_bytes'] / 1e6:.2f} MB); "
        f"trained on {households} houses in {train_s:.1f} s"
    )
    r = results["scoring_pass"]
    print(
        f"scoring pass over {r['history_days']} days: {r['whole_pass_s'] * 1e3:.0f} ms, {r['ratio_to_features']:.2f}x "
        f"building the features alone ({r['features_only_s'] * 1e3:.0f} ms)"
    )
    for name in ("one_window", "day_batch_24"):
        r = results[name]
        print(
            f"{name:14s} sklearn {r['sklearn_ms']:.3f} ms   onnxruntime {r['onnxruntime_ms']:.3f} ms   onnxruntime is "
            f"{r['speedup']:.1f}x faster"
        )
    for label in ("model_only", "with_gateway_core"):
        r = results[f"rss_mb_{label}"]
        print(
            f"RSS {label:18s} {r['after_load_and_score']:.1f} MB (bare interpreter {r['interpreter']:.1f} MB; "
            f"sklearn imported: {r['sklearn_imported']})"
        )


if __name__ == "__main__":
    sys.exit(main())
