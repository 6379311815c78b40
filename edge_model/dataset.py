"""Labelled training data: simulated houses of the wide family, minute by minute, with injected taps.

Everything is a pure function of seeds, so a model's training set is rebuilt from the
`DatasetSpec` in its metadata and never stored. Houses nobody here made (the UCI house, RAMP,
richardsonpy; edge_model.recordings) are never trained on: they choose and judge the model.

Labels: an hour is theft when a tap ran in at least a fifth of its minutes, from the tap's second
day on (the features hold a lift over days; on its first day a tap is indistinguishable from the
house's own one-off loads, which the training houses also carry: `taps.sporadic`, power cuts with
an inverter recharging). A clean house's own new steady load that held for days (a season's AC, a
cold spell's heater) is left out of the normal examples: the detector is meant to report those,
and the household's Ignore keeps them quiet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np

from edge_model import EdgeModelError
from edge_model.features import COLUMN, N_FEATURES, Features, as_model_input, build_features
from edge_model.lifts import MIN_CAL_DAYS, MIN_REF_DAYS
from edge_model.series import MINUTES_PER_DAY, HouseSeries
from edge_model.taps import KINDS, Tap, inject, power_cuts, sporadic
from gateway.public_holidays import HolidayCalendar
from gateway.simulation.load_stats import family_household, simulated_minutes

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
# Seed ranges keep houses apart: training, the fixed promotion check set and evaluation never share one.
TRAIN_SEEDS = 0
CHECK_SEEDS = 700_000
EVAL_SEEDS = 900_000
FIRST_LABELLED_DAY = MIN_REF_DAYS  # rows before this have no usual level to compare with
TAP_MINUTE_SHARE = 0.2


@dataclass(frozen=True)
class DatasetSpec:
    """How to rebuild a labelled data set: houses first_seed.., days each, one clean and `tapped` tapped copies."""

    first_seed: int = TRAIN_SEEDS
    households: int = 64
    days: int = 120
    tapped: int = 1  # tapped copies of each house beside its clean self
    family: str = "wide"
    clean_share: float = 0.5  # of a clean house's rows, this share is kept (the taps' rows are fewer)

    def __post_init__(self):
        if self.households < 1 or self.days < MIN_REF_DAYS + MIN_CAL_DAYS + 7 or self.tapped < 0:
            raise EdgeModelError(
                f"a data set needs at least 1 household (got {self.households}), at least "
                f"{MIN_REF_DAYS + MIN_CAL_DAYS + 7} days (got {self.days}) and tapped >= 0 (got {self.tapped})"
            )

    def to_dict(self) -> dict:
        return asdict(self)


TRAINING_SPEC = DatasetSpec()


@dataclass
class Examples:
    """Rows ready for a classifier: features, labels, weights and which house each came from."""

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def simulated_house(seed: int, days: int, family: str = "wide") -> tuple[HouseSeries, str]:
    """(minute series, its state for holidays) of simulated house `seed`."""
    profile, first = family_household(family, seed)
    minutes = simulated_minutes(profile, seed, first, days).ravel()
    return HouseSeries(first, minutes), profile.state


def draw_tap(rng: np.random.Generator, days: int) -> Tap:
    """A tap of any kind, size, band and start for training."""
    kind = str(rng.choice(list(KINDS)))
    start = int(rng.integers(MIN_REF_DAYS + MIN_CAL_DAYS // 2, days - 5))
    watts = float(np.exp(rng.uniform(np.log(100.0), np.log(2_000.0))))
    first, last = 0, 0
    if kind == "night":
        first = int(rng.integers(0, 3))
        last = int(rng.integers(first + 2, 7))
    elif kind in ("evening", "switched", "some_days"):
        first = int(rng.integers(6, 22)) if rng.random() < 0.3 else int(rng.integers(17, 21))
        last = min(24, first + int(rng.integers(2, 6))) % 24
    period = int(rng.integers(20, 61))
    lasting = None if rng.random() < 0.5 else int(rng.integers(7, 30))
    return Tap(
        kind,
        watts,
        start,
        first,
        last,
        days=lasting,
        period_min=period,
        duty=float(rng.uniform(0.3, 0.7)),
        per_week=int(rng.integers(2, 5)),
        seed=int(rng.integers(0, 2**31)),
    )


def labels(mask: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(theft per hour, hours of the tap's first day) from the tapped minutes."""
    per_hour = mask.reshape(-1, 60).mean(axis=1) >= TAP_MINUTE_SHARE
    tapped_days = np.flatnonzero(mask.reshape(days, MINUTES_PER_DAY).any(axis=1))
    first_day = np.zeros(days * 24, dtype=bool)
    if len(tapped_days):
        first_day[tapped_days[0] * 24 : (tapped_days[0] + 1) * 24] = True
    return per_hour, first_day


def house_lifted(features: Features) -> np.ndarray:
    """Hours where a house's own load held a steady lift of 100 W for days (left out of the normal examples)."""
    rows = features.rows
    lifted = np.zeros(len(rows), dtype=bool)
    for s, kd in (("f1", 3), ("f3", 3), ("f6", 7)):
        lifted |= (rows[:, COLUMN[f"{s}_k{kd}_cal"]] >= 3.0) & (
            rows[:, COLUMN[f"{s}_k{kd}_lvl"]] * features.level_w >= 100.0
        )
    return lifted


def house_examples(seed: int, spec: DatasetSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """(float32 rows, labels) of one house's clean self and its tapped copies."""
    series, state = simulated_house(seed, spec.days, spec.family)
    calendar = HolidayCalendar(state)
    rng = np.random.default_rng([seed, 0xDA7A])
    minutes = series.minute_w
    if rng.random() < 0.5:
        minutes = sporadic(minutes, rng)
    if rng.random() < 0.3:
        minutes = power_cuts(minutes, rng)
    own = HouseSeries(series.first_date, minutes)
    clean = build_features(own, calendar)
    lifted = house_lifted(clean)
    start = FIRST_LABELLED_DAY * 24
    keep = (np.arange(len(lifted)) >= start) & ~lifted & (rng.random(len(lifted)) < spec.clean_share)
    out = [(as_model_input(clean.rows[keep]), np.zeros(int(keep.sum()), dtype=np.int64))]
    for _ in range(spec.tapped):
        tap = draw_tap(rng, spec.days)
        tapped, mask = inject(minutes, tap)
        theft, first_day = labels(mask, spec.days)
        f = build_features(HouseSeries(series.first_date, tapped), calendar)
        keep = (np.arange(len(theft)) >= start) & ~first_day & (theft | ~lifted)
        out.append((as_model_input(f.rows[keep]), theft[keep].astype(np.int64)))
    return out


def training_examples(spec: DatasetSpec, progress: bool = False) -> Examples:
    """Every house's rows as float32, classes balanced by weight."""
    seeds = range(spec.first_seed, spec.first_seed + spec.households)
    if progress:
        from tqdm import tqdm

        seeds = tqdm(seeds, desc="simulating houses", unit="house")
    X, y, group = [], [], []
    for seed in seeds:
        for rows, labels_ in house_examples(seed, spec):
            X.append(rows)
            y.append(labels_)
            group.append(np.full(len(labels_), seed))
    X = np.concatenate(X) if X else np.empty((0, N_FEATURES), dtype=np.float32)
    y = np.concatenate(y) if y else np.empty(0, dtype=np.int64)
    positive = max(1, int(y.sum()))
    weight = np.where(y == 1, (len(y) - positive) / positive, 1.0)
    return Examples(X, y, weight, np.concatenate(group) if group else np.empty(0))
