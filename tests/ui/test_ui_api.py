"""The dashboard's JSON API through Flask's test client, on a real SQLite file: every endpoint,
unauthenticated, with the wrong role, without CSRF, and with malformed or out-of-range input.
The fixtures (ui_db, clock, app, admin, viewer) are conftest.py's."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
from decimal import Decimal

import pytest

from local_ui import create_app
from local_ui.api import ENDPOINTS
from local_ui.auth import Accounts
from tests.support.dashboard import (
    ADMIN_PASSWORD,
    KITCHEN,
    MAINS,
    NOW_MS,
    csrf_of,
    error,
    login,
    raise_alerts,
    write,
)
from tests.support.hand_tariff import household_app, slab_bill


def concrete(path: str) -> str:
    return "/api/v1" + re.sub(r"<id:\w+>", "1", path)


# ---- access control over the whole endpoint table -------------------------------------------------


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.role is not None], ids=lambda e: f"{e.method} {e.path}")
def test_every_protected_endpoint_refuses_anonymous(app, ep):
    client = app.test_client()
    resp = client.open(concrete(ep.path), method=ep.method, json={}, headers={"X-CSRF-Token": csrf_of(client)})
    assert resp.status_code == 401
    assert "log in" in error(resp)


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.role == "admin"], ids=lambda e: f"{e.method} {e.path}")
def test_every_admin_endpoint_refuses_a_viewer(viewer, ep):
    resp = write(viewer, ep.method, concrete(ep.path)) if ep.method != "GET" else viewer.get(concrete(ep.path))
    assert resp.status_code == 403
    assert "needs the admin role" in error(resp)


@pytest.mark.parametrize(
    "ep", [e for e in ENDPOINTS if e.method != "GET" and e.role is not None], ids=lambda e: f"{e.method} {e.path}"
)
def test_every_write_needs_the_csrf_token(admin, ep):
    for token in (None, "wrong-token"):
        headers = {} if token is None else {"X-CSRF-Token": token}
        resp = admin.open(concrete(ep.path), method=ep.method, json={}, headers=headers)
        assert resp.status_code == 403, (ep.path, token)
        assert "CSRF" in error(resp)


@pytest.mark.parametrize("path", ["/api/v1/session", "/api/v1/setup"])
def test_login_and_setup_need_the_login_csrf_cookie(app, path):
    client = app.test_client()
    resp = client.post(path, json={"username": "admin", "password": ADMIN_PASSWORD, "code": "X"})
    assert resp.status_code == 403 and "CSRF" in error(resp)


def test_cross_origin_write_is_refused_even_with_the_token(admin):
    resp = write(admin, "PUT", "/api/v1/budget", {"amount": "100"}, Origin="http://evil.example")
    assert resp.status_code == 403 and "cross-origin" in error(resp)


def test_openapi_lists_every_endpoint_and_is_public(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    for ep in ENDPOINTS:
        path = "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.path)
        assert ep.method.lower() in doc["paths"][path], path
    assert "/healthz" in doc["paths"]
    usage = doc["paths"]["/api/v1/usage"]["get"]
    assert {p["name"] for p in usage["parameters"]} >= {"period", "date", "resolution", "node", "compare", "format"}
    for kind, params in (
        ("readings", {"from", "to", "node"}),
        ("daily", {"from", "to", "node"}),
        ("bills", {"from", "to"}),
        ("payments", {"from", "to"}),
    ):
        export = doc["paths"][f"/api/v1/export/{kind}.csv"]["get"]
        assert {p["name"] for p in export["parameters"]} == params and list(export["responses"]["200"]["content"]) == [
            "text/csv"
        ]
        assert export["x-role"] == "viewer" and f"powergw export {kind}" in export["summary"]


def test_unknown_api_path_is_json_404(admin):
    resp = admin.get("/api/v1/nope")
    assert resp.status_code == 404 and "openapi" in error(resp)


def test_healthz_is_public(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


# ---- login, sessions, setup -------------------------------------------------------------------------


def test_session_cookie_is_httponly_strict_and_secure_only_under_https(app):
    client = app.test_client()
    csrf = csrf_of(client)
    resp = client.post(
        "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("pgw_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    secure = app.test_client()
    csrf = secure.get("/api/v1/session", base_url=f"https://{socket.gethostname()}.local").get_json()["csrf"]
    resp = secure.post(
        "/api/v1/session",
        base_url=f"https://{socket.gethostname()}.local",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-CSRF-Token": csrf, "Origin": f"https://{socket.gethostname()}.local"},
    )
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("pgw_session="))
    assert "Secure" in cookie


def test_logout_ends_the_session_on_the_server(admin):
    assert admin.get("/api/v1/overview").status_code == 200
    cookie = admin.get_cookie("pgw_session").value
    assert write(admin, "DELETE", "/api/v1/session").status_code == 200
    admin.set_cookie("pgw_session", cookie)  # a stolen copy of the cookie is dead too
    assert admin.get("/api/v1/overview").status_code == 401


def test_wrong_password_then_rate_limit_then_window_passes(app, clock):
    client = app.test_client()
    csrf = csrf_of(client)
    for _ in range(5):
        r = client.post(
            "/api/v1/session", json={"username": "admin", "password": "guess-guess"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 401 and error(r) == "wrong username or password"
    r = client.post(
        "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    clock.advance(15 * 60_000 + 1000)
    r = client.post(
        "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"username": "admin"}, 400, "'password' is required"),
        ({"username": "admin", "password": 5}, 400, "expected a string"),
        ({"username": "admin", "password": "x", "extra": 1}, 400, "unknown field 'extra'"),
        ({"username": "a" * 40, "password": "x"}, 400, "longer than 32"),
    ],
)
def test_login_input_errors(app, body, status, words):
    client = app.test_client()
    r = client.post("/api/v1/session", json=body, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == status and words in error(r)


def test_login_body_must_be_json(app):
    client = app.test_client()
    r = client.post(
        "/api/v1/session",
        data="username=admin",
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert r.status_code == 415


def test_no_default_password_setup_code_flow(tmp_path, clock, monkeypatch, caplog):
    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    app = create_app(tmp_path / "fresh.db", clock=clock)
    code = app.extensions["powergw"].setup_code
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert code in caplog.text
    client = app.test_client()
    info = client.get("/api/v1/session").get_json()
    assert info["setup_required"] is True and info["authenticated"] is False
    for password in ("admin", "password", "powergw", ""):
        r = client.post(
            "/api/v1/session",
            json={"username": "admin", "password": password or "x"},
            headers={"X-CSRF-Token": info["csrf"]},
        )
        assert r.status_code == 401
    r = client.post(
        "/api/v1/setup",
        json={"code": "AAAA-BBBB", "username": "owner", "password": "long-enough-1"},
        headers={"X-CSRF-Token": info["csrf"]},
    )
    assert r.status_code == 403 and "setup code" in error(r)
    r = client.post(
        "/api/v1/setup",
        json={"code": code.lower(), "username": "owner", "password": "short"},
        headers={"X-CSRF-Token": info["csrf"]},
    )
    assert r.status_code == 400 and "password" in error(r)
    r = client.post(
        "/api/v1/setup",
        json={"code": code.lower(), "username": "owner", "password": "long-enough-1"},
        headers={"X-CSRF-Token": info["csrf"]},
    )
    assert r.status_code == 201 and r.get_json()["role"] == "admin"
    assert client.get("/api/v1/overview").status_code == 200
    other = app.test_client()
    r = other.post(
        "/api/v1/setup",
        json={"code": code, "username": "mallory", "password": "long-enough-2"},
        headers={"X-CSRF-Token": csrf_of(other)},
    )
    assert r.status_code == 409
    # A restart with an admin present prints no new code.
    assert create_app(tmp_path / "fresh.db", clock=clock).extensions["powergw"].setup_code is None


def test_env_password_follows_the_env_until_changed_in_the_dashboard(tmp_path, clock, monkeypatch):
    db = tmp_path / "env.db"
    monkeypatch.setenv("POWERGW_ADMIN_PASSWORD", "first-demo-pass")
    app = create_app(db, clock=clock)
    assert app.extensions["powergw"].setup_code is None
    c = app.test_client()
    login(c, password="first-demo-pass")
    monkeypatch.setenv("POWERGW_ADMIN_PASSWORD", "second-demo-pass")  # `powergw demo` prints a new one each run
    app = create_app(db, clock=clock)
    c = app.test_client()
    login(c, password="second-demo-pass")
    c.csrf = login(c, password="second-demo-pass")
    r = write(
        c, "PUT", "/api/v1/me/password", {"current_password": "second-demo-pass", "new_password": "my-own-choice"}
    )
    assert r.status_code == 200
    monkeypatch.setenv("POWERGW_ADMIN_PASSWORD", "third-demo-pass")
    app = create_app(db, clock=clock)
    login(app.test_client(), password="my-own-choice")


def test_password_hashes_are_argon2id(app, ui_db):
    from gateway.app import open_store

    store = open_store(ui_db)
    (stored,) = store.conn.execute("SELECT password_hash FROM ui_users WHERE username = 'admin'").fetchone()
    assert stored.startswith("$argon2id$") and ADMIN_PASSWORD not in stored
    sessions = store.conn.execute("SELECT count(*) FROM ui_sessions").fetchone()[0]
    assert sessions == 0


def test_password_change_needs_the_current_one_and_ends_other_sessions(app, admin):
    other = app.test_client()
    login(other)
    r = write(admin, "PUT", "/api/v1/me/password", {"current_password": "nope-nope", "new_password": "new-password-1"})
    assert r.status_code == 403
    r = write(
        admin, "PUT", "/api/v1/me/password", {"current_password": ADMIN_PASSWORD, "new_password": "new-password-1"}
    )
    assert r.status_code == 200
    admin.csrf = r.get_json()["csrf"]
    assert admin.get("/api/v1/overview").status_code == 200
    assert other.get("/api/v1/overview").status_code == 401


# ---- users and tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"username": "Amma!", "password": "long-enough"}, 400, "username"),
        ({"username": "amma", "password": "short"}, 400, "password"),
        ({"username": "amma", "password": "long-enough", "role": "root"}, 400, "role"),
        ({"username": "admin", "password": "long-enough"}, 409, "taken"),
    ],
)
def test_user_creation_errors(admin, body, status, words):
    r = write(admin, "POST", "/api/v1/users", body)
    assert r.status_code == status and words in error(r)


def test_users_cannot_remove_the_last_admin_or_themselves(admin):
    me = next(u for u in admin.get("/api/v1/users").get_json()["users"] if u["username"] == "admin")
    r = write(admin, "DELETE", f"/api/v1/users/{me['id']}")
    assert r.status_code == 409
    assert write(admin, "DELETE", "/api/v1/users/999").status_code == 404


def test_api_tokens(app, admin):
    r = write(admin, "POST", "/api/v1/tokens", {"name": "grafana", "role": "viewer"})
    assert r.status_code == 201
    token = r.get_json()["token"]
    assert token.startswith("pgw_")
    bot = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert bot.get("/api/v1/overview", headers=auth).status_code == 200
    # A viewer token cannot act, and no token may manage users or tokens.
    r = bot.put("/api/v1/budget", json={"amount": "10"}, headers=auth)
    assert r.status_code == 403
    r = write(admin, "POST", "/api/v1/tokens", {"name": "script", "role": "admin"})
    admin_token = r.get_json()["token"]
    r = bot.get("/api/v1/users", headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 403 and "API tokens cannot manage" in error(r)
    listed = admin.get("/api/v1/tokens").get_json()["tokens"]
    assert {t["name"] for t in listed} == {"grafana", "script"} and all("token" not in t for t in listed)
    assert listed[0]["last_used_ms"] == NOW_MS
    r = write(admin, "DELETE", f"/api/v1/tokens/{listed[0]['id']}")
    assert r.status_code == 200
    r = bot.get("/api/v1/overview", headers=auth)
    assert r.status_code == 401 and "not recognised" in error(r)
    assert write(admin, "POST", "/api/v1/tokens", {"name": ""}).status_code == 400


def test_admin_token_writes_without_csrf(app, admin, ui_db):
    ids = raise_alerts(ui_db)
    token = write(admin, "POST", "/api/v1/tokens", {"name": "bot", "role": "admin"}).get_json()["token"]
    r = app.test_client().post(
        f"/api/v1/alerts/{ids[2]}/resolve", json={"comment": "scripted"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.get_json()["state"] == "resolved" and r.get_json()["acted_by"] == "admin"


# ---- nodes, live, overview --------------------------------------------------------------------------


def test_nodes_with_health(admin, clock):
    nodes = admin.get("/api/v1/nodes").get_json()["nodes"]
    by_id = {n["node_id"]: n for n in nodes}
    k = by_id[KITCHEN]
    assert k["name"] == "kitchen" and k["online"] is True and k["fw"] == "1.2.0"
    assert k["mv_per_a"] == 66.0 and k["calibrated"] is True
    assert k["loss_pct"] == pytest.approx(100 * 5 / 1005, abs=1e-3)
    clock.advance(10 * 60_000)
    assert all(not n["online"] for n in admin.get("/api/v1/nodes").get_json()["nodes"])


def test_live_snapshot_prefers_live_json_and_falls_back_to_the_store(admin, tmp_path):
    snap = admin.get("/api/v1/live/snapshot").get_json()
    assert snap["source"] == "database"
    live = tmp_path / "run" / "live.json"
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(
        json.dumps(
            {
                "ts_ms": NOW_MS,
                "nodes": {
                    KITCHEN: {
                        "name": "kitchen",
                        "power_w": 980.5,
                        "irms_a": 4.35,
                        "vrms_v": 230.0,
                        "ts_ms": NOW_MS,
                        "flags": 0,
                    }
                },
            }
        )
    )
    snap = admin.get("/api/v1/live/snapshot").get_json()
    assert snap["source"] == "live" and snap["nodes"][KITCHEN]["power_w"] == 980.5
    over = admin.get("/api/v1/overview").get_json()
    kitchen = next(n for n in over["nodes"] if n["node_id"] == KITCHEN)
    assert kitchen["power_w"] == 980.5
    live.write_text("{not json")  # never happens with atomic replace, but must not break the page
    assert admin.get("/api/v1/live/snapshot").get_json()["source"] == "database"


def test_node_counters_come_from_the_daemons_live_json_between_its_saves(admin, tmp_path):
    """The daemon saves node health every 5 minutes; its live.json (the real LiveBoard) has it within a second."""
    from gateway.batch import NodeState
    from gateway.energy import NodeAccount
    from gateway.ingest import LiveBoard
    from gateway.protocol import Reading

    before = next(n for n in admin.get("/api/v1/nodes").get_json()["nodes"] if n["node_id"] == KITCHEN)
    board = LiveBoard(tmp_path / "run" / "live.json")
    state = NodeState(
        node_key=1,
        account=NodeAccount(KITCHEN),
        frames_ok=before["frames_ok"] + 12,
        frames_lost=7,
        reboots=1,
        rejected={"backwards": 2},
        last_seen_ms=NOW_MS,
    )
    board.update(KITCHEN, Reading(KITCHEN, 1, 9, 9000, 1000, 4350, 2300, 9805, 123_000, 0), NOW_MS, "kitchen", state)
    board.maybe_write(NOW_MS, force=True)
    now = next(n for n in admin.get("/api/v1/nodes").get_json()["nodes"] if n["node_id"] == KITCHEN)
    assert (now["frames_ok"], now["frames_lost"], now["reboots"], now["rejected"]) == (
        before["frames_ok"] + 12,
        7,
        1,
        {"backwards": 2},
    )
    assert now["power_w"] == 980.5 and now["last_seen_ms"] == NOW_MS and now["online"]
    mains = next(n for n in admin.get("/api/v1/nodes").get_json()["nodes"] if n["node_id"] == MAINS)
    assert mains["frames_ok"] == 1000  # not in live.json: the store's


def test_overview_reports_today_and_each_part(admin, ui_db):
    over = admin.get("/api/v1/overview").get_json()
    # Seeded 1400 W in whole UTC hours up to 06:00 UTC (11:30 IST): 11.5 h since local midnight.
    assert over["today_kwh"] == pytest.approx(11.5 * 1.4)
    # tn-domestic, cycle from 1 March: 470.40 units before today, 486.50 now, all in its ₹6.30 slab.
    assert over["today_cost"] == "101.43"
    assert over["timezone"] == "Asia/Kolkata"
    assert over["alerts"] == {"open": 0, "ignored": 0, "raised": 0, "resolved": 0}
    assert over["model"]["learning"] is False and over["model"]["history_days"] >= 7
    assert "bill" in over


@pytest.mark.parametrize(
    "metered, watts, before, till_now, today_cost",
    [
        # Every node: 1920 W. Cycle from 11 March: 4 days before today = 184.32 units; today till 12:00
        # IST (data up to 11:30) 11.5 h = 22.08 more, 206.40: today's units cross the 200-unit slab.
        # (300 + 450 + 6.40 × 6 = 788.40, duty 39.42) − (300 + 84.32 × 4.50 = 679.44, duty 33.97) = 114.41
        ([], 1920.0, "184.32", "206.40", "114.41"),
        # Only the mains (1500 W): 144.00 units before today, 161.25 now, both in the ₹4.50 slab:
        # (300 + 275.63 = 575.63, duty 28.78) − (300 + 198.00 = 498.00, duty 24.90) = 81.51
        ([MAINS], 1500.0, "144.00", "161.25", "81.51"),
    ],
)
def test_overview_today_cost_is_what_today_adds_to_the_slab_bill(
    tmp_path, clock, seeded, metered, watts, before, till_now, today_cost
):
    client = household_app(tmp_path, clock, seeded, metered)
    over = client.get("/api/v1/overview").get_json()
    assert over["today_cost"] == today_cost
    assert Decimal(today_cost) == slab_bill(till_now) - slab_bill(before)  # the by-hand bill agrees
    assert over["today_kwh"] == pytest.approx(float(Decimal(till_now) - Decimal(before)))
    # The same cycle and tariff as the Bill page: its bill till date is the by-hand bill of the cycle's units.
    assert over["bill"]["units_till_date"] == till_now and over["bill"]["bill_till_date"] == str(slab_bill(till_now))
    # The household's live watts are the metered nodes'; every node is still listed with its own.
    assert over["power_w"] == watts
    by_id = {n["node_id"]: n for n in over["nodes"]}
    assert by_id[KITCHEN]["power_w"] == 420.0 and by_id[MAINS]["power_w"] == 1500.0
    assert by_id[KITCHEN]["metered"] is (not metered) and by_id[MAINS]["metered"] is True


def test_overview_names_the_billing_keys_left_at_defaults_while_mains_and_sub_circuit_are_summed(
    tmp_path, clock, seeded
):
    client = household_app(tmp_path, clock, seeded, [], meter_reading_date=None)
    date, nodes = client.get("/api/v1/overview").get_json()["setup"]
    assert date["key"] == "billing.meter_reading_date" and "still the default (2024-01-01)" in date["message"]
    assert "Settings page" in date["action"]
    assert (
        nodes["key"] == "billing.metered_nodes"
        and f"{KITCHEN} (kitchen)" in nodes["message"]
        and f"{MAINS} (mains)" in nodes["message"]
    )
    assert (
        "counted twice, in the bill and in the theft check" in nodes["message"]
        and "metered_nodes = [" in nodes["action"]
    )
    # The date set on the Settings page is set: only the mains list is left to do.
    r = client.patch(
        "/api/v1/settings",
        json={"set": {"billing.meter_reading_date": "2026-01-11"}},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert r.status_code == 200, r.get_json()
    assert [g["key"] for g in client.get("/api/v1/overview").get_json()["setup"]] == ["billing.metered_nodes"]
    (tmp_path / "listed").mkdir()
    assert household_app(tmp_path / "listed", clock, seeded, [MAINS]).get("/api/v1/overview").get_json()["setup"] == []


def test_overview_with_a_metered_node_that_never_reported(tmp_path, clock, seeded):
    client = household_app(tmp_path, clock, seeded, ["ff:ff:ff:ff:ff:ff"])
    r = client.get("/api/v1/overview")
    assert r.status_code == 200
    over = r.get_json()
    assert over["today_kwh"] is None and over["today_cost"] is None and over["power_w"] is None
    assert "metered_nodes" in over["bill"]["unavailable"] and "ff:ff:ff:ff:ff:ff" in over["bill"]["unavailable"]
    assert [n["power_w"] for n in over["nodes"]] == [420.0, 1500.0]  # each node still shows
    r = client.get("/api/v1/bill")
    assert r.status_code == 503 and error(r) == (
        "billing cannot count the household's units: [billing] metered_nodes lists 'ff:ff:ff:ff:ff:ff', "
        "but no node with "
        f"that id has reported; known nodes: '{KITCHEN}', '{MAINS}'"
    )
    # A meter reading cannot be compared with the sensors either: refused as unavailable, nothing recorded.
    r = client.post(
        "/api/v1/meter-readings",
        json={"billed_units": "300", "from": "2026-02-11", "to": "2026-03-11"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert r.status_code == 503 and "'ff:ff:ff:ff:ff:ff'" in error(r)
    assert client.get("/api/v1/meter-readings").get_json()["readings"] == []


def test_live_stream_limit(app, admin):
    ctx = app.extensions["powergw"]
    ctx.streams = ctx.max_streams
    r = admin.get("/api/v1/live")
    assert r.status_code == 503 and r.headers["Retry-After"]
    ctx.streams = 0


@pytest.mark.parametrize("query", ["seconds=0", "seconds=abc", "seconds=99999", "foo=1"])
def test_live_stream_bad_input(admin, query):
    assert admin.get(f"/api/v1/live?{query}").status_code == 400


# ---- usage --------------------------------------------------------------------------------------------


def test_usage_day_by_hour_in_local_time(admin):
    data = admin.get("/api/v1/usage?period=day&date=2026-03-14").get_json()
    assert data["resolution"] == "hour" and data["first_day"] == "2026-03-14"
    assert data["start_ms"] == 1773426600000  # 2026-03-14 00:00 IST
    assert [s["name"] for s in data["series"]] == ["kitchen", "mains"]
    kitchen = data["series"][0]["points"]
    assert len(kitchen) == 24 and all(v == pytest.approx(0.4) for _, v in kitchen)
    assert data["total_kwh"] == pytest.approx(24 * 1.4)


def test_usage_periods_and_compare(admin):
    week = admin.get("/api/v1/usage?period=week&date=2026-03-11&resolution=day&compare=true").get_json()
    assert (week["first_day"], week["last_day"]) == ("2026-03-09", "2026-03-15")
    assert week["previous"]["first_day"] == "2026-03-02"
    assert week["previous"]["total_kwh"] == pytest.approx(7 * 24 * 1.4)
    month = admin.get("/api/v1/usage?period=month&date=2026-02-10").get_json()
    assert month["resolution"] == "day" and month["last_day"] == "2026-02-28"
    year = admin.get("/api/v1/usage?period=year&date=2026-03-01&node=" + MAINS).get_json()
    assert year["resolution"] == "month" and [s["node_id"] for s in year["series"]] == [MAINS]
    pts = year["series"][0]["points"]
    assert len(pts) in (2, 3)  # history starts in early February
    assert sum(v for _, v in pts) == pytest.approx(year["total_kwh"])
    custom = admin.get("/api/v1/usage?start=2026-03-01&end=2026-03-02&resolution=hour").get_json()
    assert len(custom["series"][0]["points"]) == 48


def test_usage_csv(admin):
    r = admin.get("/api/v1/usage?period=day&date=2026-03-14&format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    lines = r.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "start_local,start_utc_ms,node_id,node_name,energy_kwh"
    assert lines[1].startswith("2026-03-14T00:00:00+05:30,")
    assert len(lines) == 1 + 48


@pytest.mark.parametrize(
    "query, status, words",
    [
        ("period=decade", 400, "expected one of day, week, month, cycle, year"),
        ("period=day&date=2026-13-01", 400, "YYYY-MM-DD"),
        ("period=day&date=1850-01-01", 400, "2000 to 2100"),
        ("period=year&resolution=minute", 400, "too many points"),
        ("period=day&resolution=second", 400, "resolution"),
        ("start=2026-03-01", 400, "needs both start and end"),
        ("start=2026-03-05&end=2026-03-01", 400, "before start"),
        ("period=day&start=2026-03-01&end=2026-03-02", 400, "not both"),
        ("period=day&compare=maybe", 400, "true or false"),
        ("period=day&format=xml", 400, "json, csv"),
        ("period=day&color=red", 400, "unknown query parameter 'color'"),
        ("period=day&node=ff:ff:ff:ff:ff:ff", 404, "no node"),
    ],
)
def test_usage_bad_input(admin, query, status, words):
    r = admin.get("/api/v1/usage?" + query)
    assert r.status_code == status and words in error(r)


# ---- CSV export ---------------------------------------------------------------------------------------


def cli_csv(db, kind, first, last, node=None) -> str:
    """What `powergw export KIND --from --to` writes for the same range (gateway.ops.export.write_csv)."""
    import datetime as dt

    from gateway.localtime import LocalCalendar
    from gateway.ops.export import ExportRange, write_csv
    from gateway.ops.health import connect_readonly

    cal = LocalCalendar("Asia/Kolkata")
    rng = ExportRange(
        cal.day_start_ms(first), cal.day_start_ms(dt.date.fromisoformat(last) + dt.timedelta(days=1)), cal, node
    )
    conn, out = connect_readonly(db), io.StringIO()
    try:
        write_csv(kind, conn, rng, out)
    finally:
        conn.close()
    return out.getvalue()


def test_export_daily_csv(admin, viewer, ui_db):
    r = viewer.get("/api/v1/export/daily.csv?from=2026-03-13&to=2026-03-14")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="powergw-daily-2026-03-13-to-2026-03-14.csv"'
    body = r.get_data(as_text=True)
    assert body.splitlines() == [
        "date,node_id,node_name,energy_wh",
        f"2026-03-13,{KITCHEN},kitchen,9600.000",  # 400 W for 24 h
        f"2026-03-13,{MAINS},mains,24000.000",
        f"2026-03-14,{KITCHEN},kitchen,9600.000",
        f"2026-03-14,{MAINS},mains,24000.000",
    ]
    assert body == cli_csv(ui_db, "daily", "2026-03-13", "2026-03-14")  # the CLI's file, byte for byte
    one = admin.get(f"/api/v1/export/daily.csv?from=2026-03-14&to=2026-03-14&node={MAINS}").get_data(as_text=True)
    assert one.splitlines()[1:] == [f"2026-03-14,{MAINS},mains,24000.000"]
    # Without a range: the CLI's default, the 30 days before today and today.
    r = admin.get("/api/v1/export/daily.csv")
    assert 'filename="powergw-daily-2026-02-13-to-2026-03-15.csv"' in r.headers["Content-Disposition"]
    assert r.get_data(as_text=True) == cli_csv(ui_db, "daily", "2026-02-13", "2026-03-15")


def test_export_readings_csv(admin, ui_db):
    from tests.support.ingest import make_ingest, reading_wire

    ingest, wall = make_ingest(ui_db, wall_ms=NOW_MS - 20 * 60_000)
    for seq in range(900):  # a reading a second at 1000 W from 11:40 IST: more than one 64 KiB chunk of CSV
        ingest.feed("test", reading_wire(seq, 278 * seq, node=KITCHEN, uptime_ms=1000 * seq + 1000))
        wall.advance(1000)
    ingest.flush()
    ingest.store.close()
    r = admin.get(f"/api/v1/export/readings.csv?from=2026-03-15&to=2026-03-15&node={KITCHEN}")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="powergw-readings-2026-03-15-to-2026-03-15.csv"'
    body = r.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) >= 890 and len(body) > 65_536 and {r["node_id"] for r in rows} == {KITCHEN}
    assert all(
        r["power_w"] == "1000.0" and r["start"].startswith("2026-03-15T11:") and r["start"].endswith("+05:30")
        for r in rows
    )
    assert body == cli_csv(ui_db, "readings", "2026-03-15", "2026-03-15", KITCHEN)


def test_export_bills_and_payments_csv(admin, ui_db):
    import datetime as dt

    from gateway.app import open_store
    from gateway.billing.cycle import Cycle
    from gateway.billing.ledger import Ledger
    from gateway.billing.tariff import BillOptions, compute_bill
    from gateway.billing.tariff_book import TariffBook

    store = open_store(ui_db)
    try:
        tariff = TariffBook.load().in_force("tn-domestic", dt.date(2026, 1, 1))
        Ledger(store).close_bill(
            Cycle(dt.date(2026, 1, 1), dt.date(2026, 3, 1)),
            compute_bill(tariff, 463, BillOptions()),
            source="sensors",
            now_ms=NOW_MS - 14 * 86_400_000,
        )
    finally:
        store.close()
    r = write(
        admin,
        "POST",
        "/api/v1/payments",
        {"amount": "1250.50", "method": "cash"},
        **{"Idempotency-Key": "export-pay-1"},
    )
    assert r.status_code == 201

    r = admin.get("/api/v1/export/bills.csv")
    assert r.headers["Content-Disposition"] == 'attachment; filename="powergw-bills-all-to-2026-03-15.csv"'
    (bill,) = csv.DictReader(io.StringIO(r.get_data(as_text=True)))
    # 463 units on tn-domestic: 100 free, then 100 × 2.35 + 200 × 4.70 + 63 × 6.30 = 235 + 940 + 396.90
    assert (bill["cycle_start"], bill["units"], bill["amount_inr"]) == ("2026-01-01", "463", "1571.90")
    assert bill["closed_local"] == "2026-03-01T12:00:00+05:30"
    r = admin.get("/api/v1/export/payments.csv?from=2026-03-15&to=2026-03-15")
    (payment,) = csv.DictReader(io.StringIO(r.get_data(as_text=True)))
    assert (payment["payment_key"], payment["amount_inr"], payment["method"], payment["state"]) == (
        "export-pay-1",
        "1250.50",
        "cash",
        "confirmed",
    )
    assert payment["created_local"] == "2026-03-15T12:00:00+05:30"
    # A range that holds none of them: the header only.
    r = admin.get("/api/v1/export/bills.csv?from=2026-03-02&to=2026-03-15")
    assert r.status_code == 200 and len(r.get_data(as_text=True).splitlines()) == 1


@pytest.mark.parametrize(
    "path, status, words",
    [
        ("daily.csv?from=2026-13-01", 400, "from '2026-13-01': expected a date as YYYY-MM-DD"),
        ("readings.csv?to=yesterday", 400, "YYYY-MM-DD"),
        ("daily.csv?from=1850-01-01", 400, "2000 to 2100"),
        ("daily.csv?from=2026-03-10&to=2026-03-01", 400, "to 2026-03-01 is before from 2026-03-10"),
        ("payments.csv?node=" + KITCHEN, 400, "unknown query parameter 'node'"),
        ("bills.csv?start=2026-01-01", 400, "unknown query parameter 'start'; known: from, to"),
        ("readings.csv?node=ff:ff:ff:ff:ff:ff", 404, "no node 'ff:ff:ff:ff:ff:ff'"),
        ("energy.csv", 404, "no endpoint"),
    ],
)
def test_export_bad_input(admin, path, status, words):
    r = admin.get("/api/v1/export/" + path)
    assert r.status_code == status and words in error(r)


def test_export_needs_a_login_or_a_token(app, admin):
    r = app.test_client().get("/api/v1/export/payments.csv")
    assert r.status_code == 401 and "log in" in error(r)
    token = write(admin, "POST", "/api/v1/tokens", {"name": "sheets", "role": "viewer"}).get_json()["token"]
    r = app.test_client().get(
        "/api/v1/export/daily.csv?from=2026-03-14&to=2026-03-14", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and len(r.get_data(as_text=True).splitlines()) == 3


# ---- alerts -------------------------------------------------------------------------------------------


def test_alerts_list_filter_ignore_raise_and_history(admin, ui_db):
    theft, offline, slab = raise_alerts(ui_db)
    data = admin.get("/api/v1/alerts").get_json()
    assert [a["id"] for a in data["alerts"]] == [slab, offline, theft]
    assert data["counts"]["open"] == 3 and data["kinds"]["theft"]
    assert admin.get("/api/v1/alerts?kind=theft").get_json()["alerts"][0]["data"] == {"extra_w": 850, "usual_w": 120}
    assert [a["id"] for a in admin.get(f"/api/v1/alerts?node={KITCHEN}").get_json()["alerts"]] == [offline]

    r = write(admin, "POST", f"/api/v1/alerts/{theft}/ignore", {"comment": "guests staying this week"})
    assert r.status_code == 200
    body = r.get_json()
    assert (
        body["state"] == "ignored"
        and body["acted_by"] == "admin"
        and body["action_comment"] == "guests staying this week"
    )
    r = write(admin, "POST", f"/api/v1/alerts/{offline}/raise", {})
    assert r.status_code == 409 and "raise does not fit it" in error(r)  # Raise is the theft model's feedback
    r = write(admin, "POST", f"/api/v1/alerts/{offline}/resolve", {})
    assert r.status_code == 200 and r.get_json()["state"] == "resolved"
    r = write(admin, "POST", f"/api/v1/alerts/{theft}/ignore", {"comment": "again"})
    assert r.status_code == 409 and "is ignored" in error(r)
    r = write(admin, "POST", f"/api/v1/alerts/{theft}/raise", {"comment": "not guests after all"})
    assert r.status_code == 200
    history = admin.get(f"/api/v1/alerts/{theft}").get_json()["actions"]
    assert [(h["action"], h["from_state"], h["to_state"], h["comment"]) for h in history] == [
        ("ignore", "open", "ignored", "guests staying this week"),
        ("raise", "ignored", "raised", "not guests after all"),
    ]
    assert admin.get("/api/v1/alerts?state=raised").get_json()["counts"] == {
        "open": 1,
        "ignored": 0,
        "raised": 1,
        "resolved": 1,
    }
    assert len(admin.get("/api/v1/alerts?state=open,raised").get_json()["alerts"]) == 2


@pytest.mark.parametrize(
    "query, words",
    [
        ("state=closed", "state 'closed'"),
        ("kind=ufo", "kind 'ufo'"),
        ("limit=0", "limit 0"),
        ("limit=5000", "limit 5000"),
        ("since=yesterday", "YYYY-MM-DD"),
    ],
)
def test_alerts_bad_filters(admin, query, words):
    r = admin.get("/api/v1/alerts?" + query)
    assert r.status_code == 400 and words in error(r)


def test_alert_action_errors(admin, ui_db):
    theft, _, _ = raise_alerts(ui_db)
    assert write(admin, "POST", "/api/v1/alerts/9999/ignore", {}).status_code == 404
    r = write(admin, "POST", f"/api/v1/alerts/{theft}/ignore", {"comment": "x" * 501})
    assert r.status_code == 400 and "longer than 500" in error(r)
    r = write(admin, "POST", f"/api/v1/alerts/{theft}/ignore", {"comment": 42})
    assert r.status_code == 400
    r = admin.post(f"/api/v1/alerts/{theft}/ignore", data="comment", headers={"X-CSRF-Token": admin.csrf})
    assert r.status_code == 415
    # Nothing was half-written by the refusals.
    assert admin.get(f"/api/v1/alerts/{theft}").get_json()["state"] == "open"


def test_viewer_reads_alerts_but_cannot_act(viewer, ui_db):
    theft, _, _ = raise_alerts(ui_db)
    assert viewer.get("/api/v1/alerts").status_code == 200
    assert write(viewer, "POST", f"/api/v1/alerts/{theft}/raise", {}).status_code == 403


# ---- billing, model, settings -------------------------------------------------------------------------


BILLING_READS = [
    "/api/v1/bill",
    "/api/v1/bills",
    "/api/v1/budget",
    "/api/v1/payments",
    "/api/v1/balance",
    "/api/v1/payments/upi?amount=100",
]


@pytest.mark.parametrize("path", BILLING_READS)
def test_billing_reads_answer_or_say_why_not(admin, path):
    r = admin.get(path)
    assert r.status_code in (200, 503)
    if r.status_code == 503:
        assert "billing" in error(r)


@pytest.mark.parametrize(
    "body, headers, words",
    [
        ({"amount": "0"}, {"Idempotency-Key": "k-00000001"}, "more than 0"),
        ({"amount": "-5"}, {"Idempotency-Key": "k-00000001"}, "more than 0"),
        ({"amount": "10.005"}, {"Idempotency-Key": "k-00000001"}, "2 decimal places"),
        ({"amount": "ten"}, {"Idempotency-Key": "k-00000001"}, "expected rupees as digits"),
        ({"amount": "NaN"}, {"Idempotency-Key": "k-00000001"}, "expected rupees as digits"),
        ({"amount": True}, {"Idempotency-Key": "k-00000001"}, "expected rupees as digits"),
        ({"amount": "100"}, {}, "Idempotency-Key"),
        ({"amount": "100"}, {"Idempotency-Key": "short"}, "Idempotency-Key"),
        ({"amount": "100", "method": 3}, {"Idempotency-Key": "k-00000001"}, "expected a string"),
        ({}, {"Idempotency-Key": "k-00000001"}, "'amount' is required"),
    ],
)
def test_payment_input_errors(admin, body, headers, words):
    r = write(admin, "POST", "/api/v1/payments", body, **headers)
    assert r.status_code == 400 and words in error(r)


@pytest.mark.parametrize(
    "body, words", [({"amount": "abc"}, "amount"), ({"amount": "-1"}, "must be 0 or more"), ({}, "required")]
)
def test_budget_input_errors(admin, body, words):
    r = write(admin, "PUT", "/api/v1/budget", body)
    assert r.status_code == 400 and words in error(r)


def test_upi_amount_is_checked(admin):
    assert admin.get("/api/v1/payments/upi").status_code == 400
    assert admin.get("/api/v1/payments/upi?amount=1.234").status_code == 400


def test_model_status(admin, tmp_path, ui_db):
    m = admin.get("/api/v1/model").get_json()
    assert m["source"] == "shipped" and m["features_version"] >= 1 and 0 < m["threshold"] < 1
    assert m["history_days"] == 41 and m["learning"] is False
    assert 0.5 < m["check_set"]["roc_auc"] <= 1
    from gateway.app import open_store

    assert m["last_run_ms"] is None  # the daemon's theft job has not run on this database
    store = open_store(ui_db)
    store.set_meta(
        "theft.status",
        json.dumps(
            {
                "learning": False,
                "history_days": 41,
                "status": "watching: 41 days of history, model shipped",
                "model": "shipped",
                "last_run_ms": NOW_MS - 600_000,
            }
        ),
    )
    store.close()
    m = admin.get("/api/v1/model").get_json()
    assert (
        m["last_run_ms"] == NOW_MS - 600_000
        and m["last_status"].startswith("watching")
        and m["last_model"] == "shipped"
    )


def test_model_status_names_the_model_the_daemon_really_uses(tmp_path, ui_db):
    """A current version whose metadata is cut off, or of another features version: the daemon scores
    with the shipped model (ModelRegistry.load_current), and the dashboard says so instead of failing."""
    from edge_model import FEATURES_VERSION
    from gateway.app import open_store
    from local_ui.services import model_status

    root = tmp_path / "models"
    (root / "v0001").mkdir(parents=True)
    (root / "state.json").write_text(json.dumps({"current": "v0001", "history": ["v0001"]}))
    store = open_store(ui_db)
    try:
        (root / "v0001" / "metadata.json").write_text('{"features_version": 4, "thresh')
        m = model_status(store, NOW_MS, root)
        assert m["source"] == "shipped" and m["problem"] == "model v0001 cannot be read; the shipped model is used"
        (root / "v0001" / "metadata.json").write_text(
            json.dumps({"features_version": FEATURES_VERSION - 1, "threshold": 0.4, "version": "v0001"})
        )
        m = model_status(store, NOW_MS, root)
        assert m["source"] == "shipped" and f"is of features v{FEATURES_VERSION - 1}" in m["problem"]
        (root / "v0001" / "metadata.json").write_text(
            json.dumps({"features_version": FEATURES_VERSION, "threshold": 0.4, "version": "v0001"})
        )
        m = model_status(store, NOW_MS, root)
        assert m["source"] == "registry" and m["version"] == "v0001" and m["problem"] is None
        (root / "state.json").write_text("[]")  # damaged: the daemon's registry reads no current version
        assert model_status(store, NOW_MS, root)["source"] == "shipped"
    finally:
        store.close()


def test_settings_for_admin_and_viewer(admin, viewer):
    a = admin.get("/api/v1/settings").get_json()
    assert a["timezone"] == "Asia/Kolkata" and {u["username"] for u in a["users"]} == {"admin", "amma"}
    v = viewer.get("/api/v1/settings").get_json()
    assert "users" not in v and "tokens" not in v and v["me"] == {"username": "amma", "role": "viewer"}


def test_settings_show_config_without_secrets(tmp_path, clock, ui_db):
    from gateway.config import parse_config

    config = parse_config({"gateway": {"timezone": "Asia/Kolkata", "node_offline_minutes": 7}})
    app = create_app(ui_db, config=config, clock=clock, admin_password=ADMIN_PASSWORD)
    c = app.test_client()
    login(c)
    s = c.get("/api/v1/settings").get_json()
    assert s["sections"]["gateway"]["node_offline_minutes"] == 7 and s["offline_after_s"] == 420
    flat = json.dumps(s)
    assert ADMIN_PASSWORD not in flat


# ---- pages and static files ---------------------------------------------------------------------------


def test_index_manifest_and_static_files(app):
    c = app.test_client()
    r = c.get("/")
    assert r.status_code == 200 and b'type="module"' in r.data
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    m = c.get("/manifest.webmanifest")
    assert m.mimetype == "application/manifest+json" and json.loads(m.data)["display"] == "standalone"
    vue = c.get("/static/vendor/vue/vue.esm-browser.prod.js", headers={"Accept-Encoding": "gzip"})
    assert vue.headers["Content-Encoding"] == "gzip" and vue.mimetype == "text/javascript"
    assert len(vue.data) < 80_000
    again = c.get("/static/vendor/vue/vue.esm-browser.prod.js", headers={"If-None-Match": vue.headers["ETag"]})
    assert again.status_code == 304
    assert c.get("/static/../server.py").status_code == 404
    assert c.get("/static/vendor/vue/LICENSE").status_code == 200


def test_request_body_size_is_bounded(admin):
    r = admin.post(
        "/api/v1/users", data="x" * 70_000, content_type="application/json", headers={"X-CSRF-Token": admin.csrf}
    )
    assert r.status_code == 413


def test_accounts_store_only_digests(app, ui_db, clock):
    from gateway.app import open_store

    store = open_store(ui_db)
    accounts = Accounts(store.conn, clock)
    user = accounts.verify("admin", ADMIN_PASSWORD)
    sid, _ = accounts.open_session(user["id"])
    stored = [r[0] for r in store.conn.execute("SELECT id_sha256 FROM ui_sessions")]
    assert sid not in stored and len(stored[0]) == 64


# ---- billing through gateway.billing (when that part is installed) -------------------------------------


@pytest.fixture
def billing(admin):
    r = admin.get("/api/v1/balance")
    assert r.status_code == 200, error(r)  # billing always ships with the dashboard
    return admin


def test_bill_summary_slabs_and_budget(billing):
    bill = billing.get("/api/v1/bill").get_json()
    lines = bill["breakdown"]
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal(bill["bill_till_date"])
    assert bill["slab"]["text"] and bill["projection"]["bill"]
    r = write(billing, "PUT", "/api/v1/budget", {"amount": "2500"})
    assert r.status_code == 200 and r.get_json()["amount"] == "2500.00"
    # The cached summary is dropped by the write: the budget shows at once.
    assert billing.get("/api/v1/bill").get_json()["budget"] == "2500.00"
    assert billing.get("/api/v1/budget").get_json()["source"] == "dashboard"
    assert write(billing, "PUT", "/api/v1/budget", {"amount": "0"}).get_json()["amount"] is None


def test_partial_payment_is_recorded_once_and_moves_the_balance(billing):
    headers = {"Idempotency-Key": "pay-2026-03-15-a"}
    r = write(billing, "POST", "/api/v1/payments", {"amount": "350.50", "method": "cash"}, **headers)
    assert r.status_code == 201 and r.get_json()["created"] is True
    assert r.get_json()["balance"]["balance"] == "-350.50"
    again = write(billing, "POST", "/api/v1/payments", {"amount": "350.50", "method": "cash"}, **headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    clash = write(billing, "POST", "/api/v1/payments", {"amount": "351", "method": "cash"}, **headers)
    assert clash.status_code == 409 and "already used" in error(clash)
    assert [p["amount"] for p in billing.get("/api/v1/payments").get_json()["payments"]] == ["350.50"]
    assert billing.get("/api/v1/balance").get_json()["credit"] == "350.50"


def test_upi_payment_stays_pending_until_confirmed(billing):
    r = write(
        billing, "POST", "/api/v1/payments", {"amount": "100", "method": "upi"}, **{"Idempotency-Key": "upi-0000001"}
    )
    payment = r.get_json()["payment"]
    assert payment["status"] == "pending" and billing.get("/api/v1/balance").get_json()["pending"] == "100.00"
    r = write(billing, "POST", f"/api/v1/payments/{payment['id']}/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"
    assert write(billing, "POST", "/api/v1/payments/999/confirm").status_code == 404


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"amount": "99999999"}, 400, "limit"),
        ({"amount": "100", "bill_id": 77}, 404, "no bill #77"),
        ({"amount": "100", "method": "barter"}, 400, "expected one of upi, cash"),
    ],
)
def test_payment_refusals_from_the_ledger(billing, body, status, words):
    r = write(billing, "POST", "/api/v1/payments", body, **{"Idempotency-Key": "refused-0001"})
    assert r.status_code == status and words in error(r)
    assert billing.get("/api/v1/payments").get_json()["payments"] == []


def test_upi_qr_needs_a_configured_vpa(billing, ui_db, clock):
    r = billing.get("/api/v1/payments/upi?amount=100")
    assert r.status_code == 503 and "upi_vpa" in error(r)
    from gateway.config import parse_config

    config = parse_config({"billing": {"upi_vpa": "tnpdcl@sbi", "upi_payee_name": "TNPDCL"}})
    c = create_app(ui_db, config=config, clock=clock, admin_password=ADMIN_PASSWORD).test_client()
    login(c)
    qr = c.get("/api/v1/payments/upi?amount=1250.50").get_json()
    assert qr["link"].startswith("upi://pay?pa=tnpdcl@sbi&pn=TNPDCL&am=1250.50&cu=INR")
    assert qr["qr_svg"].lstrip().startswith("<svg")


def test_usage_cycle_is_billings_cycle(billing):
    bill = billing.get("/api/v1/bill").get_json()
    usage = billing.get("/api/v1/usage?period=cycle&compare=true").get_json()
    assert usage["first_day"] == bill["cycle"]["start"] and usage["last_day"] == bill["cycle"]["last_day"]
    assert Decimal(str(usage["total_kwh"])) == Decimal(bill["units_till_date"])
    assert usage["previous"]["last_day"] < usage["first_day"]


@pytest.mark.parametrize(
    "metered, watts, units",
    [
        ([], 1920, "206.40"),  # every node is the house (the units as in the today's-cost test above)
        ([MAINS], 1500, "161.25"),  # the kitchen is a sub-circuit, already inside the mains
    ],
)
def test_usage_totals_follow_the_bills_metered_nodes(tmp_path, clock, seeded, metered, watts, units):
    client = household_app(tmp_path, clock, seeded, metered)
    bill = client.get("/api/v1/bill").get_json()
    usage = client.get("/api/v1/usage?period=cycle&compare=true").get_json()
    assert (
        (usage["first_day"], usage["last_day"])
        == (bill["cycle"]["start"], bill["cycle"]["last_day"])
        == ("2026-03-11", "2026-04-10")
    )
    assert bill["units_till_date"] == units and Decimal(str(usage["total_kwh"])) == Decimal(units)
    # Every node keeps its own series; only the total (and its per-day points) leaves sub-circuits out.
    assert [(s["node_id"], s["metered"]) for s in usage["series"]] == [(KITCHEN, not metered), (MAINS, True)]
    assert usage["excluded_from_total"] == ([KITCHEN] if metered else []) and usage["total_unavailable"] is None
    assert usage["total_points"][0] == [usage["buckets"][0], pytest.approx(24 * watts / 1000)]
    assert sum(v for _, v in usage["total_points"]) == pytest.approx(usage["total_kwh"])
    # The comparison is by the same rule: 11 Feb – 10 Mar, 28 whole days.
    previous = usage["previous"]
    assert previous["first_day"] == "2026-02-11" and previous["total_kwh"] == pytest.approx(28 * 24 * watts / 1000)
    assert previous["total_points"][5] == [previous["buckets"][5], pytest.approx(24 * watts / 1000)]
    # One node asked for: its own total, whatever it is.
    week = client.get(f"/api/v1/usage?period=week&date=2026-03-04&resolution=day&node={KITCHEN}").get_json()
    assert week["total_kwh"] == pytest.approx(7 * 24 * 0.42) and week["excluded_from_total"] == []
    # The chart's CSV still has every node's rows (it has no total column).
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/api/v1/usage?period=day&date=2026-03-14&format=csv").get_data(as_text=True))
        )
    )
    assert {r["node_id"] for r in rows} == {KITCHEN, MAINS} and len(rows) == 48


def test_usage_with_a_metered_node_that_never_reported(tmp_path, clock, seeded):
    client = household_app(tmp_path, clock, seeded, [MAINS, "ff:ff:ff:ff:ff:ff"])
    r = client.get("/api/v1/usage?period=month&compare=true")
    assert r.status_code == 200
    usage = r.get_json()
    # No household total from part of the house; why, in billing's words; every node's series still there.
    assert usage["total_kwh"] is None and usage["total_points"] is None and usage["previous"]["total_kwh"] is None
    assert usage["total_unavailable"] == (
        "billing cannot count the household's units: [billing] metered_nodes lists 'ff:ff:ff:ff:ff:ff', but no node "
        f"with that id has reported; known nodes: '{KITCHEN}', '{MAINS}'"
    )
    assert [s["node_id"] for s in usage["series"]] == [KITCHEN, MAINS] and usage["excluded_from_total"] == [KITCHEN]
    one = client.get(f"/api/v1/usage?period=day&date=2026-03-14&node={MAINS}").get_json()
    assert one["total_kwh"] == pytest.approx(24 * 1.5) and one["total_unavailable"] is None
