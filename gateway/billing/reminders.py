"""Reminders of a bill's due date: one a few days before while it is unpaid, one when it is overdue."""

from __future__ import annotations

import datetime as dt
import logging

from ..alerts import alert_store
from ..app import JobContext
from .ledger_wiring import ledger_for
from .money import format_inr

log = logging.getLogger(__name__)

DUE_KINDS = ("bill_due", "bill_overdue")


def due_alerts(bill: dict | None, owed_paise: int, today: dt.date, reminder_days: int) -> list[tuple[str, str, str]]:
    """(kind, dedup key, message) the latest bill calls for, given what is still owed today. Pure.

    Only the latest bill counts: an earlier bill left unpaid is in its previous balance.
    """
    if bill is None or owed_paise <= 0:
        return []
    due = dt.date.fromisoformat(bill["due_date"])
    owed = format_inr(owed_paise)
    what = f"bill #{bill['id']} ({bill['cycle_start']} to {bill['cycle_end']}, {format_inr(bill['amount_paise'])})"
    if today > due:
        days = (today - due).days
        late = f"{days} day{'s' if days != 1 else ''} overdue"
        return [("bill_overdue", f"bill_overdue:{bill['id']}", f"{what} was due on {due}: {owed} still to pay, {late}")]
    if today >= due - dt.timedelta(days=reminder_days):
        days = (due - today).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        return [("bill_due", f"bill_due:{bill['id']}", f"{what} is due on {due} ({when}): {owed} still to pay")]
    return []


def remind_due(ctx: JobContext) -> list[str]:
    """Raise the due and overdue reminders of the latest bill; resolve them once the balance is paid."""
    store, now = ctx.store, ctx.now_ms()
    section = ctx.config["billing"]
    ledger = ledger_for(store, ctx.config)
    bills = ledger.bills()
    owed = ledger.balance()["balance_paise"]
    today = dt.date.fromisoformat(store.calendar.day(now))
    alerts = alert_store(store, ctx.config)
    raised = []
    for kind, key, message in due_alerts(bills[-1] if bills else None, owed, today, section.due_reminder_days):
        alerts.raise_alert(kind, None, message, now_ms=now, dedup_key=key, data={"owed_paise": owed})
        raised.append(key)
    if owed <= 0:
        for kind in DUE_KINDS:
            for old in alerts.list(state="open", kind=kind, limit=1000):
                alerts.act(old["id"], "resolve", "powergw", "the balance is paid", now_ms=now)
                log.info("billing: %s resolved, the balance is paid", old["dedup_key"])
    return raised
