"""The API the Sensors page, the Overview and the Bill page read, on a real HTTP server at 127.0.0.1 over the
voltage house (tests/support/voltage_house.py): which node measures the voltage, its power factor and
export; the Overview's supply glance (and none for a quiet week, or without the supply tables); the bill's
sentences and the setup gaps as {key, params, formats} beside the CLI's English; a Note survives a copy."""

from __future__ import annotations

import copy
import pickle
import sqlite3

import pytest

from gateway.billing.sentence import Note, sentence_of
from tests.support.browser import now_ms
from tests.support.dashboard import FixedClock, Served
from tests.support.voltage_house import build_voltage_house


def served(tmp_path, events=True):
    now = now_ms()
    house = build_voltage_house(tmp_path / "powergw.db", now, events=events)
    return Served(tmp_path / "powergw.db", tmp_path, FixedClock(now)), house


@pytest.fixture
def site(tmp_path):
    server, house = served(tmp_path)
    yield server, house
    server.stop()


def test_nodes_say_which_measure_the_voltage(site):
    server, house = site
    nodes = {n["node_id"]: n for n in server.session().get(server.url + "/api/v1/nodes", timeout=10).json()["nodes"]}
    solar, plain = nodes[house["solar"]], nodes[house["plain"]]
    assert (solar["measures_voltage"], solar["pf"], solar["vrms_v"]) == (True, 0.87, 230.0)
    assert solar["export_total_kwh"] == pytest.approx(0.2, abs=0.001)  # 1.2 kW for 10 min
    assert (plain["measures_voltage"], plain["pf"], plain["export_total_kwh"]) == (False, None, 0.0)
    assert plain["vrms_v"] == 230.0  # the voltage it assumes


def test_overview_glances_at_the_supply_only_after_a_cut_or_bad_voltage(site, tmp_path):
    server, house = site
    admin = server.session()
    glance = admin.get(server.url + "/api/v1/overview", timeout=10).json()["supply"]
    assert glance["cuts"] == 1 and glance["cut_minutes"] == 25.0 and glance["minutes_out"] == 5
    assert glance["last_cut"]["duration_min"] == 25.0 and glance["silent_since_ms"] is None
    assert glance["band_v"] == [216.2, 243.8] and glance["days"] == 7
    with sqlite3.connect(server.db) as conn:
        conn.execute("DROP TABLE supply_cuts")
    # Without the supply tables the Overview still answers; the Sensors page's card says why.
    fresh = Served(server.db, tmp_path / "again", FixedClock(now_ms()))
    try:
        s = fresh.session()
        assert s.get(fresh.url + "/api/v1/overview", timeout=10).json()["supply"] is None
        r = s.get(fresh.url + "/api/v1/supply", timeout=10)
        assert r.status_code == 503 and "no supply tables" in r.json()["error"]["message"]
    finally:
        fresh.stop()


def test_a_quiet_week_has_no_supply_glance(tmp_path):
    server, _ = served(tmp_path, events=False)
    try:
        assert server.session().get(server.url + "/api/v1/overview", timeout=10).json()["supply"] is None
    finally:
        server.stop()


def test_bill_and_setup_sentences_come_as_keys_beside_the_english(site):
    server, _ = site
    admin = server.session()
    bill = admin.get(server.url + "/api/v1/bill", timeout=10).json()
    slab = bill["slab"]
    assert slab["text"].startswith(f"{slab['units_to_boundary'].rstrip('0').rstrip('.')} units to {slab['boundary']}")
    s = slab["sentence"]
    assert s["key"].startswith("slab_to_edge") and s["params"]["edge"] == slab["boundary"]
    assert s["formats"]["cost"] == ["inr", slab["crossing_cost"]] and s["formats"]["edge"] == ["units", "100"]
    cov = bill["cycle"]["coverage_sentence"]
    assert cov["key"] == "coverage_partial" and bill["cycle"]["coverage_note"].startswith("the sensors covered")
    assert cov["formats"]["covered"] == ["days", cov["params"]["covered"]]
    (note,) = bill["note_sentences"]
    assert note == {"key": "note_export_unsettled", "params": {"units": "0.2"}, "formats": {"units": ["units", "0.2"]}}
    assert "does not settle export" in bill["notes"][0]  # the CLI's English, unchanged

    date, mains = admin.get(server.url + "/api/v1/overview", timeout=10).json()["setup"]
    assert date["sentence"] == {
        "key": "setup_gap_reading_date",
        "params": {"date": "2024-01-01"},
        "formats": {"date": ["iso", "2024-01-01"]},
    }
    assert date["fix"]["key"] == "setup_gap_reading_date_fix"
    assert mains["sentence"]["key"] == "setup_gap_mains" and mains["sentence"]["params"]["n"] == 2
    assert "[" not in mains["sentence"]["params"]["names"]
    assert "metered_nodes" in mains["message"]  # `powergw doctor` keeps naming the key


def test_a_note_keeps_its_key_through_a_copy_and_json():
    n = Note("3 units banked, carried to the next cycle", "note_banked", {"units": "3"}, {"units": "units"})
    for c in (copy.deepcopy(n), pickle.loads(pickle.dumps(n))):
        assert c == n and sentence_of(c) == sentence_of(n)
    assert sentence_of("a tariff file's own words") == {
        "key": "bill_note_text",
        "params": {"text": "a tariff file's own words"},
        "formats": {},
    }
