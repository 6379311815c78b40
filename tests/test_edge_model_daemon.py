"""The theft model inside the daemon: store usage -> onnxruntime scores -> shared alerts table -> Ignore/Raise feedback."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import numpy as np
import pytest

from edge_model import store_job
from edge_model.dataset import CHECK_SEEDS, IST, simulate_household
from gateway.alerts import AlertStore
from gateway.public_holidays import load_overrides
from theft_store import end_of_day_ms, job_context, store_with_usage


@pytest.fixture
def tapped(tmp_path):
    h = simulate_household(CHECK_SEEDS + 5, 40, "tap_constant", None, load_overrides(), theft_start_day=35, magnitude_w=1_000.0, theft_days=5)
    return h, store_with_usage(tmp_path / "powergw.db", h.power_w, h.first_date, h.floor_w)


def test_a_tap_becomes_one_theft_alert_with_numbers_and_never_a_storm(tmp_path, tapped):
    h, store = tapped
    for day in (37, 38, 39):  # the job runs again and again over the same pattern
        result = store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, day)))
        assert not result.learning
    rows = AlertStore(store).list(kind="theft")
    assert len(rows) == 1 and rows[0]["state"] == "open" and rows[0]["severity"] == "critical"
    assert "usual" in rows[0]["message"] and rows[0]["data"]["excess_w"] > 500
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status["learning"] is False and status["model"] == "shipped"


def test_a_much_larger_load_in_an_alerted_band_is_a_new_alert_not_a_silent_repeat(tmp_path):
    # +500 W every night 00:00-05:00 from day 30 alerts; from day 34 the same nights carry +1500 W
    # (something on top): inside the first alert's cooldown and band, but news, so its own row.
    h = simulate_household(CHECK_SEEDS + 5, 40, None, None, load_overrides())
    power, floor = h.power_w.copy(), h.floor_w.copy()
    for day in range(30, 40):
        night = slice(day * 24, day * 24 + 5)
        power[night] += 500.0 if day < 34 else 1_500.0
        floor[night] += 500.0 if day < 34 else 1_500.0
    store = store_with_usage(tmp_path / "powergw.db", power, h.first_date, floor)
    for day in range(31, 40):
        store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, day)))
    first, bigger = sorted(AlertStore(store).list(kind="theft"), key=lambda r: r["id"])
    assert first["dedup_key"] == "theft:00-05" and bigger["dedup_key"] == "theft:00-05:escalated"
    assert "up from +" in bigger["message"] and bigger["data"]["excess_w"] >= 2 * first["data"]["excess_w"]


def test_a_repeat_of_an_open_theft_alert_keeps_its_first_text_and_counts(tmp_path):
    """+800 W every night 00:00-05:00 on days 30-33 and again from day 41, the alert left open: the
    repeat after its week of cooldown counts on it, and the text the household was sent stays."""
    h = simulate_household(CHECK_SEEDS + 5, 46, None, None, load_overrides())
    power, floor = h.power_w.copy(), h.floor_w.copy()
    for day in (*range(30, 34), *range(41, 46)):
        power[day * 24 : day * 24 + 5] += 800.0
        floor[day * 24 : day * 24 + 5] += 800.0
    store = store_with_usage(tmp_path / "powergw.db", power, h.first_date, floor)
    alerts = AlertStore(store)
    store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, 31)))
    (first,) = alerts.list(kind="theft")
    for day in range(32, 44):
        store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, day)))
    (now,) = alerts.list(kind="theft")
    assert now["id"] == first["id"] and now["repeat_count"] >= 2
    assert now["message"] == first["message"] and now["data"]["excess_w"] == first["data"]["excess_w"]
    latest = now["data"]["latest"]
    assert latest["message"] != first["message"] and latest["seen_ms"] == now["last_seen_ms"]
    assert latest["window_starts_s"][0] > first["data"]["window_starts_s"][-1]  # the repeat's own evidence


@pytest.mark.parametrize("state, holidays", [("TN", [23]), ("MZ", [6, 12, 23]), ("", [])])
def test_the_theft_job_marks_the_public_holidays_of_the_households_state(tmp_path, tapped, monkeypatch, state, holidays):
    """[billing] holiday_state, the setting billing's projection uses, is the features' holiday calendar
    (TN has Ashura on 17 July 2024, Mizoram two more days of its own; "" none)."""
    from edge_model.features import COLUMN

    h, store = tapped
    seen = []

    def build_features(power, first, calendar, **kw):
        rows = real(power, first, calendar, **kw)
        seen.append((first, rows))
        return rows

    real = store_job.build_features
    monkeypatch.setattr(store_job, "build_features", build_features)
    ctx = job_context(store, tmp_path, end_of_day_ms(h.first_date, 38))
    ctx = replace(ctx, config=ctx.config.replace("billing", holiday_state=state))
    store_job.score_job(ctx)
    ((first, rows),) = seen
    marked = {(first - h.first_date).days + i // 24 for i in np.flatnonzero(rows[:, COLUMN["holiday"]])}
    assert sorted(marked) == holidays


def test_hourly_mean_and_floor_come_back_from_the_stores_rollups(tapped):
    h, store = tapped
    first, power, floor = store_job.hourly_from_store(store, end_of_day_ms(h.first_date, 40), "Asia/Kolkata", days=40)
    assert first == h.first_date
    assert np.allclose(power, h.power_w, atol=0.01)
    assert np.allclose(floor, h.floor_w, atol=0.05)  # the lowest 5-minute mean, from the minute rollups
    _, power, floor = store_job.hourly_from_store(store, end_of_day_ms(h.first_date, 40), "Asia/Kolkata", days=45)
    assert np.isnan(power[:5 * 24]).all() and np.isnan(floor[:5 * 24]).all()  # before the first reading


def test_feedback_of_another_features_version_is_left_unused(tmp_path, caplog):
    from edge_model.feedback import load_examples

    path = tmp_path / "feedback.npz"
    np.savez(path, X=np.zeros((3, 55)), y=np.zeros(3), weight=np.ones(3), group=np.zeros(3))
    assert load_examples(path) is None
    assert "55" in caplog.text and "not used" in caplog.text


def test_ignore_becomes_a_rule_and_normal_examples_raise_becomes_theft_examples(tmp_path, tapped):
    from edge_model.feedback import load_examples

    h, store = tapped
    ctx = job_context(store, tmp_path, end_of_day_ms(h.first_date, 37))
    store_job.score_job(ctx)
    alerts = AlertStore(store)
    (alert,) = alerts.list(kind="theft")
    alerts.act(alert["id"], "ignore", "owner", "that is our new pump", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    store_job.score_job(ctx)  # feedback is taken once
    (rule,) = json.loads(store.get_meta(store_job.RULES_KEY))
    assert rule["excess_cap_w"] > 500 and len(rule["usual_w"]) == 24
    assert len(rule["usual_floor_w"]) == 24 and rule["floor_cap_w"] > 500  # a steady 1 kW load lifted the floor
    assert "hours" in rule and rule["renew_days"] == 90  # the hours the pattern lifted (a constant load: all day); kept while it shows
    examples = load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE)
    assert len(examples) >= alert["data"]["windows_over_threshold"] and not examples.y.any()
    alerts.act(alert["id"], "raise", "owner", "no, it is not ours", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    examples = load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE)
    # The Raise replaced the Ignore's normal examples: the windows are taught one way only.
    assert examples.y.all() and len(examples) == alert["data"]["windows_over_threshold"]
    assert json.loads(store.get_meta(store_job.RULES_KEY)) == []  # the Raise took the Ignore's rule back


def test_a_short_history_says_still_learning_and_never_alerts(tmp_path):
    h = simulate_household(CHECK_SEEDS + 6, 4, None, None, load_overrides())
    store = store_with_usage(tmp_path / "powergw.db", h.power_w + 2_000.0, h.first_date, h.floor_w + 2_000.0)
    result = store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, 4)))
    assert result.learning and not AlertStore(store).list(kind="theft")
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status["learning"] is True and "still learning" in status["status"]


def test_the_weekly_retrain_does_nothing_without_new_feedback(tmp_path, tapped):
    _, store = tapped
    assert store_job.retrain_job(job_context(store, tmp_path, 0)) is False


def test_the_weekly_retrain_waits_when_the_gateway_has_too_little_memory(tmp_path, tapped, monkeypatch, caplog):
    from edge_model.dataset import Examples
    from edge_model.features import N_FEATURES
    from edge_model.feedback import save_examples

    _, store = tapped
    save_examples(tmp_path / "models" / store_job.FEEDBACK_FILE, Examples(np.zeros((4, N_FEATURES)), np.zeros(4, dtype=np.int64), np.ones(4), np.zeros(4)))
    monkeypatch.setattr(store_job, "_available_mb", lambda: 380.0)  # a Pi Zero 2 W with the daemon running
    assert store_job.retrain_job(job_context(store, tmp_path, 1_000)) is False
    last = json.loads(store.get_meta("theft.last_retrain"))
    assert "380 MB available" in last["skipped"] and last["at_ms"] == 1_000
    assert "retrain skipped" in caplog.text
    assert not (tmp_path / "models" / "state.json").exists()  # nothing was trained
    from gateway.ops.health import available_memory_mb

    assert available_memory_mb() > 1  # the real reading, from /proc/meminfo


def test_rules_saved_by_an_older_gateway_load_and_a_showing_pattern_renews_its_rule(tmp_path, tapped):
    h, store = tapped
    now_ms = end_of_day_ms(h.first_date, 40)
    origin_s = dt.datetime(h.first_date.year, h.first_date.month, h.first_date.day, tzinfo=IST).timestamp()
    old_row = {"first_hour": 0, "last_hour": 0, "weekdays": list(range(7)), "max_power_w": 5000.0,
               "expires_s": now_ms / 1000 + 3_600, "excess_cap_w": 1200.0, "usual_w": [float(np.median(h.power_w[:24 * 30]))] * 24,
               "start_s": origin_s + 34 * 86_400, "usual_floor_w": [0.0] * 24, "floor_cap_w": 1200.0, "alert_id": 7}
    store.set_meta(store_job.RULES_KEY, json.dumps([old_row]))  # no hours, no renew_days: a rule from before them
    ((alert_id, rule),) = store_job._load_rules(store, now_ms / 1000)
    assert alert_id == 7 and rule.hours == () and rule.renew_days == 0
    first, power, floor = store_job.hourly_from_store(store, now_ms, "Asia/Kolkata", days=40)
    assert store_job.renew_rules(store, [(7, rule)], first, power, floor, "Asia/Kolkata")[0][1] == rule  # fixed expiry
    renewing = replace(rule, renew_days=30.0, expires_s=origin_s + 36 * 86_400)
    ((_, kept),) = store_job.renew_rules(store, [(7, renewing)], first, power, floor, "Asia/Kolkata")
    assert kept.expires_s > origin_s + 36 * 86_400 + 29 * 86_400  # the 1 kW load kept showing up to day 40
    (saved,) = json.loads(store.get_meta(store_job.RULES_KEY))
    assert saved["expires_s"] == kept.expires_s and saved["alert_id"] == 7


def test_a_rule_that_expired_while_the_job_was_not_running_is_renewed_by_what_it_missed(tmp_path, tapped):
    """The job last ran before a renewing rule's expiry (the gateway was off for two days); the
    pattern showed before the expiry, so the next run renews the rule instead of dropping it."""
    h, store = tapped
    now_ms = end_of_day_ms(h.first_date, 40)
    origin_s = dt.datetime(h.first_date.year, h.first_date.month, h.first_date.day, tzinfo=IST).timestamp()
    row = {"first_hour": 0, "last_hour": 0, "weekdays": list(range(7)), "max_power_w": 5000.0,
           "expires_s": origin_s + 38 * 86_400, "excess_cap_w": 1200.0, "usual_w": [float(np.median(h.power_w[:24 * 30]))] * 24,
           "start_s": origin_s + 34 * 86_400, "usual_floor_w": [0.0] * 24, "floor_cap_w": 1200.0, "renew_days": 30.0,
           "alert_id": 7}  # the 1 kW load from day 35, Ignored; it last renewed on day 8 of a 30-day renewal
    lapsed = {**row, "expires_s": origin_s + 2 * 86_400, "alert_id": 8}  # expired before the 36 days the job reads
    store.set_meta(store_job.RULES_KEY, json.dumps([row, lapsed]))
    assert now_ms / 1000 > row["expires_s"]
    store_job.score_job(job_context(store, tmp_path, now_ms))
    saved = {r["alert_id"]: r for r in json.loads(store.get_meta(store_job.RULES_KEY))}
    assert set(saved) == {7}  # the lapsed rule is gone once the rules are saved again
    assert saved[7]["expires_s"] > origin_s + 37 * 86_400 + 29 * 86_400  # renewed from the load's hours up to its expiry
    assert not AlertStore(store).list(kind="theft")  # and the Ignored load stays quiet


@pytest.mark.parametrize("damage", ["model", "metadata"])
def test_a_damaged_current_model_falls_back_to_the_shipped_one_and_says_so(tmp_path, tapped, caplog, damage):
    """A model file damaged on the SD card (or its metadata cut off) must not stop theft detection:
    the job scores with the shipped model, raises the tap's alert and says why in its status."""
    from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry

    h, store = tapped
    registry = ModelRegistry(tmp_path / "models")
    metadata = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    version = registry.add((SHIPPED_MODEL_DIR / "model.onnx").read_bytes()[:5_000], metadata)  # cut off
    registry.promote(version)
    if damage == "metadata":
        (tmp_path / "models" / version / "metadata.json").write_text('{"features_version": 4, "thresh')
    result = store_job.score_job(job_context(store, tmp_path, end_of_day_ms(h.first_date, 38)))
    assert AlertStore(store).list(kind="theft")  # the 1 kW tap is still caught
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert f"model {version} cannot be loaded, using the shipped model" in result.status == status["status"]
    assert status["model"] == "shipped" and f"the current theft model {version} cannot be loaded" in caplog.text


def test_unreadable_ignore_rules_are_kept_aside_and_scoring_goes_on(tmp_path, tapped, caplog):
    h, store = tapped
    now_ms = end_of_day_ms(h.first_date, 40)
    good = {"first_hour": 0, "last_hour": 4, "weekdays": list(range(7)), "max_power_w": 1500.0,
            "expires_s": now_ms / 1000 + 86_400, "alert_id": 3}
    newer = {**good, "alert_id": 4, "a_field_from_a_newer_gateway": 1}  # read, the unknown field left aside
    broken = [{"first_hour": 0, "alert_id": 5}, {**good, "weekdays": "every day", "alert_id": 6}, "not a row"]
    store.set_meta(store_job.RULES_KEY, json.dumps([good, newer, *broken]))
    assert [i for i, _ in store_job._load_rules(store, now_ms / 1000)] == [3, 4]
    assert len(json.loads(store.get_meta(store_job.UNREADABLE_RULES_KEY))) == 3 and "cannot be read" in caplog.text
    store_job._load_rules(store, now_ms / 1000)
    assert len(json.loads(store.get_meta(store_job.UNREADABLE_RULES_KEY))) == 3  # kept once, not once per run
    store.set_meta(store_job.RULES_KEY, "{cut off")
    assert store_job._load_rules(store, now_ms / 1000) == []
    assert "{cut off" in json.loads(store.get_meta(store_job.UNREADABLE_RULES_KEY))
    result = store_job.score_job(job_context(store, tmp_path, now_ms))  # the theft job still runs
    assert not result.learning and AlertStore(store).list(kind="theft")


def test_unreadable_feedback_marks_are_rebuilt_from_the_rules_and_nothing_is_taught_twice(tmp_path, tapped, caplog):
    from edge_model.feedback import load_examples

    h, store = tapped
    ctx = job_context(store, tmp_path, end_of_day_ms(h.first_date, 38))
    store_job.score_job(ctx)
    (alert,) = AlertStore(store).list(kind="theft")
    AlertStore(store).act(alert["id"], "ignore", "owner", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    rows = len(load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE))
    store.set_meta(store_job.FEEDBACK_KEY, '["3:ignored", "4:rai')  # cut off
    store.set_meta(store_job.UNREADABLE_RULES_KEY, "{also cut")  # and the place kept-aside texts go
    store_job.score_job(ctx)
    assert [r["alert_id"] for r in json.loads(store.get_meta(store_job.RULES_KEY))] == [alert["id"]]  # no second rule
    assert len(load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE)) == rows  # no examples twice
    assert f"{alert['id']}:ignored" in json.loads(store.get_meta(store_job.FEEDBACK_KEY))
    assert json.loads(store.get_meta(store_job.UNREADABLE_RULES_KEY)) == ["{also cut", '["3:ignored", "4:rai']
    assert "marks are unreadable" in caplog.text


def test_feedback_rows_remember_their_alert_and_files_from_before_the_tag_still_load(tmp_path):
    from edge_model.dataset import Examples
    from edge_model.features import N_FEATURES
    from edge_model.feedback import forget_alert, load_examples, save_examples

    def rows(n, label):
        return Examples(np.full((n, N_FEATURES), float(label)), np.full(n, label, dtype=np.int64), np.ones(n), np.zeros(n))

    path = tmp_path / "feedback.npz"
    np.savez(path, X=np.zeros((2, N_FEATURES)), y=np.zeros(2, dtype=np.int64), weight=np.ones(2), group=np.zeros(2))  # an old file
    save_examples(path, rows(3, 0), alert_id=7)
    save_examples(path, rows(4, 0), alert_id=8)
    assert len(load_examples(path)) == 9
    assert forget_alert(path, 7) == 3 and forget_alert(path, 7) == 0
    left = load_examples(path)
    assert len(left) == 6 and not left.y.any()
    assert forget_alert(path, -5) == 0 and forget_alert(tmp_path / "none.npz", 1) == 0


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 cut off", b"not a numpy file at all"])
def test_an_unreadable_feedback_file_is_kept_aside_and_the_next_feedback_starts_a_new_one(tmp_path, caplog, damage):
    from edge_model.dataset import Examples
    from edge_model.features import N_FEATURES
    from edge_model.feedback import load_examples, save_examples

    path = tmp_path / "feedback.npz"
    path.write_bytes(damage)
    with caplog.at_level("ERROR"):
        assert load_examples(path) is None
    (aside,) = tmp_path.glob("feedback.unreadable-*.npz")
    assert aside.read_bytes() == damage and "unreadable feedback file" in caplog.text  # kept, not lost
    save_examples(path, Examples(np.ones((3, N_FEATURES)), np.zeros(3, dtype=np.int64), np.ones(3), np.zeros(3)), alert_id=4)
    assert len(load_examples(path)) == 3
