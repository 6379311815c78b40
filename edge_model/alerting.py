"""From window scores to alerts: persistence, cooldown, a per-household threshold, Ignore rules, reasons in numbers.

Pure: arrays and values in, `Alert`s out. The daemon job and the evaluation both call `decide`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class AlertPolicy:
    """When enough high-scoring windows add up to an alert."""

    threshold: float = 0.5  # the model's global threshold, from its metadata
    window_h: int = 48  # persistence: look back this many hours ...
    min_hits: int = 5  # ... and need at least this many windows over the threshold
    min_days: int = 2  # ... spread over at least this many local days
    cooldown_h: int = 7 * 24  # one alert per pattern per week
    adaptive_quantile: float = 0.995  # the household's own high scores, from 7..35 days ago
    threshold_cap: float = 0.85  # the adaptive threshold never rises above this
    min_history_days: int = 7  # below this: "still learning", never an alert


@dataclass(frozen=True)
class SuppressionRule:
    """Made by Ignore: windows in this hour band and on these weekdays, up to max_power_w, are normal until expiry."""

    first_hour: int  # local hour of day, inclusive
    last_hour: int  # exclusive; last < first wraps midnight (21 -> 2 is 21:00-01:59)
    weekdays: frozenset[int]
    max_power_w: float  # the magnitude cap: more than this still alerts
    expires_s: float  # epoch seconds

    def matches(self, hour: np.ndarray, weekday: np.ndarray, power_w: np.ndarray, start_s: np.ndarray) -> np.ndarray:
        if self.first_hour < self.last_hour:
            in_band = (hour >= self.first_hour) & (hour < self.last_hour)
        else:
            in_band = (hour >= self.first_hour) | (hour < self.last_hour)
        return in_band & np.isin(weekday, list(self.weekdays)) & (power_w <= self.max_power_w) & (start_s < self.expires_s)

    def describe(self) -> str:
        days = "every day" if len(self.weekdays) == 7 else ", ".join(dt.date(2024, 1, 1 + d).strftime("%a") for d in sorted(self.weekdays))
        until = dt.datetime.fromtimestamp(self.expires_s, dt.timezone.utc).date().isoformat()
        return f"up to {self.max_power_w:.0f} W from {self.first_hour:02d}:00 to {self.last_hour:02d}:00, {days}, until {until}"


@dataclass(frozen=True)
class Windows:
    """One household's scored hourly windows, oldest first."""

    start_s: np.ndarray  # epoch seconds of each window's start
    hour: np.ndarray  # local hour of day
    weekday: np.ndarray  # local weekday, Monday = 0
    day: np.ndarray  # local day number (any origin), for "spread over days"
    power_w: np.ndarray  # the window's mean power
    usual_w: np.ndarray  # the household's usual power at this hour (median of the previous week)
    score: np.ndarray
    history_days: np.ndarray


@dataclass(frozen=True)
class Alert:
    """A theft alert: when, why in words, and the numbers behind the words."""

    index: int  # the window at which it fired
    start_s: float
    score: float
    threshold: float
    hits: tuple[int, ...]  # windows over the threshold that made it
    message: str
    numbers: dict = field(default_factory=dict)


def adaptive_thresholds(w: Windows, policy: AlertPolicy) -> np.ndarray:
    """Per-window threshold: the household's own 99.5th percentile of scores from 7-35 days earlier, floored by the global one."""
    days = np.unique(w.day)
    out = np.full(len(w.score), policy.threshold)
    for d in days:
        past = (w.day >= d - 35) & (w.day < d - 7)
        if past.sum() >= 14 * 24:
            own = float(np.quantile(w.score[past], policy.adaptive_quantile))
            out[w.day == d] = min(policy.threshold_cap, max(policy.threshold, own))
    return out


def decide(w: Windows, policy: AlertPolicy, rules: tuple[SuppressionRule, ...] = (), thresholds: np.ndarray | None = None) -> list[Alert]:
    """Walk the windows in time order and return the alerts the daemon would have raised."""
    if thresholds is None:
        thresholds = adaptive_thresholds(w, policy)
    raw = (w.score >= thresholds) & (w.history_days >= policy.min_history_days)
    suppressed = np.zeros(len(raw), dtype=bool)
    for rule in rules:
        suppressed |= rule.matches(w.hour, w.weekday, w.power_w, w.start_s)
    hit = raw & ~suppressed
    raw_cum = np.concatenate([[0], np.cumsum(raw)])
    alerts: list[Alert] = []
    last_alert = -(10**9)
    hit_idx = np.flatnonzero(hit)
    for i in hit_idx:  # an alert can only fire at a window that is itself a hit
        if i - last_alert < policy.cooldown_h:
            continue
        recent = hit_idx[(hit_idx > i - policy.window_h) & (hit_idx <= i)]
        if len(recent) < policy.min_hits or len(np.unique(w.day[recent])) < policy.min_days:
            continue
        # An Ignored pattern also lifts the day-level features of nearby hours; if most of the
        # evidence is the Ignored pattern itself, the rest is its shadow, not a new theft.
        all_recent = raw_cum[i + 1] - raw_cum[max(0, i + 1 - policy.window_h)]
        if rules and len(recent) < 0.5 * all_recent:
            continue
        message, numbers = explain(w, recent)
        alerts.append(Alert(int(i), float(w.start_s[i]), float(w.score[i]), float(thresholds[i]), tuple(int(r) for r in recent), message, numbers))
        last_alert = i
    return alerts


def _hour_band(hours: np.ndarray) -> tuple[int, int]:
    """The shortest circular band of hours covering all of `hours`: (first, last exclusive)."""
    present = sorted(set(int(h) for h in hours))
    if len(present) == 24:
        return 0, 0
    # The band is the complement of the largest gap between consecutive hours.
    gaps = [((present[(k + 1) % len(present)] - present[k]) % 24 or 24, k) for k in range(len(present))]
    gap, k = max(gaps)
    first = present[(k + 1) % len(present)]
    last = (present[k] + 1) % 24
    return first, last


def explain(w: Windows, hits: np.ndarray) -> tuple[str, dict]:
    """"+850 W from 01:00 to 04:00 on 3 of the last 4 nights; usual 120 W", with the numbers."""
    first, last = _hour_band(w.hour[hits])
    excess = w.power_w[hits] - w.usual_w[hits]
    typical_excess = float(np.median(excess))
    usual = float(np.median(w.usual_w[hits]))
    end = int(hits[-1])
    recent_days = np.unique(w.day[max(0, end - 4 * 24 + 1) : end + 1])[-4:]
    band = np.zeros(len(w.hour), dtype=bool)
    if first < last:
        band = (w.hour >= first) & (w.hour < last)
    else:
        band = (w.hour >= first) | (w.hour < last)
    upto = np.arange(len(w.hour)) <= end
    days_seen = 0
    for d in recent_days:
        sel = band & upto & (w.day == d)
        if sel.any() and np.sign(typical_excess) * np.mean(w.power_w[sel] - w.usual_w[sel]) > 0.5 * abs(typical_excess):
            days_seen += 1
    night = all(int(h) >= 20 or int(h) < 6 for h in w.hour[hits])
    unit = "nights" if night else "days"
    if typical_excess >= 0:
        change = f"+{typical_excess:.0f} W"
    else:
        change = f"{typical_excess:.0f} W ({100 * typical_excess / max(usual, 1.0):.0f} %)"
    span = "all day" if first == last else f"from {first:02d}:00 to {last:02d}:00"
    message = f"{change} {span} on {days_seen} of the last {len(recent_days)} {unit}; usual {usual:.0f} W"
    numbers = {
        "excess_w": round(typical_excess, 1),
        "usual_w": round(usual, 1),
        "first_hour": first,
        "last_hour": last,
        "days_seen": days_seen,
        "days_considered": int(len(recent_days)),
        "windows_over_threshold": int(len(hits)),
    }
    return message, numbers


def rule_from_alert(w: Windows, alert: Alert, valid_days: int = 90, cap_factor: float = 1.25) -> SuppressionRule:
    """Ignore: the alert's hour band widened by 2 h each side, weekends only if it was a weekend pattern
    (else every day: two days of evidence cannot tell a weekly habit), a cap 25 % above its peak, 90 days."""
    hits = np.asarray(alert.hits)
    first, last = _hour_band(w.hour[hits])
    if first != last:
        width = (last - first) % 24
        first, last = (0, 0) if width + 4 >= 24 else ((first - 2) % 24, (last + 2) % 24)
    weekend = frozenset((5, 6))
    weekdays = weekend if set(int(d) for d in w.weekday[hits]) <= weekend else frozenset(range(7))
    return SuppressionRule(
        first_hour=first,
        last_hour=last,
        weekdays=weekdays,
        max_power_w=float(cap_factor * np.max(w.power_w[hits])),
        expires_s=float(w.start_s[alert.index] + valid_days * 86_400),
    )
