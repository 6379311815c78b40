"""Store.minutes: the minute energy of several node ids in one query, exactly what Store.usage(...,
"minute", id) gives each (rollups plus readings not rolled up yet); the house rollup agrees with the
reference rule computed from them. Real Ingest into a temp SQLite file."""

from __future__ import annotations

import pytest

from gateway.store import StoreError
from tests.support.esp32_twin import NODE, TWIN, Esp32, at
from tests.support.house_oracle import Household


def per_id(store, node_ids, lo, hi):
    return {n: {r["start_ms"]: r["energy_mwh"] for r in store.usage(lo, hi, "minute", n)} for n in node_ids}


def test_minutes_of_two_ids_in_one_query_are_what_usage_gives_each(tmp_path, monkeypatch):
    node = Esp32(tmp_path / "gw.db", at(0))
    pulled = at(13, 17, 20)  # serial stops mid-minute; BLE carries on
    node.run(at(20), serial=lambda t: t < pulled)
    node.ingest.flush(at(20))
    node.run(at(22), serial=lambda t: t < pulled)
    node.ingest.commit(at(22), rollup=False)  # the last two hours only as raw readings
    store = node.ingest.store
    assert store.rollup_watermark() < store.last_reading_id()
    late = store.minutes([TWIN], at(21), at(22))[TWIN]
    assert late and sum(late.values()) > 0  # pending readings are counted, as usage counts them

    for lo, hi in [(at(0), at(22) + 1), (pulled - 7_123, at(14, 5) + 7), (at(21, 30, 30), at(23)), (at(5), at(5))]:
        assert store.minutes([NODE, TWIN], lo, hi) == per_id(store, [NODE, TWIN], lo, hi), (lo, hi)
    assert store.minutes([TWIN, NODE], at(0), at(1)) == per_id(store, [NODE, TWIN], at(0), at(1))
    assert store.minutes([NODE], at(0), at(1)) == per_id(store, [NODE], at(0), at(1))
    assert store.minutes([], at(0), at(1)) == {}
    with pytest.raises(StoreError, match="no node 'nope'"):
        store.minutes([NODE, "nope"], at(0), at(1))

    # The house rollup (and its overlay of readings not rolled up yet) is the reference rule's answer.
    for res in ("minute", "hour", "day"):
        assert store.house_usage(at(0), at(22) + 1, res) == Household(store).usage(at(0), at(22) + 1, res), res


def test_household_of_an_empty_store_and_of_an_empty_or_reversed_range_is_empty(tmp_path):
    node = Esp32(tmp_path / "gw.db", at(0))
    store = node.ingest.store
    assert store.house_usage(at(0), at(1), "hour") == {}  # no node yet
    node.run(at(2))
    node.ingest.flush(at(2))
    for res in ("minute", "hour", "day"):
        assert store.house_usage(at(1), at(1), res) == {} and store.house_usage(at(2), at(1), res) == {}, res
    assert store.minutes([NODE, TWIN], at(2), at(1)) == {NODE: {}, TWIN: {}}
    with pytest.raises(ValueError, match="resolution"):
        store.house_usage(at(0), at(1), "week")


def test_store_usage_of_an_empty_or_reversed_range_is_empty_at_every_resolution(tmp_path):
    node = Esp32(tmp_path / "gw.db", at(0))
    node.run(at(3))
    node.ingest.flush(at(3))
    store = node.ingest.store
    assert store.usage(at(1), at(2), "day") and store.usage(at(1), at(2), "minute")  # there is energy there
    # Whole minutes, then a start inside a minute (its minute and hour both begin before end_ms).
    for lo, hi in [(at(1), at(1)), (at(2), at(1)), (at(1, 0, 30), at(1, 0, 30)), (at(1, 0, 30), at(1, 0, 20))]:
        for res in ("minute", "hour", "day"):
            assert store.usage(lo, hi, res) == [] and store.usage(lo, hi, res, NODE) == [], (lo, hi, res)
        assert store.minutes([NODE, TWIN], lo, hi) == {NODE: {}, TWIN: {}}, (lo, hi)
    # The range is checked after the arguments: a bad resolution or an unknown node is still an error.
    with pytest.raises(ValueError, match="resolution"):
        store.usage(at(2), at(1), "week")
    with pytest.raises(StoreError, match="no node 'nope'"):
        store.usage(at(2), at(1), "day", "nope")
