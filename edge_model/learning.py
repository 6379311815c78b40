"""Does a household's Ignore or Raise change what it is told later? Answer one alert per house the
daemon's way and count.

Ignore: a house whose clean series raises a false alert (real ones from the UCI house and RAMP,
and simulated houses with a benign new load the family runs: an EV charger, a night AC, ...).
Its first alert is Ignored as `store_job` takes in the answer: `feedback.ignore` makes the rule
(`ignore_rules.rule_from_alert`) and the normal examples, and the house's model is retrained on
the small recipe plus those examples (`pipeline.train_model`, what `model retrain` runs). The same
house's later alerts are then counted under six settings: no feedback, the rule alone, the
retrained model alone and with the rule, and the *control*: the model retrained on another house's
Ignore, alone and with this house's rule (any retrain moves every tree's bootstrap; retrained
against control is the learning, control against no feedback the noise). Then real taps of the
evaluation's goals are injected a week after the Ignore and judged under the same settings: the
feedback must not blind the detector to theft, on the Ignored hours or elsewhere.

Raise: a tap of one of the goals' kinds on a house, running two weeks; its first alert that
names a tapped hour is Raised (`feedback.raise_theft`) and the model retrained on those theft
examples. The same tap comes back on the same house four weeks after it stopped; how many days
each model takes to catch it (the daemon, and each path alone: the steady-lift detector does not
learn), against the same tap on the house without the first one in its history, and what the
Raise costs in alerts on the house's clean copy after it.

The retrained model is taken to be in force right after the answer (the daemon retrains weekly):
the best case for learning. Every figure is reported per case and per source; the verdicts say
where feedback did not help. Scores come from onnxruntime, as in the daemon.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from edge_model import EdgeModelError, feedback
from edge_model.dataset import Examples, simulated_house
from edge_model.evaluation import CALIBRATED_DAY, GOALS, caught
from edge_model.evaluation_sources import House, houses_of
from edge_model.ignore_rules import SuppressionRule
from edge_model.learning_raise import find_raise_cases, measure_raise, sum_raise
from edge_model.learning_spec import (
    IGNORE_SEEDS,
    SCAN_PER_CASE,
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
from edge_model.taps import PRESETS, Tap, band_minutes, inject
from edge_model.windows import Alert


@dataclass(frozen=True)
class BenignLoad:
    """A new load the family really runs, every day from `start_day`: a household would Ignore its alert."""

    name: str
    tap: Tap  # the shape of the load (taps.inject adds it); a benign load, never labelled theft


BENIGN_START_DAY = CALIBRATED_DAY + 14
BENIGN_LOADS = (
    BenignLoad("ev_charger", Tap("night", 1_500.0, BENIGN_START_DAY, 22, 1)),  # a scooter or car charging from 22:00
    BenignLoad(
        "night_ac", Tap("switched", 1_000.0, BENIGN_START_DAY, 23, 6, period_min=40, duty=0.6)
    ),  # its compressor cycling
    BenignLoad(
        "always_on", Tap("constant", 120.0, BENIGN_START_DAY, 0, 0)
    ),  # a second freezer, an aquarium, a home server
    BenignLoad("geyser", Tap("switched", 2_000.0, BENIGN_START_DAY, 6, 8, period_min=20, duty=0.5)),  # its thermostat
)


@dataclass(frozen=True)
class Setting:
    """What answers the household gave and which model scores: one column of the Ignore report."""

    key: str
    model: str  # "baseline" | "retrained" | "control"
    rule: bool
    meaning: str


IGNORE_SETTINGS = (
    Setting("no_feedback", "baseline", False, "the small recipe's model, no rule: the alert never answered"),
    Setting("rule_only", "baseline", True, "the Ignore rule, the model as it was (the daemon until its next retrain)"),
    Setting("retrained_only", "retrained", False, "the model retrained on this house's Ignore examples, no rule"),
    Setting("retrained_rule", "retrained", True, "both: the daemon after its retrain"),
    Setting("control_only", "control", False, "the model retrained on another house's Ignore examples, no rule"),
    Setting("control_rule", "control", True, "that model with this house's rule: what a retrain changes by itself"),
)
MODELS = ("baseline", "retrained", "control")


def _scope_hours(rule: SuppressionRule) -> set[int]:
    hours = np.arange(24)
    return {int(h) for h in hours[rule.in_scope(hours, np.full(24, min(rule.weekdays)), np.full(24, rule.start_s))]}


def _houses(source: str, spec: LearningSpec, progress: bool) -> list[House]:
    """The real houses of a source; simulated houses are made case by case."""
    say(progress, f"loading {source}")
    return houses_of(source, None, spec.days)


# -- Ignore ---------------------------------------------------------------------------------------


@dataclass
class _IgnoreCase:
    source: str
    house: str
    load: str | None  # the benign load's name (simulated houses)
    judged: Judged
    alert: Alert
    examples: Examples
    rule: SuppressionRule
    model: Scorer | None = None


def _candidates(source: str, spec: LearningSpec, houses: list[House]):
    """(house, benign load or None) in the order they are tried."""
    if source != "simulated":
        for h in houses:
            yield h, None
        return
    for i in range(SCAN_PER_CASE * spec.ignore_per_source):
        load = BENIGN_LOADS[i % len(BENIGN_LOADS)]
        series, state = simulated_house(IGNORE_SEEDS + i, spec.days)
        minutes, _ = inject(series.minute_w, replace(load.tap, seed=i))
        yield House(f"simulated/{IGNORE_SEEDS + i}+{load.name}", HouseSeries(series.first_date, minutes), state), load


def _first_false_alert(judged: Judged, base: Scorer, load: BenignLoad | None) -> Alert | None:
    """The alert the household Ignores: its first once the house is calibrated; with a benign load,
    its first that names one of the load's hours once the load runs (the one they know is theirs)."""
    load_hours = (
        set()
        if load is None
        else {int(h) for h in np.flatnonzero(band_minutes(load.tap.first_hour, load.tap.last_hour)) // 60}
    )
    for a in judged.alerts("baseline", base):
        day = int(judged.windows["baseline"].day[a.index])
        if load is None and day >= CALIBRATED_DAY:
            return a
        if load is not None and day >= load.tap.start_day and load_hours & set(a.numbers["hours"]):
            return a
    return None


def _ignore_cases(
    spec: LearningSpec, base: Scorer, train: Trainer, houses: dict, progress: bool
) -> tuple[list[_IgnoreCase], dict]:
    cases, scanned = [], {}
    for source in spec.sources:
        tried = alerted = 0
        if spec.ignore_per_source:
            for house, load in _candidates(source, spec, houses.get(source, [])):
                if sum(c.source == source for c in cases) >= spec.ignore_per_source:
                    break
                tried += 1
                judged = Judged.of(house.series, house.state, {"baseline": base})
                alert = _first_false_alert(judged, base, load)
                if alert is None:
                    continue
                alerted += 1
                say(progress, f"Ignore on {house.name}: {alert.message}")
                # What store_job's _take_in does with an Ignore: the alert's windows as normal examples, and its rule.
                examples, rule = feedback.ignore(judged.features.rows, judged.windows["baseline"], alert)
                case = _IgnoreCase(
                    source, house.name, None if load is None else load.name, judged, alert, examples, rule
                )
                case.model = train(f"ignore-{len(cases)}", examples)
                cases.append(case)
        scanned[source] = {"houses_tried": tried, "alerted": alerted}
    return cases, scanned


def _measure_ignore(case: _IgnoreCase, models: dict[str, Scorer], spec: LearningSpec) -> dict:
    """One Ignore case: its alert and rule, the later alerts, mean scores and taps under each setting, the verdicts."""
    settings = _settings(models)
    judged = case.judged
    judged.add(judged.windows["baseline"], {k: v for k, v in models.items() if k != "baseline"})
    w = judged.windows["baseline"]
    at = case.alert.index
    scope = _scope_hours(case.rule)
    mean_score = _ignore_mean_scores(case, models, scope)
    later_alerts = _later_alerts(case, models, settings, scope)
    taps = _taps_after_ignore(case, models, settings, scope, spec)
    row = {
        "source": case.source,
        "house": case.house,
        "benign_load": case.load,
        "ignored": {
            "day": int(w.day[at]),
            "path": case.alert.numbers["path"],
            "message": case.alert.message,
            "hours": case.alert.numbers["hours"],
        },
        "rule": {
            "hours": sorted(scope),
            "weekdays": sorted(case.rule.weekdays),
            "excess_cap_w": round(case.rule.excess_cap_w, 1),
            "text": case.rule.describe(),
        },
        "feedback_rows": len(case.examples),
        "days_after": int(w.day[-1] - w.day[at]),
        "later_alerts": later_alerts,
        "mean_score": mean_score,
        "taps": taps,
    }
    row["verdict"] = _ignore_verdict(row, control="control" in models)
    return row


def _ignore_mean_scores(case: _IgnoreCase, models: dict[str, Scorer], scope: set[int]) -> dict:
    """Each model's mean score on the Ignored windows and on the later windows in the rule's hours."""
    judged = case.judged
    w = judged.windows["baseline"]
    later = np.arange(len(w.score)) > case.alert.index
    in_scope = np.isin(w.hour % 24, sorted(scope))
    return {
        m: {
            "ignored_windows": mean_or_none(judged.windows[m].score[list(case.alert.hits)]),
            "later_in_rule_hours": mean_or_none(judged.windows[m].score[later & in_scope]),
        }
        for m in models
    }


def _later_alerts(case: _IgnoreCase, models: dict[str, Scorer], settings: tuple[Setting, ...], scope: set[int]) -> dict:
    """Per setting, the alerts after the Ignored one: all, on the rule's hours, and by path."""
    out = {}
    for s in settings:
        alerts = case.judged.alerts(s.model, models[s.model], case.rule if s.rule else None)
        after = [a for a in alerts if a.index > case.alert.index]
        out[s.key] = {
            "all": len(after),
            "in_rule_hours": sum(1 for a in after if scope & set(a.numbers["hours"])),
            "steady": sum(1 for a in after if a.numbers["path"] == "steady"),
            "forest": sum(1 for a in after if a.numbers["path"] == "forest"),
        }
    return out


def _taps_after_ignore(
    case: _IgnoreCase, models: dict[str, Scorer], settings: tuple[Setting, ...], scope: set[int], spec: LearningSpec
) -> list[dict]:
    """The blind-tap goals injected a week after the Ignore, and whether each setting catches them in time."""
    judged = case.judged
    start_day = int(judged.windows["baseline"].day[case.alert.index]) + 7
    taps = []
    for k, goal in enumerate(g for g in GOALS if g.name in spec.blind_taps):
        if start_day + goal.within_days > judged.series.days:
            taps.append({"goal": goal.name, "start_day": start_day, "skipped": "no room after the Ignore"})
            continue
        tap = Tap(goal.tap, goal.watts, start_day, seed=k, **PRESETS[goal.tap])
        minutes, mask = inject(judged.series.minute_w, tap)
        tapped = Judged.of(HouseSeries(judged.series.first_date, minutes), judged.state, models)
        hours = tapped_hours(mask)
        tw = tapped.windows["baseline"]
        taps.append(
            {
                "goal": goal.name,
                "watts": goal.watts,
                "start_day": start_day,
                "within_days": goal.within_days,
                "on_rule_hours": bool(scope & {int(h) for h in tw.hour[hours]}),
                "caught": {
                    s.key: caught(
                        tapped.alerts(s.model, models[s.model], case.rule if s.rule else None),
                        tw,
                        hours,
                        start_day,
                        goal.within_days,
                    )
                    for s in settings
                },
            }
        )
    return taps


def _ignore_verdict(row: dict, control: bool) -> dict:
    """What the rule, the retrain and the learning did to the later alerts, and the taps the feedback lost."""
    later_alerts = {k: v["all"] for k, v in row["later_alerts"].items()}
    return {
        "rule": compare(later_alerts["no_feedback"], later_alerts["rule_only"]),
        "retrain": compare(later_alerts["rule_only"], later_alerts["retrained_rule"]),
        "control": compare(later_alerts["rule_only"], later_alerts["control_rule"]) if control else None,
        # the learning: this house's examples against another house's, both with the rule
        "learned": compare(later_alerts["control_rule"], later_alerts["retrained_rule"]) if control else None,
        "taps_lost": sum(
            1 for t in row["taps"] if "caught" in t and t["caught"]["no_feedback"] and not t["caught"]["retrained_rule"]
        ),
    }


def _settings(models) -> tuple[Setting, ...]:
    """The settings whose model was trained (no control for a lone case)."""
    return tuple(s for s in IGNORE_SETTINGS if s.model in models)


def _sum_ignore(rows: list[dict], models: tuple[str, ...]) -> dict:
    settings = _settings(models)
    out = {
        "cases": len(rows),
        "feedback_rows": sum(r["feedback_rows"] for r in rows),
        "days_after": sum(r["days_after"] for r in rows),
        "later_alerts": {
            s.key: {
                k: sum(r["later_alerts"][s.key][k] for r in rows) for k in ("all", "in_rule_hours", "steady", "forest")
            }
            for s in settings
        },
        "taps": {},
        "verdict": {},
    }
    for name in ("rule", "retrain", "control", "learned"):
        out["verdict"][name] = {v: sum(1 for r in rows if r["verdict"][name] == v) for v in ("fewer", "same", "more")}
    out["verdict"]["taps_lost"] = sum(r["verdict"]["taps_lost"] for r in rows)
    out["mean_score"] = {
        m: {
            k: mean_or_none(np.array([r["mean_score"][m][k] for r in rows if r["mean_score"][m][k] is not None]))
            for k in ("ignored_windows", "later_in_rule_hours")
        }
        for m in models
    }
    for t in (t for r in rows for t in r["taps"]):
        agg = out["taps"].setdefault(
            t["goal"], {"injected": 0, "skipped": 0, "on_rule_hours": 0, "caught": {s.key: 0 for s in settings}}
        )
        if "caught" not in t:
            agg["skipped"] += 1
            continue
        agg["injected"] += 1
        agg["on_rule_hours"] += int(t["on_rule_hours"])
        for key, hit in t["caught"].items():
            agg["caught"][key] += int(hit)
    return out


# -- the report -----------------------------------------------------------------------------------


def _control(cases: list, k: int) -> Scorer | None:
    """The model retrained on the next case's feedback (another house's): what a retrain changes by itself."""
    return cases[(k + 1) % len(cases)].model if len(cases) > 1 else None


def evaluate_learning(spec: LearningSpec = LearningSpec(), progress: bool = False) -> dict:
    """The report of `powergw model evaluate-learning`: per case, per source and in total,
    with the counts behind each figure."""
    t0 = time.perf_counter()
    dataset, forest, check = spec.recipe()
    houses, skipped = {}, {}
    for source in spec.sources:
        if source != "simulated":
            try:
                houses[source] = _houses(source, spec, progress)
            except EdgeModelError as err:
                skipped[source] = str(err)
    sources = tuple(s for s in spec.sources if s not in skipped)
    if not sources:
        raise EdgeModelError(
            "no source of houses could be loaded: " + "; ".join(f"{s}: {why}" for s, why in skipped.items())
        )
    with tempfile.TemporaryDirectory(prefix="powergw-learning-") as tmp:
        train = Trainer(spec, Path(tmp), progress)
        base = train("baseline")
        ignore_cases, ignore_scanned = _ignore_cases(replace(spec, sources=sources), base, train, houses, progress)
        raise_cases, raise_scanned = find_raise_cases(replace(spec, sources=sources), base, train, houses, progress)
        t_measure = time.perf_counter()
        ignore_rows, raise_rows = [], []
        for k, case in enumerate(ignore_cases):
            say(progress, f"measuring Ignore {k + 1} of {len(ignore_cases)}: {case.house}")
            models = {"baseline": base, "retrained": case.model, "control": _control(ignore_cases, k)}
            ignore_rows.append(_measure_ignore(case, {m: v for m, v in models.items() if v is not None}, spec))
        for k, case in enumerate(raise_cases):
            say(progress, f"measuring Raise {k + 1} of {len(raise_cases)}: {case.house.name}")
            models = {"baseline": base, "retrained": case.model, "control": _control(raise_cases, k)}
            raise_rows.append(measure_raise(case, {m: v for m, v in models.items() if v is not None}))
    ignored = MODELS if len(ignore_cases) > 1 else MODELS[:2]  # no control for a lone case
    measured = MODELS if len(raise_cases) > 1 else MODELS[:2]
    return {
        "spec": spec.to_dict(),
        "recipe": {"dataset": dataset.to_dict(), "forest": forest.to_dict(), "check_set": asdict(check)},
        "baseline": {"threshold": base.threshold, "check_set": base.metadata["metrics"]["check_set"]},
        "sources_skipped": skipped,
        "settings": {s.key: s.meaning for s in IGNORE_SETTINGS},
        "models": {
            "baseline": "the small recipe without feedback, trained once",
            "retrained": "the recipe plus this house's examples (one retrain per case)",
            "control": "the recipe plus the next case's examples (another house's): what a retrain changes by itself",
        },
        "ignore": {
            "scanned": ignore_scanned,
            "cases": ignore_rows,
            "total": _sum_ignore(ignore_rows, ignored),
            "by_source": {s: _sum_ignore([r for r in ignore_rows if r["source"] == s], ignored) for s in sources},
        },
        "raise": {
            "scanned": raise_scanned,
            "cases": raise_rows,
            "total": sum_raise(raise_rows, measured),
            "by_source": {s: sum_raise([r for r in raise_rows if r["source"] == s], measured) for s in sources},
        },
        "seconds": {
            "total": round(time.perf_counter() - t0, 1),
            "per_training": train.seconds,
            "measuring": round(time.perf_counter() - t_measure, 1),
        },
    }
