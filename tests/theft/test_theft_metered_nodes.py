"""The theft job reads the house through the store's one door (`Store.house_usage`): [billing]
metered_nodes as listed (a sub-circuit node is not added to the mains a second time), every node
without a list (an ESP32 heard over serial and BLE once), and no scoring at all while the list names
an id that never reported. Real SQLite store, real job."""

from __future__ import annotations

import datetime as dt
import json
import logging

import numpy as np
import pytest

from edge_model import store_job
from edge_model.series import HouseSeries
from gateway.alerts import AlertStore
from gateway.app import open_store
from gateway.store import UnknownNodesError
from tests.support.theft_store import end_of_day_ms, job_context, write_series

FIRST = dt.date(2025, 7, 1)
DAYS = 3
MAIN_W, KITCHEN_W = 1_000.0, 300.0  # the kitchen is a sub-circuit: its load is inside the mains' too
MAINS = "a4:cf:12:34:56:78"  # an ESP32's base MAC: its serial node id ...
MAINS_BLE = "a4:cf:12:34:56:7a"  # ... and the BLE address it advertises from (the same counter)


def steady(watts: float) -> HouseSeries:
    return HouseSeries(FIRST, np.full(DAYS * 1440, watts))


NOW_MS = end_of_day_ms(FIRST, DAYS)


@pytest.fixture
def store(tmp_path):
    """A real SQLite file with a mains node and a sub-circuit node, each at a steady load, every
    minute of DAYS whole local days."""
    store = open_store(tmp_path / "powergw.db")
    write_series(store, steady(MAIN_W), "main")
    write_series(store, steady(KITCHEN_W), "kitchen")
    yield store
    store.close()


def _series(store, metered) -> HouseSeries:
    store.apply_config_mains(metered or [], NOW_MS)
    return store_job.house_from_store(store, NOW_MS, "Asia/Kolkata", days=DAYS)


def test_listed_mains_alone_make_the_series(store):
    series = _series(store, ["main"])
    assert series.first_date == FIRST and series.minute_w.shape == (DAYS * 1440,)
    assert series.minute_w == pytest.approx(np.full(DAYS * 1440, MAIN_W), abs=0.05)  # not + the kitchen's 300 W
    assert series.hourly_floor_w == pytest.approx(np.full((DAYS, 24), MAIN_W), abs=0.05)


def test_without_a_list_every_node_is_summed(store):
    every = _series(store, [])
    assert every.minute_w == pytest.approx(np.full(DAYS * 1440, MAIN_W + KITCHEN_W), abs=0.1)
    assert np.array_equal(every.minute_w, _series(store, None).minute_w)  # no [billing] list: the same
    assert np.array_equal(every.minute_w, _series(store, ["main", "kitchen"]).minute_w)


def test_an_esp32_heard_over_serial_and_ble_is_one_house(tmp_path):
    """Its two node rows are two exact accounts of one counter: the house counts it once, and a
    stretch only BLE heard (the cable out on day 2) still counts."""
    store = open_store(tmp_path / "powergw.db")
    wired = steady(MAIN_W).minute_w.copy()
    wired[1440:2880] = np.nan
    write_series(store, HouseSeries(FIRST, wired), MAINS, "serial")
    write_series(store, steady(MAIN_W), MAINS_BLE, "ble")
    series = _series(store, None)
    assert series.minute_w == pytest.approx(np.full(DAYS * 1440, MAIN_W), abs=0.05)
    store.close()


def test_days_before_the_first_reading_are_empty(store):
    store.apply_config_mains(["main"], NOW_MS)
    series = store_job.house_from_store(store, NOW_MS, "Asia/Kolkata", days=DAYS + 2)
    assert series.first_date == FIRST - dt.timedelta(days=2)
    assert np.isnan(series.minute_w[: 2 * 1440]).all() and not np.isnan(series.minute_w[2 * 1440 :]).any()


def test_an_unknown_listed_id_is_the_stores_error(store):
    with pytest.raises(UnknownNodesError) as caught:
        _series(store, ["mian"])
    assert caught.value.unknown == ("mian",) and caught.value.known == ("kitchen", "main")


def test_the_job_does_not_score_while_a_listed_id_is_unknown_and_resumes_after_the_fix(store, tmp_path, caplog):
    store.set_meta(store_job.SCORED_KEY, "123.0")
    store.set_meta(
        store_job.STATUS_KEY,
        json.dumps(
            {"learning": True, "history_days": 2, "status": "learning this house", "model": "v0002", "last_run_ms": 1}
        ),
    )
    typo = job_context(store, tmp_path, NOW_MS, metered_nodes=["mian"])
    with caplog.at_level(logging.WARNING, logger="edge_model.store_job"):
        first = store_job.score_job(typo)
        again = store_job.score_job(typo)  # the next hour: the same problem
    assert first == again
    assert first.alerts == [] and not first.learning and first.history_days == 0
    assert first.status == (
        "not scoring: [billing] metered_nodes lists node ids mian never reported (known: kitchen, main); "
        "theft scoring resumes once the list is corrected or that node reports"
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"theft: {first.status}"]  # once per problem, not every hour
    status = json.loads(store.get_meta(store_job.STATUS_KEY))
    assert status == {
        "learning": False,
        "history_days": 0,
        "status": first.status,
        "model": "v0002",
        "last_run_ms": NOW_MS,
    }
    assert store.get_meta(store_job.SCORED_KEY) == "123.0"  # the hours meanwhile are scored after the fix
    assert AlertStore(store).list(kind="theft") == []

    fixed = store_job.score_job(job_context(store, tmp_path, NOW_MS, metered_nodes=["main"]))
    assert fixed.learning and fixed.history_days == DAYS  # the house is read again (too short a history to alert on)
    assert fixed.status.startswith(f"learning this house: {DAYS} of 31 days recorded")
    assert json.loads(store.get_meta(store_job.STATUS_KEY))["status"] == fixed.status
    assert store.get_meta(store_job.SCORED_KEY) == str(NOW_MS / 1000)
