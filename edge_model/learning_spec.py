"""The learning evaluation's spec and what its Ignore and Raise halves share: the trainer, a series
as each model judges it, and the comparisons the verdicts use."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_model import METADATA_FILE, MODEL_FILE, EdgeModelError
from edge_model.alerting import AlertPolicy, decide
from edge_model.dataset import EVAL_SEEDS, TAP_MINUTE_SHARE, DatasetSpec, Examples
from edge_model.evaluation import CALIBRATED_DAY, GOALS
from edge_model.features import Features
from edge_model.ignore_rules import SuppressionRule
from edge_model.lifts import REF_DAYS
from edge_model.pipeline import CheckSet, train_model
from edge_model.scored import score_house
from edge_model.scoring import Scorer
from edge_model.series import HouseSeries
from edge_model.training import ForestParams
from edge_model.windows import Alert, Windows
from gateway.public_holidays import HolidayCalendar

SOURCES = ("uci-development", "ramp", "simulated")  # simulated: wide houses, with a benign load for Ignore
# Simulated houses of ranges nothing else uses (training 0+, the check set 700000+, evaluate 900000+).
IGNORE_SEEDS = EVAL_SEEDS + 120_000
RAISE_SEEDS = EVAL_SEEDS + 140_000
SCAN_PER_CASE = 4  # simulated houses tried per case wanted before giving up on that source
FIRST_TAP_DAY = CALIBRATED_DAY + 2  # the tap that is Raised starts here (as evaluation.onsets' first) ...
RAISE_TAP_DAYS = 14  # ... and runs this long before the line is fixed
SECOND_TAP_DAY = (
    FIRST_TAP_DAY + RAISE_TAP_DAYS + REF_DAYS
)  # the same tap again, once the house's usual has forgotten the first
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
            raise EdgeModelError(
                f"sources must be some of {', '.join(SOURCES)}, got {', '.join(self.sources) or 'none'}"
            )
        goals = {g.name for g in GOALS}
        if not set(self.blind_taps) <= goals:
            raise EdgeModelError(
                f"blind_taps must be goals ({', '.join(sorted(goals))}), got {', '.join(self.blind_taps)}"
            )
        if (
            min(self.ignore_per_source, self.raise_per_source) < 0
            or self.ignore_per_source + self.raise_per_source == 0
        ):
            raise EdgeModelError(
                f"measure at least one case (got {self.ignore_per_source} Ignore and {self.raise_per_source} "
                "Raise per source)"
            )
        if self.days < MIN_DAYS or self.trees < 1:
            raise EdgeModelError(
                f"need at least {MIN_DAYS} days per measured house (got {self.days}) and 1 tree (got {self.trees})"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    def recipe(self) -> tuple[DatasetSpec, ForestParams, CheckSet]:
        return (
            DatasetSpec(households=self.train_households, days=self.train_days),
            ForestParams(n_trees=self.trees),
            CheckSet(households=self.check_households, days=self.train_days),
        )


class Trainer:
    """Trains the recipe with `pipeline.train_model` (what `model retrain` runs) and loads each
    model with onnxruntime."""

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
        rows = metadata["training"]["feedback_rows"]
        say(self.progress, f"trained {name} in {self.seconds[-1]} s ({rows} feedback rows)")
        return Scorer(where)


def say(progress: bool, text: str) -> None:
    """Print `text` to stderr when `progress` is on."""
    if progress:
        print(f"  {text}", file=sys.stderr, flush=True)


@dataclass
class Judged:
    """One series as each model scores it: the windows (one per model) and the feature rows."""

    series: HouseSeries
    state: str
    features: Features
    windows: dict[str, Windows] = field(default_factory=dict)

    @classmethod
    def of(cls, series: HouseSeries, state: str, models: dict[str, Scorer]) -> Judged:
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


def tapped_hours(mask: np.ndarray) -> np.ndarray:
    """The hours in which at least TAP_MINUTE_SHARE of the minutes were tapped."""
    return mask.reshape(-1, 60).mean(axis=1) >= TAP_MINUTE_SHARE


def mean_or_none(values: np.ndarray) -> float | None:
    """The mean to 3 decimals, None for no values."""
    return round(float(np.mean(values)), 3) if len(values) else None


def compare(before: float | None, after: float | None, words: tuple[str, str, str] = ("fewer", "same", "more")) -> str:
    """Whether `after` is below, at or above `before` (None, a tap not caught, counts as the most)."""
    b, a = (np.inf if v is None else v for v in (before, after))
    return words[0] if a < b else words[2] if a > b else words[1]


SOONER = ("sooner", "same", "later")
