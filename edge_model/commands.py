"""`powergw model train|retrain|rollback|evaluate|score`: handlers take args and return an exit code.

Heavy libraries (scikit-learn, onnxruntime, numpy) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from edge_model import TRAINING_HOUSEHOLDS, TRAINING_TAP_WEIGHT

DEFAULT_REGISTRY = Path(os.environ.get("POWERGW_DATA_DIR", Path.home() / ".local/share/powergw")) / "models"
INSTALLED_CONFIG = Path("/etc/powergw/config.toml")


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
    model = subparsers.add_parser("model", help="theft model: train, retrain, rollback, evaluate, score")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION")
    sub.required = True

    def common(p):
        p.add_argument("--registry", type=Path, help="model versions directory (default: beside the database of --config, "
                       f"or of {INSTALLED_CONFIG} if it exists; else {DEFAULT_REGISTRY})")
        p.add_argument("--config", "-c", type=Path, help=f"the gateway's TOML config (default {INSTALLED_CONFIG} if it exists)")
        return p

    p = common(sub.add_parser("train", help="train a model on simulated households, store and promote it"))
    p.add_argument("--households", type=int, default=TRAINING_HOUSEHOLDS, help=f"simulated training households (default {TRAINING_HOUSEHOLDS})")
    p.add_argument("--days", type=int, default=112, help="days per household (default 112)")
    p.add_argument("--tap-weight", type=float, default=TRAINING_TAP_WEIGHT,
                   help=f"how much likelier each tapping kind is than each of h1-h6 in a theft household (default {TRAINING_TAP_WEIGHT}; 1 = alike)")
    p.add_argument("--trees", type=int, default=100, help="trees in the forest (default 100)")
    p.add_argument("--seed", type=int, default=0, help="forest seed (default 0)")
    p.add_argument("--ship", action="store_true", help="write into the package's shipped model instead of the registry")
    p.set_defaults(func=cmd_train)

    p = common(sub.add_parser("retrain", help="take in the Ignore/Raise answers not yet taken in, retrain on simulated data plus "
                              "this household's examples; promote only without regression (exit 1 if not promoted)"))
    p.add_argument("--db", type=Path, help="the gateway's database, whose answers and examples are used (default: [gateway] db "
                   "of --config; the registry is then the one beside it)")
    p.add_argument("--households", type=int, default=TRAINING_HOUSEHOLDS)
    p.add_argument("--days", type=int, default=112)
    p.add_argument("--tap-weight", type=float, default=TRAINING_TAP_WEIGHT)
    p.add_argument("--trees", type=int, default=100)
    p.set_defaults(func=cmd_retrain)

    p = common(sub.add_parser("rollback", help="make an earlier model version, or the shipped model, current again"))
    p.add_argument("--to", dest="version", help="version name, e.g. v0002, or 'shipped' for the model shipped in the package "
                   "(default: the one before the current)")
    p.set_defaults(func=cmd_rollback)

    p = common(sub.add_parser("evaluate", help="measure the current model on households never used in training"))
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.add_argument("--quick", action="store_true", help="a quarter of the households (about a minute)")
    p.add_argument("--first-seed", type=int, default=None,
                   help="another set of households built the same way (default 900000; e.g. 400000): choose on one set, report on the other")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-learning", help="measure whether retraining on one household's Ignore/Raise feedback changes its alerts")
    p.add_argument("--households", type=int, default=10, help="benign households whose first alert is Ignored, one retrain each (default 10)")
    p.add_argument("--raise-households", type=int, default=4, help="tapped households whose first alert is Raised, one retrain each (default 4)")
    p.add_argument("--train-households", type=int, default=32, help="households in the small training recipe (default 32)")
    p.add_argument("--trees", type=int, default=30, help="trees in each forest (default 30)")
    p.add_argument("--days", type=int, default=112, help="days of each measured household (default 112)")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(func=cmd_evaluate_learning)

    p = common(sub.add_parser("score", help="score a CSV of ts,power_w (1 s to 1 min) per hour window"))
    p.add_argument("--input", required=True, type=Path, help="CSV file, '-' for stdin")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--state", default="TN", help="Indian state code for public holidays (default TN)")
    p.add_argument("--tz", default="Asia/Kolkata")
    p.set_defaults(func=cmd_score)


def _train_args(args):
    from edge_model.dataset import DatasetSpec
    from edge_model.training import ForestParams

    return DatasetSpec(households=args.households, days=args.days, tap_weight=args.tap_weight), ForestParams(n_trees=args.trees, seed=getattr(args, "seed", 0))


def cmd_train(args) -> int:
    from edge_model.pipeline import CheckSet, train_model
    from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
    from edge_model.scoring import METADATA_FILE, MODEL_FILE

    spec, params = _train_args(args)
    onnx_bytes, metadata = train_model(spec, params, CheckSet(), progress=True)
    if args.ship:
        SHIPPED_MODEL_DIR.mkdir(parents=True, exist_ok=True)
        (SHIPPED_MODEL_DIR / MODEL_FILE).write_bytes(onnx_bytes)
        (SHIPPED_MODEL_DIR / METADATA_FILE).write_text(json.dumps({**metadata, "version": "shipped"}, indent=2, sort_keys=True) + "\n")
        where = SHIPPED_MODEL_DIR
    else:
        registry = ModelRegistry(registry_root(args))
        version = registry.add(onnx_bytes, metadata)
        registry.promote(version)
        where = registry.root / version
    check = metadata["metrics"]["check_set"]
    print(
        f"model stored in {where}: {len(onnx_bytes) / 1e6:.2f} MB, trained in {metadata['training']['train_seconds']} s, "
        f"check-set ROC-AUC {check['roc_auc']:.3f}, threshold {metadata['threshold']:.3f}"
    )
    return 0


def cmd_retrain(args) -> int:
    import time

    from edge_model import EdgeModelError, store_job
    from gateway.app import JobContext, open_store
    from gateway.config import load_config
    from gateway.settings_store import effective_config

    config = load_config(_config_path(args))
    store = open_store(args.db or config.gateway.db, config.gateway.timezone)
    try:
        ctx = JobContext(store=store, config=effective_config(store, config), now_ms=lambda: time.time_ns() // 1_000_000, extras={})
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
    from edge_model.alerting import AlertPolicy
    from edge_model.evaluation import EvalSpec, evaluate
    from edge_model.registry import ModelRegistry
    from edge_model.scoring import Scorer

    scorer = Scorer(ModelRegistry(registry_root(args)).current_dir())
    sizes = dict(mixed_households=15, clean_households=12, tap_households=20, ignore_households=10) if args.quick else {}
    spec = EvalSpec(**sizes, **({"first_seed": args.first_seed} if args.first_seed is not None else {}))
    report = evaluate(scorer.score, AlertPolicy(threshold=scorer.threshold), spec, progress=True)
    report["model"] = scorer.version
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 0


def cmd_evaluate_learning(args) -> int:
    from edge_model.learning import LearningSpec, evaluate_learning

    spec = LearningSpec(ignore_households=args.households, raise_households=args.raise_households,
                        train_households=args.train_households, trees=args.trees, days=args.days)
    report = evaluate_learning(spec, progress=args.format == "table")
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        _print_learning(report)
    return 0


def _print_learning(r: dict) -> None:
    def row(label: str, by_model: dict, fmt=str) -> None:
        cells = [("-" if by_model.get(m) is None else fmt(by_model[m])) for m in ("baseline", "retrained", "control")]
        print(f"  {label:58s} {cells[0]:>10s} {cells[1]:>10s} {cells[2]:>10s}")

    score = "{:.3f}".format
    i, k = r["ignore"], r["raise"]
    print(f"small recipe: {r['spec']['train_households']} households, {r['spec']['trees']} trees; {r['seconds']['total']:.0f} s")
    print(f"  {'':58s} {'baseline':>10s} {'retrained':>10s} {'control':>10s}")
    print(f"Ignore: {i['alerted_and_ignored']} of {i['households']} benign households alerted and Ignored, {i['feedback_rows']} feedback rows")
    row("repeats of the pattern, no rule", {m: v["pattern_without_rule"] for m, v in i["repeat_alerts"].items()})
    row("repeats of the pattern, with the Ignore rule", {m: v["pattern_with_rule"] for m, v in i["repeat_alerts"].items()})
    row("every alert after the Ignore, no rule", {m: v["without_rule"] for m, v in i["repeat_alerts"].items()})
    row("every alert after the Ignore, with the Ignore rule", {m: v["with_rule"] for m, v in i["repeat_alerts"].items()})
    row("mean score of the Ignored windows", i["mean_score_of_ignored_windows"], score)
    row("mean score of the pattern's later windows", i["mean_score_of_later_pattern_windows"], score)
    n = i["theft_on_top_cases"]
    for key, label in (("same_home_without_pattern", "theft caught in 7 d, same home without pattern"),
                       ("on_top_without_rule", "theft on top caught in 7 d, no rule"), ("on_top_with_rule", "theft on top caught in 7 d, with rule")):
        row(f"{label} (of {n})", {m: v[key] for m, v in i["theft_caught_within_7_days"].items()})
    print(f"Raise: {k['alerted_and_raised']} of {k['households']} tapped households alerted and Raised, {k['feedback_rows']} feedback rows")
    n = k["alerted_and_raised"]
    row(f"same tap later caught within 3 days (of {n})", k["second_tap_caught_within_3_days"])
    row(f"same tap later caught while it ran (of {n})", k["second_tap_caught_while_it_ran"])
    row("median days to its first alert", k["median_days_to_first_alert_when_caught"], "{:.2f}".format)
    row("mean score of its windows", k["mean_score_of_second_tap_windows"], score)
    row("alerts on the same home without a tap", k["alerts_on_the_same_home_without_a_tap"])


def _print_report(r: dict) -> None:
    w = r["windows"]
    print(f"model {r['model']}: {w['windows']} windows, {w['theft_windows']} theft")
    print(f"  ROC-AUC {w['roc_auc']:.3f} (without benign windows {w['roc_auc_without_benign_windows']:.3f})  PR-AUC {w['pr_auc']:.3f}  TPR at 5% FPR {w['tpr_at_5pct_fpr']:.3f}")
    for kind, m in w["per_kind"].items():
        print(f"    {kind:18s} ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}  ({m['windows']} windows)")
    print(f"  false alarms per clean household-month: {r['false_alarms_per_clean_household_month']:.2f}")
    t = r["tapping"]
    print(f"  tapping >= 100 W caught within 3 days: {t['caught_within_3_days']:.0%}, by an alert on its tapped hours "
          f"{t['caught_within_3_days_on_tapped_hours']:.0%} (within 21 days {t['caught_within_21_days']:.0%}, median {t['median_days_to_first_alert']} days)")
    for kind, v in t["per_kind_caught_within_3_days"].items():
        print(f"    {kind:18s} {v:.0%}")
    for band, v in t["by_magnitude_caught_within_3_days"].items():
        print(f"    {band:18s} {v:.0%}")
    print(f"    alerts during a tap's 21 days: {t['alerts_per_tap_mean']:.2f} on average, at most {t['alerts_per_tap_max']}")
    i = r["ignore"]
    print(f"  Ignore: {i['alerted_and_ignored']} benign households alerted and Ignored; repeats of the pattern "
          f"{i['pattern_repeats_without_rule']} -> {i['pattern_repeats_with_rule']}; every alert after the Ignore "
          f"{i['repeat_alerts_without_rule']} -> {i['repeat_alerts_with_rule']}")
    print(f"    theft recall (7 days): same home without the pattern {i['theft_recall_same_home_without_pattern']}, on top of the Ignored pattern {i['theft_on_top_recall_with_rule']}")
    print(f"    ... by an alert on its tapped hours: {i['theft_recall_same_home_without_pattern_on_tapped_hours']} -> {i['theft_on_top_recall_with_rule_on_tapped_hours']}")


def cmd_score(args) -> int:
    import datetime as dt

    import numpy as np

    from edge_model.alerting import AlertPolicy, Windows, adaptive_thresholds
    from gateway.public_holidays import HolidayCalendar
    from edge_model.features import COLUMN, build_features
    from edge_model.registry import ModelRegistry
    from edge_model.scoring import Scorer
    from edge_model.series import hourly_mean_and_floor, parse_csv
    from zoneinfo import ZoneInfo

    text = sys.stdin.read() if str(args.input) == "-" else args.input.read_text()
    ts, power = parse_csv(text)
    first, hourly, floor = hourly_mean_and_floor(ts, power, args.tz)
    rows = build_features(hourly, first, HolidayCalendar(args.state), floor_w=floor)
    scorer = Scorer(ModelRegistry(registry_root(args)).current_dir())
    scores = scorer.score(rows)
    zone = ZoneInfo(args.tz)
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    n = len(hourly)
    w = Windows(
        start_s=origin + 3_600.0 * np.arange(n), hour=np.arange(n) % 24, weekday=rows[:, COLUMN["weekday"]].astype(int),
        day=np.arange(n) // 24, power_w=np.nan_to_num(hourly), usual_w=rows[:, COLUMN["hod_base_w"]], score=scores,
        history_days=rows[:, COLUMN["history_days"]],
    )
    policy = AlertPolicy(threshold=scorer.threshold)
    thresholds = adaptive_thresholds(w, policy)
    out = []
    for i in range(n):
        start = dt.datetime.fromtimestamp(w.start_s[i], zone).isoformat()
        if np.isnan(hourly[i]):
            out.append({"start": start, "score": None, "alert": False, "reason": "no readings in this hour"})
            continue
        alert = bool(scores[i] >= thresholds[i] and w.history_days[i] >= policy.min_history_days)
        if w.history_days[i] < policy.min_history_days:
            reason = f"still learning this household ({int(w.history_days[i])} of {policy.min_history_days} days of history)"
        else:
            dev = hourly[i] - w.usual_w[i]
            reason = f"{hourly[i]:.0f} W vs usual {w.usual_w[i]:.0f} W ({dev:+.0f} W); threshold {thresholds[i]:.2f}"
        out.append({"start": start, "score": round(float(scores[i]), 4), "alert": alert, "reason": reason})
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        print("start,score,alert,reason")
        for row in out:
            score = "" if row["score"] is None else row["score"]
            print(f"{row['start']},{score},{str(row['alert']).lower()},\"{row['reason']}\"")
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="powergw")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
