"""`powergw model retrain` and `powergw model rollback` as a household's gateway runs them, through
the CLI's own argument parser, on a real database and model registry. A retrain first takes in
the answers the hourly job has not seen yet, refuses to run on no examples, and compares on them;
`rollback --to shipped` makes the shipped model score."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from edge_model import store_job
from edge_model.feedback_store import FeedbackTables
from edge_model.registry import SHIPPED_MODEL_DIR, ModelRegistry
from gateway.alerts import AlertStore
from gateway.app import open_store
from gateway.cli import main
from tests.support.theft_store import (
    DAYS,
    SEED,
    first_alert,
    house,
    job_context,
    night_tap,
    saved_examples,
    saved_rules,
    store_with_series,
)

SMALL = ("--households", "4", "--days", "56", "--trees", "5")  # a small training recipe; the check set is the real one


def powergw(capsys, *args: str) -> tuple[int, str, str]:
    """`powergw ARGS` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def gateway(tmp_path, monkeypatch):
    """A household's database and config: a night tap's house over the 45 days up to yesterday (a
    retrain on the command line reads the clock), and the theft alert the hourly job raised."""
    monkeypatch.delenv("POWERGW_DATA_DIR", raising=False)  # the registry is the one beside the database
    series = house(SEED, DAYS, night_tap())
    series = type(series)(dt.date.today() - dt.timedelta(days=DAYS), series.minute_w)
    db = tmp_path / "data" / "powergw.db"
    store = store_with_series(db, series)
    alert, now_ms = first_alert(store, db.parent, series)
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\ndb = "{db}"\n')
    yield {
        "store": store,
        "db": db,
        "config": config,
        "now_ms": now_ms,
        "alert": alert,
        "registry": db.parent / "models",
    }
    store.close()


def test_retrain_takes_in_the_answers_the_hourly_job_has_not_seen_and_compares_on_them(gateway, capsys):
    store, alert = gateway["store"], gateway["alert"]
    AlertStore(store).act(
        alert["id"], "ignore", "owner", "our new pump", now_ms=gateway["now_ms"]
    )  # after the job's last run
    assert saved_examples(store) is None
    code, out, err = powergw(capsys, "model", "retrain", "--config", str(gateway["config"]), *SMALL)
    assert "retrain: 1 answers taken in" in err, err
    report = json.loads(out)
    assert code == (0 if report["promoted"] else 1)
    n = len(saved_examples(store))
    assert n == len(alert["data"]["window_starts_s"])
    assert report["version"] == "v0001" and report["feedback_examples"] == {"theft": 0, "normal": n}
    assert report["current_version"] == "shipped"  # compared with the model in use
    accuracy = report["feedback_accuracy"]
    assert 0.0 <= accuracy["candidate"] <= 1.0 and 0.0 <= accuracy["current"] <= 1.0  # on the Ignore just taken in
    assert (
        0.5 < report["candidate"]["roc_auc"] <= 1.0 and 0.5 < report["current"]["roc_auc"] <= 1.0
    )  # on the real check set
    assert [r["alert_id"] for r in saved_rules(store)] == [alert["id"]]
    (retrain,) = FeedbackTables(store).retrains()
    assert (retrain["version"], retrain["promoted"], retrain["examples"]) == ("v0001", int(report["promoted"]), n)
    assert "accuracy on the household's" in retrain["note"]
    registry = ModelRegistry(gateway["registry"])
    assert registry.versions() == ["v0001"] and registry.current() == ("v0001" if report["promoted"] else None)
    # The weekly job has nothing new to learn from now on.
    assert store_job.retrain_job(job_context(store, gateway["db"].parent, gateway["now_ms"])) is False
    assert len(FeedbackTables(store).retrains()) == 1


def test_retrain_without_examples_trains_nothing_and_says_why(gateway, capsys):
    code, out, err = powergw(capsys, "model", "retrain", "--config", str(gateway["config"]), *SMALL)
    assert code == 1 and out == ""
    assert "retrain: 0 answers taken in" in err and "nothing to learn" in err
    assert not gateway["registry"].exists() and FeedbackTables(gateway["store"]).retrains() == []


def test_retrain_on_a_mistyped_database_makes_no_new_one(tmp_path, capsys):
    typo = tmp_path / "powergw.dbb"
    code, out, err = powergw(capsys, "model", "retrain", "--db", str(typo), *SMALL)
    assert code == 2 and out == ""
    assert f"no database at {typo} (given by --db)" in err and "--db FILE" in err
    assert not typo.exists() and list(tmp_path.iterdir()) == []


def test_rollback_to_shipped_makes_the_shipped_model_score_and_back(gateway, capsys):
    registry = ModelRegistry(gateway["registry"])
    metadata = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())
    v1 = registry.add((SHIPPED_MODEL_DIR / "model.onnx").read_bytes(), metadata)
    registry.promote(v1)
    config = str(gateway["config"])
    store_job.score_job(job_context(gateway["store"], gateway["db"].parent, gateway["now_ms"]))
    assert json.loads(gateway["store"].get_meta(store_job.STATUS_KEY))["model"] == v1
    code, out, err = powergw(capsys, "model", "rollback", "--config", config, "--to", "shipped")
    assert code == 0 and out == "current model is now shipped\n", err
    assert json.loads((gateway["registry"] / "state.json").read_text()) == {"current": None, "history": [v1, "shipped"]}
    scorer, problem = registry.load_current()
    assert scorer.version == "shipped" and problem == ""
    store_job.score_job(job_context(gateway["store"], gateway["db"].parent, gateway["now_ms"]))
    assert (
        json.loads(gateway["store"].get_meta(store_job.STATUS_KEY))["model"] == "shipped"
    )  # what the daemon scores with
    code, out, _ = powergw(capsys, "model", "rollback", "--config", config)  # the one before: back to v0001
    assert code == 0 and out == f"current model is now {v1}\n"
    assert registry.load_current()[0].version == v1
    code, _, err = powergw(capsys, "model", "rollback", "--config", config, "--to", "v0099")
    assert code == 2 and "no model version 'v0099'" in err and "'shipped'" in err


def test_rollback_to_shipped_on_a_registry_never_used_and_with_nothing_before_it(tmp_path, capsys):
    root = tmp_path / "models"
    code, _, _ = powergw(capsys, "model", "rollback", "--registry", str(root), "--to", "shipped")
    assert code == 0 and ModelRegistry(root).current() is None
    code, _, err = powergw(capsys, "model", "rollback", "--registry", str(root))
    assert code == 2 and "nothing to roll back to" in err and "--to shipped" in err


def test_a_retrain_on_another_database_uses_the_registry_beside_it(gateway, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere" / "powergw.db"
    open_store(elsewhere).close()
    code, _, err = powergw(capsys, "model", "retrain", "--db", str(elsewhere), *SMALL)
    assert code == 1 and "nothing to learn" in err
    assert not (elsewhere.parent / "models").exists() and not gateway["registry"].exists()
