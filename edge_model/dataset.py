"""Labelled training and evaluation data: simulated households with injected attacks and benign anomalies.

Everything here is a pure function of its seeds, so a model's training set is reproducible from
the `DatasetSpec` in its metadata and never needs to be stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from collections.abc import Iterable

import numpy as np

from edge_model import TRAINING_HOUSEHOLDS, TRAINING_TAP_WEIGHT, EdgeModelError
from edge_model.attacks import (
    BENIGN_KINDS,
    PERSISTENT_BENIGN_KINDS,
    TAP_KINDS,
    THEFT,
    THEFT_KINDS,
    Injection,
    floor_after,
    inject,
)
from gateway.public_holidays import HolidayCalendar, StateOverrides, load_overrides
from edge_model.features import MIN_HISTORY_DAYS, N_FEATURES, as_model_input, build_features
from edge_model.series import SLOT_S, SLOTS_PER_HOUR, floor_of_slots
from gateway.simulation.household import Household, random_profile

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
# Seed ranges keep households apart: training, the fixed promotion check set and evaluation never share one.
TRAIN_SEEDS = 0
CHECK_SEEDS = 700_000
EVAL_SEEDS = 900_000


@dataclass(frozen=True)
class DatasetSpec:
    """How to rebuild a labelled data set: households first_seed.., days each, injection rates."""

    first_seed: int = TRAIN_SEEDS
    households: int = 96
    days: int = 112
    theft_fraction: float = 0.6
    benign_fraction: float = 0.35
    benign_weight: float = 1.0  # weight of the hours a short benign anomaly touched (labelled normal)
    # The hours of a new persistent load (new AC, EV charger) are labelled "alert" (1): hour by hour
    # they are the same rectangle as a night tap, so teaching the forest they are normal teaches it to
    # miss taps. The household's Ignore quiets them instead. "normal" is the v1/v2 behaviour.
    persistent_benign: str = "alert"
    step_s: float = 60.0  # sampling of the load model: 5-minute means (the floor) and hourly means from it
    # How much likelier a theft household is to get each of the four tapping kinds than each of h1-h6.
    # 1.0 draws the ten kinds alike (the fixed check set and the evaluation's mix keep it); the training
    # recipe (TRAINING_SPEC) uses 2.5, which takes the tapping kinds from 4 in 10 theft households to 5 in 8.
    tap_weight: float = 1.0

    def __post_init__(self):
        if self.households < 1 or self.days <= MIN_HISTORY_DAYS or not self.tap_weight > 0:
            raise EdgeModelError(
                f"a data set needs at least 1 household (got {self.households}), more than {MIN_HISTORY_DAYS} days "
                f"(got {self.days}) and a tap weight above 0 (got {self.tap_weight})"
            )

    def to_dict(self) -> dict:
        return asdict(self)


# The recipe `powergw model train` and the retrain job use, and the shipped model was trained with.
# Tapping is the theft the 3-day goal is about and the one the hourly data shows least well,
# so the training households lean towards it; measured in docs/theft-detection.md ("Training mix").
TRAINING_SPEC = DatasetSpec(households=TRAINING_HOUSEHOLDS, tap_weight=TRAINING_TAP_WEIGHT)


@dataclass
class HouseholdData:
    """One simulated household: hourly power, its features, per-hour labels and what was injected."""

    seed: int
    state: str
    first_date: dt.date
    power_w: np.ndarray  # hourly mean W after injection
    clean_w: np.ndarray  # the same hours before injection
    features: np.ndarray
    floor_w: np.ndarray  # hourly floor (lowest 5-minute mean) after injection
    theft: np.ndarray  # bool per hour
    injections: list[Injection] = field(default_factory=list)
    benign: np.ndarray | None = None  # bool per hour a benign anomaly touched

    @property
    def kind(self) -> str:
        """The theft kind injected, else the benign kind, else "clean"."""
        for category in (THEFT, "benign"):
            for inj in self.injections:
                if inj.category == category:
                    return inj.kind
        return "clean"


def hourly_power(household: Household, first_date: dt.date, days: int, step_s: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """(hourly mean W, hourly floor W) from the load model, local midnight of first_date onwards."""
    start = dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST)
    per_slot = int(round(SLOT_S / step_s))
    if per_slot < 1 or abs(per_slot * step_s - SLOT_S) > 1e-9:
        raise ValueError(f"step_s must divide {SLOT_S} s, got {step_s}")
    samples = household.power_w(start, days * 24 * SLOTS_PER_HOUR * per_slot, step_s)
    slots = samples.reshape(-1, per_slot).mean(axis=1)
    return slots.reshape(-1, SLOTS_PER_HOUR).mean(axis=1), floor_of_slots(slots)


def simulate_household(
    seed: int,
    days: int,
    theft_kind: str | None,
    benign_kind: str | None,
    overrides: dict[str, StateOverrides],
    step_s: float = 60.0,
    theft_start_day: int | None = None,
    magnitude_w: float | None = None,
    theft_days: int | None = None,
) -> HouseholdData:
    """A household with at most one theft and one benign injection, reproducible from its seed."""
    rng = np.random.default_rng([seed, 0x5EED])
    profile = random_profile(rng)
    first_date = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3 * 365)))
    clean, floor = hourly_power(Household(profile, seed), first_date, days, step_s)
    floor_rng = np.random.default_rng([seed, 0xF100])  # its own stream: the injections draw as before
    power = clean.copy()
    theft = np.zeros(len(power), dtype=bool)
    benign = np.zeros(len(power), dtype=bool)
    injections = []
    if benign_kind is not None:
        start = int(rng.integers(MIN_HISTORY_DAYS + 7, max(MIN_HISTORY_DAYS + 8, days - 5)))
        before = power
        power, benign, label = inject(power, benign_kind, start, rng)
        floor = floor_after(benign_kind, before, power, floor, floor_rng)
        injections.append(label)
    if theft_kind is not None:
        start = theft_start_day if theft_start_day is not None else int(rng.integers(21, max(22, days - 3)))
        before = power
        power, mask, label = inject(power, theft_kind, start, rng, days=theft_days, magnitude_w=magnitude_w)
        floor = floor_after(theft_kind, before, power, floor, floor_rng)
        theft |= mask
        injections.append(label)
    calendar = HolidayCalendar(profile.state, overrides)
    features = build_features(power, first_date, calendar, floor_w=floor)
    return HouseholdData(seed, profile.state, first_date, power, clean, features, floor, theft, injections, benign)


def draw_kinds(seed: int, spec: DatasetSpec) -> tuple[str | None, str | None]:
    """Which theft and benign kinds (or None) household `seed` gets under `spec`."""
    rng = np.random.default_rng([seed, 0x1D])
    if spec.tap_weight == 1.0:
        theft = str(rng.choice(THEFT_KINDS)) if rng.random() < spec.theft_fraction else None
    else:
        weights = np.array([spec.tap_weight if k in TAP_KINDS else 1.0 for k in THEFT_KINDS])
        theft = str(rng.choice(THEFT_KINDS, p=weights / weights.sum())) if rng.random() < spec.theft_fraction else None
    benign = str(rng.choice(BENIGN_KINDS)) if rng.random() < spec.benign_fraction else None
    return theft, benign


def build_households(spec: DatasetSpec, progress: bool = False) -> list[HouseholdData]:
    overrides = load_overrides()
    seeds = range(spec.first_seed, spec.first_seed + spec.households)
    if progress:
        from tqdm import tqdm

        seeds = tqdm(seeds, desc="simulating households", unit="household")
    return [simulate_household(s, spec.days, *draw_kinds(s, spec), overrides, spec.step_s) for s in seeds]


@dataclass
class Examples:
    """Rows ready for a classifier: features, labels, weights and which household each came from."""

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def to_examples(households: Iterable[HouseholdData], benign_weight: float = 1.0, persistent_benign: str = "alert",
                rows_hint: int = 0) -> Examples:
    """Stack households, dropping the first days whose baselines are still too thin.

    y is 1 for theft and, with persistent_benign="alert", for the hours of a new persistent load.
    X holds the model's input rows: each household's float64 features cast to float32 once
    (features.as_model_input) as it is stacked, so a training set never exists twice in float64.
    `households` may be a generator (see `training_examples`); rows_hint, when it is the exact row
    count, lets X be filled in place instead of concatenated.
    """
    if persistent_benign not in ("alert", "normal"):
        raise ValueError(f"persistent_benign must be 'alert' or 'normal', got {persistent_benign!r}")
    keep = slice(MIN_HISTORY_DAYS * 24, None)
    X = np.empty((rows_hint, N_FEATURES), dtype=np.float32)
    in_place, spill = 0, []  # rows beyond rows_hint (a wrong hint) are kept, not lost
    ys, groups, benign = [], [], []
    for h in households:
        rows = as_model_input(h.features[keep])
        if not spill and in_place + len(rows) <= rows_hint:
            X[in_place : in_place + len(rows)] = rows
            in_place += len(rows)
        else:
            spill.append(rows)
        label = h.theft.copy()
        if persistent_benign == "alert" and h.benign is not None and any(i.kind in PERSISTENT_BENIGN_KINDS for i in h.injections):
            label |= h.benign
        ys.append(label[keep].astype(np.int64))
        groups.append(np.full(len(ys[-1]), h.seed))
        benign.append((h.benign if h.benign is not None else np.zeros(len(h.theft), dtype=bool))[keep])
    if spill or in_place < rows_hint:
        X = np.concatenate([X[:in_place], *spill])
    y = np.concatenate(ys) if ys else np.empty(0, dtype=np.int64)
    # Balance the classes so the forest's probabilities aren't dominated by clean hours.
    positive = max(1, int(y.sum()))
    weight = np.where(y == 1, (len(y) - positive) / positive, 1.0)
    weight = np.where(np.concatenate(benign) & (y == 0), benign_weight, weight) if benign else weight
    return Examples(X, y, weight, np.concatenate(groups) if groups else np.empty(0))


def training_examples(spec: DatasetSpec, progress: bool = False) -> Examples:
    """`to_examples(build_households(spec))` without holding every household in memory: each one is
    simulated, stacked as float32 rows and dropped (the 128-household recipe peaked at 673 MB the
    other way)."""
    overrides = load_overrides()
    seeds = range(spec.first_seed, spec.first_seed + spec.households)
    if progress:
        from tqdm import tqdm

        seeds = tqdm(seeds, desc="simulating households", unit="household")
    households = (simulate_household(s, spec.days, *draw_kinds(s, spec), overrides, spec.step_s) for s in seeds)
    rows = spec.households * max(0, spec.days - MIN_HISTORY_DAYS) * 24
    return to_examples(households, spec.benign_weight, spec.persistent_benign, rows_hint=rows)
