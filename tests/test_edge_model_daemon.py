"""The theft model inside the daemon: store usage -> onnxruntime scores -> shared alerts table -> Ignore/Raise feedback."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import numpy as np
import pytest

from edge_model import store_job
from edge_model.dataset import CHECK_SEEDS, IST, simulate_household
from edge_model.feedback_store import FeedbackTables
from gateway.alerts import AlertStore
from gateway.public_holidays import load_overrides
from theft_store import end_of_day_ms, job_context, saved_examples, saved_rules, store_with_usage


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


def test_ignore_becomes_a_rule_and_normal_examples_raise_becomes_theft_examples(tmp_path, tapped):
    h, store = tapped
    ctx = job_context(store, tmp_path, end_of_day_ms(h.first_date, 37))
    store_job.score_job(ctx)
    alerts = AlertStore(store)
    (alert,) = alerts.list(kind="theft")
    alerts.act(alert["id"], "ignore", "owner", "that is our new pump", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    store_job.score_job(ctx)  # feedback is taken once
    (rule,) = saved_rules(store)
    assert rule["alert_id"] == alert["id"] and rule["excess_cap_w"] > 500 and len(rule["usual_w"]) == 24
    assert len(rule["usual_floor_w"]) == 24 and rule["floor_cap_w"] > 500  # a steady 1 kW load lifted the floor
    assert {0, 1, 2, 3} <= set(rule["hours"]) and rule["renew_days"] == 90  # the hours it had lifted when it alerted; kept while it shows
    examples = saved_examples(store)
    assert len(examples) >= alert["data"]["windows_over_threshold"] and not examples.y.any()
    assert set(examples.weight) == {3.0}
    starts = {s for (s,) in store.conn.execute("SELECT window_start_s FROM theft_examples")}
    assert set(alert["data"]["window_starts_s"]) <= starts  # each row says which hour it describes
    alerts.act(alert["id"], "raise", "owner", "no, it is not ours", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    examples = saved_examples(store)
    # The Raise replaced the Ignore's normal examples: the windows are taught one way only.
    assert examples.y.all() and len(examples) == alert["data"]["windows_over_threshold"] and set(examples.weight) == {10.0}
    assert saved_rules(store) == []  # the Raise took the Ignore's rule back


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
    from edge_model import FEATURES_VERSION
    from edge_model.features import N_FEATURES

    _, store = tapped
    FeedbackTables(store).add_examples(4, 0, 3.0, FEATURES_VERSION, [np.zeros(N_FEATURES, "<f4").tobytes()] * 4)
    monkeypatch.setattr(store_job, "_available_mb", lambda: 380.0)  # a Pi Zero 2 W with the daemon running
    assert store_job.retrain_job(job_context(store, tmp_path, 1_000)) is False
    (last,) = FeedbackTables(store).retrains()
    assert "380 MB available" in last["note"] and last["at_ms"] == 1_000 and last["version"] is None and last["examples"] == 4
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
               "start_s": origin_s + 34 * 86_400, "usual_floor_w": [0.0] * 24, "floor_cap_w": 1200.0}
    FeedbackTables(store).save_rule(7, old_row)  # no hours, no renew_days: a rule from before them
    ((rule_id, alert_id, rule),) = store_job._load_rules(store, now_ms / 1000)
    assert alert_id == 7 and rule.hours == () and rule.renew_days == 0
    first, power, floor = store_job.hourly_from_store(store, now_ms, "Asia/Kolkata", days=40)
    assert store_job.renew_rules(store, [store_job.InForce(rule_id, 7, rule)], first, power, floor, "Asia/Kolkata")[0].rule == rule  # fixed expiry
    renewing = replace(rule, renew_days=30.0, expires_s=origin_s + 36 * 86_400)
    ((_, _, kept),) = store_job.renew_rules(store, [store_job.InForce(rule_id, 7, renewing)], first, power, floor, "Asia/Kolkata")
    assert kept.expires_s > origin_s + 36 * 86_400 + 29 * 86_400  # the 1 kW load kept showing up to day 40
    (saved,) = saved_rules(store)
    assert saved["expires_s"] == kept.expires_s and saved["alert_id"] == 7


def test_a_rule_that_expired_while_the_job_was_not_running_is_renewed_by_what_it_missed(tmp_path, tapped):
    """The job last ran before a renewing rule's expiry (the gateway was off for two days); the
    pattern showed before the expiry, so the next run renews the rule instead of dropping it."""
    h, store = tapped
    now_ms = end_of_day_ms(h.first_date, 40)
    origin_s = dt.datetime(h.first_date.year, h.first_date.month, h.first_date.day, tzinfo=IST).timestamp()
    row = {"first_hour": 0, "last_hour": 0, "weekdays": list(range(7)), "max_power_w": 5000.0,
           "expires_s": origin_s + 38 * 86_400, "excess_cap_w": 1200.0, "usual_w": [float(np.median(h.power_w[:24 * 30]))] * 24,
           "start_s": origin_s + 34 * 86_400, "usual_floor_w": [0.0] * 24, "floor_cap_w": 1200.0, "renew_days": 30.0}
    # The 1 kW load from day 35, Ignored; it last renewed on day 8 of a 30-day renewal.
    tables = FeedbackTables(store)
    tables.save_rule(7, row)
    tables.save_rule(8, {**row, "expires_s": origin_s + 2 * 86_400})  # expired before the 36 days the job reads
    assert now_ms / 1000 > row["expires_s"]
    store_job.score_job(job_context(store, tmp_path, now_ms))
    saved = {r["alert_id"]: r for r in saved_rules(store)}
    assert set(saved) == {7}  # the lapsed rule is gone: no hour the job reads can apply or renew it
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


def test_an_unreadable_ignore_rule_row_stays_in_its_table_and_scoring_goes_on(tmp_path, tapped, caplog):
    """A theft_rules row the database accepts but that is no rule (24 usual values, one of them
    text) is left where it is, out of scoring, with a warning each run; the other rules apply."""
    h, store = tapped
    now_ms = end_of_day_ms(h.first_date, 40)
    good = {"first_hour": 0, "last_hour": 4, "weekdays": list(range(7)), "max_power_w": 1500.0, "expires_s": now_ms / 1000 + 86_400}
    tables = FeedbackTables(store)
    tables.save_rule(3, good)
    broken = tables.save_rule(5, {**good, "usual_w": [300.0] * 24})
    store.conn.execute("UPDATE theft_rules SET usual_w = json_set(usual_w, '$[3]', 'a lot') WHERE id = ?", (broken,))
    assert [a for _, a, _ in store_job._load_rules(store, now_ms / 1000)] == [3]
    assert "Ignore rule #2 (alert 5) in theft_rules cannot be read" in caplog.text and "usual_w" in caplog.text
    result = store_job.score_job(job_context(store, tmp_path, now_ms))  # the theft job still runs
    assert not result.learning and AlertStore(store).list(kind="theft")
    assert [r.alert_id for r in tables.rules()] == [3, 5]  # nothing the household said is lost


def test_the_database_refuses_a_rule_row_that_would_fail_at_scoring(tapped):
    import sqlite3

    _, store = tapped
    good = {"first_hour": 0, "last_hour": 4, "weekdays": list(range(7)), "max_power_w": 1500.0, "expires_s": 2e9}
    with pytest.raises(ValueError, match="not an Ignore rule"):
        FeedbackTables(store).save_rule(3, {**good, "usual_w": [300.0] * 3})

    def insert(**change):
        row = {"first_hour": 0, "last_hour": 4, "weekdays": "[0]", "start_s": 0.0, "expires_s": 2e9, "renew_days": 0.0,
               "max_power_w": 1500.0, "excess_cap_w": 0.0} | change
        store.conn.execute(f"INSERT INTO theft_rules ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    insert()  # the row itself is fine
    for change in ({"usual_w": "[1, 2, 3]"}, {"hours": "not json"}, {"weekdays": "{}"}, {"expires_s": "soon"}, {"first_hour": 24},
                   {"floor_cap_w": "12 W"}):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            insert(**change)
