"""The theft model inside the daemon: a simulated house's minutes in a real SQLite store -> the
store's one door -> features, the shipped ONNX model and the steady-lift detector -> the shared
alerts table -> Ignore/Raise feedback. Every run is the daemon's own `score_job`."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import numpy as np
import pytest

from edge_model import FEATURES_VERSION, MIN_HISTORY_DAYS, store_job
from edge_model.dataset import IST
from edge_model.features import COLUMN
from edge_model.feedback_store import FeedbackTables
from gateway.alerts import AlertStore
from gateway.public_holidays import HolidayCalendar
from tests.support.theft_store import (
    DAYS,
    SEED,
    TAP_DAY,
    end_of_day_ms,
    first_alert,
    house,
    job_context,
    night_tap,
    origin_ms,
    saved_examples,
    saved_rules,
    store_with_series,
    thefts,
    with_load,
)


def run(store, tmp_path, series, day: int, **billing) -> store_job.ScoringResult:
    """The hourly job as it runs at the end of local day `day` (0: the series' first)."""
    return store_job.score_job(job_context(store, tmp_path, end_of_day_ms(series.first_date, day + 1), **billing))


def local(start_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(start_s, IST)


# -- end to end ---------------------------------------------------------------------------------


def test_a_night_tap_in_the_store_is_one_theft_alert_on_its_hours_within_three_nights(tmp_path, tapped):
    series, store = tapped
    for day in range(TAP_DAY - 2, DAYS):  # every day, as the daemon runs it (its first run reads every hour before)
        result = run(store, tmp_path, series, day)
        assert not result.learning
    (alert,) = thefts(store)  # one alert, never a storm: later runs count on it or stay quiet
    assert alert["dedup_key"] == "theft:01-04" and alert["state"] == "open" and alert["severity"] == "critical"
    assert re.fullmatch(r"\+\d+ W from 01:00 to 04:00 on [34] of the last 4 nights; usual \d+ W", alert["message"]), (
        alert["message"]
    )
    data = alert["data"]
    assert data["hours"] == [1, 2, 3] and 250 <= data["excess_w"] <= 350 and data["model"] == "shipped"
    windows = [local(s) for s in data["window_starts_s"]]
    assert windows and all(
        w.hour in (1, 2, 3) and w.date() >= series.first_date + dt.timedelta(days=TAP_DAY) for w in windows
    )
    assert alert["created_ms"] <= end_of_day_ms(series.first_date, TAP_DAY + 3)  # caught within its first three nights
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status["learning"] is False and status["model"] == "shipped" and status["history_days"] == DAYS
    assert status["status"] == f"watching: {DAYS} days of history, model shipped"


def test_the_same_house_clean_raises_no_theft_alert(tmp_path):
    series = house(SEED, DAYS)
    store = store_with_series(tmp_path / "powergw.db", series)
    result = run(store, tmp_path, series, DAYS - 1)  # its first run: every hour of the series is new
    assert not result.learning and result.alerts == [] and thefts(store) == []
    store.close()


def test_a_short_history_says_learning_on_the_job_and_the_dashboard_and_never_alerts(tmp_path):
    from local_ui.services import model_status

    series = with_load(house(SEED, MIN_HISTORY_DAYS), 2_000.0, range(20, MIN_HISTORY_DAYS), 0, 24)
    store = store_with_series(tmp_path / "powergw.db", series.window(0, MIN_HISTORY_DAYS - 1))
    result = run(store, tmp_path, series, MIN_HISTORY_DAYS - 2)
    assert result.learning and result.alerts == [] and thefts(store) == []
    assert result.status == (
        f"learning this house: {MIN_HISTORY_DAYS - 1} of {MIN_HISTORY_DAYS} days recorded; "
        "theft alerts start once its own usual is known"
    )
    now_ms = end_of_day_ms(series.first_date, MIN_HISTORY_DAYS - 1)
    shown = model_status(store, now_ms, registry_root=tmp_path / "models")
    assert (
        shown["learning"] is True
        and shown["history_days"] == MIN_HISTORY_DAYS - 1
        and shown["min_history_days"] == MIN_HISTORY_DAYS
    )
    assert shown["last_status"] == result.status and shown["last_model"] == "shipped"
    # One more day: the job watches, and the dashboard says so too.
    store.close()
    store = store_with_series(tmp_path / "whole.db", series)
    result = store_job.score_job(job_context(store, tmp_path, end_of_day_ms(series.first_date, MIN_HISTORY_DAYS)))
    assert not result.learning and result.history_days == MIN_HISTORY_DAYS
    assert model_status(store, now_ms + 86_400_000, registry_root=tmp_path / "models")["learning"] is False
    store.close()


def test_the_store_gives_back_the_minutes_written(tapped):
    series, store = tapped
    now_ms = end_of_day_ms(series.first_date, DAYS)
    read = store_job.house_from_store(store, now_ms, "Asia/Kolkata", days=DAYS)
    assert read.first_date == series.first_date
    assert np.allclose(read.minute_w, series.minute_w, atol=0.031)  # whole mWh per minute: 0.06 W
    assert np.allclose(read.hourly_floor_w, series.hourly_floor_w, atol=0.031)
    longer = store_job.house_from_store(store, now_ms, "Asia/Kolkata")
    assert (
        longer.days == store_job.HISTORY_DAYS
        and np.isnan(longer.minute_w[: (store_job.HISTORY_DAYS - DAYS) * 1440]).all()
    )


# -- the alert's life -----------------------------------------------------------------------------


def test_a_much_larger_load_in_an_alerted_band_is_a_new_alert_not_a_silent_repeat(tmp_path):
    """+500 W every night 00:00-05:00 from day 36, +1500 W from day 40 (something on top): inside
    the first alert's cooldown and band, but news, so its own row."""
    base = house(SEED, 46)
    series = with_load(with_load(base, 500.0, range(36, 40), 0, 5), 1_500.0, range(40, 46), 0, 5)
    store = store_with_series(tmp_path / "powergw.db", series)
    for day in (38, 41, 45):
        run(store, tmp_path, series, day)
    rows = thefts(store)
    first = {r["dedup_key"]: r for r in rows if not r["dedup_key"].endswith(":escalated")}
    bigger = [r for r in rows if r["dedup_key"].endswith(":escalated")]
    assert first and bigger
    for r in bigger:
        was = first[r["dedup_key"].removesuffix(":escalated")]
        assert r["data"]["excess_w"] >= 2 * was["data"]["excess_w"] and 1_200 <= r["data"]["excess_w"] <= 1_800
        assert f"; up from +{r['data']['escalated_from_w']:.0f} W a few days ago" in r["message"]
        assert r["created_ms"] > was["created_ms"]
    store.close()


def test_a_repeat_of_an_open_theft_alert_keeps_its_first_text_and_counts(tmp_path):
    """+800 W every night 00:00-05:00 on days 36-39 and again from day 47, the alert left open: the
    repeat after its week of cooldown counts on it, and the text the household was sent stays."""
    series = with_load(house(SEED, 52), 800.0, [*range(36, 40), *range(47, 52)], 0, 5)
    store = store_with_series(tmp_path / "powergw.db", series)
    run(store, tmp_path, series, 39)
    sent = {r["id"]: r for r in thefts(store)}
    assert sent
    for day in (45, 51):
        run(store, tmp_path, series, day)
    repeated = [r for r in thefts(store) if r["repeat_count"] >= 2]
    assert repeated and {r["id"] for r in repeated} <= set(sent)
    for now in repeated:
        first = sent[now["id"]]
        assert now["message"] == first["message"] and now["data"]["excess_w"] == first["data"]["excess_w"]
        latest = now["data"]["latest"]
        assert latest["seen_ms"] == now["last_seen_ms"] and latest["message"]
        assert (
            latest["window_starts_s"][0] > first["data"]["window_starts_s"][-1] + 5 * 86_400
        )  # the repeat's own evidence
    store.close()


@pytest.mark.parametrize("state, onam", [("KL", 1.0), ("TN", 0.0)])
def test_the_theft_job_marks_the_public_holidays_of_the_households_state(tmp_path, state, onam):
    """[billing] holiday_state, the setting billing's projection uses, is the features' holiday
    calendar: Kerala keeps 28-31 August 2023 (Onam), Tamil Nadu does not. The rows an Ignore stores
    for a night tap on those days carry it."""
    series = house(SEED, DAYS, night_tap(start_day=39))
    store = store_with_series(tmp_path / "powergw.db", series)
    run(store, tmp_path, series, 41, holiday_state=state)
    (alert,) = [a for a in thefts(store) if a["data"]["path"] == "steady"]
    AlertStore(store).act(alert["id"], "ignore", "owner", now_ms=end_of_day_ms(series.first_date, 42))
    run(store, tmp_path, series, 41, holiday_state=state)
    rows = store.conn.execute("SELECT features, window_start_s FROM theft_examples").fetchall()
    assert rows
    kerala = HolidayCalendar("KL")
    for blob, start_s in rows:
        day = local(start_s).date()
        assert kerala.is_holiday(day) and day.weekday() < 5  # a weekday of Onam (2023-08-29)
        assert np.frombuffer(blob, "<f4")[COLUMN["off_day"]] == onam
    store.close()


def test_ignore_becomes_a_rule_and_normal_examples_raise_becomes_theft_examples(tmp_path, tapped):
    series, store = tapped
    alert, now_ms = first_alert(store, tmp_path, series)
    ctx = job_context(store, tmp_path, now_ms)
    alerts = AlertStore(store)
    alerts.act(alert["id"], "ignore", "owner", "that is our new pump", now_ms=now_ms)
    store_job.score_job(ctx)
    store_job.score_job(ctx)  # feedback is taken once
    (rule,) = saved_rules(store)
    assert rule["alert_id"] == alert["id"] and 200 <= rule["excess_cap_w"] <= 450 and len(rule["usual_w"]) == 24
    assert len(rule["usual_floor_w"]) == 24 and rule["floor_cap_w"] >= 200  # a steady 300 W load lifted the floor
    assert {1, 2, 3} <= set(rule["hours"]) and not {10, 11, 12, 13, 14, 15} & set(
        rule["hours"]
    )  # its nights, not the day
    assert rule["renew_days"] == 90  # kept while it shows
    examples = saved_examples(store)
    assert len(examples) == len(alert["data"]["window_starts_s"]) and not examples.y.any()
    assert set(examples.weight) == {3.0}
    starts = {s for (s,) in store.conn.execute("SELECT window_start_s FROM theft_examples")}
    assert starts == set(alert["data"]["window_starts_s"])  # each row says which hour it describes
    alerts.act(alert["id"], "raise", "owner", "no, it is not ours", now_ms=now_ms)
    store_job.score_job(ctx)
    examples = saved_examples(store)
    # The Raise replaced the Ignore's normal examples: the windows are taught one way only.
    assert (
        examples.y.all() and len(examples) == len(alert["data"]["window_starts_s"]) and set(examples.weight) == {10.0}
    )
    assert saved_rules(store) == []  # the Raise took the Ignore's rule back


def test_an_ignored_night_load_stays_quiet_on_the_nights_after(tmp_path, tapped):
    """The household Ignores the +300 W nights (its own pump): the same nights stay quiet."""
    series, store = tapped
    alert, now_ms = first_alert(store, tmp_path, series)
    AlertStore(store).act(alert["id"], "ignore", "owner", "our pump", now_ms=now_ms)
    for day in (TAP_DAY + 4, DAYS - 1):
        run(store, tmp_path, series, day)
    assert [r["alert_id"] for r in saved_rules(store)] == [alert["id"]]
    assert [r["id"] for r in thefts(store)] == [alert["id"]]


def test_a_larger_load_on_top_of_an_ignored_one_still_alerts(tmp_path):
    """The household Ignores the +300 W nights; from day 41 another +700 W joins them."""
    series = with_load(house(SEED, DAYS, night_tap()), 700.0, range(41, DAYS), 1, 4)
    store = store_with_series(tmp_path / "powergw.db", series)
    alert, now_ms = first_alert(store, tmp_path, series)
    AlertStore(store).act(alert["id"], "ignore", "owner", "our pump", now_ms=now_ms)
    run(store, tmp_path, series, DAYS - 1)
    assert [r["alert_id"] for r in saved_rules(store)] == [alert["id"]]
    on_top = [r for r in thefts(store) if r["id"] != alert["id"] and r["data"]["excess_w"] >= 600]
    assert on_top and all(r["state"] == "open" and r["data"]["hours"] == [1, 2, 3] for r in on_top)
    assert all(
        local(s).date() >= series.first_date + dt.timedelta(days=41)
        for r in on_top
        for s in r["data"]["window_starts_s"]
    )
    store.close()


# -- the weekly retrain ---------------------------------------------------------------------------


def test_the_weekly_retrain_does_nothing_without_new_feedback(tmp_path, tapped):
    _, store = tapped
    assert store_job.retrain_job(job_context(store, tmp_path, 0)) is False
    assert FeedbackTables(store).retrains() == [] and not (tmp_path / "models").exists()


def test_the_weekly_retrain_waits_when_the_gateway_has_too_little_memory(tmp_path, tapped, monkeypatch, caplog):
    """A Pi Zero 2 W (512 MB) cannot hold the training set and the forest: with less memory
    available than a retrain needs (here: a need above this machine's real /proc/meminfo), the
    answers are still taken in and the retrain is recorded as skipped, with why."""
    from gateway.host import available_memory_mb

    series, store = tapped
    alert, now_ms = first_alert(store, tmp_path, series)
    AlertStore(store).act(alert["id"], "raise", "owner", "not ours", now_ms=now_ms)
    available = available_memory_mb()
    assert available > 1  # the real reading
    monkeypatch.setattr(store_job, "RETRAIN_MIN_AVAILABLE_MB", int(available * 10))
    assert store_job.retrain_job(job_context(store, tmp_path, now_ms)) is False
    examples = saved_examples(store)
    assert examples.y.all()  # the Raise was taken in before the retrain decided
    (last,) = FeedbackTables(store).retrains()
    assert re.fullmatch(rf"skipped: \d+ MB available, needs {int(available * 10)} MB", last["note"])
    assert last["at_ms"] == now_ms and last["version"] is None and last["examples"] == len(examples)
    assert "retrain skipped" in caplog.text
    assert not (tmp_path / "models").exists()  # nothing was trained


# -- Ignore rules in the table --------------------------------------------------------------------


def _origin_s(series) -> float:
    return origin_ms(series.first_date) / 1000


def _usual_w(series) -> list[float]:
    """The house's usual load per hour of day before the tap."""
    return [float(u) for u in np.nanmedian(series.hourly_mean_w[:TAP_DAY], axis=0)]


def test_rules_saved_by_an_older_gateway_load_and_a_showing_pattern_renews_its_rule(tmp_path, tapped):
    series, store = tapped
    now_ms = end_of_day_ms(series.first_date, DAYS)
    origin_s = _origin_s(series)
    old_row = {
        "first_hour": 0,
        "last_hour": 6,
        "weekdays": list(range(7)),
        "max_power_w": 5000.0,
        "expires_s": now_ms / 1000 + 3_600,
        "excess_cap_w": 400.0,
        "usual_w": _usual_w(series),
        "start_s": origin_s + 34 * 86_400,
        "usual_floor_w": [0.0] * 24,
        "floor_cap_w": 1200.0,
    }
    FeedbackTables(store).save_rule(7, old_row)  # no hours, no renew_days: a rule from before them
    ((rule_id, alert_id, rule),) = store_job._load_rules(store, now_ms / 1000)
    assert alert_id == 7 and rule.hours == () and rule.renew_days == 0
    read = store_job.house_from_store(store, now_ms, "Asia/Kolkata", days=DAYS)
    assert (
        store_job.renew_rules(store, [store_job.InForce(rule_id, 7, rule)], read, "Asia/Kolkata")[0].rule == rule
    )  # fixed expiry
    renewing = replace(rule, renew_days=30.0, expires_s=origin_s + 37 * 86_400)
    ((_, _, kept),) = store_job.renew_rules(store, [store_job.InForce(rule_id, 7, renewing)], read, "Asia/Kolkata")
    assert (
        kept.expires_s == origin_s + (DAYS - 1) * 86_400 + 3 * 3_600 + 30 * 86_400
    )  # the tap's last hour, 03:00 on day 44
    (saved,) = saved_rules(store)
    assert saved["expires_s"] == kept.expires_s and saved["alert_id"] == 7


def test_a_rule_that_expired_while_the_job_was_not_running_is_renewed_by_what_it_missed(tmp_path, tapped):
    """The job last ran before a renewing rule's expiry (the gateway was off for days); the pattern
    showed before the expiry, so the next run renews the rule instead of dropping it. A rule that
    expired before the first hour the job reads is dropped."""
    series, store = tapped
    now_ms = end_of_day_ms(series.first_date, DAYS)
    origin_s = _origin_s(series)
    row = {
        "first_hour": 0,
        "last_hour": 6,
        "weekdays": list(range(7)),
        "max_power_w": 5000.0,
        "expires_s": origin_s + 38 * 86_400,
        "excess_cap_w": 500.0,
        "usual_w": _usual_w(series),
        "start_s": origin_s + 34 * 86_400,
        "usual_floor_w": [0.0] * 24,
        "floor_cap_w": 1200.0,
        "renew_days": 30.0,
    }
    tables = FeedbackTables(store)
    tables.save_rule(7, row)  # the +300 W nights, Ignored
    read_from_s = now_ms / 1000 - store_job.HISTORY_DAYS * 86_400
    tables.save_rule(8, {**row, "expires_s": read_from_s - 86_400})  # expired before the first day the job reads
    assert now_ms / 1000 > row["expires_s"]
    store_job.score_job(job_context(store, tmp_path, now_ms))
    saved = {r["alert_id"]: r for r in saved_rules(store)}
    assert set(saved) == {7}  # the lapsed rule is gone: no hour the job reads can apply or renew it
    assert saved[7]["expires_s"] > origin_s + (DAYS - 1) * 86_400 + 29 * 86_400  # renewed up to the tap's last night
    assert thefts(store) == []  # and the Ignored load stays quiet


@pytest.mark.parametrize("damage", ["model", "metadata"])
def test_a_damaged_current_model_falls_back_to_the_shipped_one_and_says_so(tmp_path, tapped, caplog, damage):
    """A model file damaged on the SD card (or its metadata cut off) must not stop theft detection:
    the job scores with the shipped model, raises the tap's alert and says why in its status."""
    from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry

    series, store = tapped
    registry = ModelRegistry(tmp_path / "models")
    metadata = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    version = registry.add((SHIPPED_MODEL_DIR / "model.onnx").read_bytes()[:5_000], metadata)  # cut off
    registry.promote(version)
    if damage == "metadata":
        (tmp_path / "models" / version / "metadata.json").write_text(
            f'{{"features_version": {FEATURES_VERSION}, "thresh'
        )
    result = run(store, tmp_path, series, TAP_DAY + 3)
    assert [a["dedup_key"] for a in thefts(store)] == ["theft:01-04"]  # the tap is still caught
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert f"model {version} cannot be loaded, using the shipped model" in result.status == status["status"]
    assert status["model"] == "shipped" and f"the current theft model {version} cannot be loaded" in caplog.text


def test_an_unreadable_ignore_rule_row_stays_in_its_table_and_scoring_goes_on(tmp_path, tapped, caplog):
    """A theft_rules row the database accepts but that is no rule (24 usual values, one of them
    text) is left where it is, out of scoring, with a warning each run; the other rules apply."""
    series, store = tapped
    now_ms = end_of_day_ms(series.first_date, DAYS)
    good = {
        "first_hour": 12,
        "last_hour": 14,
        "weekdays": list(range(7)),
        "max_power_w": 1500.0,
        "expires_s": now_ms / 1000 + 86_400,
    }
    tables = FeedbackTables(store)
    tables.save_rule(3, good)
    broken = tables.save_rule(5, {**good, "usual_w": [300.0] * 24})
    store.conn.execute("UPDATE theft_rules SET usual_w = json_set(usual_w, '$[3]', 'a lot') WHERE id = ?", (broken,))
    assert [a for _, a, _ in store_job._load_rules(store, now_ms / 1000)] == [3]
    assert "Ignore rule #2 (alert 5) in theft_rules cannot be read" in caplog.text and "usual_w" in caplog.text
    result = store_job.score_job(job_context(store, tmp_path, now_ms))  # the theft job still runs
    assert not result.learning and [a["dedup_key"] for a in thefts(store)] == ["theft:01-04"]
    assert [r.alert_id for r in tables.rules()] == [3, 5]  # nothing the household said is lost


def test_the_database_refuses_a_rule_row_that_would_fail_at_scoring(store):
    import sqlite3

    good = {"first_hour": 0, "last_hour": 4, "weekdays": list(range(7)), "max_power_w": 1500.0, "expires_s": 2e9}
    with pytest.raises(ValueError, match="not an Ignore rule"):
        FeedbackTables(store).save_rule(3, {**good, "usual_w": [300.0] * 3})

    def insert(**change):
        row = {
            "first_hour": 0,
            "last_hour": 4,
            "weekdays": "[0]",
            "start_s": 0.0,
            "expires_s": 2e9,
            "renew_days": 0.0,
            "max_power_w": 1500.0,
            "excess_cap_w": 0.0,
        } | change
        store.conn.execute(
            f"INSERT INTO theft_rules ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
        )

    insert()  # the row itself is fine
    for change in (
        {"usual_w": "[1, 2, 3]"},
        {"hours": "not json"},
        {"weekdays": "{}"},
        {"expires_s": "soon"},
        {"first_hour": 24},
        {"floor_cap_w": "12 W"},
    ):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            insert(**change)
