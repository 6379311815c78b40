"""The daemon's scheduled scoring job: the thin glue between the store, the pure core and the alerts.

Reads the household's hourly usage from `gateway.store.Store`, scores it with onnxruntime and
returns what to raise; the caller (the gateway's job runner) writes alerts to the shared table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from edge_model.alerting import Alert, AlertPolicy, SuppressionRule, Windows, decide
from edge_model.calendar_days import HolidayCalendar
from edge_model.features import COLUMN, HOW_WEEKS, MIN_HISTORY_DAYS, build_features
from edge_model.scoring import Scorer

HISTORY_DAYS = 7 * HOW_WEEKS + 8  # enough for every baseline feature, plus a week to score


@dataclass(frozen=True)
class ScoringResult:
    """What the dashboard shows: the alerts to raise and whether the household is still being learned."""

    alerts: list[Alert]
    history_days: int
    learning: bool
    status: str


def hourly_from_store(store, now_ms: int, tz: str, node_id: str | None = None, days: int = HISTORY_DAYS) -> tuple[dt.date, np.ndarray]:
    """Whole local days up to today of hourly mean W (Wh per hour) summed over nodes; NaN where nothing was recorded."""
    zone = ZoneInfo(tz)
    today = dt.datetime.fromtimestamp(now_ms / 1000, zone).date()
    first = today - dt.timedelta(days=days - 1)
    start_ms = int(dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp() * 1000)
    power = np.full(days * 24, np.nan)
    for row in store.usage(start_ms, now_ms, "hour", node_id):
        i = (row["start_ms"] - start_ms) // 3_600_000
        if 0 <= i < len(power):
            power[i] = np.nan_to_num(power[i]) + row["energy_mwh"] / 1000.0
    return first, power


def score_recent(
    first_date: dt.date,
    power_w: np.ndarray,
    scorer: Scorer,
    policy: AlertPolicy,
    rules: tuple[SuppressionRule, ...],
    calendar: HolidayCalendar,
    since_s: float,
    tz: str = "Asia/Kolkata",
) -> ScoringResult:
    """Alerts that fire at windows starting at or after since_s (the previous run)."""
    observed = ~np.isnan(power_w)
    known_days = np.flatnonzero(observed.reshape(-1, 24).any(axis=1))
    history = int(len(known_days))
    if history < MIN_HISTORY_DAYS:
        return ScoringResult([], history, True, f"still learning this household: {history} of {MIN_HISTORY_DAYS} days of history")
    # Leading days with no data are trimmed so "history days" counts real history.
    start_day = int(known_days[0])
    power = power_w[start_day * 24 :]
    first = first_date + dt.timedelta(days=start_day)
    rows = build_features(np.where(np.isnan(power), np.nanmedian(power), power), first, calendar)
    scores = scorer.score(rows)
    valid = ~np.isnan(power)
    scores[~valid] = 0.0
    zone = ZoneInfo(tz)
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    n = len(power)
    w = Windows(
        start_s=origin + 3_600.0 * np.arange(n), hour=np.arange(n) % 24, weekday=rows[:, COLUMN["weekday"]].astype(int),
        day=np.arange(n) // 24, power_w=np.nan_to_num(power), usual_w=rows[:, COLUMN["hod_base_w"]], score=scores,
        history_days=rows[:, COLUMN["history_days"]],
    )
    alerts = [a for a in decide(w, policy, rules) if a.start_s >= since_s]
    return ScoringResult(alerts, history, False, f"watching: {history} days of history, model {scorer.version}")
