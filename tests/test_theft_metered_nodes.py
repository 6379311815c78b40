"""The theft job scores the house as the bill counts it: [billing] metered_nodes as listed (a
sub-circuit node is not added to the mains a second time), every node without a list, and no
scoring at all while the list names an id that never reported. Real SQLite store, real job."""

from __future__ import annotations

import datetime as dt
import json
import logging

import numpy as np
import pytest

from edge_model import store_job
from gateway.alerts import AlertStore
from gateway.app import JobContext, open_store
from gateway.billing import MeteredNodeError
from gateway.config import Config
from gateway.store import Batch

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
FIRST = dt.date(2025, 7, 1)
DAYS = 3
MAIN_W, KITCHEN_W = 1_000.0, 300.0  # the kitchen is a sub-circuit: its load is inside the mains' too


def _origin_ms() -> int:
    return int(dt.datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=IST).timestamp() * 1000)


def _now_ms() -> int:
    return _origin_ms() + DAYS * 86_400_000 - 1


@pytest.fixture
def store(tmp_path):
    """A real SQLite file with a mains node and a sub-circuit node, each at a steady load, every
    5 minutes for DAYS whole local days."""
    store = open_store(tmp_path / "powergw.db")
    origin = _origin_ms()
    batch = Batch()
    for node_id, watts in (("main", MAIN_W), ("kitchen", KITCHEN_W)):
        node = store.ensure_node(node_id, "sim", origin)
        for start in range(origin, origin + DAYS * 86_400_000, 300_000):
            batch.add_energy(node, start, start + 300_000, int(round(watts * 1000 / 12)))  # mWh in 5 minutes
    store.write_batch(batch, [], rollup=True)
    return store


def _config(tmp_path, metered: list[str]) -> Config:
    return (Config({}).replace("gateway", db=str(tmp_path / "powergw.db"), timezone="Asia/Kolkata")
            .replace("billing", metered_nodes=metered))


def _series(store, tmp_path, metered):
    return store_job.hourly_from_store(store, _now_ms(), "Asia/Kolkata", days=DAYS, billing=_config(tmp_path, metered)["billing"])


def test_listed_mains_alone_make_the_series(store, tmp_path):
    first, power, floor = _series(store, tmp_path, ["main"])
    assert first == FIRST and power.shape == (DAYS * 24,)
    assert power == pytest.approx(np.full(DAYS * 24, MAIN_W), abs=0.01)  # not + the kitchen's 300 W
    assert floor == pytest.approx(np.full(DAYS * 24, MAIN_W), abs=0.01)
    _, alone, _ = store_job.hourly_from_store(store, _now_ms(), "Asia/Kolkata", node_id="main", days=DAYS)
    assert np.array_equal(power, alone)


def test_without_a_list_every_node_is_summed(store, tmp_path):
    _, power, floor = _series(store, tmp_path, [])
    assert power == pytest.approx(np.full(DAYS * 24, MAIN_W + KITCHEN_W), abs=0.01)
    assert floor == pytest.approx(np.full(DAYS * 24, MAIN_W + KITCHEN_W), abs=0.01)
    _, no_section, _ = store_job.hourly_from_store(store, _now_ms(), "Asia/Kolkata", days=DAYS)
    assert np.array_equal(power, no_section)  # the same as before there was a [billing] section to read
    _, both, _ = _series(store, tmp_path, ["main", "kitchen"])
    assert np.array_equal(power, both)


def test_an_unknown_listed_id_is_billings_error(store, tmp_path):
    with pytest.raises(MeteredNodeError) as caught:
        _series(store, tmp_path, ["mian"])
    assert caught.value.unknown == ("mian",) and caught.value.known == ("kitchen", "main")


def test_the_job_does_not_score_while_a_listed_id_is_unknown_and_resumes_after_the_fix(store, tmp_path, caplog):
    store.set_meta(store_job.SCORED_KEY, "123.0")
    store.set_meta(store_job.STATUS_KEY, json.dumps({"learning": True, "history_days": 2, "status": "still learning",
                                                    "model": "v0002", "last_run_ms": 1}))
    typo = JobContext(store=store, config=_config(tmp_path, ["mian"]), now_ms=_now_ms, extras={})
    with caplog.at_level(logging.WARNING, logger="edge_model.store_job"):
        first = store_job.score_job(typo)
        again = store_job.score_job(typo)  # the next hour: the same problem
    assert first == again
    assert first.alerts == [] and not first.learning and first.history_days == 0
    assert first.status == ("not scoring: [billing] metered_nodes lists 'mian', but no node with that id has reported; "
                            "known nodes: 'kitchen', 'main'; theft scoring resumes once the id is corrected or that node reports")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"theft: {first.status}"]  # once per problem, not every hour
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status == {"learning": False, "history_days": 0, "status": first.status, "model": "v0002", "last_run_ms": _now_ms()}
    assert store.get_meta(store_job.SCORED_KEY) == "123.0"  # the hours meanwhile are scored after the fix
    assert AlertStore(store).list(kind="theft") == []

    fixed = store_job.score_job(JobContext(store=store, config=_config(tmp_path, ["main"]), now_ms=_now_ms, extras={}))
    assert fixed.learning and fixed.history_days == DAYS  # the house is read again (too short a history to alert on)
    assert json.loads(store.get_meta(store_job.STATUS_KEY))["status"] == fixed.status
    assert store.get_meta(store_job.SCORED_KEY) == str(_now_ms() / 1000)
