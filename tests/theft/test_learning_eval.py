"""`powergw model evaluate-learning` (edge_model.learning) on a tiny setting: RAMP households and
simulated houses with a benign load, forests of 3 trees. What it says about learning depends on the
models; what is asserted holds whatever they score: the counts add up, every case is accounted
for, and the table prints what the JSON holds."""

from __future__ import annotations

import argparse
import json

from edge_model.commands import register
from edge_model.learning import BENIGN_START_DAY, IGNORE_SETTINGS, MODELS
from edge_model.learning_spec import MIN_DAYS
from edge_model.report_text import print_learning_report

TINY = [
    "--source",
    "ramp",
    "--source",
    "simulated",
    "--ignore-cases",
    "1",
    "--raise-cases",
    "1",
    "--days",
    str(MIN_DAYS),
    "--train-households",
    "3",
    "--train-days",
    "56",
    "--check-households",
    "1",
    "--trees",
    "3",
]
SETTINGS = [s.key for s in IGNORE_SETTINGS]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="powergw")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["model", "evaluate-learning", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_learning_reports_every_case_and_counts_that_add_up(capsys):
    code, out, _ = run(capsys, *TINY, "--format", "json")
    assert code == 0
    r = json.loads(out)
    assert r["sources_skipped"] == {}
    i, k = r["ignore"], r["raise"]

    # Every case is a house that alerted, one retrain each, and the baseline trained once.
    for part in (i, k):
        assert set(part["scanned"]) == set(part["by_source"]) == {"ramp", "simulated"}
        for source, scanned in part["scanned"].items():
            assert (
                scanned["alerted"]
                == part["by_source"][source]["cases"]
                == sum(c["source"] == source for c in part["cases"])
            )
            assert 0 < scanned["houses_tried"] and scanned["alerted"] <= 1
    assert (
        i["cases"] and k["cases"]
    )  # else nothing below is exercised (the steady-lift detector alone alerts on ramp-33's nights)
    assert len(r["seconds"]["per_training"]) == 1 + len(i["cases"]) + len(k["cases"])

    for c in i["cases"]:
        assert c["feedback_rows"] > 0 and c["rule"]["hours"] and c["days_after"] > 0
        assert list(c["later_alerts"]) == SETTINGS
        for counts in c["later_alerts"].values():
            assert (
                counts["steady"] + counts["forest"] == counts["all"] and 0 <= counts["in_rule_hours"] <= counts["all"]
            )
        assert set(c["mean_score"]) == set(MODELS)
        assert all(v is None or 0.0 <= v <= 1.0 for m in c["mean_score"].values() for v in m.values())
        assert [t["goal"] for t in c["taps"]] == ["night", "switched"]
        for t in c["taps"]:
            assert "skipped" in t or list(t["caught"]) == SETTINGS
        lost = sum(
            1 for t in c["taps"] if "caught" in t and t["caught"]["no_feedback"] and not t["caught"]["retrained_rule"]
        )
        assert c["verdict"]["taps_lost"] == lost
    benign = [c for c in i["cases"] if c["source"] == "simulated"]
    assert all(
        c["benign_load"] and c["ignored"]["day"] >= BENIGN_START_DAY for c in benign
    )  # the load's alert, once it runs

    # By source and in total: the sums of the cases.
    for name, g in [*i["by_source"].items(), ("total", i["total"])]:
        mine = [c for c in i["cases"] if name in ("total", c["source"])]
        assert g["cases"] == len(mine) and g["feedback_rows"] == sum(c["feedback_rows"] for c in mine)
        assert g["later_alerts"] == {
            s: {n: sum(c["later_alerts"][s][n] for c in mine) for n in ("all", "in_rule_hours", "steady", "forest")}
            for s in SETTINGS
        }
        assert sum(g["verdict"]["rule"].values()) == sum(g["verdict"]["retrain"].values()) == len(mine)
        assert sum(g["verdict"]["learned"].values()) == (
            len(mine) if len(i["cases"]) > 1 else 0
        )  # no control for a lone case
        for goal, t in g["taps"].items():
            injected = [t_ for c in mine for t_ in c["taps"] if t_["goal"] == goal]
            assert t["injected"] + t["skipped"] == len(injected)
            assert all(0 <= n <= t["injected"] for n in t["caught"].values()) and t["on_rule_hours"] <= t["injected"]

    for c in k["cases"]:
        assert (
            c["feedback_rows"] > 0
            and c["tap"]["first_day"] <= c["raised"]["day"] < c["tap"]["first_day"] + c["tap"]["first_days"]
        )
        assert set(c["second_tap"]) == set(MODELS) == set(c["clean_alerts_after_raise"])
        for t in [*c["second_tap"].values(), c["second_tap_without_first"]]:
            for key in ("days_to_catch", "steady_days_to_catch", "forest_days_to_catch"):
                assert t[key] is None or 1 <= t[key] <= 14
            assert t["caught_within_goal"] == (
                t["days_to_catch"] is not None and t["days_to_catch"] <= c["tap"]["within_days"]
            )
    for name, g in [*k["by_source"].items(), ("total", k["total"])]:
        mine = [c for c in k["cases"] if name in ("total", c["source"])]
        assert g["cases"] == len(mine)
        for m in MODELS:
            assert g["second_tap"][m]["caught_within_goal"] == sum(
                c["second_tap"][m]["caught_within_goal"] for c in mine
            )
            assert g["clean_alerts_after_raise"][m] == sum(c["clean_alerts_after_raise"][m] for c in mine)
            assert all(
                0 <= g["second_tap"][m][key] <= len(mine)
                for key in ("steady_caught_within_goal", "forest_caught_within_goal")
            )
        assert g["second_tap_without_first"]["caught_within_goal"] == sum(
            c["second_tap_without_first"]["caught_within_goal"] for c in mine
        )
        assert sum(g["verdict"]["retrain"].values()) == len(mine)
        assert sum(g["verdict"]["learned"].values()) == (len(mine) if len(k["cases"]) > 1 else 0)

    print_learning_report(r)
    table = capsys.readouterr().out
    assert "Ignore: a house's first false alert Ignored" in table and "Raise: a tap's first alert Raised" in table
    for c in i["cases"] + k["cases"]:
        assert f"- {c['house']}: " in table


def test_a_bad_setting_is_refused_with_what_would_be_accepted(capsys):
    code, _, err = run(capsys, "--source", "uci-holdout")
    assert code == 2 and "uci-development, ramp, simulated" in err
    code, _, err = run(capsys, "--days", str(MIN_DAYS - 1))
    assert code == 2 and f"at least {MIN_DAYS} days" in err
