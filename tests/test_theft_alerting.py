"""From window scores to theft alerts (edge_model.alerting), on hand-made hourly series: persistence,
cooldown, "still learning", the per-household threshold, the explanation in numbers, and what an
Ignore rule quiets and what it must not hide."""

from __future__ import annotations

import numpy as np
import pytest

from edge_model.alerting import (
    Alert,
    AlertPolicy,
    SuppressionRule,
    Windows,
    adaptive_thresholds,
    decide,
    discount_ignored,
    discount_ignored_floor,
    explain,
    rule_from_alert,
)

DAYS = 40
MIDNIGHT_S = 1_704_047_400.0  # 2024-01-01 00:00 IST (a Monday)


def windows(power_w=None, usual_w=None, score=None, history_from_day: int = 0) -> Windows:
    n = DAYS * 24
    idx = np.arange(n)
    return Windows(
        start_s=MIDNIGHT_S + 3_600.0 * idx,
        hour=idx % 24,
        weekday=(idx // 24) % 7,
        day=idx // 24,
        power_w=np.full(n, 300.0) if power_w is None else power_w,
        usual_w=np.full(n, 300.0) if usual_w is None else usual_w,
        score=np.full(n, 0.05) if score is None else score,
        history_days=np.maximum(0, idx // 24 - history_from_day).astype(float),
    )


def at(day: int, hour: int) -> int:
    return day * 24 + hour


POLICY = AlertPolicy(threshold=0.5)


def test_hits_on_one_day_alone_never_alert_but_five_over_two_days_do():
    score = np.full(DAYS * 24, 0.05)
    score[at(20, 0) : at(20, 12)] = 0.9  # twelve hits, all on one day
    assert decide(windows(score=score), POLICY) == []
    score[at(21, 1) : at(21, 3)] = 0.9  # two more on the next day: 14 hits over 2 days in 48 h
    alerts = decide(windows(score=score), POLICY)
    assert [a.index for a in alerts] == [at(21, 1)]
    assert len(alerts[0].hits) >= POLICY.min_hits


def test_a_pattern_that_keeps_firing_alerts_once_per_cooldown():
    score = np.full(DAYS * 24, 0.05)
    for day in range(14, 36):
        score[at(day, 1) : at(day, 4)] = 0.9  # three hits every night from day 14
    alerts = decide(windows(score=score), POLICY)
    gaps = np.diff([a.index for a in alerts])
    assert len(alerts) == 3 and (gaps >= POLICY.cooldown_h).all()


def test_a_household_still_being_learned_never_alerts():
    score = np.full(DAYS * 24, 0.95)
    w = windows(score=score, history_from_day=DAYS)  # never 7 days of history
    assert decide(w, POLICY) == []


def test_an_always_odd_household_gets_its_own_higher_threshold_up_to_the_cap():
    rng = np.random.default_rng(1)
    score = rng.uniform(0.0, 0.75, DAYS * 24)  # its ordinary hours often score 0.6-0.75
    thresholds = adaptive_thresholds(windows(score=score), POLICY)
    assert thresholds[at(10, 0)] == POLICY.threshold  # less than 14 days of its own scores yet
    assert 0.7 < thresholds[at(30, 0)] <= 0.75
    score[:] = 0.99
    assert adaptive_thresholds(windows(score=score), POLICY)[at(30, 0)] == POLICY.threshold_cap


def test_the_alert_explains_itself_in_numbers():
    power = np.full(DAYS * 24, 120.0)
    score = np.full(DAYS * 24, 0.05)
    for day in (20, 21, 22):
        power[at(day, 1) : at(day, 4)] = 970.0
        score[at(day, 1) : at(day, 4)] = 0.9
    alert = decide(windows(power_w=power, usual_w=np.full(DAYS * 24, 120.0), score=score), POLICY)[0]
    assert alert.message == "+850 W from 01:00 to 04:00 on 2 of the last 4 nights; usual 120 W"
    assert alert.numbers["excess_w"] == 850.0 and alert.numbers["first_hour"] == 1 and alert.numbers["last_hour"] == 4
    _, numbers = explain(windows(power_w=power, score=score), np.asarray(alert.hits))
    assert numbers["windows_over_threshold"] == len(alert.hits)


# -- Ignore ----------------------------------------------------------------------------------------

PATTERN_FROM = 20  # an EV charger from day 20: about +1000 W from 00:00 to 04:00 every night


def ev_charger_home(tap_w: float = 0.0, tap_from: int = DAYS):
    rng = np.random.default_rng(7)
    usual = np.full(DAYS * 24, 300.0)
    power = usual + rng.normal(0.0, 20.0, DAYS * 24)
    for day in range(PATTERN_FROM, DAYS):
        power[at(day, 0) : at(day, 4)] += rng.uniform(900.0, 1100.0, 4)
    for day in range(tap_from, DAYS):
        power[at(day, 0) : at(day, 6)] += tap_w  # someone taps the line at night, over the charger
    return power, usual


def ignored_rule() -> tuple[SuppressionRule, Windows]:
    power, usual = ev_charger_home()
    hits = [at(d, h) for d in (PATTERN_FROM, PATTERN_FROM + 1) for h in range(4)]
    w = windows(power_w=power, usual_w=usual)
    alert = Alert(hits[-1], float(w.start_s[hits[-1]]), 0.9, 0.5, tuple(hits), "", {})
    return rule_from_alert(w, alert), w


def test_ignore_makes_a_scoped_rule_with_the_patterns_own_high_as_cap():
    rule, w = ignored_rule()
    assert (rule.first_hour, rule.last_hour) == (23, 5)  # the alert's band, one hour wider each side
    assert rule.weekdays == frozenset(range(7))
    assert 1000 < rule.excess_cap_w < 1120  # the 90th percentile of +900..1100 W, not 1.25 x its largest
    assert rule.expires_s == pytest.approx(w.start_s[at(PATTERN_FROM + 1, 3)] + 90 * 86_400)
    assert "from 23:00 to 05:00, every day" in rule.describe()


def test_the_rule_takes_a_repeat_out_but_leaves_a_tap_on_top_and_other_hours_alone():
    rule, w = ignored_rule()
    repeat, usual = ev_charger_home()
    tapped, _ = ev_charger_home(tap_w=600.0, tap_from=30)
    night = np.array([at(d, h) for d in range(30, DAYS) for h in range(4)])
    reset = discount_ignored(repeat, w.hour, w.weekday, w.start_s, (rule,))
    assert np.abs(reset[night] - usual[night]).max() < 120  # the charger is now part of the usual night
    reset_tapped = discount_ignored(tapped, w.hour, w.weekday, w.start_s, (rule,))
    # The tap still shows, hour by hour: at least the tap less the pattern's own spread under its cap.
    spread = rule.excess_cap_w - 900.0
    assert (reset_tapped[night] - usual[night]).min() > 600.0 - spread - 3 * 20.0
    assert np.median(reset_tapped[night] - usual[night]) > 450
    late = np.array([at(d, 4) for d in range(30, DAYS)])  # 04:00-05:00: in the band, no charger, tap only
    assert np.allclose(reset_tapped[late], tapped[late] - np.clip(tapped[late] - usual[late], 0, rule.excess_cap_w))
    noon = np.array([at(d, 12) for d in range(DAYS)])
    assert np.array_equal(reset[noon], repeat[noon])
    before = np.array([at(d, 1) for d in range(16)])  # the rule starts 3 days before the pattern
    assert np.array_equal(discount_ignored(repeat, w.hour, w.weekday, w.start_s, (rule,))[before], repeat[before])
    # As evidence: the repeat's windows are the rule's (all but its highest few: the cap is its
    # 90th percentile); the tapped ones are not.
    assert rule.matches(w.hour[night], w.weekday[night], repeat[night], w.start_s[night]).mean() >= 0.8
    assert not rule.matches(w.hour[night], w.weekday[night], tapped[night], w.start_s[night]).any()


def test_after_ignore_repeats_are_quiet_and_a_tap_on_top_still_alerts():
    rule, w = ignored_rule()
    repeat, usual = ev_charger_home()
    tapped, _ = ev_charger_home(tap_w=600.0, tap_from=30)

    def scored(power):
        # A stand-in for the model: the score rises with the excess over usual, as the forest's does.
        excess = np.clip(power - usual, 0.0, None)
        return np.clip(excess / 1000.0, 0.0, 0.99)

    plain = decide(windows(power_w=repeat, usual_w=usual, score=scored(repeat)), POLICY)
    assert len(plain) >= 2  # without the rule the charger keeps alerting

    def ruled(power):
        reset = discount_ignored(power, w.hour, w.weekday, w.start_s, (rule,))
        return decide(windows(power_w=power, usual_w=usual, score=scored(reset)), POLICY, (rule,))

    assert ruled(repeat) == []
    alerts = ruled(tapped)
    assert alerts and alerts[0].index >= at(30, 0) and alerts[0].index < at(33, 0)
    assert "+6" in alerts[0].message or "+1" in alerts[0].message  # the metered excess is shown


def test_a_steady_tap_on_top_of_an_ignored_ac_shows_in_the_floor():
    """An AC cycles: it lifts the hour's mean but hardly its floor (lowest 5-minute mean). A tap is
    steady and lifts both. On a night the AC runs less, a tap can hide under the mean's cap; the
    floor still tells."""
    rng = np.random.default_rng(11)
    usual = np.full(DAYS * 24, 300.0)
    power = usual + rng.normal(0.0, 20.0, DAYS * 24)
    floor = np.full(DAYS * 24, 120.0) + rng.normal(0.0, 10.0, DAYS * 24)
    for day in range(PATTERN_FROM, DAYS):
        power[at(day, 0) : at(day, 4)] += rng.uniform(800.0, 1200.0, 4)  # the AC: the mean rises ...
        floor[at(day, 0) : at(day, 4)] += rng.uniform(0.0, 60.0, 4)  # ... the floor hardly
    hits = [at(d, h) for d in (PATTERN_FROM, PATTERN_FROM + 1) for h in range(4)]
    w = Windows(windows().start_s, windows().hour, windows().weekday, windows().day, power, usual, np.zeros(DAYS * 24),
                windows().history_days, usual_floor_w=np.full(DAYS * 24, 120.0), floor_w=floor)
    rule = rule_from_alert(w, Alert(hits[-1], float(w.start_s[hits[-1]]), 0.9, 0.5, tuple(hits), "", {}))
    assert rule.floor_cap_w < 80 and rule.excess_cap_w > 800
    night = np.array([at(d, h) for d in range(30, DAYS) for h in range(4)])
    quiet_ac = power[night] - 400.0  # a cooler night: the AC runs less ...
    tapped_floor = floor[night] + 400.0  # ... and a 400 W tap runs all night
    args = (w.hour[night], w.weekday[night])
    assert rule.matches(*args, power[night], w.start_s[night], floor[night]).mean() >= 0.7  # the AC itself: mostly the rule's
    assert not rule.matches(*args, quiet_ac + 400.0, w.start_s[night], tapped_floor).any()  # the tap: evidence
    reset = discount_ignored_floor(tapped_floor, *args, w.start_s[night], (rule,))
    assert (reset - 120.0).min() > 300  # and the floor the model sees keeps the tap


def test_a_rule_saved_before_usual_load_was_kept_still_caps_by_power():
    old = SuppressionRule(first_hour=0, last_hour=4, weekdays=frozenset(range(7)), max_power_w=1400.0,
                          expires_s=MIDNIGHT_S + 90 * 86_400)
    hour, weekday, start = np.array([1, 1, 12]), np.array([0, 0, 0]), np.full(3, MIDNIGHT_S + 86_400)
    assert old.matches(hour, weekday, np.array([1300.0, 1500.0, 100.0]), start).tolist() == [True, False, False]
    power = np.array([1300.0, 1500.0, 100.0])
    assert np.array_equal(discount_ignored(power, hour, weekday, start, (old,)), power)  # no usual load: no reset
