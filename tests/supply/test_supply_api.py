"""GET /api/v1/supply on a real HTTP server at 127.0.0.1 over a database filled by the real Ingest."""

from __future__ import annotations

import sqlite3

import pytest

from gateway.alerts import AlertStore
from gateway.settings_store import effective_config
from gateway.supply.jobs import track_cuts
from tests.support.dashboard import FixedClock, Served

DAY = "2026-01-01"


@pytest.fixture
def served(make_fleet, tmp_path):
    fleet = make_fleet("mains", "kitchen", volts=("mains",))
    fleet.run(300, vrms_dv=lambda i: 2500 if 120 <= i < 240 else 2300)  # a surge of two minutes
    fleet.silence(50 * 60_000)
    fleet.restart("mains", "kitchen")
    fleet.run(200)
    fleet.cuts_job()
    fleet.quality_job()
    fleet.ingest.flush()
    server = Served(fleet.db, tmp_path, FixedClock(fleet.now()))
    yield server
    server.stop()


def test_the_dashboard_reads_the_cuts_and_each_days_voltage(served):
    admin = served.session()
    r = admin.get(served.url + "/api/v1/supply", params={"from": DAY, "to": DAY}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    (cut,) = body["cuts"]
    assert cut["nodes"] == 2 and cut["duration_min"] == pytest.approx(50, abs=0.1)
    (day,) = body["days"]
    assert day["day"] == DAY and day["house"]["minutes_high"] == 3 and day["house"]["surge_v"] == 250.0
    assert body["silent_since_ms"] is None
    default = admin.get(served.url + "/api/v1/supply", timeout=10).json()  # the last seven days to today
    assert default["to"] == DAY and default["from"] == "2025-12-26" and default["cuts"] == body["cuts"]


def test_bad_ranges_are_refused_in_words(served):
    admin = served.session()
    r = admin.get(served.url + "/api/v1/supply", params={"from": "2026-02-01", "to": DAY}, timeout=10)
    assert r.status_code == 400 and "is after" in r.json()["error"]["message"]
    r = admin.get(served.url + "/api/v1/supply", params={"from": "2024-01-01", "to": DAY}, timeout=10)
    assert r.status_code == 400 and "at most 366" in r.json()["error"]["message"]
    r = admin.get(served.url + "/api/v1/supply", params={"from": "yesterday"}, timeout=10)
    assert r.status_code == 400


def test_it_needs_a_login_and_says_when_the_tables_are_missing(served):
    import requests

    assert requests.get(served.url + "/api/v1/supply", timeout=10).status_code == 401
    with sqlite3.connect(served.db) as conn:
        conn.execute("DROP TABLE supply_cuts")
    r = served.session().get(served.url + "/api/v1/supply", timeout=10)
    assert r.status_code == 503 and "no supply tables" in r.json()["error"]["message"]


def test_the_household_turns_cut_alerts_on_from_the_dashboard(make_fleet, tmp_path):
    """[supply] alerts is off in the file; the admin turns it on in Settings and the daemon's next run
    (which reads the dashboard's overrides) alerts on a cut going on."""
    fleet = make_fleet()
    fleet.run(60)
    fleet.silence(45 * 60_000)
    fleet.ingest.flush()
    server = Served(fleet.db, tmp_path, FixedClock(fleet.now()))
    try:
        admin = server.session()
        r = admin.patch(
            server.url + "/api/v1/settings",
            json={"set": {"supply.alerts": True, "supply.cut_alert_minutes": 40}},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        r = admin.patch(server.url + "/api/v1/settings", json={"set": {"supply.cut_alert_minutes": 0}}, timeout=10)
        assert r.status_code == 400 and "cut_alert_minutes = 0" in r.json()["error"]["message"]
    finally:
        server.stop()
    ctx = fleet.context()
    ctx.config = effective_config(fleet.ingest.store, ctx.config)
    assert ctx.config.supply.alerts and ctx.config.supply.cut_alert_minutes == 40
    track_cuts(ctx)
    (alert,) = AlertStore(fleet.ingest.store).list(kind="power_cut")
    assert alert["state"] == "open" and "(45 min)" in alert["message"]
