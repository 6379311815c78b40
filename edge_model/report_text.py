"""The text tables of `powergw model evaluate` and `powergw model evaluate-learning`."""

from __future__ import annotations

SETTING_LABELS = {
    "no_feedback": "no feedback",
    "rule_only": "rule only",
    "retrained_only": "retrained",
    "retrained_rule": "retrained+rule",
    "control_only": "control",
    "control_rule": "control+rule",
}


def print_evaluation_report(model: str, reports: list[dict]) -> None:
    """One line per source: false alerts, each goal's catches and the window AUCs."""
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


def print_learning_report(r: dict) -> None:
    """The report as tables: Ignore then Raise, per source and in total, then a line per case with its verdict."""
    spec = r["spec"]
    print(
        f"small recipe: {spec['train_households']} houses x {spec['train_days']} days, "
        f"{spec['trees']} trees, threshold "
        f"{r['baseline']['threshold']:.3f}; {r['seconds']['total']:.0f} s, "
        f"{len(r['seconds']['per_training'])} trainings"
    )
    _print_ignore(r["ignore"])
    _print_raise(r["raise"])


def _line(first: str, second: str, cells: list[str], width: int = 14) -> None:
    """One row of a table: two label columns, then the cells right-aligned in `width`."""
    print(f"  {first:36s} {second:>15s} " + " ".join(f"{c:>{width}s}" for c in cells))


def _print_ignore(i: dict) -> None:
    """The Ignore part: later alerts, taps after the Ignore, mean scores, verdicts, then each case."""
    groups = [*i["by_source"].items(), ("total", i["total"])]
    settings = list(i["total"]["later_alerts"])  # without the control's two for a lone case
    _print_ignore_tables(i, groups, settings)
    _print_ignore_verdicts(groups, settings)
    _print_ignore_cases(i["cases"])


def _print_ignore_tables(i: dict, groups: list, settings: list[str]) -> None:
    """Later alerts, taps caught and mean scores under each setting, per source and in total."""
    tried = ", ".join(f"{source} {n['houses_tried']} ({n['alerted']} alerted)" for source, n in i["scanned"].items())
    print(
        f"\nIgnore: a house's first false alert Ignored. Houses tried: {tried}. Their later alerts "
        "(of them on the rule's hours):"
    )
    _line("source", "cases", [SETTING_LABELS[s] for s in settings])
    for name, g in groups:
        _line(
            name,
            str(g["cases"]),
            [f"{g['later_alerts'][s]['all']} ({g['later_alerts'][s]['in_rule_hours']})" for s in settings],
        )
    print("Taps injected a week after the Ignore, caught within the goal's days:")
    _line("source, tap", "on rule's hours", [SETTING_LABELS[s] for s in settings])
    for name, g in groups:
        for goal, t in g["taps"].items():
            room = f" ({t['skipped']} no room)" if t["skipped"] else ""
            _line(
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


def _print_ignore_verdicts(groups: list, settings: list[str]) -> None:
    """Per source and in total: what the rule, the retrain and the learning changed."""
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


def _print_ignore_cases(cases: list[dict]) -> None:
    """A line per Ignore case: the alert, its rule, the later alerts and the verdicts."""
    for c in cases:
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


def _print_raise(k: dict) -> None:
    """The Raise part: the second tap caught per model, verdicts, then each case."""
    groups = [*k["by_source"].items(), ("total", k["total"])]
    models = list(k["total"]["second_tap"])
    _print_raise_table(k, groups, models)
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
    _print_raise_cases(k["cases"])


def _print_raise_table(k: dict, groups: list, models: list[str]) -> None:
    """The houses tapped, then the second tap caught by each model, per source and in total."""
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
    _line("source", "cases", [*models, "no first tap"], 27)
    for name, g in groups:
        _line(
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


def _print_raise_cases(cases: list[dict]) -> None:
    """A line per Raise case: the tap, the days each model took to catch it again, the verdicts."""
    for c in cases:
        t, v = c["second_tap"], c["verdict"]
        print(
            f"  - {c['house']}: {c['tap']['goal']} {c['tap']['watts']:.0f} W Raised day {c['raised']['day']} "
            f"[{c['raised']['path']}], "
            f"{c['feedback_rows']} rows; again from day {c['tap']['second_day']}, days to catch "
            + ", ".join(f"{m} {t[m]['days_to_catch'] or '-'}" for m in t)
            + f" (no first tap: {c['second_tap_without_first']['days_to_catch'] or '-'}): the retrain {v['retrain']}"
            + (f", against the control {v['learned']}" if v["learned"] else "")
        )
