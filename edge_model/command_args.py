"""The options of `powergw model ...`: one function per action adds its parser and arguments."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edge_model.evaluation_sources import SOURCES

DEFAULT_REGISTRY = Path(os.environ.get("POWERGW_DATA_DIR", Path.home() / ".local/share/powergw")) / "models"
INSTALLED_CONFIG = Path("/etc/powergw/config.toml")


def add_model(subparsers) -> argparse._SubParsersAction:
    """`powergw model` itself; returns where its actions are added."""
    model = subparsers.add_parser("model", help="theft model: train, retrain, rollback, evaluate, score")
    sub = model.add_subparsers(dest="model_command", metavar="ACTION")
    sub.required = True
    return sub


def _common(p):
    """--registry and --config, which say where the model versions are."""
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


def _recipe(p):
    """The training recipe: simulated houses, days, tapped copies, trees."""
    p.add_argument(
        "--households", type=int, default=64, help="simulated training houses of the wide family (default 64)"
    )
    p.add_argument("--days", type=int, default=120, help="days per house (default 120)")
    p.add_argument(
        "--tapped", type=int, default=1, help="tapped copies of each house beside its clean self (default 1)"
    )
    p.add_argument("--trees", type=int, default=60, help="trees in the forest (default 60)")
    return p


def add_train(sub) -> argparse.ArgumentParser:
    """Add the `model train` action and its options."""
    p = _recipe(_common(sub.add_parser("train", help="train a model on simulated houses, store and promote it")))
    p.add_argument("--seed", type=int, default=0, help="forest seed (default 0)")
    p.add_argument("--ship", action="store_true", help="write into the package's shipped model instead of the registry")
    return p


def add_retrain(sub) -> argparse.ArgumentParser:
    """Add the `model retrain` action and its options."""
    p = _recipe(
        _common(
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
    return p


def add_rollback(sub) -> argparse.ArgumentParser:
    """Add the `model rollback` action and its options."""
    p = _common(sub.add_parser("rollback", help="make an earlier model version, or the shipped model, current again"))
    p.add_argument(
        "--to",
        dest="version",
        help="version name, e.g. v0002, or 'shipped' for the model shipped in the package "
        "(default: the one before the current)",
    )
    return p


def add_evaluate(sub) -> argparse.ArgumentParser:
    """Add the `model evaluate` action and its options."""
    p = _common(
        sub.add_parser(
            "evaluate",
            help="judge theft detection through the daemon's rules on each source of houses "
            "(real recordings, third-party generators, simulators)",
        )
    )
    p.add_argument("--source", action="append", choices=SOURCES, help="a source to judge on (repeat; default: all)")
    p.add_argument("--houses", type=int, default=None, help="at most this many houses of each source")
    p.add_argument("--format", choices=("json", "table"), default="table")
    return p


def add_evaluate_learning(sub) -> argparse.ArgumentParser:
    """Add the `model evaluate-learning` action and its options."""
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
    return p


def add_score(sub) -> argparse.ArgumentParser:
    """Add the `model score` action and its options."""
    p = _common(
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
    return p
