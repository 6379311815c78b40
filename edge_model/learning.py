"""Does a household's Ignore or Raise change what it is told later? Answer one alert per house the daemon's way and count.

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

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_model import METADATA_FILE, MODEL_FILE, EdgeModelError, feedback
from edge_model.alerting import AlertPolicy, decide
from edge_model.dataset import EVAL_SEEDS, TAP_MINUTE_SHARE, DatasetSpec, Examples, simulated_house
from edge_model.evaluation import CALIBRATED_DAY, GOALS, Goal, Judge, caught
from edge_model.evaluation_sources import House, houses_of
from edge_model.features import Features
from edge_model.ignore_rules import SuppressionRule
from edge_model.lifts import REF_DAYS
from edge_model.pipeline import CheckSet, train_model
from edge_model.scored import score_house
from edge_model.scoring import Scorer
from edge_model.series import HouseSeries
from edge_model.taps import PRESETS, Tap, band_minutes, inject
from edge_model.training import ForestParams
from edge_model.windows import Alert, Windows
from gateway.public_holidays import HolidayCalendar

SOURCES = ("uci-development", "ramp", "simulated")  # simulated: wide houses, with a benign load for Ignore
# Simulated houses of ranges nothing else uses (training 0+, the check set 700000+, evaluate 900000+).
IGNORE_SEEDS = EVAL_SEEDS + 120_000
RAISE_SEEDS = EVAL_SEEDS + 140_000
SCAN_PER_CASE = 4  # simulated houses tried per case wanted before giving up on that source


@dataclass(frozen=True)
class BenignLoad:
    """A new load the family really runs, every day from `start_day`: a household would Ignore its alert."""

    name: str
    tap: Tap  # the shape of the load (taps.inject adds it); a benign load, never labelled theft


BENIGN_START_DAY = CALIBRATED_DAY + 14
BENIGN_LOADS = (
    BenignLoad("ev_charger", Tap("night", 1_500.0, BENIGN_START_DAY, 22, 1)),  # a scooter or car charging from 22:00
    BenignLoad("night_ac", Tap("switched", 1_000.0, BENIGN_START_DAY, 23, 6, period_min=40, duty=0.6)),  # its compressor cycling
    BenignLoad("always_on", Tap("constant", 120.0, BENIGN_START_DAY, 0, 0)),  # a second freezer, an aquarium, a home server
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
FIRST_TAP_DAY = CALIBRATED_DAY + 2  # the tap that is Raised starts here (as evaluation.onsets' first) ...
RAISE_TAP_DAYS = 14  # ... and runs this long before the line is fixed
SECOND_TAP_DAY = FIRST_TAP_DAY + RAISE_TAP_DAYS + REF_DAYS  # the same tap again, once the house's usual has forgotten the first
SECOND_TAP_DAYS = 14  # followed this long
MIN_DAYS = SECOND_TAP_DAY + SECOND_TAP_DAYS  # of a measured house


@dataclass(frozen=True)
class LearningSpec:
    """Which houses, how many cases, and the small recipe every model here is trained with."""

    sources: tuple[str, ...] = SOURCES
    ignore_per_source: int = 2
    raise_per_source: int = 1
    days: int = 120  # of each measured house
    train_households: int = 12
    train_days: int = 120  # of each training house, and of the check set's
    trees: int = 20
    check_households: int = 3  # the check set sets each model's threshold, as in `model retrain`
    blind_taps: tuple[str, ...] = ("night", "switched")  # goals injected after an Ignore

    def __post_init__(self):
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown or not self.sources:
            raise EdgeModelError(f"sources must be some of {', '.join(SOURCES)}, got {', '.join(self.sources) or 'none'}")
        goals = {g.name for g in GOALS}
        if not set(self.blind_taps) <= goals:
            raise EdgeModelError(f"blind_taps must be goals ({', '.join(sorted(goals))}), got {', '.join(self.blind_taps)}")
        if min(self.ignore_per_source, self.raise_per_source) < 0 or self.ignore_per_source + self.raise_per_source == 0:
            raise EdgeModelError(f"measure at least one case (got {self.ignore_per_source} Ignore and {self.raise_per_source} Raise per source)")
        if self.days < MIN_DAYS or self.trees < 1:
            raise EdgeModelError(f"need at least {MIN_DAYS} days per measured house (got {self.days}) and 1 tree (got {self.trees})")

    def to_dict(self) -> dict:
        return asdict(self)

    def recipe(self) -> tuple[DatasetSpec, ForestParams, CheckSet]:
        return (DatasetSpec(households=self.train_households, days=self.train_days), ForestParams(n_trees=self.trees),
                CheckSet(households=self.check_households, days=self.train_days))


class _Trainer:
    """Trains the recipe with `pipeline.train_model` (what `model retrain` runs) and loads each model with onnxruntime."""

    def __init__(self, spec: LearningSpec, workdir: Path, progress: bool):
        self.recipe = spec.recipe()
        self.workdir = workdir
        self.progress = progress
        self.seconds: list[float] = []

    def __call__(self, name: str, extra: Examples | None = None) -> Scorer:
        t0 = time.perf_counter()
        onnx_bytes, metadata = train_model(*self.recipe, extra=extra, progress=False)
        self.seconds.append(round(time.perf_counter() - t0, 1))
        where = self.workdir / name
        where.mkdir()
        (where / MODEL_FILE).write_bytes(onnx_bytes)
        (where / METADATA_FILE).write_text(json.dumps({**metadata, "version": name}))
        _say(self.progress, f"trained {name} in {self.seconds[-1]} s ({metadata['training']['feedback_rows']} feedback rows)")
        return Scorer(where)


def _say(progress: bool, text: str) -> None:
    if progress:
        print(f"  {text}", file=sys.stderr, flush=True)


@dataclass
class _Judged:
    """One series as each model scores it: the windows (one per model) and the feature rows."""

    series: HouseSeries
    state: str
    features: Features
    windows: dict[str, Windows] = field(default_factory=dict)

    @classmethod
    def of(cls, series: HouseSeries, state: str, models: dict[str, Scorer]) -> _Judged:
        w, f = score_house(series, None, HolidayCalendar(state))
        out = cls(series, state, f)
        out.add(w, models)
        return out

    def add(self, w: Windows, models: dict[str, Scorer]) -> None:
        """Score the rows once per model; the features and the steady-lift hits are the same for all."""
        for name, model in models.items():
            score = model.score(self.features.rows)
            score[np.isnan(self.features.mean_w)] = 0.0  # as score_house: no score where nothing was recorded
            self.windows[name] = replace(w, score=score)

    def alerts(self, model_name: str, model: Scorer, rule: SuppressionRule | None = None) -> list[Alert]:
        """What the daemon raises with this model (and this Ignore rule, kept in force as its pattern shows)."""
        w = self.windows[model_name]
        rules = () if rule is None else (rule.renewed(w.hour, w.weekday, w.power_w, w.start_s, w.floor_w),)
        return decide(w, AlertPolicy(threshold=model.threshold), rules)


def _tapped_hours(mask: np.ndarray) -> np.ndarray:
    return mask.reshape(-1, 60).mean(axis=1) >= TAP_MINUTE_SHARE


def _days_to_catch(alerts: list[Alert], w: Windows, tapped_hours: np.ndarray, start_day: int, within_days: int) -> int | None:
    """The fewest whole days from the tap's start within which an alert catches it (evaluation.caught), None: not within."""
    for d in range(1, within_days + 1):
        if caught(alerts, w, tapped_hours, start_day, d):
            return d
    return None


def _scope_hours(rule: SuppressionRule) -> set[int]:
    hours = np.arange(24)
    return {int(h) for h in hours[rule.in_scope(hours, np.full(24, min(rule.weekdays)), np.full(24, rule.start_s))]}


def _mean(values: np.ndarray) -> float | None:
    return round(float(np.mean(values)), 3) if len(values) else None


def _compare(before: float | None, after: float | None, words: tuple[str, str, str] = ("fewer", "same", "more")) -> str:
    """Whether `after` is below, at or above `before` (None, a tap not caught, counts as the most)."""
    b, a = (np.inf if v is None else v for v in (before, after))
    return words[0] if a < b else words[2] if a > b else words[1]


SOONER = ("sooner", "same", "later")


def _houses(source: str, spec: LearningSpec, progress: bool) -> list[House]:
    """The real houses of a source; simulated houses are made case by case."""
    _say(progress, f"loading {source}")
    return houses_of(source, None, spec.days)


# -- Ignore ---------------------------------------------------------------------------------------


@dataclass
class _IgnoreCase:
    source: str
    house: str
    load: str | None  # the benign load's name (simulated houses)
    judged: _Judged
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


def _first_false_alert(judged: _Judged, base: Scorer, load: BenignLoad | None) -> Alert | None:
    """The alert the household Ignores: its first once the house is calibrated; with a benign load,
    its first that names one of the load's hours once the load runs (the one they know is theirs)."""
    load_hours = set() if load is None else {int(h) for h in np.flatnonzero(band_minutes(load.tap.first_hour, load.tap.last_hour)) // 60}
    for a in judged.alerts("baseline", base):
        day = int(judged.windows["baseline"].day[a.index])
        if load is None and day >= CALIBRATED_DAY:
            return a
        if load is not None and day >= load.tap.start_day and load_hours & set(a.numbers["hours"]):
            return a
    return None


def _ignore_cases(spec: LearningSpec, base: Scorer, train: _Trainer, houses: dict, progress: bool) -> tuple[list[_IgnoreCase], dict]:
    cases, scanned = [], {}
    for source in spec.sources:
        tried = alerted = 0
        if spec.ignore_per_source:
            for house, load in _candidates(source, spec, houses.get(source, [])):
                if sum(c.source == source for c in cases) >= spec.ignore_per_source:
                    break
                tried += 1
                judged = _Judged.of(house.series, house.state, {"baseline": base})
                alert = _first_false_alert(judged, base, load)
                if alert is None:
                    continue
                alerted += 1
                _say(progress, f"Ignore on {house.name}: {alert.message}")
                # What store_job's _take_in does with an Ignore: the alert's windows as normal examples, and its rule.
                examples, rule = feedback.ignore(judged.features.rows, judged.windows["baseline"], alert)
                case = _IgnoreCase(source, house.name, None if load is None else load.name, judged, alert, examples, rule)
                case.model = train(f"ignore-{len(cases)}", examples)
                cases.append(case)
        scanned[source] = {"houses_tried": tried, "alerted": alerted}
    return cases, scanned


def _measure_ignore(case: _IgnoreCase, models: dict[str, Scorer], spec: LearningSpec) -> dict:
    settings = _settings(models)
    judged = case.judged
    judged.add(judged.windows["baseline"], {k: v for k, v in models.items() if k != "baseline"})
    w = judged.windows["baseline"]
    at = case.alert.index
    scope = _scope_hours(case.rule)
    later = np.arange(len(w.score)) > at
    in_scope = np.isin(w.hour % 24, sorted(scope))
    row = {
        "source": case.source, "house": case.house, "benign_load": case.load,
        "ignored": {"day": int(w.day[at]), "path": case.alert.numbers["path"], "message": case.alert.message,
                    "hours": case.alert.numbers["hours"]},
        "rule": {"hours": sorted(scope), "weekdays": sorted(case.rule.weekdays), "excess_cap_w": round(case.rule.excess_cap_w, 1),
                 "text": case.rule.describe()},
        "feedback_rows": len(case.examples),
        "days_after": int(w.day[-1] - w.day[at]),
        "later_alerts": {},
        "mean_score": {m: {"ignored_windows": _mean(judged.windows[m].score[list(case.alert.hits)]),
                           "later_in_rule_hours": _mean(judged.windows[m].score[later & in_scope])} for m in models},
        "taps": [],
    }
    for s in settings:
        after = [a for a in judged.alerts(s.model, models[s.model], case.rule if s.rule else None) if a.index > at]
        row["later_alerts"][s.key] = {
            "all": len(after),
            "in_rule_hours": sum(1 for a in after if scope & set(a.numbers["hours"])),
            "steady": sum(1 for a in after if a.numbers["path"] == "steady"),
            "forest": sum(1 for a in after if a.numbers["path"] == "forest"),
        }
    start_day = int(w.day[at]) + 7
    for k, goal in enumerate(g for g in GOALS if g.name in spec.blind_taps):
        if start_day + goal.within_days > judged.series.days:
            row["taps"].append({"goal": goal.name, "start_day": start_day, "skipped": "no room after the Ignore"})
            continue
        tap = Tap(goal.tap, goal.watts, start_day, seed=k, **PRESETS[goal.tap])
        minutes, mask = inject(judged.series.minute_w, tap)
        tapped = _Judged.of(HouseSeries(judged.series.first_date, minutes), judged.state, models)
        hours = _tapped_hours(mask)
        tw = tapped.windows["baseline"]
        row["taps"].append({
            "goal": goal.name, "watts": goal.watts, "start_day": start_day, "within_days": goal.within_days,
            "on_rule_hours": bool(scope & {int(h) for h in tw.hour[hours]}),
            "caught": {s.key: caught(tapped.alerts(s.model, models[s.model], case.rule if s.rule else None), tw, hours, start_day,
                                     goal.within_days) for s in settings},
        })
    later_alerts = {k: v["all"] for k, v in row["later_alerts"].items()}
    control = "control" in models
    row["verdict"] = {
        "rule": _compare(later_alerts["no_feedback"], later_alerts["rule_only"]),
        "retrain": _compare(later_alerts["rule_only"], later_alerts["retrained_rule"]),
        "control": _compare(later_alerts["rule_only"], later_alerts["control_rule"]) if control else None,
        # the learning: this house's examples against another house's, both with the rule
        "learned": _compare(later_alerts["control_rule"], later_alerts["retrained_rule"]) if control else None,
        "taps_lost": sum(1 for t in row["taps"] if "caught" in t and t["caught"]["no_feedback"] and not t["caught"]["retrained_rule"]),
    }
    return row


def _settings(models) -> tuple[Setting, ...]:
    """The settings whose model was trained (no control for a lone case)."""
    return tuple(s for s in IGNORE_SETTINGS if s.model in models)


def _sum_ignore(rows: list[dict], models: tuple[str, ...]) -> dict:
    settings = _settings(models)
    out = {"cases": len(rows), "feedback_rows": sum(r["feedback_rows"] for r in rows), "days_after": sum(r["days_after"] for r in rows),
           "later_alerts": {s.key: {k: sum(r["later_alerts"][s.key][k] for r in rows) for k in ("all", "in_rule_hours", "steady", "forest")}
                            for s in settings},
           "taps": {}, "verdict": {}}
    for name in ("rule", "retrain", "control", "learned"):
        out["verdict"][name] = {v: sum(1 for r in rows if r["verdict"][name] == v) for v in ("fewer", "same", "more")}
    out["verdict"]["taps_lost"] = sum(r["verdict"]["taps_lost"] for r in rows)
    out["mean_score"] = {m: {k: _mean(np.array([r["mean_score"][m][k] for r in rows if r["mean_score"][m][k] is not None]))
                             for k in ("ignored_windows", "later_in_rule_hours")} for m in models}
    for t in (t for r in rows for t in r["taps"]):
        agg = out["taps"].setdefault(t["goal"], {"injected": 0, "skipped": 0, "on_rule_hours": 0, "caught": {s.key: 0 for s in settings}})
        if "caught" not in t:
            agg["skipped"] += 1
            continue
        agg["injected"] += 1
        agg["on_rule_hours"] += int(t["on_rule_hours"])
        for key, hit in t["caught"].items():
            agg["caught"][key] += int(hit)
    return out


# -- Raise ----------------------------------------------------------------------------------------


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


def _raise_cases(spec: LearningSpec, base: Scorer, train: _Trainer, houses: dict, progress: bool) -> tuple[list[_RaiseCase], dict]:
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
                judged = _Judged.of(HouseSeries(house.series.first_date, minutes), house.state, {"baseline": base})
                w = judged.windows["baseline"]
                hours = _tapped_hours(mask)
                raised = next((a for a in judged.alerts("baseline", base) if caught([a], w, hours, first.start_day, RAISE_TAP_DAYS)), None)
                if raised is None:
                    missed[goal.name] = missed.get(goal.name, 0) + 1
                    continue
                alerted += 1
                _say(progress, f"Raise on {house.name} ({goal.name} tap): {raised.message}")
                examples = feedback.raise_theft(judged.features.rows, raised)  # as store_job's _take_in on a Raise
                case = _RaiseCase(source, house, goal, tried, raised, int(w.day[raised.index]), examples)
                case.model = train(f"raise-{len(cases)}", examples)
                cases.append(case)
        scanned[source] = {"houses_tried": tried, "alerted": alerted, "taps_not_caught": missed}
    return cases, scanned


def _catch(judged: _Judged, name: str, model: Scorer, hours: np.ndarray, start_day: int, goal: Goal) -> dict:
    """How many days the model takes to catch the tap from start_day: the daemon (either path) and each path alone."""
    w = judged.windows[name]
    by_path = Judge(model).alerts(w)
    days = {path: _days_to_catch(alerts, w, hours, start_day, SECOND_TAP_DAYS) for path, alerts in by_path.items()}
    return {"days_to_catch": days["either"], "caught_within_goal": days["either"] is not None and days["either"] <= goal.within_days,
            "forest_days_to_catch": days["forest"], "steady_days_to_catch": days["steady"], "mean_score": _mean(w.score[hours])}


def _measure_raise(case: _RaiseCase, models: dict[str, Scorer]) -> dict:
    first, second = _taps(case.goal, case.seed)
    clean_w, day0 = case.house.series.minute_w, case.house.series.first_date
    once, _ = inject(clean_w, first)
    twice, mask = inject(once, second)
    tapped = _Judged.of(HouseSeries(day0, twice), case.house.state, models)
    clean = _Judged.of(case.house.series, case.house.state, models)
    hours = _tapped_hours(mask) & (np.arange(len(mask) // 60) >= second.start_day * 24)  # the second tap's
    # The same second tap on the house without the first in its history, as the model without feedback sees it.
    alone, alone_mask = inject(clean_w, second)
    fresh = _Judged.of(HouseSeries(day0, alone), case.house.state, {"baseline": models["baseline"]})
    row = {"source": case.source, "house": case.house.name,
           "tap": {"goal": case.goal.name, "kind": case.goal.tap, "watts": case.goal.watts, "first_day": first.start_day,
                   "first_days": RAISE_TAP_DAYS, "second_day": second.start_day, "within_days": case.goal.within_days},
           "raised": {"day": case.raised_day, "path": case.alert.numbers["path"], "message": case.alert.message},
           "feedback_rows": len(case.examples),
           "second_tap": {name: _catch(tapped, name, model, hours, second.start_day, case.goal) for name, model in models.items()},
           "second_tap_without_first": _catch(fresh, "baseline", models["baseline"], _tapped_hours(alone_mask), second.start_day, case.goal),
           "clean_alerts_after_raise": {name: sum(1 for a in clean.alerts(name, model) if a.index > case.alert.index)
                                        for name, model in models.items()}}
    days = {m: row["second_tap"][m]["days_to_catch"] for m in models}
    forest = {m: row["second_tap"][m]["forest_days_to_catch"] for m in models}
    control = "control" in models
    row["verdict"] = {
        "retrain": _compare(days["baseline"], days["retrained"], SOONER),
        "retrain_forest": _compare(forest["baseline"], forest["retrained"], SOONER),
        "control": _compare(days["baseline"], days["control"], SOONER) if control else None,
        "control_forest": _compare(forest["baseline"], forest["control"], SOONER) if control else None,
        # the learning: this house's examples against another house's
        "learned": _compare(days["control"], days["retrained"], SOONER) if control else None,
        "learned_forest": _compare(forest["control"], forest["retrained"], SOONER) if control else None,
    }
    return row


def _caught_sum(catches: list[tuple[dict, int]]) -> dict:
    """(catch, goal's days) pairs: how many were caught within the goal's days, by the daemon and by each path alone."""
    def within(key: str) -> int:
        return sum(int(c[key] is not None and c[key] <= d) for c, d in catches)

    days = [c["days_to_catch"] for c, _ in catches if c["days_to_catch"] is not None]
    return {"caught_within_goal": within("days_to_catch"), "forest_caught_within_goal": within("forest_days_to_catch"),
            "steady_caught_within_goal": within("steady_days_to_catch"), "median_days_to_catch": float(np.median(days)) if days else None,
            "mean_score": _mean(np.array([c["mean_score"] for c, _ in catches if c["mean_score"] is not None]))}


def _sum_raise(rows: list[dict], models: tuple[str, ...]) -> dict:
    out = {"cases": len(rows), "feedback_rows": sum(r["feedback_rows"] for r in rows),
           "second_tap": {m: _caught_sum([(r["second_tap"][m], r["tap"]["within_days"]) for r in rows]) for m in models},
           "second_tap_without_first": _caught_sum([(r["second_tap_without_first"], r["tap"]["within_days"]) for r in rows]),
           "clean_alerts_after_raise": {m: sum(r["clean_alerts_after_raise"][m] for r in rows) for m in models}, "verdict": {}}
    for name in ("retrain", "retrain_forest", "control", "control_forest", "learned", "learned_forest"):
        out["verdict"][name] = {v: sum(1 for r in rows if r["verdict"][name] == v) for v in SOONER}
    return out


# -- the report -----------------------------------------------------------------------------------


def _control(cases: list, k: int) -> Scorer | None:
    """The model retrained on the next case's feedback (another house's): what a retrain changes by itself."""
    return cases[(k + 1) % len(cases)].model if len(cases) > 1 else None


def evaluate_learning(spec: LearningSpec = LearningSpec(), progress: bool = False) -> dict:
    """The report of `powergw model evaluate-learning`: per case, per source and in total, with the counts behind each figure."""
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
        raise EdgeModelError("no source of houses could be loaded: " + "; ".join(f"{s}: {why}" for s, why in skipped.items()))
    with tempfile.TemporaryDirectory(prefix="powergw-learning-") as tmp:
        train = _Trainer(spec, Path(tmp), progress)
        base = train("baseline")
        ignore_cases, ignore_scanned = _ignore_cases(replace(spec, sources=sources), base, train, houses, progress)
        raise_cases, raise_scanned = _raise_cases(replace(spec, sources=sources), base, train, houses, progress)
        t_measure = time.perf_counter()
        ignore_rows, raise_rows = [], []
        for k, case in enumerate(ignore_cases):
            _say(progress, f"measuring Ignore {k + 1} of {len(ignore_cases)}: {case.house}")
            models = {"baseline": base, "retrained": case.model, "control": _control(ignore_cases, k)}
            ignore_rows.append(_measure_ignore(case, {m: v for m, v in models.items() if v is not None}, spec))
        for k, case in enumerate(raise_cases):
            _say(progress, f"measuring Raise {k + 1} of {len(raise_cases)}: {case.house.name}")
            models = {"baseline": base, "retrained": case.model, "control": _control(raise_cases, k)}
            raise_rows.append(_measure_raise(case, {m: v for m, v in models.items() if v is not None}))
    ignored = MODELS if len(ignore_cases) > 1 else MODELS[:2]  # no control for a lone case
    measured = MODELS if len(raise_cases) > 1 else MODELS[:2]
    return {
        "spec": spec.to_dict(),
        "recipe": {"dataset": dataset.to_dict(), "forest": forest.to_dict(), "check_set": asdict(check)},
        "baseline": {"threshold": base.threshold, "check_set": base.metadata["metrics"]["check_set"]},
        "sources_skipped": skipped,
        "settings": {s.key: s.meaning for s in IGNORE_SETTINGS},
        "models": {"baseline": "the small recipe without feedback, trained once",
                   "retrained": "the recipe plus this house's examples (one retrain per case)",
                   "control": "the recipe plus the next case's examples (another house's): what a retrain changes by itself"},
        "ignore": {"scanned": ignore_scanned, "cases": ignore_rows, "total": _sum_ignore(ignore_rows, ignored),
                   "by_source": {s: _sum_ignore([r for r in ignore_rows if r["source"] == s], ignored) for s in sources}},
        "raise": {"scanned": raise_scanned, "cases": raise_rows, "total": _sum_raise(raise_rows, measured),
                  "by_source": {s: _sum_raise([r for r in raise_rows if r["source"] == s], measured) for s in sources}},
        "seconds": {"total": round(time.perf_counter() - t0, 1), "per_training": train.seconds,
                    "measuring": round(time.perf_counter() - t_measure, 1)},
    }
