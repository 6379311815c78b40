"""Setup in a minute through the API: which answers are still defaults, one form saved all or nothing,
sensor names kept by the gateway and shown everywhere, the mains written to the meters registry, and a
tariff switch or a budget said at once."""

from __future__ import annotations

import pytest

from gateway import house
from gateway.app import open_store
from tests.support.dashboard import KITCHEN, MAINS, error, write

GOOD = {
    "holiday_state": "TN",
    "tariff": "tn-domestic",
    "meter_reading_date": "2026-03-03",
    "meter_reading": "12345.6",
    "budget": "1,500",
    "upi_vpa": "tnpdcl.example@sbi",
    "upi_payee_name": "TNPDCL Chennai",
    "email_to": "asha@example.in, ravi@example.in",
    "names": {KITCHEN: "Kitchen", MAINS: "Whole house"},
    "mains": [MAINS],
}


def written(db) -> tuple:
    store = open_store(db)
    try:
        count = lambda table: store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
        return count("settings"), count("meter_readings"), count("node_names"), count("metering_changes")
    finally:
        store.close()


def test_a_fresh_gateway_lists_every_answer_still_at_a_default(admin):
    h = admin.get("/api/v1/household").get_json()
    assert h["complete"] is False
    assert h["defaults"] == [
        "holiday_state",
        "tariff",
        "meter_reading_date",
        "budget",
        "upi_vpa",
        "upi_payee_name",
        "email_to",
        "meter_reading",
        "node_names",
        "mains",
    ]
    assert h["answers"]["tariff"]["labels"]["tn-domestic"]["cycle_months"] == 2
    assert "TN" in h["answers"]["holiday_state"]["choices"]
    assert [(n["node_id"], n["name"]) for n in h["nodes"]] == [(KITCHEN, "kitchen"), (MAINS, "mains")]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"upi_vpa": "tnpdcl"}, "like name@handle"),
        ({"meter_reading": "12,345"}, "up to 6 digits"),
        ({"budget": "15 hundred"}, "expected rupees as digits"),
        ({"tariff": "tn-comercial"}, "unknown tariff"),
        ({"holiday_state": "XX"}, "unknown state code"),
        ({"email_to": "asha"}, "expected an email address"),
        ({"meter_reading_date": "03/03/2026"}, "meter_reading_date"),
        ({"names": {KITCHEN: "Mains"}}, "pick a different name"),
        ({"names": {"a4:cf:00:00:00:00": "Fan"}}, "no such node"),
        ({"mains": ["a4:cf:00:00:00:00"]}, "never reported"),
        ({"upi_payee_name": "x" * 60}, "at most 50 characters"),
    ],
)
def test_a_bad_answer_is_refused_and_nothing_is_written(admin, ui_db, change, says):
    before = written(ui_db)
    r = write(admin, "POST", "/api/v1/household", GOOD | change)
    assert r.status_code == 400, r.get_json()
    assert says in error(r)
    assert written(ui_db) == before


def test_the_form_saved_once_sets_everything_and_says_so(admin, ui_db, viewer):
    assert write(viewer, "POST", "/api/v1/household", GOOD).status_code == 403
    r = write(admin, "POST", "/api/v1/household", GOOD)
    assert r.status_code == 200, r.get_json()
    h = r.get_json()
    assert (h["complete"], h["defaults"]) == (False, ["mail_server"])  # e-mails need a mail server named
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"email.host": "smtp.example.in"}})
    assert admin.get("/api/v1/household").get_json()["complete"] is True
    assert h["answers"]["email_to"]["value"] == ["asha@example.in", "ravi@example.in"]
    budget = next(n for n in h["notices"] if n["key"] == "notice_budget_checked")["params"]
    assert budget["budget"] == "1500.00"
    assert admin.get("/api/v1/budget").get_json()["amount"] == "1500.00"
    settings = {e["key"]: e for e in admin.get("/api/v1/settings").get_json()["editable"]}
    assert settings["email.enabled"]["value"] is True and settings["billing.upi_vpa"]["source"] == "dashboard"
    store = open_store(ui_db)
    try:
        assert house.current_mains(store.conn) == [MAINS]
        rows = {n["node_id"]: (n["name"], n["reported_name"]) for n in store.nodes()}
        assert rows == {KITCHEN: ("Kitchen", "kitchen"), MAINS: ("Whole house", "mains")}
        assert store.conn.execute("SELECT value_kwh, note FROM meter_readings").fetchall() == [
            ("12345.6", "first-time setup")
        ]
    finally:
        store.close()
    # The names reach every place the dashboard names a sensor.
    assert {n["name"] for n in admin.get("/api/v1/nodes").get_json()["nodes"]} == {"Kitchen", "Whole house"}
    usage = admin.get("/api/v1/usage?period=week").get_json()
    assert {s["name"] for s in usage["series"]} <= {"Kitchen", "Whole house"}


def test_switching_tariff_says_what_happens_to_the_cycle(admin):
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"billing.tariff": "delhi-domestic"}})
    assert r.status_code == 200
    assert {"key": "notice_cycle_changed", "params": {"before": 2, "after": 1}} in r.get_json()["notices"]
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"billing.tariff": "kerala-domestic"}})
    assert [n["key"] for n in r.get_json()["notices"]] == []  # monthly to monthly: nothing to say
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"email.to": ["asha@example.in"]}})
    assert r.get_json()["notices"] == []


def test_sensors_renamed_back_and_the_mains_cleared(admin, ui_db, viewer):
    assert write(viewer, "PATCH", "/api/v1/nodes", {"names": {KITCHEN: "K"}}).status_code == 403
    r = write(admin, "PATCH", "/api/v1/nodes", {"names": {KITCHEN: "  Kitchen  "}, "mains": [MAINS]})
    nodes = {n["node_id"]: n for n in r.get_json()["nodes"]}
    assert nodes[KITCHEN]["name"] == "Kitchen" and nodes[MAINS]["mains"] is True
    r = write(admin, "PATCH", "/api/v1/nodes", {"names": {KITCHEN: ""}, "mains": []})
    nodes = {n["node_id"]: n for n in r.get_json()["nodes"]}
    assert nodes[KITCHEN]["name"] == "kitchen" and not nodes[MAINS]["mains"]
    assert r.get_json()["mains"] == []
    for body, says in (
        ({}, "nothing to change"),
        ({"names": ["Kitchen"]}, "names: expected"),
        ({"names": {KITCHEN: "x" * 41}}, "at most 40"),
        ({"names": {KITCHEN: "tab\there"}}, "printable"),
        ({"mains": "a4"}, "mains: expected"),
    ):
        r = write(admin, "PATCH", "/api/v1/nodes", body)
        assert r.status_code == 400 and says in error(r), (body, r.get_json())
