"""Node offline and sensor fault alerts, raised and resolved by the daemon's job, on real SQLite."""

from __future__ import annotations

from gateway.alerts import AlertStore
from gateway.app import JobContext
from gateway.config import Config
from gateway.node_health import check_nodes, node_conditions
from gateway.protocol import FLAG_NOMINAL_VOLTAGE, FLAG_SATURATED
from tests.support.ingest import NODE, T0, make_ingest, reading_wire


def job(ingest, now_ms):
    config = Config({})
    return check_nodes(JobContext(store=ingest.store, config=config, now_ms=lambda: now_ms, extras={}))


def test_silent_node_raises_one_alert_and_it_resolves_when_frames_return(tmp_path):
    ingest, clock = make_ingest(tmp_path / "g.db")
    ingest.feed("p", reading_wire(0, 0))
    ingest.flush()
    alerts = AlertStore(ingest.store)
    assert job(ingest, T0 + 60_000) == {"raised": 0, "resolved": 0}
    assert job(ingest, T0 + 6 * 60_000)["raised"] == 1
    assert job(ingest, T0 + 9 * 60_000)["raised"] == 0  # still the same open alert, no storm
    [alert] = alerts.list(kind="node_offline")
    assert alert["state"] == "open" and alert["repeat_count"] == 2 and NODE in alert["message"]
    assert "9 minutes" in alert["message"]
    clock.advance(10 * 60_000)
    ingest.feed("p", reading_wire(1, 100, uptime_ms=601_000))
    ingest.flush()
    assert job(ingest, T0 + 10 * 60_000 + 1000)["resolved"] == 1
    assert alerts.list(kind="node_offline")[0]["state"] == "resolved"
    # Silent again later: a new alert, because the old one is closed.
    assert job(ingest, T0 + 30 * 60_000)["raised"] == 1
    assert len(alerts.list(kind="node_offline")) == 2


def test_saturated_sensor_is_a_sensor_fault_until_the_flag_clears(tmp_path):
    ingest, clock = make_ingest(tmp_path / "g.db")
    ingest.feed("p", reading_wire(0, 0, flags=FLAG_SATURATED | FLAG_NOMINAL_VOLTAGE))
    ingest.flush()
    assert job(ingest, T0 + 1000)["raised"] == 1
    [alert] = AlertStore(ingest.store).list(kind="sensor_fault")
    assert "saturated" in alert["message"] and "30 A" in alert["message"]
    clock.advance(1000)
    ingest.feed("p", reading_wire(1, 100, flags=FLAG_NOMINAL_VOLTAGE))
    ingest.flush()
    assert job(ingest, T0 + 2000)["resolved"] == 1


def test_conditions_are_pure_values():
    node = {"node_id": NODE, "name": "kitchen", "last_seen_ms": T0, "last_flags": 2}
    conds = {c.key: c for c in node_conditions(node, T0 + 1000, 300_000, str)}
    assert not conds[f"node_offline:{NODE}"].active
    assert conds[f"sensor_fault:uncalibrated:{NODE}"].active
    assert "powergw calibrate" in conds[f"sensor_fault:uncalibrated:{NODE}"].message
    never = {"node_id": NODE, "name": None, "last_seen_ms": None, "last_flags": None}
    assert not any(c.active for c in node_conditions(never, T0, 300_000, str))
