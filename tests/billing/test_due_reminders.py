"""A bill's due date reminds the household (issue 16, item 15): a reminder a few days before while it is
unpaid, an overdue alert after it, each once per bill, e-mailed, and resolved once the balance is paid.
Real SQLite, the real ledger and alert store, the job as the daemon runs it."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.alerts import AlertStore
from gateway.alerts.kinds import KINDS
from gateway.app import JobContext
from gateway.billing.jobs import close_cycles
from gateway.billing.ledger import Ledger
from gateway.billing.reminders import due_alerts, remind_due
from gateway.config import parse_config
from tests.support.billing_usage import START, fill, ms

BILL = {
    "id": 4,
    "cycle_start": "2025-07-05",
    "cycle_end": "2025-09-05",
    "amount_paise": 104340,
    "due_date": "2025-09-25",
}


def test_the_latest_bill_is_reminded_before_its_due_date_and_called_overdue_after():
    def on(day):
        return due_alerts(BILL, 104340, dt.date(2025, 9, day), 3)

    assert on(21) == []
    assert on(22) == [
        (
            "bill_due",
            "bill_due:4",
            "bill #4 (2025-07-05 to 2025-09-05, ₹1,043.40) is due on 2025-09-25 (in 3 days): ₹1,043.40 still to pay",
        )
    ]
    assert "(tomorrow)" in on(24)[0][2] and "(today)" in on(25)[0][2]
    assert on(26) == [
        (
            "bill_overdue",
            "bill_overdue:4",
            "bill #4 (2025-07-05 to 2025-09-05, ₹1,043.40) was due on "
            "2025-09-25: ₹1,043.40 still to pay, 1 day overdue",
        )
    ]
    assert "5 days overdue" in on(30)[0][2]
    assert due_alerts(BILL, 0, dt.date(2025, 9, 30), 3) == []  # paid
    assert due_alerts(BILL, -500, dt.date(2025, 9, 30), 3) == []  # in credit
    assert due_alerts(None, 104340, dt.date(2025, 9, 30), 3) == []  # no bill yet
    assert "₹40.00 still to pay" in due_alerts(BILL, 4000, dt.date(2025, 9, 26), 3)[0][2]  # part paid


def test_the_job_reminds_once_then_overdue_once_and_resolves_both_when_paid(store):
    fill(store, START, 62, 250)
    cfg = parse_config({"billing": {"meter_reading_date": START.isoformat(), "holiday_state": ""}})
    clock = [ms(dt.date(2025, 9, 6), 1)]
    ctx = JobContext(store=store, config=cfg, now_ms=lambda: clock[0], extras={})
    [bill] = close_cycles(ctx)
    assert bill["due_date"] == "2025-09-25"
    alerts = AlertStore(store)
    assert remind_due(ctx) == []
    clock[0] = ms(dt.date(2025, 9, 22), 9)
    assert remind_due(ctx) == [f"bill_due:{bill['id']}"]
    remind_due(ctx)  # the next hour: the same reminder, not a second one
    [due] = alerts.list(kind="bill_due")
    assert due["state"] == "open" and "is due on 2025-09-25 (in 3 days)" in due["message"]
    clock[0] = ms(dt.date(2025, 9, 27), 9)
    remind_due(ctx)
    [late] = alerts.list(kind="bill_overdue")
    assert "2 days overdue" in late["message"] and late["severity"] == "warning"
    assert KINDS["bill_due"].emails and KINDS["bill_overdue"].emails  # e-mailed where [email] says

    Ledger(store).record_payment("1043.40", payment_key="pay-sep-2025", now_ms=clock[0], method="upi")
    clock[0] += 3_600_000
    assert remind_due(ctx) == []
    assert {a["state"] for a in alerts.list(kind="bill_due") + alerts.list(kind="bill_overdue")} == {"resolved"}


@pytest.mark.parametrize("bad", [-1, 31, "3"])
def test_a_bad_reminder_setting_stops_start_up_naming_the_key(bad):
    from gateway.config import ConfigError

    with pytest.raises(ConfigError, match="due_reminder_days"):
        parse_config({"billing": {"due_reminder_days": bad}})
