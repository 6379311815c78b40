"""Alerts: dedup without storms, state changes with who/when, listeners in the same transaction."""

from __future__ import annotations

import sqlite3

import pytest

from gateway.alerts import KINDS, AlertError, AlertStore
from gateway.app import open_store

T0 = 1_720_000_000_000


def test_raise_and_get(store):
    alerts = AlertStore(store)
    alert_id, created = alerts.raise_alert(
        "node_offline", None, "node kitchen silent for 7 min", now_ms=T0, node_id="kitchen", data={"minutes": 7}
    )
    assert created
    a = alerts.get(alert_id)
    assert a["kind"] == "node_offline" and a["severity"] == KINDS["node_offline"].severity
    assert a["state"] == "open" and a["data"] == {"minutes": 7} and a["node_id"] == "kitchen"
    assert a["created_ms"] == T0 and a["repeat_count"] == 1 and a["actions"] == []


def test_open_dedup_counts_repeats_not_rows(store):
    alerts = AlertStore(store)
    first, created = alerts.raise_alert("node_offline", None, "silent 5 min", now_ms=T0, dedup_key="offline:kitchen")
    for i in range(1, 50):
        again, created_again = alerts.raise_alert(
            "node_offline", None, f"silent {5 + i} min", now_ms=T0 + i * 60_000, dedup_key="offline:kitchen"
        )
        assert again == first and not created_again
    a = alerts.get(first)
    assert a["repeat_count"] == 50 and a["message"] == "silent 54 min" and a["last_seen_ms"] == T0 + 49 * 60_000
    assert len(alerts.list()) == 1
    # Once resolved, the condition coming back is a new alert.
    alerts.act(first, "resolve", "asha", "replaced the fuse", now_ms=T0 + 3_600_000)
    new, created = alerts.raise_alert(
        "node_offline", None, "silent again", now_ms=T0 + 7_200_000, dedup_key="offline:kitchen"
    )
    assert created and new != first


def test_ever_dedup_is_once_per_key(store):
    alerts = AlertStore(store)
    a1, c1 = alerts.raise_alert("budget_threshold", None, "50% of budget", now_ms=T0, dedup_key="budget:2024-07-01:50")
    alerts.act(a1, "resolve", "asha", now_ms=T0 + 1)
    a2, c2 = alerts.raise_alert(
        "budget_threshold", None, "50% of budget", now_ms=T0 + 2, dedup_key="budget:2024-07-01:50"
    )
    assert c1 and not c2 and a1 == a2
    assert alerts.get(a1)["state"] == "resolved" and alerts.get(a1)["message"] == "50% of budget"


def test_no_dedup_key_means_every_call_is_an_alert(store):
    alerts = AlertStore(store)
    ids = {alerts.raise_alert("theft", None, "tapping?", now_ms=T0 + i)[0] for i in range(3)}
    assert len(ids) == 3


def test_act_records_who_and_when_and_enforces_transitions(store):
    alerts = AlertStore(store)
    aid, _ = alerts.raise_alert("theft", None, "night load 900 W on node main", now_ms=T0)
    a = alerts.act(aid, "ignore", "ravi", "that is the new pump", now_ms=T0 + 10)
    assert a["state"] == "ignored" and a["acted_by"] == "ravi" and a["acted_ms"] == T0 + 10
    assert a["action_comment"] == "that is the new pump"
    with pytest.raises(AlertError, match="is ignored; ignore needs it to be open"):
        alerts.act(aid, "ignore", "ravi", now_ms=T0 + 11)
    a = alerts.act(aid, "raise", "asha", "not the pump after all", now_ms=T0 + 20)
    a = alerts.act(aid, "resolve", "asha", "utility fixed the tap", now_ms=T0 + 30)
    assert [x["to_state"] for x in a["actions"]] == ["ignored", "raised", "resolved"]
    assert [x["by"] for x in a["actions"]] == ["ravi", "asha", "asha"]
    with pytest.raises(AlertError, match="is resolved"):
        alerts.act(aid, "raise", "asha", now_ms=T0 + 40)


def test_stop_ignoring_reopens_an_ignored_alert_with_its_history(store):
    alerts = AlertStore(store)
    for kind in ("theft",):
        aid, _ = alerts.raise_alert(kind, None, "x", now_ms=T0, dedup_key=f"{kind}:1")
        with pytest.raises(AlertError, match="is open; unignore needs it to be ignored"):
            alerts.act(aid, "unignore", "ravi", now_ms=T0 + 1)
        alerts.act(aid, "ignore", "ravi", "guests", now_ms=T0 + 10)
        a = alerts.act(aid, "unignore", "asha", "pressed Ignore by mistake", now_ms=T0 + 20)
        assert a["state"] == "open" and a["acted_by"] == "asha" and a["action_comment"] == "pressed Ignore by mistake"
        assert [(x["action"], x["from_state"], x["to_state"]) for x in a["actions"]] == [
            ("ignore", "open", "ignored"),
            ("unignore", "ignored", "open"),
        ]
        # Open again: a repeat of the condition counts on it, and it can be ignored (or raised) anew.
        assert alerts.raise_alert(kind, None, "y", now_ms=T0 + 30, dedup_key=f"{kind}:1") == (aid, False)
        assert alerts.act(aid, "ignore", "ravi", now_ms=T0 + 40)["state"] == "ignored"
        alerts.act(aid, "raise", "ravi", now_ms=T0 + 50)
        with pytest.raises(AlertError, match="is raised; unignore needs it to be ignored"):
            alerts.act(aid, "unignore", "ravi", now_ms=T0 + 60)


@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if "ignore" not in spec.actions])
def test_answers_that_do_not_fit_a_kind_are_refused_and_change_nothing(store, kind):
    """Ignore and Raise teach the theft model; on a budget, a bill or a sensor they mean nothing."""
    alerts = AlertStore(store)
    aid, _ = alerts.raise_alert(kind, None, "x", now_ms=T0, dedup_key=f"{kind}:1")
    for action in ("ignore", "raise", "unignore"):
        with pytest.raises(AlertError, match=f"is a {kind} alert; {action} does not fit it .it takes resolve."):
            alerts.act(aid, action, "ravi", now_ms=T0 + 1)
    assert alerts.get(aid)["state"] == "open" and alerts.get(aid)["actions"] == []
    assert alerts.act(aid, "resolve", "ravi", now_ms=T0 + 2)["state"] == "resolved"


def test_bad_input_is_refused_and_nothing_stored(store):
    alerts = AlertStore(store)
    with pytest.raises(AlertError, match="unknown alert kind 'fire'; known kinds: .*theft"):
        alerts.raise_alert("fire", None, "smoke", now_ms=T0)
    with pytest.raises(AlertError, match="severity 'urgent'"):
        alerts.raise_alert("theft", "urgent", "x", now_ms=T0)
    with pytest.raises(AlertError, match="needs a message"):
        alerts.raise_alert("theft", None, "", now_ms=T0)
    assert alerts.list() == []
    aid, _ = alerts.raise_alert("theft", None, "x", now_ms=T0)
    with pytest.raises(AlertError, match="action 'delete'"):
        alerts.act(aid, "delete", "ravi", now_ms=T0)
    with pytest.raises(AlertError, match="who is acting"):
        alerts.act(aid, "resolve", " ", now_ms=T0)
    with pytest.raises(AlertError, match="no alert #999"):
        alerts.act(999, "resolve", "ravi", now_ms=T0)
    with pytest.raises(AlertError, match="state 'closed'"):
        alerts.list(state="closed")


def test_list_filters(store):
    alerts = AlertStore(store)
    alerts.raise_alert("theft", None, "a", now_ms=T0, node_id="main")
    b, _ = alerts.raise_alert("node_offline", None, "b", now_ms=T0 + 100, node_id="pump")
    alerts.raise_alert("sensor_fault", "critical", "c", now_ms=T0 + 200, node_id="pump")
    alerts.act(b, "resolve", "ravi", now_ms=T0 + 300)
    assert [a["message"] for a in alerts.list()] == ["c", "b", "a"]
    assert [a["message"] for a in alerts.list(state="open")] == ["c", "a"]
    assert [a["message"] for a in alerts.list(state=("open", "resolved"), node_id="pump")] == ["c", "b"]
    assert [a["message"] for a in alerts.list(kind="theft")] == ["a"]
    assert [a["message"] for a in alerts.list(since_ms=T0 + 150)] == ["c"]
    assert [a["message"] for a in alerts.list(limit=1)] == ["c"]
    assert alerts.list(state="open")[0]["severity"] == "critical"
    assert alerts.counts() == {"open": 2, "ignored": 0, "raised": 0, "resolved": 1}


def test_listeners_run_in_the_same_transaction(store):
    seen = []

    def outbox(conn, alert, event):
        assert conn.in_transaction
        conn.execute("CREATE TABLE IF NOT EXISTS test_outbox (alert_id INTEGER, event TEXT)")
        conn.execute("INSERT INTO test_outbox VALUES (?, ?)", (alert["id"], event))
        seen.append((alert["kind"], alert["state"], event))

    alerts = AlertStore(store, listeners=[outbox])
    aid, _ = alerts.raise_alert("theft", None, "x", now_ms=T0, dedup_key="t")
    alerts.raise_alert("theft", None, "x again", now_ms=T0 + 1, dedup_key="t")
    alerts.act(aid, "resolve", "ravi", now_ms=T0 + 2)
    assert seen == [("theft", "open", "created"), ("theft", "open", "repeated"), ("theft", "resolved", "resolve")]
    assert store.conn.execute("SELECT count(*) FROM test_outbox").fetchone()[0] == 3


def test_a_failing_listener_rolls_the_alert_back(store):
    def broken(conn, alert, event):
        raise RuntimeError("outbox full")

    alerts = AlertStore(store, listeners=[broken])
    with pytest.raises(RuntimeError):
        alerts.raise_alert("theft", None, "x", now_ms=T0)
    assert AlertStore(store).list() == []
    assert not store.conn.in_transaction


def test_joins_a_callers_transaction_and_takes_a_bare_connection(tmp_path):
    open_store(tmp_path / "gw.db").close()
    conn = sqlite3.connect(tmp_path / "gw.db", isolation_level=None)
    alerts = AlertStore(conn)
    conn.execute("BEGIN IMMEDIATE")
    alerts.raise_alert("sync_failing", None, "nothing sent for 6 h", now_ms=T0, dedup_key="sync")
    conn.execute("ROLLBACK")  # the caller's rollback takes the alert with it
    assert alerts.list() == []
    alerts.raise_alert("sync_failing", None, "nothing sent for 6 h", now_ms=T0, dedup_key="sync")
    assert len(alerts.list()) == 1


def test_alerts_survive_reopen(tmp_path):
    s = open_store(tmp_path / "gw.db")
    AlertStore(s).raise_alert("meter_mismatch", None, "meter 412 kWh, sensors 371 kWh (10.0%)", now_ms=T0)
    s.close()
    s = open_store(tmp_path / "gw.db")
    assert AlertStore(s).list()[0]["message"].startswith("meter 412")
    s.close()


def test_a_theft_alert_keeps_the_text_it_was_raised_with_and_a_repeat_goes_under_latest(store):
    """A later run of the theft job, once the usual load has taken the tap in, reads "+2 W"; the
    household answers the alert they read, so its message and numbers stay the first ones."""
    alerts = AlertStore(store)
    first, _ = alerts.raise_alert(
        "theft",
        None,
        "+298 W from 01:00 to 04:00 on 3 of the last 4 nights; usual 244 W",
        now_ms=T0,
        dedup_key="theft:01-04",
        data={"excess_w": 298.0, "window_starts_s": [1.0, 2.0]},
    )
    for i in (1, 2):
        again, created = alerts.raise_alert(
            "theft",
            None,
            f"+{3 - i} W from 01:00 to 04:00 on 1 of the last 4 nights; usual 542 W",
            now_ms=T0 + i * 3_600_000,
            dedup_key="theft:01-04",
            data={"excess_w": float(3 - i), "window_starts_s": [3.0]},
        )
        assert again == first and not created
    a = alerts.get(first)
    assert a["message"].startswith("+298 W from 01:00 to 04:00") and a["repeat_count"] == 3
    assert a["data"]["excess_w"] == 298.0 and a["data"]["window_starts_s"] == [1.0, 2.0]
    assert a["data"]["latest"] == {
        "excess_w": 1.0,
        "window_starts_s": [3.0],
        "message": "+1 W from 01:00 to 04:00 on 1 of the last 4 nights; usual 542 W",
        "seen_ms": T0 + 2 * 3_600_000,
    }
    assert a["last_seen_ms"] == T0 + 2 * 3_600_000


def test_every_kind_says_how_it_dedups_and_repeats():
    assert all(k.dedup in ("open", "ever") and k.repeat in ("latest", "first") for k in KINDS.values())
