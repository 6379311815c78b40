"""Alerts in household words (gateway/alerts/texts.py), the answers each kind takes, and the pieces of
the demo's story (a tap on a simulated line, the dates it keeps): pure functions, values in and out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gateway.alerts.kinds import KINDS, available_actions
from gateway.alerts.texts import day_label, history, hour_label, power_label, summary
from gateway.simulation.demo_scenario import Scenario, budget_inr, register_kwh
from gateway.simulation.tapping import SteadyTap, tapped

IST = ZoneInfo("Asia/Kolkata")
T0 = int(dt.datetime(2026, 12, 6, 22, 30, tzinfo=IST).timestamp() * 1000)


def theft(**data) -> dict:
    base = {"first_hour": 1, "last_hour": 5, "hours": [1, 2, 3, 4], "excess_w": 1135.7, "days_seen": 4}
    return {"kind": "theft", "state": "open", "data": {**base, "days_considered": 4, **data}}


@pytest.mark.parametrize(
    "hour, words",
    [(0, "midnight"), (1, "1 am"), (11, "11 am"), (12, "noon"), (13, "1 pm"), (23, "11 pm"), (24, "midnight")],
)
def test_hours_read_as_a_household_says_them(hour, words):
    assert hour_label(hour) == words


def test_power_and_dates():
    assert [power_label(w) for w in (85.4, 999.4, 1000, 1135.7, 12_345)] == [
        "85 W",
        "999 W",
        "1.0 kW",
        "1.1 kW",
        "12.3 kW",
    ]
    assert day_label(T0, "Asia/Kolkata") == "6 Dec 2026" and day_label(T0, "UTC") == "6 Dec 2026"
    assert day_label(T0 + 2 * 3_600_000, "Asia/Kolkata") == "7 Dec 2026"  # past midnight in India


def s_from(data):
    return data.get("first_hour", 1)


def s_to(data):
    return data.get("last_hour", 5)


@pytest.mark.parametrize(
    "data, key, extra",
    [
        ({}, "alert_sum_theft_nights", {}),
        ({"path": "steady"}, "alert_sum_theft_nights_quiet", {}),
        ({"first_hour": 14, "last_hour": 17, "hours": [14, 15, 16]}, "alert_sum_theft_days", {"from": "2 pm"}),
        ({"first_hour": 22, "last_hour": 3, "hours": [22, 23, 0, 1, 2]}, "alert_sum_theft_nights", {"to": "3 am"}),
        ({"first_hour": 0, "last_hour": 0, "hours": list(range(24))}, "alert_sum_theft_allday", {}),
        ({"escalated_from_w": 300.0}, "alert_sum_theft_more", {"before": "300 W"}),
    ],
)
def test_theft_sentences(data, key, extra):
    s = summary(theft(**data))
    assert s["key"] == key and s["params"]["power"] == "1.1 kW" and s["params"]["days"] == "4"
    assert s["formats"] == {"from": ["hour", s_from(data)], "to": ["hour", s_to(data)]}
    assert {k: s["params"][k] for k in extra} == extra


def test_a_meter_period_theft_alert_names_its_dates_and_units():
    alert = {
        "kind": "theft",
        "data": {"source": "meter", "period_start_ms": T0 - 30 * 86_400_000, "period_end_ms": T0, "excess_kwh": 61.4},
    }
    assert summary(alert) == {
        "key": "alert_sum_theft_meter",
        "params": {"from": "6 Nov 2026", "to": "6 Dec 2026", "units": "61"},
        "formats": {"from": ["day_ms", T0 - 30 * 86_400_000], "to": ["day_ms", T0 - 1]},
    }


def test_money_alerts_in_rupees_the_indian_way():
    budget = {
        "kind": "budget_threshold",
        "data": {"threshold_pct": 50, "spent": "1,23,456.78".replace(",", ""), "budget_paise": 20_000_000},
    }
    assert summary(budget)["params"] == {"pct": "61", "budget": "₹2,00,000", "spent": "₹1,23,456.78"}
    projection = {"kind": "budget_projection", "data": {"projected": "2712.00", "budget_paise": 170_000}}
    assert summary(projection)["params"] == {"projected": "₹2,712.00", "budget": "₹1,700", "over": "₹1,012.00"}
    due = {"kind": "bill_overdue", "data": {"owed_paise": 322_020}}
    assert summary(due) == {"key": "alert_sum_bill_overdue", "params": {"owed": "₹3,220.20"}}
    slab = {"kind": "slab_ahead", "data": {"units": "462.4", "boundary": "500", "projected_units": 580.4}}
    assert summary(slab)["params"] == {"to_go": "38", "boundary": "500", "projected": "580"}


def test_supply_alerts_say_when():
    cut = {"kind": "power_cut", "data": {"start_ms": T0, "end_ms": T0 + 95 * 60_000, "ongoing": False}}
    assert summary(cut) == {
        "key": "alert_sum_power_cut",
        "params": {"from": "6 Dec 2026, 10:30 pm", "to": "7 Dec 2026, 12:05 am", "minutes": "95"},
        "formats": {"from": ["time_ms", T0], "to": ["time_ms", T0 + 95 * 60_000]},
    }
    now = {"kind": "power_cut", "data": {"start_ms": T0 - 12 * 3_600_000, "ongoing": True}}
    assert summary(now)["params"] == {"from": "6 Dec 2026, 10:30 am"}
    volts = {"kind": "voltage_out_of_band", "data": {"day": "2026-12-06", "longest_out": 42, "scope": "house"}}
    assert summary(volts) == {
        "key": "alert_sum_voltage_out_of_band",
        "params": {"minutes": "42", "day": "6 Dec 2026"},
        "formats": {"day": ["iso", "2026-12-06"]},
    }


@pytest.mark.parametrize(
    "alert",
    [
        {"kind": "budget_threshold", "data": {"spent": "lots", "budget_paise": 80_000}},
        {"kind": "budget_threshold", "data": {"spent": "416.00", "budget_paise": 0}},
        {"kind": "theft", "data": {"source": "meter"}},
        {"kind": "theft", "data": {"extra_w": 850, "usual_w": 120}},
        {"kind": "meter_mismatch", "data": {"meter_kwh": "n/a"}},
    ],
)
def test_numbers_a_sentence_cannot_use_read_as_see_details(alert):
    assert summary(alert) == {"key": "alert_sum_plain", "params": {}}


def test_kinds_without_numbers_read_as_their_own_sentence_and_every_kind_has_a_string():
    from pathlib import Path

    assert summary({"kind": "sync_failing", "data": {}}) == {"key": "alert_sum_sync_failing", "params": {}}
    strings = (Path(__file__).resolve().parents[2] / "local_ui/static/strings/en.js").read_text()
    for kind in KINDS:
        assert f"  alert_kind_{kind}:" in strings and f"  alert_sum_{kind}" in strings, kind


def test_history_as_sentences():
    actions = [
        {"action": "ignore", "by": "asha", "ts_ms": T0},
        {"action": "unignore", "by": "ravi", "ts_ms": T0},
        {"action": "raise", "by": "asha", "ts_ms": T0},
        {"action": "resolve", "by": "powergw", "ts_ms": T0},
    ]
    said = history(actions, me="asha")
    assert [h["key"] for h in said] == [
        "alert_hist_ignore_you",
        "alert_hist_unignore",
        "alert_hist_raise_you",
        "alert_hist_auto",
    ]
    assert said[1]["params"] == {"who": "ravi", "date": "6 Dec 2026"} and said[1]["formats"] == {"date": ["day_ms", T0]}


@pytest.mark.parametrize(
    "kind, state, actions",
    [
        ("theft", "open", ["ignore", "raise", "resolve"]),
        ("theft", "ignored", ["unignore", "raise", "resolve"]),
        ("theft", "raised", ["resolve"]),
        ("theft", "resolved", []),
        ("budget_threshold", "open", ["resolve"]),
        ("bill_due", "resolved", []),
        ("no_such_kind", "open", []),
    ],
)
def test_the_answers_that_fit_a_kind_and_its_state(kind, state, actions):
    assert available_actions({"kind": kind, "state": state}) == actions


def test_a_tap_adds_its_watts_in_its_local_hours_from_its_first_night():
    since = dt.datetime(2026, 12, 4, 1, 0, tzinfo=IST).astimezone(dt.UTC)
    tap = SteadyTap(1150.0, 1, 5, since)
    start = dt.datetime(2026, 12, 3, 0, 0, tzinfo=IST).astimezone(dt.UTC)
    added = tap.added_w(start, 3 * 24 * 60, 60.0).reshape(3, 24, 60)  # three local days by hour and minute
    assert added[0].sum() == 0  # before the tap started
    for day in (1, 2):
        assert (added[day, 1:5] == 1150.0).all() and added[day, :1].sum() == 0 and added[day, 5:].sum() == 0
    flat = tapped(lambda s, n, step: np.full(n, 200.0), tap)(start, 3 * 24 * 60, 60.0)
    assert flat.max() == 1350.0 and flat.min() == 200.0
    # Across midnight: on 4 Dec, from its start at 01:00 to 03:00, and again from 22:00.
    night = SteadyTap(500.0, 22, 3, since).added_w(start + dt.timedelta(days=1), 24 * 60, 60.0).reshape(24, 60)
    assert night[0].sum() == 0 and (night[1:3] == 500.0).all() and night[3:22].sum() == 0
    assert (night[22:] == 500.0).all()


@pytest.mark.parametrize("watts, first, last", [(0, 1, 5), (-10, 1, 5), (100, 3, 3), (100, 25, 2), (100, 1, 25)])
def test_a_tap_that_cannot_be_is_refused(watts, first, last):
    with pytest.raises(ValueError, match="tap"):
        SteadyTap(watts, first, last, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_the_demo_story_is_kept_and_read_back(tmp_path):
    now = dt.datetime(2026, 12, 7, 3, 40, tzinfo=dt.UTC)  # 09:10 in India
    story = Scenario.new(now, 100)
    tap = dt.datetime.fromtimestamp(story.tap_since_ms / 1000, IST)
    assert (tap.date(), tap.hour) == (dt.date(2026, 12, 4), 1)  # the 4th, 5th, 6th and 7th nights
    assert story.meter_reading_date == "2026-11-01"
    assert Scenario.load(tmp_path) is None
    story.save(tmp_path)
    assert Scenario.load(tmp_path) == story
    (tmp_path / "demo.json").write_text("{not json")
    assert Scenario.load(tmp_path) is None  # a damaged story: the demo makes a new one


def test_the_demo_budget_is_a_little_over_half_used():
    for bill in ("53.06", "903.58", "2712.00"):
        budget = budget_inr(Decimal(bill))
        assert budget % 50 == 0 and 0.52 <= float(bill) / budget < 0.56
    assert budget_inr(Decimal("10")) == 100
    assert register_kwh(Decimal("617.94")) == Decimal("7617.9")
