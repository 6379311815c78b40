"""Payments: a household's list, payment orders with a UPI link, the counter's and the provider's confirmations."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse

from flask import Response, jsonify, request

from .checks import integer, json_object, object_at, text
from .context import CloudApi
from .contract import MAX_MS, MAX_PAISE
from .errors import fail
from .households import no_household


def upi_intent(vpa: str, payee: str, order_id: str, amount_paise: int, note: str) -> str:
    """A UPI deep link (NPCI's upi://pay scheme) that any UPI app opens with the amount filled in."""
    amount = f"{amount_paise // 100}.{amount_paise % 100:02d}"
    query = urllib.parse.urlencode(
        {"pa": vpa, "pn": payee, "tr": order_id, "tn": note, "am": amount, "cu": "INR"}, quote_via=urllib.parse.quote
    )
    return f"upi://pay?{query}"


def razorpay_signature(secret: str, raw: bytes) -> str:
    """Razorpay's webhook signature: hex HMAC-SHA256 of the raw body with the webhook secret."""
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def payments(api: CloudApi, household_id: int, after: int, cloud_after: int, limit: int) -> Response:
    return jsonify(
        gateway=api.store.events(household_id, "payment_created", limit, after),
        cloud=api.store.cloud_payments(household_id, limit, cloud_after),
    )


def payment_order(api: CloudApi, household_id: int, body: dict) -> Response:
    bill_id, amount = body["bill_id"], body["amount_paise"]
    order_id = api.store.add_payment_order(household_id, bill_id, amount, api.clock())
    settings = api.settings
    intent = upi_intent(settings.payee_vpa, settings.payee_name, order_id, amount, f"powergw bill {bill_id}")
    return jsonify(order_id=order_id, amount_paise=amount, upi_intent=intent), 201


def counter_payment(api: CloudApi, household_id: int, body: dict) -> Response:
    store = api.store
    if not store.household_exists(household_id):
        return no_household(household_id)
    created = store.record_counter_payment(
        household_id, body["bill_id"], body["amount_paise"], body["reference"], api.clock()
    )
    return jsonify(status="ok" if created else "duplicate"), 201 if created else 200


def razorpay_webhook(api: CloudApi) -> Response:
    raw = request.get_data(cache=True)
    secret = api.settings.webhook_secret
    if not secret:
        return fail(404, "webhooks are not configured")
    sig = request.headers.get("X-Razorpay-Signature", "")
    if not sig.isascii() or not hmac.compare_digest(razorpay_signature(secret, raw), sig):
        return fail(400, "bad signature", "X-Razorpay-Signature")
    event_id = text(request.headers.get("X-Razorpay-Event-Id"), "X-Razorpay-Event-Id", max_len=100)
    data = json_object(raw)
    now = api.clock()
    created_s = integer(data.get("created_at"), "created_at", lo=0, hi=MAX_MS // 1000)
    if abs(now / 1000 - created_s) > api.settings.webhook_tolerance_s:
        return fail(400, "event too old or from the future: refused as a replay", "created_at")
    store = api.store
    with store.tx() as tx:
        if store.seen_webhook(tx, event_id, now):
            # A provider retries when it missed our 2xx; the copy must have no effect, and
            # answering non-2xx would only make it retry for a day.
            return jsonify(status="duplicate")
        if data.get("event") != "payment.captured":
            return jsonify(status="ignored")
        entity = object_at(data, ("payload", "payment", "entity"))
        payment_id = text(entity.get("id"), "payload.payment.entity.id", max_len=100)
        amount = integer(entity.get("amount"), "payload.payment.entity.amount", lo=1, hi=MAX_PAISE)
        order_id = text(entity.get("order_id"), "payload.payment.entity.order_id", max_len=100, optional=True)
        method = text(entity.get("method", "upi"), "payload.payment.entity.method", max_len=30)
        order = None
        if order_id:
            order = tx.one("SELECT household_id, bill_id FROM payment_orders WHERE id = ?", (order_id,))
        if order is None:
            return jsonify(status="ignored", reason="unknown order")
        store.confirm_payment(
            tx,
            household_id=order[0],
            provider_payment_id=payment_id,
            order_id=order_id,
            bill_id=order[1],
            amount_paise=amount,
            method=method,
            paid_ms=created_s * 1000,
            source="razorpay",
            now=now,
        )
    return jsonify(status="ok")
