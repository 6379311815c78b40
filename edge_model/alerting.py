"""From window scores to alerts: a per-house threshold per hour, persistence, cooldown, Ignore rules,
reasons in numbers.

Pure: arrays and values in, `Alert`s out. The daemon job and the evaluation both call `decide`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_model import rule_text
from edge_model.ignore_rules import SuppressionRule
from edge_model.steady import SteadyPolicy
from edge_model.windows import Alert, Windows, _hour_band, _in_band, _runs_widened


@dataclass(frozen=True)
class AlertPolicy:
    """When evidence adds up to an alert (values chosen on the UCI house's development years, docs).

    Two paths. The steady-lift detector's hits (edge_model.steady) already hold over several days:
    one is an alert. The forest's score is a hit where it reaches the house's own threshold for that
    hour (`hour_thresholds`), and hits alert once `min_hits` of them fall within `window_h` hours
    over `min_days` days (or, when strong_hits > 0, that many of them score `strong_score` within a day).
    """

    threshold: float = 0.5  # the lowest threshold any hour gets: the model's, from its metadata
    # Persistence: at least min_hits windows over the house's bar within window_h hours, on at
    # least min_days local days. On the UCI house's development years 5 hits in 48 h on 2 days cost
    # 0.39 false alerts a household-month from the forest; 8 in 72 h on 3 days cost 0.06 and keep
    # most of what the forest adds to the steady-lift detector (constant taps 70 % -> 80 %; docs).
    window_h: int = 72
    min_hits: int = 8
    min_days: int = 3
    # A single day's evidence: strong_hits windows scoring strong_score within 24 h. 0: off. On a
    # real house a day of high scores is an ordinary day (a party, a heat wave), so it is off.
    strong_hits: int = 0
    strong_score: float = 0.9
    # The house's own threshold per hour of day: this quantile of its scores at that hour and its
    # neighbours over cal_days, ending cal_lag days back (a tap of the last days never raises its own
    # bar); no alert from the forest before min_cal_days of them. 1.0, the highest score of those
    # four weeks: on the UCI house's development years 0.98 cost 0.77 false alerts a month from the
    # forest alone, 1.0 costs 0.39 and catches 13 % of switched taps instead of 17 % (docs).
    cal_quantile: float = 1.0
    cal_days: int = 28
    cal_lag: int = 3
    cal_neighbours: int = 1
    min_cal_days: int = 14
    # One alert per pattern per week. A pattern is an alert's band of hours: during its cooldown,
    # hits more than pattern_widen_h hours outside the band are another pattern and alert on their
    # own evidence, unless the alerted load ran on without a break; hits inside it alert again only
    # with a typical excess at least `escalation` times the alerted one (a tap on top of an AC's nights).
    cooldown_h: int = 7 * 24
    pattern_widen_h: int = 3
    escalation: float = 2.0  # 0 turns escalation off


def hour_thresholds(w: Windows, policy: AlertPolicy) -> np.ndarray:
    """Per window: the house's own high score at that hour of day (`cal_quantile` of the scores of that
    hour and its neighbours over `cal_days` ending `cal_lag` days back), never below policy.threshold;
    +inf while fewer than `min_cal_days` days of scores lie there. No cap: a house whose evenings
    always score high gets a high bar there, and keeps a low one at night."""
    day = np.asarray(w.day, dtype=np.int64)
    first = int(day.min())
    n_days = int(day.max()) - first + 1
    grid = np.full((n_days, 24), np.nan)
    grid[day - first, np.asarray(w.hour, dtype=np.int64) % 24] = np.where(w.history_days > 0, w.score, np.nan)
    b = policy.cal_neighbours
    ext = np.concatenate([grid[:, -b:], grid, grid[:, :b]], axis=1) if b else grid
    out = np.full((n_days, 24), np.inf)
    for d in range(n_days):
        lo, hi = max(0, d - policy.cal_lag - policy.cal_days + 1), d - policy.cal_lag + 1
        if hi <= lo:
            continue
        block = ext[lo:hi]
        known_days = int(np.sum(~np.all(np.isnan(block), axis=1)))
        if known_days < policy.min_cal_days:
            continue
        for h in range(24):
            values = block[:, h : h + 2 * b + 1]
            values = values[~np.isnan(values)]
            out[d, h] = max(policy.threshold, float(np.quantile(values, policy.cal_quantile)))
    return out[day - first, np.asarray(w.hour, dtype=np.int64) % 24]


def decide(
    w: Windows,
    policy: AlertPolicy,
    rules: tuple[SuppressionRule, ...] = (),
    thresholds: np.ndarray | None = None,
    excused: np.ndarray | None = None,
) -> list[Alert]:
    """Walk the windows in time order and return the alerts the daemon would have raised.

    `excused` marks windows that are no evidence whatever they score (the hours a battery inverter
    recharges after a power cut, edge_model.recharge): neither path's hit there counts."""
    if thresholds is None:
        thresholds = hour_thresholds(w, policy)
    steady, hit = _hits(w, thresholds, rules, excused)
    alerts: list[Alert] = []

    def path_of(i: int) -> str:
        return "steady" if steady[i] else "forest"

    hit_idx = np.flatnonzero(hit)
    for i in hit_idx:  # an alert can only fire at a window that is itself a hit
        recent = hit_idx[(hit_idx > i - policy.window_h) & (hit_idx <= i)]
        # A pattern cools per path: a steady lift found under a forest alert's band is news, and the other way round.
        cooling = [a for a in alerts if i - a.index < policy.cooldown_h and a.numbers.get("path") == path_of(i)]
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
                # the alerted load (or its run of hits) never stopped: a constant tap's other hours,
                # the same pattern
                continue
            else:
                recent = recent[~busy[np.asarray(w.hour[recent], dtype=np.int64) % 24]]
        if not steady[i] and (len(recent) < policy.min_hits or len(np.unique(w.day[recent])) < policy.min_days):
            today = recent[recent > i - 24]
            if policy.strong_hits <= 0 or (w.score[today] >= policy.strong_score).sum() < policy.strong_hits:
                continue
        message, numbers = explain(w, recent, at=int(i) if steady[i] else None, excused=excused)
        numbers["path"] = path_of(i)
        if numbers["excess_w"] < MIN_EXCESS_W:
            continue  # less than usual, or hardly more: a node fault or the family away, never theft
        if cooling and busy[int(w.hour[i]) % 24]:
            hour = int(w.hour[i]) % 24
            alerted = max(
                max(float(a.numbers.get("excess_w", 0.0)), ESCALATION_FLOOR_W)
                for a in cooling
                if _band_of(a, policy.pattern_widen_h)[hour]
            )
            if numbers["excess_w"] < policy.escalation * alerted:
                continue
            message += f"; up from +{alerted:.0f} W a few days ago"
            numbers["escalated_from_w"] = round(alerted, 1)
        alerts.append(
            Alert(
                int(i),
                float(w.start_s[i]),
                float(w.score[i]),
                float(thresholds[i]),
                tuple(int(r) for r in recent),
                message,
                numbers,
            )
        )
    return alerts


def _hits(
    w: Windows, thresholds: np.ndarray, rules: tuple[SuppressionRule, ...], excused: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(the steady-lift hits that count, every hit that counts) once the Ignore rules and `excused` are applied.

    A window inside an Ignore rule's scope, under its cap and (where known) with no steadier floor
    than the pattern's is the household's own pattern: no evidence. A steady-lift hit is judged by
    the lift the detector found: the Ignored load's own size (give or take the slack) is the
    pattern, however the house's other loads moved that night."""
    steady = np.zeros(len(w.score), dtype=bool) if w.steady is None else np.asarray(w.steady, dtype=bool)
    forest_explained = np.zeros(len(steady), dtype=bool)
    steady_explained = np.zeros(len(steady), dtype=bool)
    lift_w = np.zeros(len(steady)) if w.steady_w is None else np.asarray(w.steady_w, dtype=np.float64)
    for rule in rules:
        forest_explained |= rule.matches(w.hour, w.weekday, w.power_w, w.start_s, w.floor_w)
        steady_explained |= rule.explains_steady(w.hour, w.weekday, w.start_s, lift_w, w.floor_w)
    if excused is not None:
        forest_explained |= excused
        steady_explained |= excused
    steady = steady & ~steady_explained
    return steady, ((w.score >= thresholds) & ~forest_explained) | steady


# A theft alert is someone else's load on the household's line: more than usual. Hits whose typical
# excess is below this (the house used less: a sensor or node fault, the family away; or hardly
# more) are never an alert, whatever the model scored.
MIN_EXCESS_W = 50.0
# Escalation is for a larger load on top (never an under-reading); an alerted excess below this
# (a repeat after the usual load took the pattern in) counts as this much.
ESCALATION_FLOOR_W = 100.0
STEADY_DAYS = SteadyPolicy().days  # the days a steady lift held: an hour is the load's if it held as long
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
    lifted = np.sign(excess) * (w.power_w[span] - usual[np.asarray(w.hour[span], dtype=np.int64) % 24]) >= 0.5 * abs(
        excess
    )
    return bool(lifted.mean() >= CONTINUOUS_SHARE)


def explain(w: Windows, hits: np.ndarray, at: int | None = None, excused: np.ndarray | None = None) -> tuple[str, dict]:
    """ "+850 W from 01:00 to 04:00 on 3 of the last 4 nights; usual 120 W", with the numbers.

    The typical excess is the median over the hits; the hours named are those the hits lifted (by at
    least half that excess and MIN_EXCESS_W), not every hour the model scored high: a night tap with
    a stray evening hit reads "from 01:00 to 04:00", not "from 20:00 to 04:00". For an alert from
    the steady-lift detector (`at`, its window), the excess is the lift it found and the hours its
    span. `first_hour` and `last_hour` are the shortest band covering them (the dedup key, the
    cooldown), `hours` the hours themselves. An `excused` window (a battery's recharge) never lifts an hour
    into a steady alert's band."""
    hits = np.asarray(hits)
    excess = w.power_w[hits] - w.usual_w[hits]
    if at is not None and w.steady_w is not None and w.steady_span_h is not None:
        typical_excess = float(w.steady_w[at])
        span_h = int(w.steady_span_h[at])
        back = list(range(span_h))
        if w.floor_w is not None and w.usual_floor_w is not None:
            # The detector names the span it judged (3 or 6 night hours, or the day); the load may run
            # longer. Any of the 23 hours before that held its floor up by half the lift on each of
            # the last STEADY_DAYS days is the same load: a constant tap reads "all day", not "00:00 to 03:00".
            bar = max(MIN_EXCESS_W, 0.5 * typical_excess)
            lifted = np.asarray(w.floor_w, dtype=np.float64) - np.asarray(w.usual_floor_w, dtype=np.float64) >= bar
            if excused is not None:
                lifted &= ~excused
            back += [
                k
                for k in range(span_h, 24)
                if at - k - 24 * (STEADY_DAYS - 1) >= 0 and all(lifted[at - k - 24 * d] for d in range(STEADY_DAYS))
            ]
        hours = sorted({(int(w.hour[at]) - k) % 24 for k in back})
        described = np.asarray([at - k for k in back if at - k >= 0])
    else:
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
    span = (
        "all day"
        if len(hours) == 24
        else " and ".join(f"from {a:02d}:00 to {b:02d}:00" for a, b in rule_text.hour_runs(hours))
    )
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
