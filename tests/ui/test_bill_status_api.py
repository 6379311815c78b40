"""The Bill page's API: what is due for which bill by when, kept apart from the cycle's running estimate;
pending UPI payments confirmed or cancelled; amounts typed the Indian way; a budget checked when saved."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.app import open_store
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.tariff import Bill
from tests.support.dashboard import error, write


def close_bill(db, start: str, end: str, total: str, due_days: int = 20) -> dict:
    """A closed bill in the ledger, as the cycle job writes it."""
    from decimal import Decimal

    store = open_store(db)
    try:
        cycle = Cycle(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        bill = Bill(tariff="tn-domestic", units=Decimal(300), lines=(), total=Decimal(total))
        row, _ = Ledger(store).close_bill(cycle, bill, source="sensor", now_ms=0, due_days=due_days)
        return row
    finally:
        store.close()


def test_nothing_due_keeps_the_cycle_estimate_apart(admin):
    bal = admin.get("/api/v1/balance").get_json()
    assert (bal["state"], bal["due"], bal["latest_bill"], bal["reminders"]) == ("clear", None, None, [])
    bill = admin.get("/api/v1/bill").get_json()
    assert float(bill["bill_till_date"]) > 0  # the cycle so far is not "due": the balance says nothing is
    assert bal["upi_ready"] is False


def test_a_bill_owed_says_for_which_bill_and_by_when(admin, ui_db, clock):
    row = close_bill(ui_db, "2026-01-01", "2026-03-01", "1640.00")
    bal = admin.get("/api/v1/balance").get_json()
    assert bal["state"] == "owed" and bal["balance"] == "1640.00"
    assert bal["due"] == {
        "amount": "1640.00",
        "bill_id": row["id"],
        "cycle_start": "2026-01-01",
        "cycle_last_day": "2026-02-28",
        "due_date": "2026-03-21",
        "days_left": 6,  # the clock is 15 Mar 2026
        "overdue": False,
    }
    clock.advance(7 * 86_400_000)
    due = admin.get("/api/v1/balance").get_json()["due"]
    assert due["overdue"] is True and due["days_left"] == -1


def test_upi_payment_is_pending_until_confirmed_or_cancelled(admin, ui_db):
    close_bill(ui_db, "2026-01-01", "2026-03-01", "500.00")
    r = write(
        admin,
        "POST",
        "/api/v1/payments",
        {"amount": "₹ 100.50", "method": "upi"},
        **{"Idempotency-Key": "k" * 16},
    )
    assert r.status_code == 201, r.get_json()
    pay = r.get_json()
    assert pay["payment"]["status"] == "pending" and pay["balance"]["pending"] == "100.50"
    assert pay["balance"]["balance"] == "500.00"  # pending counts nothing until confirmed
    r = write(admin, "POST", f"/api/v1/payments/{pay['payment']['id']}/cancel")
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    r = write(admin, "POST", f"/api/v1/payments/{pay['payment']['id']}/cancel")
    assert r.status_code == 409 and "only a pending payment" in error(r)
    assert write(admin, "POST", "/api/v1/payments/999/cancel").status_code == 404
    r = write(admin, "POST", "/api/v1/payments", {"amount": "600", "method": "upi"}, **{"Idempotency-Key": "m" * 16})
    write(admin, "POST", f"/api/v1/payments/{r.get_json()['payment']['id']}/confirm")
    bal = admin.get("/api/v1/balance").get_json()
    assert (bal["state"], bal["credit"], bal["due"]) == ("credit", "100.00", None)


@pytest.mark.parametrize(
    ("typed", "stored"), [("1,500", "1500.00"), ("1,00,000", "100000.00"), ("₹ 2,500.50", "2500.50")]
)
def test_amounts_typed_the_indian_way(admin, typed, stored):
    r = write(admin, "PUT", "/api/v1/budget", {"amount": typed})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["amount"] == stored
    r = write(admin, "POST", "/api/v1/payments", {"amount": typed, "method": "cash"}, **{"Idempotency-Key": typed * 4})
    assert r.status_code == 201 and r.get_json()["payment"]["amount"] == stored


@pytest.mark.parametrize("typed", ["1.500,00", "12,34", "abc", "1e5", "१५००", "-5"])
def test_nonsense_amounts_are_refused_with_the_rule(admin, typed):
    before = admin.get("/api/v1/budget").get_json()
    r = write(admin, "PUT", "/api/v1/budget", {"amount": typed})
    assert r.status_code == 400
    assert "expected rupees as digits" in error(r) or "must be 0 or more" in error(r)
    assert admin.get("/api/v1/budget").get_json() == before


def test_saving_a_budget_checks_it_at_once(admin):
    spent = admin.get("/api/v1/bill").get_json()["bill_till_date"]
    r = write(admin, "PUT", "/api/v1/budget", {"amount": "1"})
    check = r.get_json()["check"]
    assert check["spent"] == spent and check["budget"] == "1.00" and check["projected_over"] is True
    kinds = {a["kind"] for a in admin.get("/api/v1/alerts?state=open").get_json()["alerts"]}
    assert {"budget_threshold", "budget_projection"} <= kinds  # raised now, not at the job's next run
    bal = admin.get("/api/v1/balance").get_json()
    assert bal["reminders"] == []


def test_due_reminders_reach_the_balance(admin, ui_db, clock):
    from gateway.alerts import AlertStore

    close_bill(ui_db, "2026-01-01", "2026-03-01", "700.00")
    store = open_store(ui_db)
    try:
        AlertStore(store).raise_alert("bill_due", None, "due soon", now_ms=clock(), dedup_key="bill_due:1")
    finally:
        store.close()
    reminders = admin.get("/api/v1/balance").get_json()["reminders"]
    assert [r["kind"] for r in reminders] == ["bill_due"]


def test_upi_qr_carries_payee_and_amount_once_set_in_settings(admin, viewer):
    r = admin.get("/api/v1/payments/upi?amount=1,500")
    assert r.status_code == 503 and "Settings" in error(r)
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"billing.upi_vpa": "not a vpa"}})
    assert r.status_code == 400 and "like name@handle" in error(r)
    r = write(admin, "PATCH", "/api/v1/settings", {"set": {"billing.upi_vpa": "tnpdcl@sbi"}})
    assert r.status_code == 400 and "payee" in error(r)
    r = write(
        admin,
        "PATCH",
        "/api/v1/settings",
        {"set": {"billing.upi_vpa": "tnpdcl@sbi", "billing.upi_payee_name": "TNPDCL Chennai"}},
    )
    assert r.status_code == 200, r.get_json()
    qr = admin.get("/api/v1/payments/upi?amount=1,500").get_json()
    assert (qr["payee"], qr["amount"], qr["vpa"]) == ("TNPDCL Chennai", "1500.00", "tnpdcl@sbi")
    assert "am=1500.00" in qr["link"] and "pn=TNPDCL%20Chennai" in qr["link"]
    assert admin.get("/api/v1/balance").get_json()["upi_ready"] is True
    assert write(viewer, "PATCH", "/api/v1/settings", {"set": {"billing.upi_vpa": "x@y"}}).status_code == 403
