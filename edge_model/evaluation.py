"""Judge theft detection through the daemon's own rules, on each source of houses separately.

Sources: the UCI house's development years (the one choices were made on), its holdout years,
RAMP and richardsonpy households (third-party generators), the wide simulated family, and today's
simulator on its frozen evaluation seeds. For each: theft alerts on the clean houses per
household-month, and the goals' taps injected minute by minute at several start days, caught
when an alert on the tapped hours comes within the goal's days; the window ROC-AUC of the night
and constant taps (14 days long) against the clean copy's windows; each path (the steady-lift
detector, the forest) counted on its own and together. Scores come from onnxruntime, as the
daemon's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from edge_model import MIN_HISTORY_DAYS, EdgeModelError
from edge_model.alerting import AlertPolicy, decide, hour_thresholds
from edge_model.evaluation_sources import House
from edge_model.scored import score_house
from edge_model.series import HouseSeries
from edge_model.steady import SteadyPolicy
from edge_model.taps import PRESETS, Tap, inject
from edge_model.windows import Windows
from gateway.public_holidays import HolidayCalendar

CALIBRATED_DAY = (
    MIN_HISTORY_DAYS  # alerts count from here, as in the daemon: before it the house is still being learned
)


@dataclass(frozen=True)
class Goal:
    """One of the issue's tap cases: what is injected and within how many days it must be caught."""

    name: str
    tap: str
    watts: float
    within_days: int
    target: float


GOALS = (
    Goal("night", "night", 300.0, 3, 0.90),
    Goal("constant", "constant", 150.0, 7, 0.80),
    Goal("switched", "switched", 1_000.0, 7, 0.70),
    Goal("some_days", "some_days", 200.0, 14, 0.60),
)
AUC_GOALS = ("night", "constant")
AUC_TAP_DAYS = 14
FALSE_ALERT_GOAL = 0.5  # per household-month


@dataclass
class SourceReport:
    source: str
    houses: int
    months: float = 0.0
    false_alerts: dict = field(default_factory=lambda: {"steady": 0, "forest": 0, "either": 0})
    caught: dict = field(default_factory=dict)  # goal -> path -> [bool per injection]
    auc: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "source": self.source,
            "houses": self.houses,
            "household_months": round(self.months, 1),
            "false_alerts_per_household_month": {
                k: round(v / self.months, 3) if self.months else None for k, v in self.false_alerts.items()
            },
        }
        out["caught"] = {
            g: {p: round(float(np.mean(v)), 3) if v else None for p, v in paths.items()} | {"n": len(paths["either"])}
            for g, paths in self.caught.items()
        }
        out["window_auc"] = {k: round(v, 3) for k, v in self.auc.items()}
        return out


class Judge:
    """Scores houses the way the daemon does: forest, per-hour thresholds, steady lifts, decide."""

    def __init__(self, scorer, policy: AlertPolicy | None = None, steady: SteadyPolicy = SteadyPolicy()):
        self.scorer = scorer
        self.policy = policy or AlertPolicy(threshold=scorer.threshold)
        self.steady = steady

    def windows(self, series: HouseSeries, state: str = "") -> Windows:
        return score_house(series, self.scorer, HolidayCalendar(state), self.steady)[0]

    def alerts(self, w: Windows) -> dict[str, list]:
        """The alerts of each path alone and of both together (what the daemon raises)."""
        thresholds = hour_thresholds(w, self.policy)
        return {
            "either": decide(w, self.policy, thresholds=thresholds),
            "steady": decide(replace(w, score=np.zeros(len(w.score))), self.policy, thresholds=thresholds),
            "forest": decide(replace(w, steady=np.zeros(len(w.score), dtype=bool)), self.policy, thresholds=thresholds),
        }


def onsets(days: int, within: int, count: int = 5) -> list[int]:
    """Tap start days spread over the calibrated part of a series, each leaving `within` days to catch it."""
    last = days - within
    if last <= CALIBRATED_DAY:
        raise EdgeModelError(f"{days} days leave no room after the {CALIBRATED_DAY} days of calibration")
    return sorted({int(d) for d in np.linspace(CALIBRATED_DAY + 2, last, count)})


def evaluate_source(
    source: str, houses: list[House], judge: Judge, goals=GOALS, progress: bool = False
) -> SourceReport:
    from sklearn.metrics import roc_auc_score

    report = SourceReport(source, len(houses))
    clean_scores, tapped_scores = [], {g: [] for g in AUC_GOALS}
    items = houses
    if progress:
        from tqdm import tqdm

        items = tqdm(houses, desc=source, unit="house")
    for house in items:
        days = house.series.days
        w = judge.windows(house.series, house.state)
        for path, alerts in judge.alerts(w).items():
            report.false_alerts[path] += sum(1 for a in alerts if w.day[a.index] >= CALIBRATED_DAY)
        report.months += (days - CALIBRATED_DAY) / 30.44
        clean_scores.append(w.score[CALIBRATED_DAY * 24 :])
        for goal in goals:
            paths = report.caught.setdefault(goal.name, {"either": [], "steady": [], "forest": []})
            for k, start in enumerate(
                onsets(days, max(goal.within_days, AUC_TAP_DAYS if goal.name in AUC_GOALS else 0))
            ):
                tap = Tap(goal.tap, goal.watts, start, seed=k, **PRESETS[goal.tap])
                minutes, mask = inject(house.series.minute_w, tap)
                tw = judge.windows(HouseSeries(house.series.first_date, minutes), house.state)
                tapped_hours = mask.reshape(-1, 60).mean(axis=1) >= 0.2
                for path, alerts in judge.alerts(tw).items():
                    paths[path].append(caught(alerts, tw, tapped_hours, start, goal.within_days))
                if goal.name in AUC_GOALS:
                    short, short_mask = inject(
                        house.series.minute_w,
                        Tap(goal.tap, goal.watts, start, days=AUC_TAP_DAYS, seed=k, **PRESETS[goal.tap]),
                    )
                    sw = judge.windows(HouseSeries(house.series.first_date, short), house.state)
                    tapped_scores[goal.name].append(sw.score[short_mask.reshape(-1, 60).mean(axis=1) >= 0.2])
    negative = np.concatenate(clean_scores) if clean_scores else np.zeros(0)
    for name, parts in tapped_scores.items():
        if parts and len(negative):
            positive = np.concatenate(parts)
            y = np.r_[np.zeros(len(negative)), np.ones(len(positive))]
            report.auc[name] = float(roc_auc_score(y, np.r_[negative, positive]))
    return report


def caught(alerts, w: Windows, tapped_hours: np.ndarray, start_day: int, within_days: int) -> bool:
    """An alert within `within_days` of the tap's start whose hours include a tapped hour."""
    for a in alerts:
        if start_day * 24 <= a.index < (start_day + within_days) * 24:
            hours = set(a.numbers.get("hours", []))
            tapped = {
                int(h)
                for h in np.flatnonzero(tapped_hours.reshape(-1, 24)[start_day : start_day + within_days].any(axis=0))
            }
            if hours & tapped:
                return True
    return False
