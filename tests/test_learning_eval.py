"""Learning from feedback (edge_model.learning): the `model evaluate-learning` report on a tiny setting,
and the mechanism itself: a model retrained on a household's Ignore examples scores those windows lower."""

from __future__ import annotations

import argparse
import json

import numpy as np

from edge_model import feedback
from edge_model.alerting import Alert
from edge_model.commands import _print_learning, register
from edge_model.dataset import DatasetSpec, simulate_household
from edge_model.evaluation import windows_for
from edge_model.features import as_model_input
from edge_model.learning import IGNORE_SEEDS, MODELS
from edge_model.pipeline import CheckSet, train_model
from edge_model.training import ForestParams
from gateway.public_holidays import load_overrides


def _counts(by_model: dict) -> list:
    return [v for v in by_model.values() if v is not None]


def test_evaluate_learning_command_reports_consistent_counts(capsys):
    parser = argparse.ArgumentParser(prog="powergw")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["model", "evaluate-learning", "--households", "2", "--raise-households", "2",
                              "--train-households", "8", "--trees", "8", "--days", "84", "--format", "json"])
    assert args.func(args) == 0
    r = json.loads(capsys.readouterr().out)

    i, k = r["ignore"], r["raise"]
    # On this tiny setting one benign home alerts on its own pattern and one tap alerts (fixed seeds, fixed forest seed).
    assert i["alerted_and_ignored"] >= 1 and k["alerted_and_raised"] >= 1
    assert i["alerted_and_ignored"] + i["not_alerted"] == i["households"] == 2
    assert k["alerted_and_raised"] + k["not_alerted"] == k["households"] == 2
    assert i["retrains"] == i["alerted_and_ignored"] == len(i["cases"])
    assert k["retrains"] == k["alerted_and_raised"] == len(k["cases"])
    assert len(r["seconds"]["per_training"]) == 1 + i["retrains"] + k["retrains"]  # the baseline once, one retrain per case
    # An Ignore and a Raise each store the alert's windows as feedback rows.
    assert i["feedback_rows"] == sum(c["feedback_rows"] for c in i["cases"]) > 0
    assert k["feedback_rows"] == sum(c["feedback_rows"] for c in k["cases"]) > 0

    measured = set(MODELS) if i["retrains"] > 1 else {"baseline", "retrained"}
    assert set(i["repeat_alerts"]) == measured
    for counts in i["repeat_alerts"].values():
        assert all(isinstance(v, int) and v >= 0 for v in counts.values())
        # Repeats of the pattern are some of the alerts after the Ignore.
        assert counts["pattern_without_rule"] <= counts["without_rule"] and counts["pattern_with_rule"] <= counts["with_rule"]
    for caught in i["theft_caught_within_7_days"].values():
        assert all(isinstance(v, int) and 0 <= v <= i["theft_on_top_cases"] for v in caught.values())
    for key in ("second_tap_caught_within_3_days", "second_tap_caught_while_it_ran", "alerts_on_the_same_home_without_a_tap"):
        assert all(isinstance(v, int) and v >= 0 for v in _counts(k[key]))
    for a, b in zip(_counts(k["second_tap_caught_within_3_days"]), _counts(k["second_tap_caught_while_it_ran"])):
        assert a <= b <= k["alerted_and_raised"]
    for key in ("mean_score_of_ignored_windows", "mean_score_of_later_pattern_windows"):
        assert all(0.0 <= v <= 1.0 for v in _counts(i[key]))

    _print_learning(r)
    table = capsys.readouterr().out
    assert f"Ignore: {i['alerted_and_ignored']} of 2 benign households alerted and Ignored" in table
    assert "repeats of the pattern, with the Ignore rule" in table and "every alert after the Ignore, no rule" in table and "same tap later caught within 3 days" in table


def _scores(onnx_bytes: bytes, rows: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {"features": as_model_input(rows)})[1][:, 1]


def test_retraining_on_a_households_ignore_examples_lowers_the_scores_of_those_windows():
    recipe = (DatasetSpec(households=8, days=84, tap_weight=2.5), ForestParams(n_trees=10), CheckSet(households=2, days=84))
    h = simulate_household(IGNORE_SEEDS, 84, None, "ev_charger", load_overrides())
    pattern = np.flatnonzero(h.benign)
    before_pattern = np.arange(7 * 24, pattern[0])
    base, _ = train_model(*recipe, progress=False)
    s0 = _scores(base, h.features)
    # The user Ignores an alert made of the charger's first three days, the way the daemon turns it into examples.
    hits = tuple(int(i) for i in pattern[pattern < pattern[0] + 3 * 24])
    w = windows_for(h, s0)
    examples, _ = feedback.ignore(h.features, w, Alert(hits[-1], float(w.start_s[hits[-1]]), 0.0, 0.0, hits, "", {}))
    assert len(examples) == len(hits) and not examples.y.any()
    retrained, metadata = train_model(*recipe, extra=examples, progress=False)
    assert metadata["training"]["feedback_rows"] == len(hits)
    s1 = _scores(retrained, h.features)

    ignored = list(hits)
    assert s0[ignored].mean() > 0.8  # the charger looks like a tap to the model without feedback
    assert s1[ignored].mean() < s0[ignored].mean() - 0.3  # 0.95 -> 0.43 here: the Ignore taught it
    assert abs(s1[before_pattern].mean() - s0[before_pattern].mean()) < 0.05  # the rest of the home hardly moved
