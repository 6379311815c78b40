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
from edge_model.evaluation_sources import SOURCES

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
        p.add_argument(
            "--registry",
            type=Path,
            help="model versions directory (default: beside the database of --config, "
            f"or of {INSTALLED_CONFIG} if it exists; else {DEFAULT_REGISTRY})",
        )
        p.add_argument(
            "--config", "-c", type=Path, help=f"the gateway's TOML config (default {INSTALLED_CONFIG} if it exists)"
        )
        return p

    def recipe(p):
        p.add_argument(
            "--households", type=int, default=64, help="simulated training houses of the wide family (default 64)"
        )
        p.add_argument("--days", type=int, default=120, help="days per house (default 120)")
        p.add_argument(
            "--tapped", type=int, default=1, help="tapped copies of each house beside its clean self (default 1)"
        )
        p.add_argument("--trees", type=int, default=60, help="trees in the forest (default 60)")
        return p

    p = recipe(common(sub.add_parser("train", help="train a model on simulated houses, store and promote it")))
    p.add_argument("--seed", type=int, default=0, help="forest seed (default 0)")
    p.add_argument("--ship", action="store_true", help="write into the package's shipped model instead of the registry")
    p.set_defaults(func=cmd_train)

    p = recipe(
        common(
            sub.add_parser(
                "retrain",
                help="take in the Ignore/Raise answers not yet taken in, retrain on simulated data "
                "plus this household's examples; promote only without regression (exit 1 if not promoted)",
            )
        )
    )
    p.add_argument(
        "--db",
        type=Path,
        help="the gateway's database, whose answers and examples are used (default: [gateway] db "
        "of --config; the registry is then the one beside it)",
    )
    p.set_defaults(func=cmd_retrain)

    p = common(sub.add_parser("rollback", help="make an earlier model version, or the shipped model, current again"))
    p.add_argument(
        "--to",
        dest="version",
        help="version name, e.g. v0002, or 'shipped' for the model shipped in the package "
        "(default: the one before the current)",
    )
    p.set_defaults(func=cmd_rollback)

    p = common(
        sub.add_parser(
            "evaluate",
            help="judge theft detection through the daemon's rules on each source of houses "
            "(real recordings, third-party generators, simulators)",
        )
    )
    p.add_argument("--source", action="append", choices=SOURCES, help="a source to judge on (repeat; default: all)")
    p.add_argument("--houses", type=int, default=None, help="at most this many houses of each source")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "evaluate-learning",
        help="measure what one Ignore or Raise changes in a house's later alerts: the rule, "
        "a retrain on its examples, and a control retrained on another house's",
    )
    p.add_argument(
        "--source",
        action="append",
        help="houses to answer alerts on (repeat; default: all): uci-development "
        "(the UCI house's stretches), ramp (RAMP households), simulated (wide houses; "
        "for Ignore with a benign new load)",
    )
    p.add_argument(
        "--ignore-cases",
        type=int,
        default=2,
        help="houses per source whose first false alert is Ignored, one retrain each (default 2)",
    )
    p.add_argument(
        "--raise-cases",
        type=int,
        default=1,
        help="tapped houses per source whose first alert is Raised, one retrain each (default 1)",
    )
    p.add_argument("--days", type=int, default=120, help="days of each measured house (default 120)")
    p.add_argument("--train-households", type=int, default=12, help="houses in the small training recipe (default 12)")
    p.add_argument(
        "--train-days", type=int, default=120, help="days of each training and check-set house (default 120)"
    )
    p.add_argument(
        "--check-households", type=int, default=3, help="check-set houses that set each model's threshold (default 3)"
    )
    p.add_argument("--trees", type=int, default=20, help="trees in each forest (default 20)")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(func=cmd_evaluate_learning)

    p = common(
        sub.add_parser(
            "score",
            help="score a recording (CSV of ts,power_w, 1 s to 1 min) hour by hour, and say "
            "which theft alerts the daemon would raise on it",
        )
    )
    p.add_argument("--input", required=True, type=Path, help="CSV file, '-' for stdin")
    p.add_argument(
        "--inject",
        metavar="KIND:WATTS[:START_DAY]",
        help="add a tap to the recording first, e.g. night:300 "
        "(01:00-04:00), constant:150, switched:1000, evening:200, some_days:200; starts mid-recording by default",
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--state", default="TN", help="Indian state code for public holidays (default TN; '' for none)")
    p.add_argument("--tz", default="Asia/Kolkata")
    p.set_defaults(func=cmd_score)


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
        _print_report(scorer.version, reports)
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
        _print_learning(report)
    return 0


def _print_learning(r: dict) -> None:
    """The report as tables: Ignore then Raise, per source and in total, then a line per case with its verdict."""
    spec = r["spec"]
    print(
        f"small recipe: {spec['train_households']} houses x {spec['train_days']} days, "
        f"{spec['trees']} trees, threshold "
        f"{r['baseline']['threshold']:.3f}; {r['seconds']['total']:.0f} s, "
        f"{len(r['seconds']['per_training'])} trainings"
    )
    i, k = r["ignore"], r["raise"]
    labels = {
        "no_feedback": "no feedback",
        "rule_only": "rule only",
        "retrained_only": "retrained",
        "retrained_rule": "retrained+rule",
        "control_only": "control",
        "control_rule": "control+rule",
    }

    def line(first: str, second: str, cells: list[str], width: int = 14) -> None:
        print(f"  {first:36s} {second:>15s} " + " ".join(f"{c:>{width}s}" for c in cells))

    groups = [*i["by_source"].items(), ("total", i["total"])]
    tried = ", ".join(f"{source} {n['houses_tried']} ({n['alerted']} alerted)" for source, n in i["scanned"].items())
    print(
        f"\nIgnore: a house's first false alert Ignored. Houses tried: {tried}. Their later alerts "
        "(of them on the rule's hours):"
    )
    settings = list(i["total"]["later_alerts"])  # without the control's two for a lone case
    line("source", "cases", [labels[s] for s in settings])
    for name, g in groups:
        line(
            name,
            str(g["cases"]),
            [f"{g['later_alerts'][s]['all']} ({g['later_alerts'][s]['in_rule_hours']})" for s in settings],
        )
    print("Taps injected a week after the Ignore, caught within the goal's days:")
    line("source, tap", "on rule's hours", [labels[s] for s in settings])
    for name, g in groups:
        for goal, t in g["taps"].items():
            room = f" ({t['skipped']} no room)" if t["skipped"] else ""
            line(
                f"{name} {goal}{room}",
                f"{t['on_rule_hours']}/{t['injected']}",
                [f"{t['caught'][s]}/{t['injected']}" for s in settings],
            )
    print(
        f"Mean score, {' / '.join(i['total']['mean_score'])}: the Ignored windows; "
        "the later windows on the rule's hours:"
    )
    for name, g in groups:
        ms = g["mean_score"]
        cells = [
            " / ".join("-" if ms[m][key] is None else f"{ms[m][key]:.3f}" for m in ms)
            for key in ("ignored_windows", "later_in_rule_hours")
        ]
        print(f"  {name:22s} {cells[0]}; {cells[1]}")
    for name, g in groups:
        v = g["verdict"]
        against = (
            f"against the control: fewer {v['learned']['fewer']}, same {v['learned']['same']}, "
            f"more {v['learned']['more']}"
            if "control_rule" in settings
            else "no control (a lone case)"
        )
        print(
            f"  {name}: later alerts with the rule fewer in {v['rule']['fewer']} of {g['cases']} houses "
            f"(same {v['rule']['same']}, "
            f"more {v['rule']['more']}); retrained+rule against rule only: fewer {v['retrain']['fewer']}, "
            f"same {v['retrain']['same']}, "
            f"more {v['retrain']['more']}; {against}; taps caught without feedback, missed after it: {v['taps_lost']}"
        )
    for c in i["cases"]:
        a, v = c["later_alerts"], c["verdict"]
        control = f", control+rule {a['control_rule']['all']}" if v["learned"] else ""
        print(
            f"  - {c['house']}: Ignored day {c['ignored']['day']} [{c['ignored']['path']}] {c['ignored']['message']}; "
            f"{c['feedback_rows']} "
            f"rows; rule {c['rule']['text']}. Later alerts {a['no_feedback']['all']}, "
            f"rule only {a['rule_only']['all']}, retrained+rule "
            f"{a['retrained_rule']['all']}{control}: the rule {v['rule']}, the retrain {v['retrain']}"
            + (f" (against the control {v['learned']})" if v["learned"] else "")
        )

    groups = [*k["by_source"].items(), ("total", k["total"])]
    models = list(k["total"]["second_tap"])
    tapped = ", ".join(
        f"{source} {n['houses_tried']} ({n['alerted']} caught"
        + "".join(f", {goal} missed {m}" for goal, m in n["taps_not_caught"].items())
        + ")"
        for source, n in k["scanned"].items()
    )
    print(
        f"\nRaise: a tap's first alert Raised, the same tap again four weeks after it stopped. Houses tapped: {tapped}."
    )
    print(
        "Caught within the goal's days (by the steady-lift detector alone / the forest alone), "
        "median days to catch, mean score of "
        "its windows; 'no first tap': the baseline on the house without the first tap in its history:"
    )
    line("source", "cases", [*models, "no first tap"], 27)
    for name, g in groups:
        line(
            name,
            str(g["cases"]),
            [
                f"{c['caught_within_goal']} ({c['steady_caught_within_goal']}/{c['forest_caught_within_goal']}), "
                f"{'-' if c['median_days_to_catch'] is None else c['median_days_to_catch']} d, "
                f"{'-' if c['mean_score'] is None else c['mean_score']}"
                for c in [*(g["second_tap"][m] for m in models), g["second_tap_without_first"]]
            ],
            27,
        )
    for name, g in groups:
        v = g["verdict"]
        against = (
            f"the control sooner in {v['control']['sooner']}; retrained against the control: "
            f"sooner {v['learned']['sooner']}, same {v['learned']['same']}, later {v['learned']['later']}"
            if "control" in models
            else "no control (a lone case)"
        )
        print(
            f"  {name}: caught again sooner than by the baseline in {v['retrain']['sooner']} of {g['cases']} "
            f"(same {v['retrain']['same']}, "
            f"later {v['retrain']['later']}), {against}; alerts on the clean copy after the Raise "
            + ", ".join(f"{m} {n}" for m, n in g["clean_alerts_after_raise"].items())
        )
    for c in k["cases"]:
        t, v = c["second_tap"], c["verdict"]
        print(
            f"  - {c['house']}: {c['tap']['goal']} {c['tap']['watts']:.0f} W Raised day {c['raised']['day']} "
            f"[{c['raised']['path']}], "
            f"{c['feedback_rows']} rows; again from day {c['tap']['second_day']}, days to catch "
            + ", ".join(f"{m} {t[m]['days_to_catch'] or '-'}" for m in t)
            + f" (no first tap: {c['second_tap_without_first']['days_to_catch'] or '-'}): the retrain {v['retrain']}"
            + (f", against the control {v['learned']}" if v["learned"] else "")
        )


def _print_report(model: str, reports: list[dict]) -> None:
    from edge_model.evaluation import FALSE_ALERT_GOAL, GOALS

    print(
        f"model {model}; goals: false alerts <= {FALSE_ALERT_GOAL} per household-month; "
        + ", ".join(f"{g.name} {g.watts:.0f} W within {g.within_days} d >= {g.target:.0%}" for g in GOALS)
    )
    head = ["source", "houses", "false/month", *[g.name for g in GOALS], "AUC night", "AUC constant"]
    print(" | ".join(head))
    for r in reports:
        f = r["false_alerts_per_household_month"]
        cells = [
            r["source"],
            str(r["houses"]),
            f"{f['either']:.2f} (steady {f['steady']:.2f}, forest {f['forest']:.2f})",
        ]
        for g in GOALS:
            c = r["caught"].get(g.name, {})
            cells.append(
                "-" if c.get("either") is None else f"{c['either']:.0%} (s {c['steady']:.0%}, f {c['forest']:.0%})"
            )
        cells += [f"{r['window_auc'].get(k, float('nan')):.3f}" for k in ("night", "constant")]
        print(" | ".join(cells))


def cmd_score(args) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import numpy as np

    from edge_model import MIN_HISTORY_DAYS
    from edge_model.alerting import AlertPolicy, decide, hour_thresholds
    from edge_model.registry import ModelRegistry
    from edge_model.scored import score_house
    from edge_model.series import HouseSeries, from_readings, parse_csv
    from edge_model.taps import inject, parse_inject
    from gateway.public_holidays import HolidayCalendar

    try:
        text = sys.stdin.read() if str(args.input) == "-" else args.input.read_text()
    except OSError as err:
        print(f"score: cannot read {args.input}: {err.strerror or err}", file=sys.stderr)
        return 2
    try:
        series = from_readings(*parse_csv(text), args.tz)
        tapped = None
        if args.inject:
            tap = parse_inject(args.inject, series.days)
            minutes, mask = inject(series.minute_w, tap)
            series, tapped = HouseSeries(series.first_date, minutes), mask.reshape(-1, 60).mean(axis=1) >= 0.2
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
    zone = ZoneInfo(args.tz)
    when = [dt.datetime.fromtimestamp(s, zone).isoformat() for s in w.start_s]
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
    columns = ["start", "score", "threshold", "hit", "steady_lift_w", "mean_w", "usual_w"] + (
        ["tapped"] if tapped is not None else []
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
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="powergw")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
