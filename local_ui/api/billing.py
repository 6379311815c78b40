"""The bill till date, closed bills, the budget, payments, UPI and the balance."""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request

from gateway.billing.money import AMOUNT_PATTERN, BUDGET_MAX_INR, paise_str

from ..context import UiContext
from ..services import Billing
from .endpoint import ID_MAX, LIMIT, ApiError, Endpoint, Param, principal


def billing_service(ctx: UiContext) -> Billing:
    """Billing on this request's store and the household's settings in force."""
    return Billing(ctx.store(), ctx.effective_config(), ctx.now_ms)


def bill_summary(ctx: UiContext) -> dict:
    """This cycle's bill till date and projection, reused while the data is unchanged."""
    return ctx.memo(("bill",), lambda: billing_service(ctx).summary())


def bill_current(ctx, args, body):
    """The cycle so far, with the tariff's title and cycle length in words a household knows."""
    from gateway.billing.tariff_book import TariffBook

    summary = bill_summary(ctx)
    section = ctx.effective_config()["billing"]
    today = dt.date.fromisoformat(ctx.store().calendar.day(ctx.now_ms()))
    tariff = billing_service(ctx).call(lambda: TariffBook.load(section.tariff_dir).in_force(section.tariff, today))
    return jsonify(summary | sentences(summary) | {"tariff_title": tariff.title, "cycle_months": tariff.cycle_months})


def sentences(summary: dict) -> dict:
    """The summary's sentences as {key, params, formats} for the page to word in its language: the slab
    position, the coverage note and the notes (the English text stays beside them, for the CLI and the log)."""
    from gateway.billing.sentence import sentence_of

    note = summary["cycle"].get("coverage_note")
    return {
        "slab": summary["slab"] | {"sentence": sentence_of(summary["slab"]["text"])},
        "cycle": summary["cycle"] | {"coverage_sentence": sentence_of(note) if note else None},
        "note_sentences": [sentence_of(n) for n in summary.get("notes", [])],
    }


def bills_list(ctx, args, body):
    return jsonify(bills=billing_service(ctx).bills())


def budget_get(ctx, args, body):
    return jsonify(billing_service(ctx).budget())


def budget_check(ctx: UiContext) -> dict | None:
    """Run the budget job's check now (its alerts raised at once, not at its next run): where the cycle stands
    against the budget, or None while no node has reported."""
    from gateway.app import JobContext
    from gateway.billing.jobs import check_budget

    store = ctx.store()
    billing = billing_service(ctx)
    est = billing.call(check_budget, JobContext(store, ctx.effective_config(), ctx.now_ms, {}))
    ctx.wrote()
    if est is None or not est.budget_paise:
        return None
    spent = est.bill.total
    return {
        "spent": f"{spent:.2f}",
        "budget": paise_str(est.budget_paise),
        "spent_pct": round(float(100 * spent * 100 / est.budget_paise), 1),
        "projected": f"{est.best.bill.total:.2f}",
        "projected_over": est.best.bill.total * 100 > est.budget_paise,
    }


def budget_put(ctx, args, body):
    budget = billing_service(ctx).set_budget(body["amount"], by=principal().username)
    return jsonify(budget | {"check": budget_check(ctx)})


def payments_list(ctx, args, body):
    return jsonify(payments=billing_service(ctx).payments(limit=args["limit"] or 100))


def payments_create(ctx, args, body):
    key = request.headers.get("Idempotency-Key")
    if key is None:  # the header, if sent, is the key (an empty one is refused, not replaced by the body's)
        key = body.get("idempotency_key")
    if not key or not 8 <= len(key) <= 100:
        raise ApiError(
            400, "an Idempotency-Key header (8 to 100 characters) is required, so a retry records the payment once"
        )
    billing = billing_service(ctx)
    payment, created = billing.pay(
        body["amount"],
        key=key,
        bill_id=body.get("bill_id"),
        method=body.get("method") or "upi",
        reference=body.get("reference"),
        by=principal().username,
    )
    return jsonify(payment=payment, created=created, balance=billing.balance()), 201 if created else 200


def payment_confirm(ctx, args, body, payment_id: int):
    return jsonify(billing_service(ctx).confirm(payment_id, by=principal().username))


def payment_cancel(ctx, args, body, payment_id: int):
    return jsonify(billing_service(ctx).cancel(payment_id, by=principal().username))


REMINDER_KINDS = ("bill_due", "bill_overdue")


def balance_get(ctx, args, body):
    """The signed balance, and what it means now: what is due, for which bill, by when; pending payments apart;
    the open due reminders; whether a UPI QR can be shown."""
    billing = billing_service(ctx)
    out = billing.balance()
    bills = billing.bills()
    latest = bills[0] if bills else None
    owed = to_paise_str(out["balance"])
    today = dt.date.fromisoformat(ctx.store().calendar.day(ctx.now_ms()))
    due = None
    if latest is not None and owed > 0:
        due_day = dt.date.fromisoformat(latest["due_date"])
        due = {
            "amount": out["balance"],
            "bill_id": latest["id"],
            "cycle_start": latest["cycle_start"],
            "cycle_last_day": (dt.date.fromisoformat(latest["cycle_end"]) - dt.timedelta(days=1)).isoformat(),
            "due_date": latest["due_date"],
            "days_left": (due_day - today).days,
            "overdue": today > due_day,
        }
    elif owed > 0:  # owed with no bill: a payment refunded or a bill entered elsewhere
        due = {"amount": out["balance"], "bill_id": None, "due_date": None, "days_left": None, "overdue": False}
    from ..services import Alerts

    alerts = Alerts(ctx.store(), ctx.effective_config(), ctx.now_ms)
    reminders = [
        {"id": a["id"], "kind": a["kind"], "created_ms": a["created_ms"]}
        for kind in REMINDER_KINDS
        for a in alerts.list(state="open", kind=kind, limit=10)
    ]
    section = ctx.effective_config()["billing"]
    return jsonify(
        out
        | {
            "state": "owed" if owed > 0 else "credit" if owed < 0 else "clear",
            "due": due,
            "latest_bill": latest and {k: latest[k] for k in ("id", "cycle_start", "cycle_end", "amount", "due_date")},
            "reminders": reminders,
            "upi_ready": bool(section.upi_vpa and section.upi_payee_name),
        }
    )


def to_paise_str(amount: str) -> int:
    """A signed rupee string from paise_str ("-100.00") back to paise."""
    whole, _, frac = amount.lstrip("-").partition(".")
    paise = int(whole) * 100 + int((frac + "00")[:2])
    return -paise if amount.startswith("-") else paise


def upi_get(ctx, args, body):
    billing = billing_service(ctx)
    billing.payment_amount(args["amount"])  # a bad amount is a 400 whether or not UPI is configured
    billing.upi_ready()
    return jsonify(billing.upi(args["amount"]))


_AMOUNT = {
    "type": ["string", "integer"],
    "pattern": AMOUNT_PATTERN,
    "minimum": 1,
    "description": "rupees, > 0: ASCII digits, at most 2 decimals, commas optional "
    '("1500", "1,500.50", "1,23,456.78"); a JSON float is refused',
}
_BUDGET = _AMOUNT | {
    "minimum": 0,
    "maximum": BUDGET_MAX_INR,
    "description": 'rupees, e.g. "2500.00" or "1,500"; 0 turns it off',
}
_PAYMENT = {
    "type": "object",
    "required": ["amount"],
    "properties": {
        "amount": _AMOUNT,
        "bill_id": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        "method": {"type": "string", "enum": ["upi", "cash", "card", "netbanking", "other"]},
        "reference": {"type": "string", "maxLength": 100},
        "idempotency_key": {"type": "string", "maxLength": 100},
    },
}
_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    required=True,
    doc="8 to 100 characters, unique per intended payment",
    min_length=8,
    max_length=100,
)

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/bill",
        bill_current,
        "This cycle: units and bill till date, projection, budget, slab position and breakdown",
        "billing",
    ),
    Endpoint("GET", "/bills", bills_list, "Closed bills, newest first", "billing"),
    Endpoint("GET", "/budget", budget_get, "The budget in rupees per cycle", "billing"),
    Endpoint(
        "PUT",
        "/budget",
        budget_put,
        "Set the budget (0 turns budget alerts off); checked at once against this cycle, its alerts raised now",
        "billing",
        role="admin",
        body={"type": "object", "required": ["amount"], "properties": {"amount": _BUDGET}},
    ),
    Endpoint("GET", "/payments", payments_list, "Payments, newest first", "billing", params=(LIMIT,)),
    Endpoint(
        "POST",
        "/payments",
        payments_create,
        "Record a payment (part or full); the Idempotency-Key header makes a retry record it once",
        "billing",
        role="admin",
        headers=(_IDEMPOTENCY_KEY,),
        body=_PAYMENT,
        status=(200, 201),
        errors=(404, 409),
    ),
    Endpoint(
        "POST",
        "/payments/<id:payment_id>/confirm",
        payment_confirm,
        "Confirm a pending (UPI) payment as received by the utility",
        "billing",
        role="admin",
    ),
    Endpoint(
        "POST",
        "/payments/<id:payment_id>/cancel",
        payment_cancel,
        "Cancel a pending (UPI) payment that never reached the utility; it never counted in the balance",
        "billing",
        role="admin",
    ),
    Endpoint(
        "GET",
        "/payments/upi",
        upi_get,
        "The UPI payment link and QR code (SVG) for an amount to the utility's VPA",
        "billing",
        params=(
            Param(
                "amount", required=True, doc="rupees, > 0, at most 2 decimals, commas optional", pattern=AMOUNT_PATTERN
            ),
        ),
    ),
    Endpoint(
        "GET",
        "/balance",
        balance_get,
        "Signed running balance (positive is owed, negative is credit), what is due for which bill by when, "
        "pending payments, open due reminders",
        "billing",
    ),
)
