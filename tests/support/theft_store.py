"""A theft job's world for the tests: a real SQLite store holding a house's energy per minute, the
job's context and clock, and what the job keeps in the theft tables (shared by the theft job's test modules)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

from edge_model.dataset import CHECK_SEEDS, IST, simulated_house
from edge_model.feedback import household_examples
from edge_model.feedback_store import FeedbackTables
from edge_model.series import HouseSeries
from edge_model.store_job import score_job
from edge_model.taps import PRESETS, Tap, inject
from gateway.alerts import AlertStore
from gateway.app import JobContext, open_store
from gateway.batch import Batch
from gateway.config import Config
from gateway.store import Store

SEED = CHECK_SEEDS + 5  # a simulated house no model trains on; one the steady and forest paths leave quiet while clean
DAYS = 45  # MIN_HISTORY_DAYS (31), the steady detector calibrated (about 33 days), then nine nights of a tap
TAP_DAY = 36  # the first night of `night_tap`


def night_tap(watts: float = 300.0, start_day: int = TAP_DAY) -> Tap:
    """Someone else's load on the line from 01:00 to 04:00, every night from start_day."""
    return Tap("night", watts, start_day, **PRESETS["night"])


@lru_cache(maxsize=16)
def house(seed: int = SEED, days: int = DAYS, *taps: Tap) -> HouseSeries:
    """Simulated house `seed` over `days` with the taps added, minute by minute (simulated once per test session)."""
    series, _ = simulated_house(seed, days)
    minutes = series.minute_w
    for tap in taps:
        minutes, _ = inject(minutes, tap)
    return HouseSeries(series.first_date, minutes)


def with_load(series: HouseSeries, watts: float, days, first_hour: int, last_hour: int) -> HouseSeries:
    """The series with `watts` more in [first_hour, last_hour) of each of `days`."""
    minutes = series.minute_w.reshape(series.days, 24, 60).copy()
    for d in days:
        minutes[d, first_hour:last_hour] += watts
    return HouseSeries(series.first_date, minutes.ravel())


def origin_ms(first_date: dt.date) -> int:
    return int(dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST).timestamp() * 1000)


def write_series(store: Store, series: HouseSeries, node_id: str = "main", transport: str = "serial") -> None:
    """One node's energy per minute as ingest's rollups hold it (mWh in each UTC minute, and the
    local hours and days they fall in, each minute covered whole), in one batch; a NaN minute has no record."""
    origin = origin_ms(series.first_date)
    node = store.ensure_node(node_id, transport, origin)
    mwh = np.rint(series.minute_w * 1000 / 60)
    batch = Batch()
    batch.minutes = {(node, origin + 60_000 * int(i)): int(mwh[i]) for i in np.flatnonzero(~np.isnan(mwh))}
    batch.covered = dict.fromkeys(batch.minutes, 60_000)  # each recorded minute heard whole
    store.write_batch(batch, [], rollup=True)


def store_with_series(path, series: HouseSeries) -> Store:
    """A real SQLite file, every part's tables migrated, holding the house's minutes as one node's energy."""
    store = open_store(path)
    write_series(store, series)
    return store


def job_context(store: Store, tmp_path, now_ms: int, **billing) -> JobContext:
    """The theft job's context: the database's directory holds its model registry; `billing` sets [billing] keys."""
    config = Config({}).replace("gateway", db=str(tmp_path / "powergw.db"), timezone="Asia/Kolkata")
    if billing:
        config = config.replace("billing", **billing)
    return JobContext(store=store, config=config, now_ms=lambda: now_ms, extras={})


def end_of_day_ms(first_date: dt.date, days: int) -> int:
    """The last millisecond of local day `days - 1` counted from first_date: a job run as that day ends."""
    return origin_ms(first_date) + days * 86_400_000 - 1


def thefts(store: Store) -> list[dict]:
    """The theft alerts in the shared alerts table, oldest first."""
    return sorted(AlertStore(store).list(kind="theft"), key=lambda a: a["id"])


def first_alert(store: Store, tmp_path, series: HouseSeries) -> tuple[dict, int]:
    """The theft job run as the night tap's third night (day TAP_DAY + 2) ends: (the one theft alert
    it raised, the clock then)."""
    now_ms = end_of_day_ms(series.first_date, TAP_DAY + 3)
    score_job(job_context(store, tmp_path, now_ms))
    (alert,) = thefts(store)
    return alert, now_ms


def saved_rules(store: Store) -> list[dict]:
    """The theft_rules rows: each rule's fields with its alert_id."""
    return [{**r.fields, "alert_id": r.alert_id} for r in FeedbackTables(store).rules()]


def saved_examples(store: Store):
    """The household's examples as retraining reads them (None when there are none)."""
    return household_examples(FeedbackTables(store))
