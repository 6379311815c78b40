"""Ignore rules: the household's "this is mine" made into a scoped rule that keeps a pattern quiet.

Made from an Ignored alert (`rule_from_alert`), kept in the theft_rules table (edge_model.rule_row),
applied by `edge_model.alerting.decide`: a window in a rule's scope that its pattern explains is
no evidence of theft, while a larger or steadier load on top still is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge_model import rule_row, rule_text
from edge_model.windows import Alert, Windows, _hour_band, _in_band, _runs_widened

FLOOR_MARGIN_W = 50.0  # a floor this much above the pattern's own is a new steady load, not the pattern
# A mean up to this many times the pattern's cap above usual is still the pattern. The cap is the
# 90th percentile of the few hours the rule was made from, so a pattern's later days run above it
# (an AC Ignored on nights of +800-1200 W got a cap of +977 W and alerted again 2 h after the
# Ignore). A steady tap on top is not hidden by the slack: it lifts the floor, which has no slack
# (floor_cap_w + FLOOR_MARGIN_W, and steady_w).
CAP_SLACK = 1.5
STEADY_CAP_TIMES = 2.0  # an Ignored steady-lift alert's cap: at most this many times the lift it named
# A steady lift under an Ignored pattern: in an hour of the rule's scope, the floor stayed at least
# STEADY_MIN_W above the usual floor in each of the last STEADY_RUN_H hours (the earlier ones in the
# scope or just before it: a load that came on before the pattern's hours). An AC's compressor is off
# for more than 5 minutes in most hours, so its floor comes back down within a few hours; a tap (or
# any new load that never stops) does not. That lift is not the Ignored pattern: those windows are
# not explained (docs/theft-detection.md, "Feedback").
STEADY_RUN_H = 4
STEADY_MIN_W = 50.0


@dataclass(frozen=True)
class SuppressionRule:
    """Made by Ignore: the Ignored pattern becomes part of this household's usual load.

    In the pattern's hours of day (`hours`, every hour it lifted, e.g. an AC's nights and its
    afternoons; rules saved before `hours` use the band first_hour..last_hour), on the weekdays, from
    start_s until expires_s, a window no higher than that hour's usual load (as it was before the
    pattern) plus excess_cap_w, the pattern's own high, is explained: it is no evidence for
    `decide`, whichever path (the forest or the steady-lift detector) found it. A theft on top
    still shows: a window above the cap, a floor lifted more than the pattern lifted it
    (floor_cap_w: an Ignored AC cycles and lifts it little), a new steady lift under the pattern
    (`steady_w`), and every hour outside the rule's hours. The features are never changed by a
    rule: they compare each hour with the house's own history, which takes a repeated pattern in
    by itself. While the pattern keeps showing, the rule stays in force (`renewed`).
    """

    first_hour: int  # local hour of day, inclusive
    last_hour: int  # exclusive; last < first wraps midnight (21 -> 2 is 21:00-01:59); equal = all day
    weekdays: frozenset[int]
    # the highest power the rule explains (the highest usual load plus excess_cap_w);
    # rules before usual_w used it as the cap
    max_power_w: float
    expires_s: float  # epoch seconds
    excess_cap_w: float = 0.0  # at most this much above usual is the Ignored pattern
    usual_w: tuple[float, ...] = ()  # 24 values: the usual load per local hour before the pattern
    start_s: float = 0.0  # the rule covers windows from here (the pattern's first day)
    usual_floor_w: tuple[float, ...] = ()  # 24 values: the usual floor per local hour before the pattern
    floor_cap_w: float | None = None  # at most this much above the usual floor is the pattern (None: excess_cap_w)
    # each window the rule explains keeps it in force this long after it
    # (0: fixed expiry, rules before renewal)
    renew_days: float = 0.0
    hours: tuple[
        int, ...
    ] = ()  # the local hours of day the pattern lifted; () = the band first_hour..last_hour (rules before hours)
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

    def matches(
        self,
        hour: np.ndarray,
        weekday: np.ndarray,
        power_w: np.ndarray,
        start_s: np.ndarray,
        floor_w: np.ndarray | None = None,
    ) -> np.ndarray:
        """Windows the rule explains: in scope, no higher than that hour's usual load plus CAP_SLACK
        times the cap and, when the floor is known, no steadier than the pattern was (a tap on top
        lifts the floor)."""
        h = np.asarray(hour, dtype=np.int64) % 24
        if self.usual_w:
            guarded = floor_w is not None and bool(self.usual_floor_w) and self.floor_cap_w is not None
            slack = CAP_SLACK if guarded else 1.0  # the slack only where the floor still shows a tap on top
            limit = np.asarray(self.usual_w, dtype=np.float64)[h] + slack * self.excess_cap_w
        else:  # a rule saved before usual_w existed
            limit = np.full(len(hour), self.max_power_w)
        explained = self.in_scope(hour, weekday, start_s) & (power_w <= limit)
        if floor_w is not None and self.usual_floor_w and self.floor_cap_w is not None:
            floor_limit = np.asarray(self.usual_floor_w, dtype=np.float64)[h] + self.floor_cap_w + FLOOR_MARGIN_W
            explained &= floor_w <= floor_limit
        if floor_w is not None and self.usual_floor_w:
            explained &= self.steady_w(hour, weekday, start_s, floor_w) == 0
        return explained

    def explains_steady(
        self,
        hour: np.ndarray,
        weekday: np.ndarray,
        start_s: np.ndarray,
        lift_w: np.ndarray,
        floor_w: np.ndarray | None = None,
    ) -> np.ndarray:
        """Steady-lift hits the rule explains: in scope, a lift (edge_model.steady's, against the
        house's recent usual) no larger than CAP_SLACK times the pattern's own steady size plus
        FLOOR_MARGIN_W and, where the floor is known, a floor no higher above the usual floor *from
        before the pattern* than that either. Once the usual has taken the pattern in, a tap of the
        pattern's size on top lifts the detector's lift only by its own size, but the floor by
        both: the second test sees it. A rule without floors (from before them) explains none."""
        n = len(lift_w)
        if not self.usual_floor_w or self.floor_cap_w is None:
            return np.zeros(n, dtype=bool)
        size = max(self.floor_cap_w, self.steady_cap_w or 0.0)
        limit = CAP_SLACK * size + FLOOR_MARGIN_W
        explained = self.in_scope(hour, weekday, start_s) & (np.asarray(lift_w, dtype=np.float64) <= limit)
        if floor_w is not None:
            usual = np.asarray(self.usual_floor_w, dtype=np.float64)[np.asarray(hour, dtype=np.int64) % 24]
            explained &= np.asarray(floor_w, dtype=np.float64) - usual <= limit
        return explained

    def steady_w(self, hour: np.ndarray, weekday: np.ndarray, start_s: np.ndarray, floor_w: np.ndarray) -> np.ndarray:
        """Per window in the rule's scope, a new steady lift under the pattern (0 where there is none):
        how far the lowest floor excess of this window and the STEADY_RUN_H - 1 before it (in scope
        or not) is above the pattern's own steady lift, when that is at least STEADY_MIN_W. Causal."""
        n = len(floor_w)
        if not self.usual_floor_w or self.steady_cap_w is None:
            return np.zeros(n)
        lowest = _steady_lift(
            self.in_scope(hour, weekday, start_s),
            np.asarray(floor_w, dtype=np.float64),
            np.asarray(self.usual_floor_w, dtype=np.float64)[np.asarray(hour, dtype=np.int64) % 24],
        )
        extra = lowest - self.steady_cap_w
        return np.where(extra >= STEADY_MIN_W, extra, 0.0)

    def renewed(
        self,
        hour: np.ndarray,
        weekday: np.ndarray,
        power_w: np.ndarray,
        start_s: np.ndarray,
        floor_w: np.ndarray | None = None,
    ) -> SuppressionRule:
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
        return {
            **self.__dict__,
            "weekdays": sorted(self.weekdays),
            "usual_w": list(self.usual_w),
            "usual_floor_w": list(self.usual_floor_w),
            "hours": list(self.hours),
        }

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


def _run_length(flag: np.ndarray) -> np.ndarray:
    """How many consecutive hours up to and including i are flagged."""
    idx = np.arange(len(flag))
    last_off = np.maximum.accumulate(np.where(flag, -1, idx))
    return (idx - last_off).astype(np.float64)


PATTERN_MIN_DAYS = (
    2  # an hour of day is the pattern's when it was lifted on at least this many of the pattern's days ...
)
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


def _by_hour_before(w: Windows, values: np.ndarray, before: np.ndarray, first_hit: int) -> np.ndarray:
    """`values` by hour of day over the windows `before` the first hit (their median up to it when fewer than 24)."""
    out = np.zeros(24)
    for k in before:
        out[int(w.hour[k]) % 24] = values[k]
    if len(before) < 24:
        out[:] = float(np.median(values[: first_hit + 1]))
    return out


def _floor_caps(
    w: Windows,
    before: np.ndarray,
    first_hit: int,
    recent: np.ndarray,
    mask: np.ndarray,
    lifted: np.ndarray,
    cap_quantile: float,
) -> tuple[tuple[float, ...], float, float]:
    """(usual floor by hour, floor cap, steady cap) of an Ignored pattern: only what it lifted leaves the floor."""
    base = _by_hour_before(w, w.usual_floor_w, before, first_hit)
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
    return usual_floor, floor_cap, steady_cap


def rule_from_alert(
    w: Windows, alert: Alert, valid_days: int = 90, cap_quantile: float = 0.9, widen_h: int = 2
) -> SuppressionRule:
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
    usual = _by_hour_before(w, w.usual_w, before, int(hits[0]))
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
    if alert.numbers.get("path") == "steady" and alert.numbers.get("excess_w", 0) > 0:
        # The household said a steady load of this size is theirs. Its hours' means also carry the
        # house's other loads (an AC's cycles at night): a +260 W pump became a rule explaining
        # +2.3 kW on a RAMP house. Up to twice the load's own size is the pattern; more is news.
        cap = min(cap, STEADY_CAP_TIMES * float(alert.numbers["excess_w"]))
    # The same for the floor: a steady pattern (a charger) lifted it, a cycling one (an AC) hardly did,
    # and only what the pattern itself lifted is taken out of it.
    usual_floor, floor_cap, steady_cap = (), None, None
    if w.usual_floor_w is not None and w.floor_w is not None:
        usual_floor, floor_cap, steady_cap = _floor_caps(w, before, int(hits[0]), recent, mask, lifted, cap_quantile)
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
