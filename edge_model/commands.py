"""`powergw model train|retrain|rollback|evaluate|score`: handlers take args and return an exit code.

Heavy libraries (scikit-learn, onnxruntime, numpy) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edge_model import EdgeModelError
from edge_model.command_args import (
    DEFAULT_REGISTRY,
    INSTALLED_CONFIG,
    add_evaluate,
    add_evaluate_learning,
    add_model,
    add_retrain,
    add_rollback,
    add_score,
    add_train,
)
from edge_model.evaluation_sources import SOURCES
from edge_model.report_text import print_evaluation_report, print_learning_report


def registry_root(args) -> Path:
    """--registry; else the daemon's own registry beside the database (--db, or that of --config or
    of the installed /etc/powergw/config.toml), as `theft_score` uses it; else $POWERGW_DATA_DIR or
    ~/.local/share/powergw."""
    if args.registry is not None:
        return args.registry
    if getattr(args, "db", None) is not None:
        return Path(args.db).parent / "models"
    config = _config_path(args)
    if config is None or os.environ.get("POWERGW_DATA_DIR"):
        return DEFAULT_REGISTRY
    from gateway.config import load_config

    return Path(load_config(config).gateway.db).parent / "models"


def _config_path(args) -> Path | None:
    return args.config if args.config is not None else (INSTALLED_CONFIG if INSTALLED_CONFIG.exists() else None)


def register(subparsers) -> None:
    """Add `powergw model` and its actions, each with its handler."""
    sub = add_model(subparsers)
    add_train(sub).set_defaults(func=cmd_train)
    add_retrain(sub).set_defaults(func=cmd_retrain)
    add_rollback(sub).set_defaults(func=cmd_rollback)
    add_evaluate(sub).set_defaults(func=cmd_evaluate)
    add_evaluate_learning(sub).set_defaults(func=cmd_evaluate_learning)
    add_score(sub).set_defaults(func=cmd_score)


def _train_args(args):
    from edge_model.dataset import DatasetSpec
    from edge_model.training import ForestParams

    return (
        DatasetSpec(households=args.households, days=args.days, tapped=args.tapped),
        ForestParams(n_trees=args.trees, seed=getattr(args, "seed", 0)),
    )


def cmd_train(args) -> int:
    from edge_model.pipeline import CheckSet, train_model
    from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
    from edge_model.scoring import METADATA_FILE, MODEL_FILE

    spec, params = _train_args(args)
    onnx_bytes, metadata = train_model(spec, params, CheckSet(), progress=True)
    if args.ship:
        SHIPPED_MODEL_DIR.mkdir(parents=True, exist_ok=True)
        (SHIPPED_MODEL_DIR / MODEL_FILE).write_bytes(onnx_bytes)
        (SHIPPED_MODEL_DIR / METADATA_FILE).write_text(
            json.dumps({**metadata, "version": "shipped"}, indent=2, sort_keys=True) + "\n"
        )
        where = SHIPPED_MODEL_DIR
    else:
        registry = ModelRegistry(registry_root(args))
        version = registry.add(onnx_bytes, metadata)
        registry.promote(version)
        where = registry.root / version
    check = metadata["metrics"]["check_set"]
    print(
        f"model stored in {where}: {len(onnx_bytes) / 1e6:.2f} MB, "
        f"trained in {metadata['training']['train_seconds']} s, "
        f"check-set ROC-AUC {check['roc_auc']:.3f}, threshold {metadata['threshold']:.3f}"
    )
    return 0


def cmd_retrain(args) -> int:
    import time

    from edge_model import EdgeModelError, store_job
    from gateway.app import JobContext, existing_database, open_store
    from gateway.config import load_config
    from gateway.settings_store import effective_config

    config = load_config(_config_path(args))
    store = open_store(existing_database(args.db, config), config.gateway.timezone)  # a typo makes no new database
    try:
        ctx = JobContext(
            store=store, config=effective_config(store, config), now_ms=lambda: time.time_ns() // 1_000_000, extras={}
        )
        print(f"retrain: {store_job.take_in_answers(ctx)}", file=sys.stderr)
        spec, params = _train_args(args)
        report = store_job.train_on_feedback(store, registry_root(args), spec, params, ctx.now_ms(), progress=True)
    except EdgeModelError as err:
        print(f"retrain: {err}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps(report, indent=2))
    return 0 if report["promoted"] else 1


def cmd_rollback(args) -> int:
    from edge_model.registry import ModelRegistry

    version = ModelRegistry(registry_root(args)).rollback(args.version)
    print(f"current model is now {version}")
    return 0


def cmd_evaluate(args) -> int:
    from edge_model.evaluation import Judge, evaluate_source
    from edge_model.evaluation_sources import houses_of
    from edge_model.registry import ModelRegistry

    scorer, problem = ModelRegistry(registry_root(args)).load_current()
    if problem:
        print(f"evaluate: {problem}", file=sys.stderr)
    judge = Judge(scorer)
    reports = []
    for source in args.source or SOURCES:
        try:
            houses = houses_of(source, args.houses)
        except EdgeModelError as err:
            print(f"evaluate: {source}: {err}", file=sys.stderr)
            continue
        reports.append(evaluate_source(source, houses, judge, progress=args.format == "table").to_dict())
    if args.format == "json":
        print(json.dumps({"model": scorer.version, "sources": reports}, indent=2))
    else:
        print_evaluation_report(scorer.version, reports)
    return 0


def cmd_evaluate_learning(args) -> int:
    from edge_model.learning import evaluate_learning
    from edge_model.learning_spec import SOURCES as LEARNING_SOURCES
    from edge_model.learning_spec import LearningSpec

    try:
        spec = LearningSpec(
            sources=tuple(args.source or LEARNING_SOURCES),
            ignore_per_source=args.ignore_cases,
            raise_per_source=args.raise_cases,
            days=args.days,
            train_households=args.train_households,
            train_days=args.train_days,
            check_households=args.check_households,
            trees=args.trees,
        )
    except EdgeModelError as err:
        print(f"evaluate-learning: {err}", file=sys.stderr)
        return 2
    try:
        report = evaluate_learning(spec, progress=args.format == "table")
    except EdgeModelError as err:
        print(f"evaluate-learning: {err}", file=sys.stderr)
        return 1
    for source, why in report["sources_skipped"].items():
        print(f"evaluate-learning: {source} skipped: {why}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print_learning_report(report)
    return 0


def cmd_score(args) -> int:
    from edge_model.alerting import AlertPolicy, decide, hour_thresholds
    from edge_model.registry import ModelRegistry
    from edge_model.scored import score_house
    from gateway.public_holidays import HolidayCalendar

    try:
        text = sys.stdin.read() if str(args.input) == "-" else args.input.read_text()
    except OSError as err:
        print(f"score: cannot read {args.input}: {err.strerror or err}", file=sys.stderr)
        return 2
    try:
        series, tapped = _recording(text, args.tz, args.inject)
    except EdgeModelError as err:
        print(f"score: {err}", file=sys.stderr)
        return 2
    scorer, problem = ModelRegistry(registry_root(args)).load_current()
    if problem:
        print(f"score: {problem}", file=sys.stderr)
    w, _ = score_house(series, scorer, HolidayCalendar(args.state), tz=args.tz)
    policy = AlertPolicy(threshold=scorer.threshold)
    thresholds = hour_thresholds(w, policy)
    alerts = decide(w, policy, thresholds=thresholds)
    when = _local_times(w.start_s, args.tz)
    windows = _score_rows(w, series, thresholds, tapped, when)
    raised = [
        {
            "at": when[a.index],
            "message": a.message,
            "hours": a.numbers.get("hours"),
            "excess_w": a.numbers.get("excess_w"),
            "path": "steady" if w.steady[a.index] else "forest",
        }
        for a in alerts
    ]
    if args.format == "json":
        print(json.dumps({"model": scorer.version, "windows": windows, "alerts": raised}, indent=2))
        return 0
    _print_score_csv(windows, raised, tapped is not None)
    return 0


def _recording(text: str, tz: str, inject_spec: str | None):
    """The series of a CSV recording, with the --inject tap added, and which hours it taps (None without one)."""
    from edge_model.series import HouseSeries, from_readings, parse_csv
    from edge_model.taps import inject, parse_inject

    series = from_readings(*parse_csv(text), tz)
    tapped = None
    if inject_spec:
        tap = parse_inject(inject_spec, series.days)
        minutes, mask = inject(series.minute_w, tap)
        series, tapped = HouseSeries(series.first_date, minutes), mask.reshape(-1, 60).mean(axis=1) >= 0.2
    return series, tapped


def _local_times(start_s, tz: str) -> list[str]:
    """Each window's start as an ISO time in the zone `tz`."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    return [dt.datetime.fromtimestamp(s, zone).isoformat() for s in start_s]


def _score_rows(w, series, thresholds, tapped, when: list[str]) -> list[dict]:
    """One row per hour: score, threshold, hit, the powers, whether tapped, and why no alert can come yet."""
    import numpy as np

    from edge_model import MIN_HISTORY_DAYS

    recorded = ~np.isnan(series.hourly_mean_w.ravel())
    windows = []
    for i in range(len(w.score)):
        row = {
            "start": when[i],
            "score": round(float(w.score[i]), 4) if recorded[i] else None,
            "threshold": None if not np.isfinite(thresholds[i]) else round(float(thresholds[i]), 4),
            "hit": bool(recorded[i] and w.score[i] >= thresholds[i]),
            "steady_lift_w": round(float(w.steady_w[i]), 1) if w.steady[i] else None,
            "mean_w": round(float(w.power_w[i]), 1),
            "usual_w": round(float(w.usual_w[i]), 1),
        }
        if tapped is not None:
            row["tapped"] = bool(tapped[i])
        if not recorded[i]:
            row["reason"] = "no readings in this hour"
        elif w.day[i] < MIN_HISTORY_DAYS:
            row["reason"] = f"learning this house ({int(w.day[i])} of {MIN_HISTORY_DAYS} days): no alert yet"
        windows.append(row)
    return windows


def _print_score_csv(windows: list[dict], raised: list[dict], tapped: bool) -> None:
    """The rows as CSV (booleans lower-case, None empty), then the alerts as # comments."""
    columns = ["start", "score", "threshold", "hit", "steady_lift_w", "mean_w", "usual_w"] + (
        ["tapped"] if tapped else []
    )
    print(",".join(columns))
    for row in windows:
        print(
            ",".join(
                "" if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool) else str(row[c])
                for c in columns
            )
        )
    print(f"# alerts the daemon would raise: {len(raised)}")
    for a in raised:
        print(f"# {a['at']} [{a['path']}] {a['message']}")


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="powergw")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
