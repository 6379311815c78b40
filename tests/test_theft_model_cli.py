"""`powergw model retrain` and `powergw model rollback` as a household's gateway runs them: real
processes on a real database and model registry. A retrain first takes in the answers the hourly
job has not seen yet, refuses to run on no examples, and compares on them; `rollback --to shipped`
makes the shipped model score."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from edge_model import store_job
from edge_model.dataset import CHECK_SEEDS, DatasetSpec, simulate_household
from edge_model.feedback_store import FeedbackTables
from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
from edge_model.training import ForestParams
from gateway.alerts import AlertStore
from gateway.app import open_store
from gateway.public_holidays import load_overrides
from theft_store import end_of_day_ms, job_context, saved_examples, saved_rules, store_with_usage

SMALL = ("--households", "4", "--days", "56", "--trees", "5")  # minutes less than the real recipe; the check set is the real one


def powergw(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POWERGW_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def gateway(tmp_path):
    """A household's database and config: 40 days ending yesterday (a retrain on the command line
    reads the clock), a 1 kW tap from day 35, and the theft alert the hourly job raised on day 38."""
    h = simulate_household(CHECK_SEEDS + 5, 40, "tap_constant", None, load_overrides(), theft_start_day=35, magnitude_w=1_000.0, theft_days=5)
    first = dt.date.today() - dt.timedelta(days=40)
    db = tmp_path / "data" / "powergw.db"
    db.parent.mkdir()
    store = store_with_usage(db, h.power_w, first, h.floor_w)
    ctx = job_context(store, db.parent, end_of_day_ms(first, 38))
    store_job.score_job(ctx)
    (alert,) = AlertStore(store).list(kind="theft")
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\ndb = "{db}"\n')
    yield {"store": store, "db": db, "config": config, "ctx": ctx, "alert": alert, "registry": db.parent / "models"}
    store.close()


def test_retrain_takes_in_the_answers_the_hourly_job_has_not_seen_and_compares_on_them(gateway):
    store, alert = gateway["store"], gateway["alert"]
    AlertStore(store).act(alert["id"], "ignore", "owner", "our new pump", now_ms=gateway["ctx"].now_ms())  # after the job's last run
    assert saved_examples(store) is None
    done = powergw("model", "retrain", "--config", str(gateway["config"]), *SMALL)
    assert "retrain: 1 answers taken in" in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert done.returncode == (0 if report["promoted"] else 1)
    n = len(saved_examples(store))
    assert report["version"] == "v0001" and report["feedback_examples"] == {"theft": 0, "normal": n} and n > 0
    accuracy = report["feedback_accuracy"]
    assert 0.0 <= accuracy["candidate"] <= 1.0 and 0.0 <= accuracy["current"] <= 1.0  # on the Ignore just taken in
    assert [r["alert_id"] for r in saved_rules(store)] == [alert["id"]]
    (retrain,) = FeedbackTables(store).retrains()
    assert (retrain["version"], retrain["promoted"], retrain["examples"]) == ("v0001", int(report["promoted"]), n)
    assert "accuracy on the household's" in retrain["note"]
    assert ModelRegistry(gateway["registry"]).versions() == ["v0001"]
    # The weekly job has nothing new to learn from now on.
    assert store_job.retrain_job(job_context(store, gateway["db"].parent, gateway["ctx"].now_ms())) is False


def test_retrain_without_examples_trains_nothing_and_says_why(gateway):
    done = powergw("model", "retrain", "--config", str(gateway["config"]), *SMALL)
    assert done.returncode == 1 and done.stdout == ""
    assert "retrain: 0 answers taken in" in done.stderr and "nothing to learn" in done.stderr
    assert not gateway["registry"].exists() and FeedbackTables(gateway["store"]).retrains() == []


def test_the_weekly_retrain_takes_in_new_answers_before_it_decides(gateway, monkeypatch):
    store, alert, ctx = gateway["store"], gateway["alert"], gateway["ctx"]
    AlertStore(store).act(alert["id"], "raise", "owner", "not ours", now_ms=ctx.now_ms())
    train = store_job.train_on_feedback
    monkeypatch.setattr(store_job, "train_on_feedback", lambda store, root, spec, params, now_ms, progress=False: train(
        store, root, DatasetSpec(households=4, days=56), ForestParams(n_trees=5), now_ms))  # the real steps, a small recipe
    store_job.retrain_job(job_context(store, gateway["db"].parent, ctx.now_ms()))
    examples = saved_examples(store)
    assert examples.y.all() and ModelRegistry(gateway["registry"]).versions() == ["v0001"]
    (retrain,) = FeedbackTables(store).retrains()
    assert retrain["version"] == "v0001" and retrain["examples"] == len(examples)


def test_rollback_to_shipped_makes_the_shipped_model_score_and_back(gateway):
    registry = ModelRegistry(gateway["registry"])
    metadata = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    v1 = registry.add((SHIPPED_MODEL_DIR / "model.onnx").read_bytes(), metadata)
    registry.promote(v1)
    config = str(gateway["config"])
    done = powergw("model", "rollback", "--config", config, "--to", "shipped")
    assert done.returncode == 0 and done.stdout == "current model is now shipped\n", done.stderr
    assert json.loads((gateway["registry"] / "state.json").read_text()) == {"current": None, "history": [v1, "shipped"]}
    scorer, problem = registry.load_current()
    assert scorer.version == "shipped" and problem == ""
    store_job.score_job(job_context(gateway["store"], gateway["db"].parent, gateway["ctx"].now_ms()))
    assert json.loads(gateway["store"].get_meta(store_job.STATUS_KEY))["model"] == "shipped"  # what the daemon scores with
    done = powergw("model", "rollback", "--config", config)  # the one before: back to v0001
    assert done.returncode == 0 and done.stdout == f"current model is now {v1}\n"
    assert registry.load_current()[0].version == v1
    done = powergw("model", "rollback", "--config", config, "--to", "v0099")
    assert done.returncode == 2 and "no model version 'v0099'" in done.stderr and "'shipped'" in done.stderr


def test_rollback_to_shipped_on_a_registry_never_used_and_with_nothing_before_it(tmp_path):
    root = tmp_path / "models"
    done = powergw("model", "rollback", "--registry", str(root), "--to", "shipped")
    assert done.returncode == 0 and ModelRegistry(root).current() is None
    done = powergw("model", "rollback", "--registry", str(root))
    assert done.returncode == 2 and "nothing to roll back to" in done.stderr and "--to shipped" in done.stderr


def test_a_retrain_on_another_database_uses_the_registry_beside_it(gateway, tmp_path):
    store = open_store(tmp_path / "elsewhere" / "powergw.db")
    store.close()
    done = powergw("model", "retrain", "--db", str(tmp_path / "elsewhere" / "powergw.db"), *SMALL)
    assert done.returncode == 1 and "nothing to learn" in done.stderr
    assert not (tmp_path / "elsewhere" / "models").exists() and not gateway["registry"].exists()
