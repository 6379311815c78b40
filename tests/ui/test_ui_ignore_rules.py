"""What the gateway is ignoring, over HTTP: the theft Ignore rules in words in GET /api/v1/model, and
Stop ignoring (POST /api/v1/alerts/<id>/unignore), against a real dashboard on 127.0.0.1 with a real
SQLite file holding the rows the daemon's theft job saves."""

from __future__ import annotations

import http.client
import json
import re

import pytest

from edge_model import store_job
from edge_model.feedback_store import FeedbackTables
from edge_model.ignore_rules import SuppressionRule
from edge_model.rule_text import describe
from gateway.alerts import AlertStore
from gateway.app import open_store
from local_ui import create_app, serve_in_thread
from tests.support.dashboard import ADMIN_PASSWORD, NOW_MS, FixedClock, raise_alerts
from tests.support.fresh_interpreter import loaded_after
from tests.support.theft_store import first_alert, job_context

NOW_S = NOW_MS / 1000


def rule(**fields) -> SuppressionRule:
    base = dict(
        first_hour=22,
        last_hour=6,
        weekdays=frozenset(range(7)),
        max_power_w=1_050.0,
        expires_s=NOW_S + 30 * 86_400,
        excess_cap_w=900.0,
        usual_w=(150.0,) * 24,
        start_s=NOW_S - 10 * 86_400,
        renew_days=90.0,
        hours=(22, 23, 0, 1, 2, 3, 4, 5),
    )
    return SuppressionRule(**(base | fields))


NIGHTS = rule()
WEEKEND = rule(first_hour=13, last_hour=17, weekdays=frozenset((5, 6)), excess_cap_w=400.0, renew_days=0.0, hours=())
EXPIRED = rule(expires_s=NOW_S - 3_600)


@pytest.fixture
def site(tmp_path, seeded):
    """A dashboard on loopback; its database has a theft alert Ignored and the rules the job made of Ignores."""
    db = seeded(tmp_path / "powergw.db")
    theft, offline, _ = raise_alerts(db)
    store = open_store(db)
    AlertStore(store).act(theft, "ignore", "admin", "our new AC", now_ms=NOW_MS - 7_200_000)
    save_rules(
        store, [(theft, NIGHTS), (None, WEEKEND), (offline, EXPIRED)]
    )  # None: a rule from before rules knew their alert
    store.close()
    app = create_app(db, clock=FixedClock(), admin_password=ADMIN_PASSWORD, registry_root=tmp_path / "models")
    tokens = {role: token(app, role) for role in ("admin", "viewer")}
    server = serve_in_thread(app, "127.0.0.1", 0)
    yield {"server": server, "db": db, "theft": theft, "offline": offline, **tokens}
    server.stop()


def save_rules(store, rules) -> None:
    """As the daemon's theft job saves the Ignores it took in."""
    for alert_id, r in rules:
        FeedbackTables(store).save_rule(alert_id, r.to_dict())


def token(app, role: str) -> str:
    c = app.test_client()
    csrf = c.get("/api/v1/session").get_json()["csrf"]
    csrf = c.post(
        "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}, headers={"X-CSRF-Token": csrf}
    ).get_json()["csrf"]
    return c.post("/api/v1/tokens", json={"name": role, "role": role}, headers={"X-CSRF-Token": csrf}).get_json()[
        "token"
    ]


def call(site, method: str, path: str, body: dict | None = None, role: str = "admin") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", site["server"].port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {site[role]}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        conn.request(method, "/api/v1" + path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_the_model_lists_the_rules_in_force_in_words_with_their_alert(site):
    status, model = call(site, "GET", "/model", role="viewer")
    assert status == 200
    assert model["ignore_rules"] == [
        {
            "alert_id": site["theft"],
            "text": "up to +900 W over usual from 22:00 to 06:00, every day, until 2026-04-14 "
            "(renewed for 90 days each time it shows)",
            "expires_ms": int(NIGHTS.expires_s * 1000),
            "renewing": True,
            "alert_state": "ignored",
        },
        {
            "alert_id": None,
            "text": "up to +400 W over usual from 13:00 to 17:00, Sat, Sun, until 2026-04-14",
            "expires_ms": int(WEEKEND.expires_s * 1000),
            "renewing": False,
            "alert_state": None,
        },
    ]  # the expired rule is left out
    assert [r["text"] for r in model["ignore_rules"]] == [
        NIGHTS.describe(),
        WEEKEND.describe(),
    ]  # one wording, the daemon's
    status, overview = call(site, "GET", "/overview")
    assert status == 200 and overview["model"]["ignore_rules"] == model["ignore_rules"]  # the theft card's data


def test_unreadable_rows_are_left_out_and_the_others_shown(site):
    """Rows the database accepts but that are no rule (a weekday 9, a usual load in words): the
    daemon scores without them, the dashboard leaves them out and shows the others."""
    store = open_store(site["db"])
    store.conn.execute("UPDATE theft_rules SET weekdays = '[9]' WHERE alert_id = ?", (site["theft"],))
    offline = FeedbackTables(store).save_rule(site["offline"], NIGHTS.to_dict())
    store.conn.execute("UPDATE theft_rules SET usual_w = json_set(usual_w, '$[0]', 'usual') WHERE id = ?", (offline,))
    store.close()
    assert [r["text"] for r in call(site, "GET", "/model")[1]["ignore_rules"]] == [WEEKEND.describe()]


def test_a_database_without_the_theft_tables_lists_no_rules(site):
    store = open_store(site["db"])
    store.conn.execute("DROP TABLE theft_rules")  # as in a database the theft tables were never added to
    store.close()
    status, model = call(site, "GET", "/model")
    assert status == 200 and model["ignore_rules"] == []


def test_stop_ignoring_reopens_the_alert_and_the_rule_shows_it_is_being_taken_back(site):
    theft = site["theft"]
    assert call(site, "POST", f"/alerts/{theft}/unignore", {}, role="viewer")[0] == 403
    status, alert = call(site, "POST", f"/alerts/{theft}/unignore", {"comment": "pressed Ignore by mistake"})
    assert status == 200 and alert["state"] == "open" and alert["acted_by"] == "admin"
    assert [(h["action"], h["from_state"], h["to_state"], h["comment"]) for h in alert["actions"]] == [
        ("ignore", "open", "ignored", "our new AC"),
        ("unignore", "ignored", "open", "pressed Ignore by mistake"),
    ]
    # The rule stays until the daemon's next hourly theft check takes it back; the list says whose alert is open again.
    assert [(r["alert_id"], r["alert_state"]) for r in call(site, "GET", "/model")[1]["ignore_rules"]] == [
        (theft, "open"),
        (None, None),
    ]
    status, body = call(site, "POST", f"/alerts/{theft}/unignore", {})
    assert status == 409 and "is open; unignore needs it to be ignored or resolved" in body["error"]["message"]
    status, body = call(site, "POST", f"/alerts/{site['offline']}/unignore", {})
    assert status == 409  # never ignored
    status, listing = call(site, "GET", "/alerts")
    assert listing["actions"]["unignore"] == [
        "ignored",
        "resolved",
    ]  # resolved: only if its last answer was Ignore (checked on acting)
    assert "/api/v1/alerts/{alert_id}/unignore" in call(site, "GET", "/openapi.json")[1]["paths"]


def test_the_dashboard_words_saved_rules_without_numpy(tmp_path):
    db, models = tmp_path / "powergw.db", tmp_path / "models"
    store = open_store(db)
    save_rules(store, [(3, NIGHTS)])
    store.close()
    modules = loaded_after(f"""
        from gateway.app import open_store
        from local_ui.services import model_status
        status = model_status(open_store({str(db)!r}), {NOW_MS},
                              registry_root=__import__('pathlib').Path({str(models)!r}))
        assert [r["text"] for r in status["ignore_rules"]] == [{NIGHTS.describe()!r}], status
    """)
    assert sorted(modules & {"numpy", "onnxruntime", "sklearn"}) == []


def test_a_rule_is_in_force_until_the_households_date_not_utcs():
    import datetime as dt

    expires = dt.datetime(2026, 4, 14, 20, 0, tzinfo=dt.UTC).timestamp()  # 01:30 on the 15th in India
    row = {**NIGHTS.to_dict(), "expires_s": expires}
    assert "until 2026-04-14 " in describe(row)
    assert "until 2026-04-15 " in describe(row, "Asia/Kolkata")
    with pytest.raises(ValueError, match="not an Ignore rule"):
        describe(row, "Not/AZone")


def test_the_rule_the_theft_job_made_of_an_ignore_is_listed_in_its_words(tmp_path, tapped):
    """End to end: the daemon's theft job alerts on a +300 W night tap, the household Ignores it, the
    job's next run saves the rule, and the dashboard lists that row, worded in the household's zone."""
    series, store = tapped
    alert, now_ms = first_alert(store, tmp_path, series)
    AlertStore(store).act(alert["id"], "ignore", "admin", "our pump", now_ms=now_ms)
    store_job.score_job(job_context(store, tmp_path, now_ms))
    (saved,) = FeedbackTables(store).rules()
    app = create_app(
        tmp_path / "powergw.db",
        clock=FixedClock(now_ms),
        admin_password=ADMIN_PASSWORD,
        registry_root=tmp_path / "models",
    )
    server = serve_in_thread(app, "127.0.0.1", 0)
    try:
        site = {"server": server, "viewer": token(app, "viewer")}
        status, model = call(site, "GET", "/model", role="viewer")
    finally:
        server.stop()
    assert status == 200
    (listed,) = model["ignore_rules"]
    assert listed["alert_id"] == alert["id"] and listed["alert_state"] == "ignored" and listed["renewing"] is True
    assert listed["text"] == describe(saved.fields, "Asia/Kolkata")
    assert re.fullmatch(
        r"up to \+\d+ W over usual from 23:00 to 06:00, every day, until \d{4}-\d\d-\d\d "
        r"\(renewed for 90 days each time it shows\)",
        listed["text"],
    ), listed["text"]
    assert model["last_status"].startswith("watching: ") and model["learning"] is False
