"""The Raise half of the learning evaluation: a tap Raised on a house, then the same tap again later."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge_model import feedback
from edge_model.dataset import Examples, simulated_house
from edge_model.evaluation import GOALS, Goal, Judge, caught
from edge_model.evaluation_sources import House
from edge_model.learning_spec import (
    FIRST_TAP_DAY,
    RAISE_SEEDS,
    RAISE_TAP_DAYS,
    SCAN_PER_CASE,
    SECOND_TAP_DAY,
    SECOND_TAP_DAYS,
    SOONER,
    Judged,
    LearningSpec,
    Trainer,
    compare,
    mean_or_none,
    say,
    tapped_hours,
)
from edge_model.scoring import Scorer
from edge_model.series import HouseSeries
from edge_model.taps import PRESETS, Tap, inject
from edge_model.windows import Alert, Windows


@dataclass
class _RaiseCase:
    source: str
    house: House
    goal: Goal
    seed: int
    alert: Alert
    raised_day: int
    examples: Examples
    model: Scorer | None = None


def _raise_candidates(source: str, spec: LearningSpec, houses: list[House]):
    if source != "simulated":
        yield from houses
        return
    for i in range(SCAN_PER_CASE * spec.raise_per_source):
        series, state = simulated_house(RAISE_SEEDS + i, spec.days)
        yield House(f"simulated/{RAISE_SEEDS + i}", series, state)


def _taps(goal: Goal, seed: int) -> tuple[Tap, Tap]:
    """The tap the household Raises (two weeks from the first calibrated days) and the same one again, later."""
    first = Tap(goal.tap, goal.watts, FIRST_TAP_DAY, days=RAISE_TAP_DAYS, seed=seed, **PRESETS[goal.tap])
    return first, replace(first, start_day=SECOND_TAP_DAY, days=None)


def find_raise_cases(
    spec: LearningSpec, base: Scorer, train: Trainer, houses: dict, progress: bool
) -> tuple[list[_RaiseCase], dict]:
    """A tap on each house in turn, each try the next of the goals' kinds, until a source has its cases."""
    cases, scanned, tries = [], {}, 0
    for source in spec.sources:
        tried = alerted = 0
        missed: dict[str, int] = {}
        if spec.raise_per_source:
            for house in _raise_candidates(source, spec, houses.get(source, [])):
                if sum(c.source == source for c in cases) >= spec.raise_per_source:
                    break
                goal = GOALS[tries % len(GOALS)]
                tries += 1
                tried += 1
                first, _ = _taps(goal, tried)
                minutes, mask = inject(house.series.minute_w, first)
                judged = Judged.of(HouseSeries(house.series.first_date, minutes), house.state, {"baseline": base})
                w = judged.windows["baseline"]
                hours = tapped_hours(mask)
                raised = next(
                    (
                        a
                        for a in judged.alerts("baseline", base)
                        if caught([a], w, hours, first.start_day, RAISE_TAP_DAYS)
                    ),
                    None,
                )
                if raised is None:
                    missed[goal.name] = missed.get(goal.name, 0) + 1
                    continue
                alerted += 1
                say(progress, f"Raise on {house.name} ({goal.name} tap): {raised.message}")
                examples = feedback.raise_theft(judged.features.rows, raised)  # as store_job's _take_in on a Raise
                case = _RaiseCase(source, house, goal, tried, raised, int(w.day[raised.index]), examples)
                case.model = train(f"raise-{len(cases)}", examples)
                cases.append(case)
        scanned[source] = {"houses_tried": tried, "alerted": alerted, "taps_not_caught": missed}
    return cases, scanned


def _catch(judged: Judged, name: str, model: Scorer, hours: np.ndarray, start_day: int, goal: Goal) -> dict:
    """How many days the model takes to catch the tap from start_day: the daemon (either path) and each path alone."""
    w = judged.windows[name]
    by_path = Judge(model).alerts(w)
    days = {path: _days_to_catch(alerts, w, hours, start_day, SECOND_TAP_DAYS) for path, alerts in by_path.items()}
    return {
        "days_to_catch": days["either"],
        "caught_within_goal": days["either"] is not None and days["either"] <= goal.within_days,
        "forest_days_to_catch": days["forest"],
        "steady_days_to_catch": days["steady"],
        "mean_score": mean_or_none(w.score[hours]),
    }


def measure_raise(case: _RaiseCase, models: dict[str, Scorer]) -> dict:
    """One Raise case's row: how soon each model catches the same tap again, and its verdicts."""
    first, second = _taps(case.goal, case.seed)
    clean_w, day0 = case.house.series.minute_w, case.house.series.first_date
    once, _ = inject(clean_w, first)
    twice, mask = inject(once, second)
    tapped = Judged.of(HouseSeries(day0, twice), case.house.state, models)
    clean = Judged.of(case.house.series, case.house.state, models)
    hours = tapped_hours(mask) & (np.arange(len(mask) // 60) >= second.start_day * 24)  # the second tap's
    # The same second tap on the house without the first in its history, as the model without feedback sees it.
    alone, alone_mask = inject(clean_w, second)
    fresh = Judged.of(HouseSeries(day0, alone), case.house.state, {"baseline": models["baseline"]})
    row = {
        "source": case.source,
        "house": case.house.name,
        "tap": {
            "goal": case.goal.name,
            "kind": case.goal.tap,
            "watts": case.goal.watts,
            "first_day": first.start_day,
            "first_days": RAISE_TAP_DAYS,
            "second_day": second.start_day,
            "within_days": case.goal.within_days,
        },
        "raised": {"day": case.raised_day, "path": case.alert.numbers["path"], "message": case.alert.message},
        "feedback_rows": len(case.examples),
        "second_tap": {
            name: _catch(tapped, name, model, hours, second.start_day, case.goal) for name, model in models.items()
        },
        "second_tap_without_first": _catch(
            fresh, "baseline", models["baseline"], tapped_hours(alone_mask), second.start_day, case.goal
        ),
        "clean_alerts_after_raise": {
            name: sum(1 for a in clean.alerts(name, model) if a.index > case.alert.index)
            for name, model in models.items()
        },
    }
    days = {m: row["second_tap"][m]["days_to_catch"] for m in models}
    forest = {m: row["second_tap"][m]["forest_days_to_catch"] for m in models}
    control = "control" in models
    row["verdict"] = {
        "retrain": compare(days["baseline"], days["retrained"], SOONER),
        "retrain_forest": compare(forest["baseline"], forest["retrained"], SOONER),
        "control": compare(days["baseline"], days["control"], SOONER) if control else None,
        "control_forest": compare(forest["baseline"], forest["control"], SOONER) if control else None,
        # the learning: this house's examples against another house's
        "learned": compare(days["control"], days["retrained"], SOONER) if control else None,
        "learned_forest": compare(forest["control"], forest["retrained"], SOONER) if control else None,
    }
    return row


def _caught_sum(catches: list[tuple[dict, int]]) -> dict:
    """(catch, goal's days) pairs: how many were caught within the goal's days, by the daemon and by each path alone."""

    def within(key: str) -> int:
        return sum(int(c[key] is not None and c[key] <= d) for c, d in catches)

    days = [c["days_to_catch"] for c, _ in catches if c["days_to_catch"] is not None]
    return {
        "caught_within_goal": within("days_to_catch"),
        "forest_caught_within_goal": within("forest_days_to_catch"),
        "steady_caught_within_goal": within("steady_days_to_catch"),
        "median_days_to_catch": float(np.median(days)) if days else None,
        "mean_score": mean_or_none(np.array([c["mean_score"] for c, _ in catches if c["mean_score"] is not None])),
    }


def sum_raise(rows: list[dict], models: tuple[str, ...]) -> dict:
    """The Raise rows summed: catches within the goal's days per model, alerts after the Raise, verdicts."""
    out = {
        "cases": len(rows),
        "feedback_rows": sum(r["feedback_rows"] for r in rows),
        "second_tap": {m: _caught_sum([(r["second_tap"][m], r["tap"]["within_days"]) for r in rows]) for m in models},
        "second_tap_without_first": _caught_sum(
            [(r["second_tap_without_first"], r["tap"]["within_days"]) for r in rows]
        ),
        "clean_alerts_after_raise": {m: sum(r["clean_alerts_after_raise"][m] for r in rows) for m in models},
        "verdict": {},
    }
    for name in ("retrain", "retrain_forest", "control", "control_forest", "learned", "learned_forest"):
        out["verdict"][name] = {v: sum(1 for r in rows if r["verdict"][name] == v) for v in SOONER}
    return out


def _days_to_catch(
    alerts: list[Alert], w: Windows, tapped_hours: np.ndarray, start_day: int, within_days: int
) -> int | None:
    """The fewest whole days from the tap's start within which an alert catches it
    (evaluation.caught), None: not within."""
    for d in range(1, within_days + 1):
        if caught(alerts, w, tapped_hours, start_day, d):
            return d
    return None
