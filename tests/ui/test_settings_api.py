"""Household settings (tariff, cycle date, budget, email, BLE bind keys) and meter readings through the
dashboard's API, on a real SQLite file; and the daemon's next job run using what was set."""

from __future__ import annotations

import json

import pytest

from gateway.app import JobSpec, open_store
from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.daemon import build_gateway
from gateway.settings_store import effective_config
from local_ui import create_app
from tests.support.dashboard import ADMIN_PASSWORD, NOW_MS, error, login, write

KEY = "00112233445566778899aabbccddeeff"
NODE = "A4:CF:12:34:56:7A"


def editable(client) -> dict[str, dict]:
    return {e["key"]: e for e in client.get("/api/v1/settings").get_json()["editable"]}


def patch(client, body, **headers):
    return write(client, "PATCH", "/api/v1/settings", body, **headers)


def test_get_shows_value_source_and_when_it_applies(admin):
    e = editable(admin)
    assert e["billing.tariff"] | {} == e["billing.tariff"]
    assert e["billing.tariff"]["value"] == "tn-domestic" and e["billing.tariff"]["source"] == "default"
    assert e["billing.tariff"]["applies"] == "next_run"
    assert e["email.password"]["value"] is None and e["email.password"]["write_only"]
    assert e["email.security"]["choices"] == ["starttls", "tls", "none"]


def test_patch_sets_resets_and_the_bill_follows(admin):
    before = admin.get("/api/v1/bill").get_json()
    assert before["tariff"] == "tn-domestic"
    r = patch(admin, {"set": {"billing.tariff": "delhi-domestic", "billing.meter_reading_date": "2026-03-05"}})
    assert r.status_code == 200, r.get_json()
    e = {x["key"]: x for x in r.get_json()["editable"]}
    assert e["billing.tariff"]["value"] == "delhi-domestic" and e["billing.tariff"]["source"] == "dashboard"
    after = admin.get("/api/v1/bill").get_json()
    assert after["tariff"] == "delhi-domestic" and after["cycle"]["start"] == "2026-03-05"
    assert after["bill_till_date"] != before["bill_till_date"]
    r = patch(admin, {"reset": ["billing.tariff", "billing.meter_reading_date"]})
    assert r.status_code == 200
    assert admin.get("/api/v1/bill").get_json() == before
    assert editable(admin)["billing.tariff"]["source"] == "default"


def test_budget_is_the_same_override_as_put_budget(admin):
    assert write(admin, "PUT", "/api/v1/budget", {"amount": "1800.50"}).status_code == 200
    e = editable(admin)["billing.budget_inr"]
    assert e["value"] == "1800.50" and e["source"] == "dashboard"
    assert patch(admin, {"set": {"billing.budget_inr": 2500}}).status_code == 200
    assert admin.get("/api/v1/budget").get_json()["amount"] == "2500.00"
    assert patch(admin, {"reset": ["billing.budget_inr"]}).status_code == 200
    assert admin.get("/api/v1/budget").get_json() == {"amount": None, "period": "cycle", "source": "config"}


@pytest.mark.parametrize(
    "typed, amount, shown",
    [
        ("1,500", "1500.00", 1500),
        ("1,23,456.78", "123456.78", "123456.78"),
        ("2500", "2500.00", 2500),
        (2500, "2500.00", 2500),
        ("0", None, 0),
    ],
)
def test_the_settings_budget_is_read_as_put_budget_reads_it(admin, typed, amount, shown):
    """One money parser: the Settings page's budget takes what the Bill page's takes."""
    assert patch(admin, {"set": {"billing.budget_inr": typed}}).status_code == 200
    assert admin.get("/api/v1/budget").get_json()["amount"] == amount
    assert editable(admin)["billing.budget_inr"]["value"] == shown


def test_email_password_is_write_only(admin, ui_db):
    r = patch(
        admin,
        {
            "set": {
                "email.enabled": True,
                "email.to": ["asha@example.in"],
                "email.host": "smtp.example.in",
                "email.port": 465,
                "email.security": "tls",
                "email.username": "asha",
                "email.password": "s3cret-pass",
            }
        },
    )
    assert r.status_code == 200, r.get_json()
    flat = json.dumps(admin.get("/api/v1/settings").get_json())
    assert "s3cret-pass" not in flat
    e = editable(admin)
    assert e["email.password"]["is_set"] and e["email.password"]["source"] == "dashboard"
    assert e["email.to"]["value"] == ["asha@example.in"] and e["email.port"]["value"] == 465
    store = open_store(ui_db)
    try:
        email = effective_config(store, parse_config({})).email
    finally:
        store.close()
    assert email.enabled and email.secret() == "s3cret-pass" and email.host == "smtp.example.in"


def test_bind_keys_are_write_only_per_node_and_need_a_restart(admin):
    r = patch(admin, {"set": {f"ble.bindkeys.{NODE}": KEY}})
    assert r.status_code == 200, r.get_json()
    assert KEY not in json.dumps(admin.get("/api/v1/settings").get_json())
    e = editable(admin)[f"ble.bindkeys.{NODE.lower()}"]
    assert e["is_set"] and e["value"] is None and e["applies"] == "restart" and e["node"] == NODE.lower()
    assert patch(admin, {"reset": [f"ble.bindkeys.{NODE}"]}).status_code == 200
    assert not any(k.startswith("ble.bindkeys.") for k in editable(admin))


@pytest.mark.parametrize(
    "body, words",
    [
        ({"set": {"billing.tariff": "mars-domestic"}}, ["tariff = 'mars-domestic'", "unknown tariff", "tn-domestic"]),
        ({"set": {"billing.meter_reading_date": "2026-02-30"}}, ["meter_reading_date", "'2026-02-30'", "a date like"]),
        ({"set": {"billing.budget_inr": -5}}, ["billing.budget_inr", "-5", "must be 0 or more"]),
        ({"set": {"billing.budget_inr": 12.5}}, ["billing.budget_inr", "not a binary float"]),
        ({"set": {"billing.budget_inr": "1e26"}}, ["billing.budget_inr", "'1e26'", "rupees as digits"]),
        (
            {"set": {"billing.budget_inr": "2,00,00,000"}},
            ["billing.budget_inr", "the largest budget [billing] budget_inr takes"],
        ),
        ({"set": {"email.to": ["not-an-address"]}}, ["'not-an-address'", "email address"]),
        ({"set": {"email.enabled": True}}, ["to = []", "at least one recipient"]),
        ({"set": {"email.port": "587"}}, ["port", "'587'", "whole number"]),
        ({"set": {"email.security": "ssl"}}, ["security", "'ssl'", "'starttls'"]),
        ({"set": {f"ble.bindkeys.{NODE}": "xyz"}}, ["bindkeys", "32 hex digits"]),
        ({"set": {"ble.bindkeys.kitchen": KEY}}, ["'kitchen'", "BLE address"]),
        ({"set": {"gateway.db": "/tmp/x.db"}}, ["unknown setting 'gateway.db'", "billing.tariff"]),
        ({"set": {"billing.tariff": None}}, ["a value is required", "reset"]),
        ({"reset": ["ui.port"]}, ["unknown setting 'ui.port'"]),
        ({"set": []}, ["expected {"]),
        ({}, ["nothing to change"]),
    ],
)
def test_bad_values_are_400_and_nothing_is_written(admin, body, words):
    before = admin.get("/api/v1/settings").get_json()["editable"]
    # A good value next to the bad one is not written either.
    if "set" in body and isinstance(body["set"], dict):
        body = {"set": {"billing.budget_period": "month", **body["set"]}}
    r = patch(admin, body)
    assert r.status_code == 400, r.get_json()
    for w in words:
        assert w in error(r), (w, error(r))
    assert admin.get("/api/v1/settings").get_json()["editable"] == before


def test_viewer_reads_but_cannot_patch_and_csrf_is_needed(admin, viewer):
    assert "billing.tariff" in editable(viewer)
    r = patch(viewer, {"set": {"billing.tariff": "delhi-domestic"}})
    assert r.status_code == 403 and "admin role" in error(r)
    r = admin.open("/api/v1/settings", method="PATCH", json={"set": {"billing.tariff": "delhi-domestic"}})
    assert r.status_code == 403 and "CSRF" in error(r)
    assert editable(admin)["billing.tariff"]["value"] == "tn-domestic"


def test_unauthenticated_is_refused(app):
    c = app.test_client()
    assert c.get("/api/v1/settings").status_code == 401
    assert c.get("/api/v1/meter-readings").status_code == 401
    csrf = c.get("/api/v1/session").get_json()["csrf"]
    r = c.open(
        "/api/v1/settings",
        method="PATCH",
        json={"set": {"billing.tariff": "delhi-domestic"}},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 401
    r = c.post("/api/v1/meter-readings", json={"reading": "100"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 401


def test_openapi_has_the_new_endpoints(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/settings"]) and {"get", "post"} <= set(
        paths["/api/v1/meter-readings"]
    )
    assert paths["/api/v1/settings"]["patch"]["x-role"] == "admin"


# ---- meter readings ---------------------------------------------------------------------------------


def test_meter_readings_compare_and_raise_a_mismatch_alert(admin, clock):
    clock.advance(-86_400_000)  # the first reading a day before the seeded data ends
    r = write(admin, "POST", "/api/v1/meter-readings", {"reading": "1000.0", "note": "first"})
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["gap_pct"] is None and not first["flagged"] and first["alert_id"] is None
    clock.advance(86_400_000)  # a day at 1.4 kW (kitchen + mains): the sensors saw about 33.6 kWh
    r = write(admin, "POST", "/api/v1/meter-readings", {"reading": "1040.0"})
    second = r.get_json()
    assert r.status_code == 201 and second["flagged"] and second["alert_id"] is not None
    assert float(second["gap_pct"]) > 5 and "more than 5" in second["message"]
    alert = admin.get(f"/api/v1/alerts/{second['alert_id']}").get_json()
    assert alert["kind"] == "meter_mismatch"
    listed = admin.get("/api/v1/meter-readings").get_json()["readings"]
    assert [x["id"] for x in listed] == [second["id"], first["id"]]


def test_billed_units_within_the_threshold_raise_nothing(admin):
    # 2026-03-01..03-10: 9 days at 1.4 kW = 302.4 kWh on the sensors.
    r = write(
        admin, "POST", "/api/v1/meter-readings", {"billed_units": "305", "from": "2026-03-01", "to": "2026-03-10"}
    )
    assert r.status_code == 201, r.get_json()
    row = r.get_json()
    assert (
        row["kind"] == "billed_units" and not row["flagged"] and row["alert_id"] is None and "within" in row["message"]
    )


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, "either reading"),
        ({"reading": "100", "billed_units": "5"}, "either reading"),
        ({"reading": "abc"}, "up to 6 digits and 3 decimals"),
        ({"reading": "-3"}, "up to 6 digits and 3 decimals"),
        ({"reading": "1e30"}, "up to 6 digits and 3 decimals"),
        ({"reading": "1000000"}, "up to 6 digits and 3 decimals"),
        ({"billed_units": "1e30", "from": "2026-03-01", "to": "2026-03-10"}, "up to 6 digits and 3 decimals"),
        ({"billed_units": "99999", "from": "2026-03-01", "to": "2026-03-10"}, "more than the house can draw"),
        ({"billed_units": "300", "from": "2000-01-01", "to": "2100-01-01"}, "after today"),
        ({"billed_units": "300", "from": "2025-01-01", "to": "2026-03-01"}, "at most 100 days"),
        ({"billed_units": "300"}, "YYYY-MM-DD"),
        ({"billed_units": "300", "from": "2026-03-10", "to": "2026-03-01"}, "must end after"),
        ({"billed_units": "300", "from": "1999-12-01", "to": "2000-01-01"}, "before 2000"),
        ({"reading": "100", "from": "2026-03-01"}, "from/to go with billed_units"),
    ],
)
def test_meter_reading_input_errors(admin, body, words):
    r = write(admin, "POST", "/api/v1/meter-readings", body)
    assert r.status_code == 400 and words in error(r), error(r)
    assert admin.get("/api/v1/meter-readings").get_json()["readings"] == []


def test_viewer_lists_meter_readings_but_cannot_enter_one(viewer):
    assert viewer.get("/api/v1/meter-readings").status_code == 200
    assert write(viewer, "POST", "/api/v1/meter-readings", {"reading": "1"}).status_code == 403


# ---- the daemon's next job run uses what was set ------------------------------------------------------


def capture_billing(ctx) -> None:
    """A job that runs the real budget check and keeps its estimate on the gateway for the test."""
    from gateway.billing.jobs import check_budget

    ctx.extras["gateway"].captured = check_budget(ctx)


def test_a_job_run_after_a_patch_uses_the_new_tariff(ui_db, clock, tmp_path, monkeypatch):
    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    config = parse_config({"gateway": {"db": str(ui_db)}})
    gw = build_gateway(
        config, db_path=ui_db, serial_ports=[], clock=ManualClock(NOW_MS), runtime_dir=tmp_path / "run", jobs=()
    )
    job = JobSpec("capture", f"{__name__}:capture_billing", seconds=60)
    try:
        gw._run_job(job)
        assert gw.captured.tariff == "tn-domestic"
        app = create_app(ui_db, config=config, clock=clock, admin_password=ADMIN_PASSWORD)
        c = app.test_client()
        c.csrf = login(c)
        assert patch(c, {"set": {"billing.tariff": "delhi-domestic", "billing.budget_inr": 100}}).status_code == 200
        gw._run_job(job)
        assert gw.captured.tariff == "delhi-domestic" and gw.captured.budget_paise == 10_000
    finally:
        gw.ingest.store.close()
