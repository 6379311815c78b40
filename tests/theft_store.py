"""A theft job's world for the tests: a real SQLite store holding hourly means and floors, the job's
context and clock, and what the job keeps in the theft tables (shared by the theft job's test modules)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from edge_model.dataset import IST
from edge_model.feedback import household_examples
from edge_model.feedback_store import FeedbackTables
from gateway.app import JobContext, open_store
from gateway.config import Config
from gateway.store import Batch, Store


def store_with_usage(path, power_w: np.ndarray, first_date: dt.date, floor_w: np.ndarray) -> Store:
    """A real SQLite file holding one node's energy in 5-minute intervals: each hour has `power_w`
    as its mean and `floor_w` as its lowest 5-minute mean (the first slot; the other 11 share the rest)."""
    store = open_store(path)
    origin_ms = int(dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST).timestamp() * 1000)
    node = store.ensure_node("main", "sim", origin_ms)
    batch = Batch()
    slot_ms = 300_000
    for i, (p, f) in enumerate(zip(power_w, floor_w)):
        rest = (12 * p - f) / 11
        for k, w in enumerate([f] + [rest] * 11):
            start = origin_ms + i * 3_600_000 + k * slot_ms
            batch.add_energy(node, start, start + slot_ms, int(round(w * 1000 / 12)))  # mWh in 5 minutes
    store.write_batch(batch, [], rollup=True)
    return store


def job_context(store: Store, tmp_path, now_ms: int) -> JobContext:
    config = Config({}).replace("gateway", db=str(tmp_path / "powergw.db"), timezone="Asia/Kolkata")
    return JobContext(store=store, config=config, now_ms=lambda: now_ms, extras={})


def end_of_day_ms(first_date: dt.date, days: int) -> int:
    return int(dt.datetime(first_date.year, first_date.month, first_date.day, tzinfo=IST).timestamp() * 1000) + days * 86_400_000 - 1


def saved_rules(store: Store) -> list[dict]:
    """The theft_rules rows: each rule's fields with its alert_id."""
    return [{**r.fields, "alert_id": r.alert_id} for r in FeedbackTables(store).rules()]


def saved_examples(store: Store):
    """The household's examples as retraining reads them (None when there are none)."""
    return household_examples(FeedbackTables(store))
