"""From window scores to alerts: persistence, cooldown, a per-household threshold, Ignore rules, reasons in numbers.

Pure: arrays and values in, `Alert`s out. The daemon job and the evaluation both call `decide`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from edge_model import rule_row, rule_text
from edge_model.features import _run_length


@dataclass(frozen=True)
class AlertPolicy:
    """When enough high-scoring windows add up to an alert."""

    threshold: float = 0.5  # the model's global threshold, from its metadata
    window_h: int = 48  # persistence: look back this many hours ...
    min_hits: int = 5  # ... and need at least this many windows over the threshold
    min_days: int = 2  # ... spread over at least this many local days
    # One alert per pattern per week. A pattern is an alert's band of hours (its message's "from ..
    # to .."): during its cooldown, hits more than pattern_widen_h hours outside the band are another
    # pattern and alert on their own evidence, unless the alerted load ran on without a break (a
    # constant tap scoring high at other hours later); hits inside it alert again only with a
    # typical excess at least `escalation` times the alerted one (a tap on top of an AC's nights).
    # Before, any alert silenced the whole household for a week (docs/theft-detection.md, "Cooldown").
    cooldown_h: int = 7 * 24
    pattern_widen_h: int = 3  # 1 and 2 caught as many taps with more false alarms (docs)
    escalation: float = 2.0  # 0 turns escalation off
    adaptive_quantile: float = 0.995  # the household's own high scores, from 7..35 days ago
    threshold_cap: float = 0.85  # the adaptive threshold never rises above this
    min_history_days: int = 7  # below this: "still learning", never an alert
    # A single day is enough when it is unmistakable: this many hits within 24 h, each scoring at least
    # strong_score. A tap on 2-3 weekdays often shows once in its first 3 days; on 80 clean households
    # (two sets of 40) this added no false alarm (docs/theft-detection.md, "Single-day alerts").
    strong_hits: int = 4
    strong_score: float = 0.9


FLOOR_MARGIN_W = 50.0  # a floor this much above the pattern's own is a new steady load, not the pattern
# A steady lift under an Ignored pattern: in an hour of the rule's scope, the floor stayed at least
# STEADY_MIN_W above the usual floor in each of the last STEADY_RUN_H hours (the earlier ones in the
# scope or just before it: a load that came on before the pattern's hours). An AC's compressor is off
# for more than 5 minutes in most hours, so its floor comes back down within a few hours; a tap (or
# any new load that never stops) does not. That lift is not the Ignored pattern: it stays in the
# series and the windows are not explained (docs/theft-detection.md, "A steady lift under an Ignore").
STEADY_RUN_H = 4
STEADY_MIN_W = 50.0


@dataclass(frozen=True)
class SuppressionRule:
    """Made by Ignore: the Ignored pattern becomes part of this household's usual load.

    In the pattern's hours of day (`hours`, every hour it lifted, e.g. an AC's nights and its
    afternoons; rules saved before `hours` use the band first_hour..last_hour), on the weekdays, from
    start_s until expires_s, up to excess_cap_w above the usual load of that hour (as it was before
    the pattern) is taken out of the series before features are computed: a baseline reset. The cap
    is the pattern's own high (the 90th percentile of its excess), so a repeat of the pattern looks
    like an ordinary day, while a theft on top of it still shows: everything above the cap stays,
    hour by hour, and so does every hour outside the rule's hours. The hour's floor (its lowest
    5-minute mean) is reset the same way against the usual floor, up to what the pattern itself
    lifted it (floor_cap_w): an Ignored AC cycles and lifts it little, so a steady tap on top of it
    still shows there. While the pattern keeps showing, the rule stays in force (`renewed`).
    """

    first_hour: int  # local hour of day, inclusive
    last_hour: int  # exclusive; last < first wraps midnight (21 -> 2 is 21:00-01:59); equal = all day
    weekdays: frozenset[int]
    max_power_w: float  # the highest power the rule explains (the highest usual load plus excess_cap_w); rules before usual_w used it as the cap
    expires_s: float  # epoch seconds
    excess_cap_w: float = 0.0  # at most this much above usual is the Ignored pattern
    usual_w: tuple[float, ...] = ()  # 24 values: the usual load per local hour before the pattern
    start_s: float = 0.0  # the rule covers windows from here (the pattern's first day)
    usual_floor_w: tuple[float, ...] = ()  # 24 values: the usual floor per local hour before the pattern
    floor_cap_w: float | None = None  # at most this much above the usual floor is the pattern (None: excess_cap_w)
    renew_days: float = 0.0  # each window the rule explains keeps it in force this long after it (0: fixed expiry, rules before renewal)
    hours: tuple[int, ...] = ()  # the local hours of day the pattern lifted; () = the band first_hour..last_hour (rules before hours)
    # The steady lift the pattern itself kept up (an EV charge's hours, an always-on load; ~0 for an AC
    # that cycles): only a steady lift above it is something new under the pattern. None: rules from
    # before it, which keep no steady lift out.
    steady_cap_w: float | None = None

    def in_scope(self, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray) -> np.ndarray:
        if self.hours:
            in_band = np.isin(np.asarray(hour, dtype=np.int64) % 24, self.hours)
        else:
            in_band = _in_band(np.asarray(hour), self.first_hour, self.last_hour)
        return in_band & np.isin(weekday, list(self.weekdays)) & (start_s >= self.start_s) & (start_s < self.expires_s)

    def matches(self, hour: np.ndarray, weekday: np.ndarray, power_w: np.ndarray, start_s: np.ndarray,
                floor_w: np.ndarray | None = None) -> np.ndarray:
        """Windows the rule explains: in scope, no higher than that hour's usual load plus the cap and,
        when the floor is known, no steadier than the pattern was (a tap on top lifts the floor)."""
        h = np.asarray(hour, dtype=np.int64) % 24
        if self.usual_w:
            limit = np.asarray(self.usual_w, dtype=np.float64)[h] + self.excess_cap_w
        else:  # a rule saved before usual_w existed
            limit = np.full(len(hour), self.max_power_w)
        explained = self.in_scope(hour, weekday, start_s) & (power_w <= limit)
        if floor_w is not None and self.usual_floor_w and self.floor_cap_w is not None:
            floor_limit = np.asarray(self.usual_floor_w, dtype=np.float64)[h] + self.floor_cap_w + FLOOR_MARGIN_W
            explained &= floor_w <= floor_limit
        if floor_w is not None and self.usual_floor_w:
            explained &= self.steady_w(hour, weekday, start_s, floor_w) == 0
        return explained

    def steady_w(self, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, floor_w: np.ndarray) -> np.ndarray:
        """Per window in the rule's scope, a new steady lift under the pattern (0 where there is none):
        how far the lowest floor excess of this window and the STEADY_RUN_H - 1 before it (in scope
        or not) is above the pattern's own steady lift, when that is at least STEADY_MIN_W. Causal."""
        n = len(floor_w)
        if not self.usual_floor_w or self.steady_cap_w is None:
            return np.zeros(n)
        lowest = _steady_lift(self.in_scope(hour, weekday, start_s), np.asarray(floor_w, dtype=np.float64),
                              np.asarray(self.usual_floor_w, dtype=np.float64)[np.asarray(hour, dtype=np.int64) % 24])
        extra = lowest - self.steady_cap_w
        return np.where(extra >= STEADY_MIN_W, extra, 0.0)

    def discount(self, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, power_w: np.ndarray) -> np.ndarray:
        """The series with the Ignored pattern (at most excess_cap_w over the pre-pattern usual) taken out."""
        usual = np.asarray(self.usual_w, dtype=np.float64)[np.asarray(hour, dtype=np.int64) % 24]
        excess = np.clip(power_w - usual, 0.0, self.excess_cap_w)
        return np.where(self.in_scope(hour, weekday, start_s), power_w - excess, power_w)

    def discount_floor(self, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, floor_w: np.ndarray) -> np.ndarray:
        """The hourly floor with the pattern's steady part (at most excess_cap_w over the usual floor) taken out."""
        if not self.usual_floor_w:
            return floor_w  # a rule from before floors: build_features keeps the floor under the reset mean
        usual = np.asarray(self.usual_floor_w, dtype=np.float64)[np.asarray(hour, dtype=np.int64) % 24]
        cap = self.excess_cap_w if self.floor_cap_w is None else self.floor_cap_w
        excess = np.clip(floor_w - usual, 0.0, cap)
        return np.where(self.in_scope(hour, weekday, start_s), floor_w - excess, floor_w)

    def renewed(self, hour: np.ndarray, weekday: np.ndarray, power_w: np.ndarray, start_s: np.ndarray,
                floor_w: np.ndarray | None = None) -> SuppressionRule:
        """The rule kept in force while its pattern keeps showing: every window in which the pattern
        showed (at least half the cap over usual) and that the rule explains, before the rule expires,
        pushes the expiry to renew_days after that window. Causal: whether a window is in force
        depends only on the windows before it."""
        if self.renew_days <= 0 or not self.usual_w:
            return self
        h = np.asarray(hour, dtype=np.int64) % 24
        showed = power_w - np.asarray(self.usual_w, dtype=np.float64)[h] >= 0.5 * self.excess_cap_w
        explained = replace(self, expires_s=np.inf).matches(hour, weekday, power_w, start_s, floor_w)
        expires = self.expires_s
        for s in np.asarray(start_s, dtype=np.float64)[showed & explained]:
            if s >= expires:
                break
            expires = max(expires, float(s) + self.renew_days * 86_400)
        return replace(self, expires_s=expires)

    def describe(self) -> str:
        """The rule in words, for the daemon's log; the dashboard words its saved row the same way (rule_text)."""
        return rule_text.describe(self.to_dict())

    def to_dict(self) -> dict:
        """A JSON-ready row (lists for the tuples and the weekdays)."""
        return {**self.__dict__, "weekdays": sorted(self.weekdays), "usual_w": list(self.usual_w),
                "usual_floor_w": list(self.usual_floor_w), "hours": list(self.hours)}

    @classmethod
    def from_dict(cls, row: dict) -> SuppressionRule:
        """A rule from `to_dict`'s row (or a `theft_rules` row's fields), including rows saved by
        older versions (without usual_w, usual_floor_w, floor_cap_w, hours or renew_days: they keep
        their band and fixed expiry) and by newer ones (fields this version does not know are left
        aside). Raises ValueError for a row that is not a rule (edge_model.rule_row: a missing
        field, a value of the wrong kind, 3 usual values instead of 24, hour 24)."""
        f = rule_row.fields(row)
        return cls(**f | {"weekdays": frozenset(f["weekdays"])})


def _steady_lift(in_scope: np.ndarray, floor_w: np.ndarray, usual_floor_w: np.ndarray) -> np.ndarray:
    """The lowest floor excess over the usual floor in each window in scope and the STEADY_RUN_H - 1
    before it, in scope or not (-inf for windows out of scope): a steady load that came on before the
    pattern's hours and runs on into them is not the pattern (a tap straddling an Ignored EV charge's
    start). Measured on four sets of households: one more theft on top caught on two, no more repeats."""
    n = len(floor_w)
    excess = np.nan_to_num(floor_w) - usual_floor_w
    lowest = excess.copy()
    for k in range(1, STEADY_RUN_H):
        lowest[:k] = -np.inf
        lowest[k:] = np.minimum(lowest[k:], excess[: n - k])
    return np.where(in_scope, lowest, -np.inf)


def discount_ignored(power_w: np.ndarray, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, rules,
                     floor_w: np.ndarray | None = None) -> np.ndarray:
    """Apply every Ignore rule's baseline reset to an hourly series (NaN stays NaN). With the metered
    floor, each rule leaves a new steady lift under its pattern in the series (rule.steady_w)."""
    out = np.asarray(power_w, dtype=np.float64)
    for rule in rules:
        if rule.usual_w:
            steady = 0.0 if floor_w is None else rule.steady_w(hour, weekday, start_s, floor_w)
            out = np.where(np.isnan(out), out, rule.discount(hour, weekday, start_s, np.nan_to_num(out) - steady) + steady)
    return out


def discount_ignored_floor(floor_w: np.ndarray, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, rules) -> np.ndarray:
    """The same baseline reset for the hourly floor (NaN stays NaN), a new steady lift left in."""
    metered = np.asarray(floor_w, dtype=np.float64)
    out = metered
    for rule in rules:
        steady = rule.steady_w(hour, weekday, start_s, metered)
        out = np.where(np.isnan(out), out, rule.discount_floor(hour, weekday, start_s, np.nan_to_num(out) - steady) + steady)
    return out


def reset_ignored(power_w: np.ndarray, floor_w: np.ndarray, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray,
                  rules) -> tuple[np.ndarray, np.ndarray]:
    """The hourly mean and floor with every Ignore rule's pattern taken out, as the daemon scores them.

    Each rule takes out the variable part of its pattern (discount_ignored / discount_ignored_floor)
    and leaves a steady lift under it (rule.steady_w, from the metered floor): a tap on top of an
    Ignored AC stays in the series. Then, where a rule took load out of an hour's mean, the hour's
    floor is kept at most the usual floor plus what is left of the mean's excess: a floor left above
    the reset mean would be clipped to it by build_features and make an hour as flat as an h4/h5
    attack, which the model scores high (most of the repeats left after an Ignore were that).
    """
    metered = np.asarray(power_w, dtype=np.float64)
    power = discount_ignored(metered, hour, weekday, start_s, rules, floor_w=np.asarray(floor_w, dtype=np.float64))
    floor = discount_ignored_floor(floor_w, hour, weekday, start_s, rules)
    h = np.asarray(hour, dtype=np.int64) % 24
    for rule in rules:
        if rule.usual_w and rule.usual_floor_w:
            taken = rule.in_scope(hour, weekday, start_s) & (power < metered)
            limit = np.asarray(rule.usual_floor_w, dtype=np.float64)[h] + np.maximum(power - np.asarray(rule.usual_w, dtype=np.float64)[h], 0.0)
            floor = np.where(taken & ~np.isnan(floor), np.minimum(floor, limit), floor)
    return power, floor


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
    usual_floor_w: np.ndarray | None = None  # the household's usual floor at this hour, for Ignore rules
    floor_w: np.ndarray | None = None  # the window's floor (lowest 5-minute mean), as metered


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
    # The rules' baseline reset already took their pattern out of the scores (discount_ignored);
    # a window inside a rule's scope, under its cap and (where known) with no steadier floor than
    # the pattern's does not count as evidence either.
    suppressed = np.zeros(len(raw), dtype=bool)
    for rule in rules:
        suppressed |= rule.matches(w.hour, w.weekday, w.power_w, w.start_s, w.floor_w)
    hit = raw & ~suppressed
    alerts: list[Alert] = []
    hit_idx = np.flatnonzero(hit)
    for i in hit_idx:  # an alert can only fire at a window that is itself a hit
        recent = hit_idx[(hit_idx > i - policy.window_h) & (hit_idx <= i)]
        cooling = [a for a in alerts if i - a.index < policy.cooldown_h]
        if cooling:
            # Inside a cooldown only another pattern may alert: hits away from the cooling alerts'
            # hours, judged on their own; or, in those hours, a much larger excess (below).
            busy = np.zeros(24, dtype=bool)
            for a in cooling:
                busy |= _band_of(a, policy.pattern_widen_h)
            if busy[int(w.hour[i]) % 24]:
                if policy.escalation <= 0:
                    continue
            elif any(_ran_on(w, a, i) or hit[int(a.hits[-1]) : i + 1].mean() >= CONTINUOUS_SHARE for a in cooling):
                continue  # the alerted load (or its run of hits) never stopped: a constant tap's other hours, the same pattern
            else:
                recent = recent[~busy[np.asarray(w.hour[recent], dtype=np.int64) % 24]]
        if len(recent) < policy.min_hits or len(np.unique(w.day[recent])) < policy.min_days:
            today = recent[recent > i - 24]
            if (w.score[today] >= policy.strong_score).sum() < policy.strong_hits:
                continue
        message, numbers = explain(w, recent)
        if numbers["excess_w"] < MIN_EXCESS_W:
            continue  # less than usual, or hardly more: a node fault or the family away, never theft
        if cooling and busy[int(w.hour[i]) % 24]:
            hour = int(w.hour[i]) % 24
            alerted = max(max(float(a.numbers.get("excess_w", 0.0)), ESCALATION_FLOOR_W) for a in cooling
                          if _band_of(a, policy.pattern_widen_h)[hour])
            if numbers["excess_w"] < policy.escalation * alerted:
                continue
            message += f"; up from +{alerted:.0f} W a few days ago"
            numbers["escalated_from_w"] = round(alerted, 1)
        alerts.append(Alert(int(i), float(w.start_s[i]), float(w.score[i]), float(thresholds[i]), tuple(int(r) for r in recent), message, numbers))
    return alerts


# A theft alert is someone else's load on the household's line: more than usual. Hits whose typical
# excess is below this (the house used less: a sensor or node fault, the family away; or hardly
# more) are never an alert, whatever the model scored.
MIN_EXCESS_W = 50.0
# Escalation is for a larger load on top (never an under-reading); an alerted excess below this
# (a repeat after the usual load took the pattern in) counts as this much.
ESCALATION_FLOOR_W = 100.0
CONTINUOUS_SHARE = 0.8  # a load that lifted this share of the hours since an alert is still that alert's


def _band_of(alert: Alert, widen_h: int) -> np.ndarray:
    """A 24-hour mask of the alert's band (its message's "from .. to ..") widened by widen_h each side."""
    first, last = int(alert.numbers["first_hour"]), int(alert.numbers["last_hour"])
    return _runs_widened(_in_band(np.arange(24), first, last), widen_h)


def _ran_on(w: Windows, earlier: Alert, i: int) -> bool:
    """Whether `earlier`'s load ran on without a break up to window i: at least CONTINUOUS_SHARE of
    the windows from its last hit to i carry half its typical excess (same sign) over the usual load
    of their hour as it was before the alert (the usual of later days has taken the load in)."""
    excess = float(earlier.numbers.get("excess_w", 0.0))
    first = int(earlier.hits[0])
    before = np.arange(max(0, first - 24), first)
    if abs(excess) == 0 or len(before) < 24:
        return False
    usual = np.empty(24)
    usual[np.asarray(w.hour[before], dtype=np.int64) % 24] = w.usual_w[before]
    span = np.arange(int(earlier.hits[-1]), i + 1)
    lifted = np.sign(excess) * (w.power_w[span] - usual[np.asarray(w.hour[span], dtype=np.int64) % 24]) >= 0.5 * abs(excess)
    return bool(lifted.mean() >= CONTINUOUS_SHARE)


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
    """"+850 W from 01:00 to 04:00 on 3 of the last 4 nights; usual 120 W", with the numbers.

    The typical excess is the median over the hits; the hours named are those the hits lifted (by at
    least half that excess and MIN_EXCESS_W), not every hour the model scored high: a night tap with
    a stray evening hit reads "from 01:00 to 04:00", not "from 20:00 to 04:00". `first_hour` and
    `last_hour` are the shortest band covering them (the dedup key, the cooldown), `hours` the
    hours themselves."""
    hits = np.asarray(hits)
    excess = w.power_w[hits] - w.usual_w[hits]
    typical_excess = float(np.median(excess))
    lifted = hits[excess >= max(0.5 * typical_excess, MIN_EXCESS_W)]
    described = lifted if len(lifted) else hits  # a drop (never raised as an alert): where it was
    hours = sorted({int(h) % 24 for h in w.hour[described]})
    first, last = _hour_band(np.asarray(hours))
    usual = float(np.median(w.usual_w[described]))
    end = int(hits[-1])
    recent_days = np.unique(w.day[max(0, end - 4 * 24 + 1) : end + 1])[-4:]
    band = np.isin(np.asarray(w.hour, dtype=np.int64) % 24, hours)
    upto = np.arange(len(w.hour)) <= end
    days_seen = 0
    for d in recent_days:
        sel = band & upto & (w.day == d)
        if sel.any() and np.sign(typical_excess) * np.mean(w.power_w[sel] - w.usual_w[sel]) > 0.5 * abs(typical_excess):
            days_seen += 1
    night = all(h >= 20 or h < 6 for h in hours)
    unit = "nights" if night else "days"
    if typical_excess >= 0:
        change = f"+{typical_excess:.0f} W"
    else:
        change = f"{typical_excess:.0f} W ({100 * typical_excess / max(usual, 1.0):.0f} %)"
    span = "all day" if len(hours) == 24 else " and ".join(f"from {a:02d}:00 to {b:02d}:00" for a, b in rule_text.hour_runs(hours))
    message = f"{change} {span} on {days_seen} of the last {len(recent_days)} {unit}; usual {usual:.0f} W"
    numbers = {
        "excess_w": round(typical_excess, 1),
        "usual_w": round(usual, 1),
        "first_hour": first,
        "last_hour": last,
        "hours": hours,
        "days_seen": days_seen,
        "days_considered": int(len(recent_days)),
        "windows_over_threshold": int(len(hits)),
        "window_starts_s": [float(w.start_s[h]) for h in hits],
    }
    return message, numbers


def _in_band(hour: np.ndarray, first: int, last: int) -> np.ndarray:
    if first == last:
        return np.ones(len(hour), dtype=bool)
    if first < last:
        return (hour >= first) & (hour < last)
    return (hour >= first) | (hour < last)


def _runs_widened(mask: np.ndarray, widen_h: int) -> np.ndarray:
    """A 24-hour mask with every run of hours widened by widen_h each side (circularly)."""
    out = mask.copy()
    for k in range(1, widen_h + 1):
        out |= np.roll(mask, k) | np.roll(mask, -k)
    return out


PATTERN_MIN_DAYS = 2  # an hour of day is the pattern's when it was lifted on at least this many of the pattern's days ...
PATTERN_MARGIN = 0.25  # ... on a share of them at least this much above the share of the days before the pattern
# Lifted, in an hour the alert did not name: above half the alert's typical excess and above that
# hour's own ordinary high before the pattern (`_ordinary_high`). In a house whose evenings swing by
# 300 W from day to day, the Ignore of a 300 W night tap must not take in the evenings that happened
# to be high on two of its days; an AC's afternoons (a new high each time it runs) still join.
SPREAD_DAYS = 28  # the days before the pattern an hour's ordinary high is measured on
SPREAD_Z = 3.0


def _ordinary_high(w: Windows, usual: np.ndarray, since_i: int) -> np.ndarray:
    """Per hour of day, how far above `usual` the hour went on its own on the SPREAD_DAYS before
    since_i: the highest excess seen, and at least SPREAD_Z robust standard deviations (1.4826 MAD)
    of it (0 for an hour seen on fewer than 3 days)."""
    before = np.arange(max(0, since_i - SPREAD_DAYS * 24), since_i)
    hour = np.asarray(w.hour[before], dtype=np.int64) % 24
    excess = w.power_w[before] - usual[hour]
    high = np.zeros(24)
    for h in range(24):
        values = excess[hour == h]
        if len(values) >= 3:
            spread = 1.4826 * float(np.median(np.abs(values - np.median(values))))
            high[h] = max(float(values.max()), SPREAD_Z * spread)
    return high


def _pattern_hours(w: Windows, recent: np.ndarray, since_i: int, raised: np.ndarray) -> np.ndarray:
    """The hours of day a pattern lifted: lifted on PATTERN_MIN_DAYS of its days (recent windows from
    since_i on), clearly more often than the same hour was on the days before (the household's own habits)."""
    day, hour = w.day[recent], w.hour[recent] % 24
    since = recent >= since_i
    n_since, n_before = len(np.unique(day[since])), len(np.unique(day[~since]))
    mask = np.zeros(24, dtype=bool)
    for h in range(24):
        lifted_on = raised & (hour == h)
        k_since = len(np.unique(day[since & lifted_on]))
        rate_before = len(np.unique(day[~since & lifted_on])) / n_before if n_before else 0.0
        mask[h] = k_since >= PATTERN_MIN_DAYS and k_since / max(n_since, 1) >= rate_before + PATTERN_MARGIN
    return mask


def rule_from_alert(w: Windows, alert: Alert, valid_days: int = 90, cap_quantile: float = 0.9, widen_h: int = 2) -> SuppressionRule:
    """Ignore: every hour of day the Ignored pattern lifted, not only the alert's band, each run of
    them widened by widen_h hours each side (an AC's bedtime and a charge's start move); weekends only
    if the pattern showed on weekend days alone over at least a week of its life (else every day); a
    cap at the pattern's own high (the cap_quantile of its excess over the usual load in the alert's
    lifted hours of the last 14 days); in force for valid_days after the last hour the pattern showed.

    The pattern's hours are the hours the alert's hits lifted (by half its typical excess over the
    pre-pattern usual) plus those lifted on at least 2 of the pattern's days (from 3 days before its
    first hit) and clearly more often than on the days before it, where lifted also means above the
    hour's own ordinary high (`_ordinary_high`): a new AC Ignored at night also stays quiet on its
    afternoons, and a night tap in a house whose evenings swing stays a rule over its nights. The cap
    is the trade-off between quieting repeats and still catching a theft on top, measured with
    `powergw model evaluate` (docs/theft-detection.md).
    """
    hits = np.asarray(alert.hits)
    # The usual load per hour as it was before the pattern: the window's own baseline, by hour of day.
    before = np.arange(max(0, int(hits[0]) - 24), int(hits[0]))
    usual = np.zeros(24)
    for k in before:
        usual[int(w.hour[k]) % 24] = w.usual_w[k]
    if len(before) < 24:
        usual[:] = float(np.median(w.usual_w[: int(hits[0]) + 1]))
    hit_excess = w.power_w[hits] - usual[w.hour[hits] % 24]
    typical = max(float(np.median(hit_excess)), 1.0)
    recent = np.arange(max(0, alert.index - 14 * 24 + 1), alert.index + 1)
    excess = w.power_w[recent] - usual[w.hour[recent] % 24]
    start_i = max(0, int(hits[0]) - 3 * 24)
    # The alert's own hours where it was lifted: a hit below half its typical excess (an hour the
    # model scored high for another reason) is no part of the pattern.
    alerted = np.zeros(24, dtype=bool)
    lifted_hits = hits[hit_excess > 0.5 * typical]
    alerted[np.asarray(w.hour[lifted_hits if len(lifted_hits) else hits]) % 24] = True  # none: an alert on lower use
    # Lifted: by half the typical excess in the alerted hours; elsewhere also above the hour's ordinary high.
    lift_w = np.where(alerted, 0.5 * typical, np.maximum(0.5 * typical, _ordinary_high(w, usual, start_i)))
    raised = excess > lift_w[w.hour[recent] % 24]
    mask = _pattern_hours(w, recent, start_i, raised) | alerted
    mask = _runs_widened(mask, widen_h)
    if mask.all():
        first, last, hours = 0, 0, ()
    else:
        (first, last), hours = _hour_band(np.flatnonzero(mask)), tuple(int(h) for h in np.flatnonzero(mask))
    # The pattern's hours over the last 14 days: in the rule's hours and lifted by at least half its typical excess.
    lifted = mask[w.hour[recent] % 24] & raised
    # Its high, from the hours the alert named: an hour that joined the rule by chance (an evening
    # that was a new high twice) does not raise the cap over the nights the household Ignored.
    named = alerted[w.hour[recent] % 24] & raised
    cap = float(np.quantile(excess[named if named.any() else lifted], cap_quantile)) if lifted.any() else typical
    # The same for the floor: a steady pattern (a charger) lifted it, a cycling one (an AC) hardly did,
    # and only what the pattern itself lifted is taken out of it.
    usual_floor, floor_cap, steady_cap = (), None, None
    if w.usual_floor_w is not None and w.floor_w is not None:
        base = np.zeros(24)
        for k in before:
            base[int(w.hour[k]) % 24] = w.usual_floor_w[k]
        if len(before) < 24:
            base[:] = float(np.median(w.usual_floor_w[: int(hits[0]) + 1]))
        usual_floor = tuple(float(u) for u in base)
        floor_excess = w.floor_w[recent] - base[w.hour[recent] % 24]
        floor_cap = float(max(0.0, np.quantile(floor_excess[lifted], cap_quantile))) if lifted.any() else 0.0
        # How steady the pattern itself was: its steady lift in its lifted windows (an AC's floor comes
        # back down within a few hours: ~0; an EV charge or an always-on load keeps it up).
        steady = _steady_lift(mask[w.hour[recent] % 24], w.floor_w[recent], base[w.hour[recent] % 24])
        # Measured where a run of the pattern's hours is at least STEADY_RUN_H long, so the run has no
        # hour from before the pattern came on: a charge Ignored at its first alert, 4 hours in, would
        # otherwise count its first hours' ~0 and take its own later nights for a steady lift on top.
        deep = lifted & (_run_length(lifted) >= STEADY_RUN_H)
        measured = deep if deep.any() else lifted
        steady_cap = float(max(0.0, np.quantile(np.maximum(steady[measured], 0.0), cap_quantile))) if lifted.any() else 0.0
    # Weekends only if the pattern showed on weekend days alone over at least a week of its life: a
    # pattern two days old that began on a Saturday says nothing about a weekly habit.
    seen_on = {int(d) for d in w.weekday[recent][lifted]}
    week_old = lifted.any() and alert.index - int(recent[lifted][0]) >= 7 * 24
    weekend = frozenset((5, 6))
    weekdays = weekend if seen_on and seen_on <= weekend and week_old else frozenset(range(7))
    return SuppressionRule(
        first_hour=first,
        last_hour=last,
        weekdays=weekdays,
        max_power_w=float(np.max(usual) + cap),
        expires_s=float(w.start_s[alert.index] + valid_days * 86_400),
        excess_cap_w=cap,
        usual_w=tuple(float(u) for u in usual),
        start_s=float(w.start_s[int(hits[0])] - 3 * 86_400),
        usual_floor_w=usual_floor,
        floor_cap_w=floor_cap,
        renew_days=float(valid_days),
        hours=hours,
        steady_cap_w=steady_cap,
    )
