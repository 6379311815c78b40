"""The theft model inside the daemon: store usage -> onnxruntime scores -> shared alerts table -> Ignore/Raise feedback."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from edge_model import store_job
from gateway.public_holidays import load_overrides
from edge_model.dataset import CHECK_SEEDS, IST, simulate_household
from gateway.alerts import AlertStore, alerts_migrations
from gateway.config import Config
from gateway.app import JobContext
from gateway.store import Batch, Store


def _store_with_usage(path, power_w: np.ndarray, first_date: dt.date) -> Store:
    """A real SQLite file holding `power_w` (hourly mean W) as one node's energy."""
    store = Store(path, migrations=[alerts_migrations])
    origin_ms = int(dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST).timestamp() * 1000)
    node = store.ensure_node("main", "sim", origin_ms)
    batch = Batch()
    for i, p in enumerate(power_w):
        batch.add_energy(node, origin_ms + i * 3_600_000, origin_ms + (i + 1) * 3_600_000, int(round(p * 1000)))
    store.write_batch(batch, [], rollup=True)
    return store


def _ctx(store: Store, tmp_path, now_ms: int) -> JobContext:
    config = Config({}).replace("gateway", db=str(tmp_path / "powergw.db"), timezone="Asia/Kolkata")
    return JobContext(store=store, config=config, now_ms=lambda: now_ms, extras={})


def _end_of_day_ms(first_date: dt.date, days: int) -> int:
    return int(dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST).timestamp() * 1000) + days * 86_400_000 - 1


@pytest.fixture
def tapped(tmp_path):
    h = simulate_household(CHECK_SEEDS + 5, 40, "tap_constant", None, load_overrides(), theft_start_day=35, magnitude_w=1_000.0, theft_days=5)
    return h, _store_with_usage(tmp_path / "powergw.db", h.power_w, h.first_date)


def test_a_tap_becomes_one_theft_alert_with_numbers_and_never_a_storm(tmp_path, tapped):
    h, store = tapped
    for day in (37, 38, 39):  # the job runs again and again over the same pattern
        result = store_job.score_job(_ctx(store, tmp_path, _end_of_day_ms(h.first_date, day)))
        assert not result.learning
    rows = AlertStore(store).list(kind="theft")
    assert len(rows) == 1 and rows[0]["state"] == "open" and rows[0]["severity"] == "critical"
    assert "usual" in rows[0]["message"] and rows[0]["data"]["excess_w"] > 500
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status["learning"] is False and status["model"] == "shipped"


def test_ignore_becomes_a_rule_and_normal_examples_raise_becomes_theft_examples(tmp_path, tapped):
    from edge_model.feedback import load_examples

    h, store = tapped
    ctx = _ctx(store, tmp_path, _end_of_day_ms(h.first_date, 37))
    store_job.score_job(ctx)
    alerts = AlertStore(store)
    (alert,) = alerts.list(kind="theft")
    alerts.act(alert["id"], "ignore", "owner", "that is our new pump", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    store_job.score_job(ctx)  # feedback is taken once
    (rule,) = json.loads(store.get_meta(store_job.RULES_KEY))
    assert rule["excess_cap_w"] > 500 and len(rule["usual_w"]) == 24
    examples = load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE)
    assert len(examples) == alert["data"]["windows_over_threshold"] and not examples.y.any()
    alerts.act(alert["id"], "raise", "owner", "no, it is not ours", now_ms=ctx.now_ms())
    store_job.score_job(ctx)
    examples = load_examples(tmp_path / "models" / store_job.FEEDBACK_FILE)
    assert examples.y.sum() == alert["data"]["windows_over_threshold"]
    assert json.loads(store.get_meta(store_job.RULES_KEY)) == []  # the Raise took the Ignore's rule back


def test_a_short_history_says_still_learning_and_never_alerts(tmp_path):
    h = simulate_household(CHECK_SEEDS + 6, 4, None, None, load_overrides())
    store = _store_with_usage(tmp_path / "powergw.db", h.power_w + 2_000.0, h.first_date)
    result = store_job.score_job(_ctx(store, tmp_path, _end_of_day_ms(h.first_date, 4)))
    assert result.learning and not AlertStore(store).list(kind="theft")
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status["learning"] is True and "still learning" in status["status"]


def test_the_weekly_retrain_does_nothing_without_new_feedback(tmp_path, tapped):
    _, store = tapped
    assert store_job.retrain_job(_ctx(store, tmp_path, 0)) is False
