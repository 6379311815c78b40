"""The bill till date, closed bills, the budget, payments, UPI and the balance."""

from __future__ import annotations

from flask import jsonify, request

from gateway.billing.money import AMOUNT_PATTERN, BUDGET_MAX_INR

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
    return jsonify(bill_summary(ctx))


def bills_list(ctx, args, body):
    return jsonify(bills=billing_service(ctx).bills())


def budget_get(ctx, args, body):
    return jsonify(billing_service(ctx).budget())


def budget_put(ctx, args, body):
    return jsonify(billing_service(ctx).set_budget(body["amount"], by=principal().username))


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


def balance_get(ctx, args, body):
    return jsonify(billing_service(ctx).balance())


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
        "Set the budget (0 turns budget alerts off)",
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
    Endpoint("GET", "/balance", balance_get, "Signed running balance: positive is owed, negative is credit", "billing"),
)
