"""Payments confirmed in the cloud (UPI webhook, paid at the counter) into the gateway's ledger.

The handler runs inside the transaction that stores the change in sync_inbox and advances the
cursor, and the ledger joins that transaction, so a change is applied once or not at all. It is
also idempotent on its own (a lost cursor or a replay changes nothing):

- a local payment whose key is the change's `idempotency_key` or the cloud's `order_id`, pending
  and for the same amount, is confirmed (by "cloud", reference = the provider's payment id);
  already confirmed, it is left alone: that money is already in the balance;
- otherwise (paid at the counter, or a different amount than the pending one) the payment is
  recorded as confirmed under the change's `idempotency_key`, or `cloud-<key>` if a cancelled or
  different local payment holds that key. The pending one stays for the household to cancel.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.billing.ledger import METHODS, Ledger

from . import SyncError


@dataclass(frozen=True)
class CloudPayment:
    """The fields of a payment_confirmed change the ledger needs."""

    key: str
    amount_paise: int
    paid_ms: int
    method: str
    payment_id: str
    source: str
    order_id: str | None
    bill_ref: str | None

    @classmethod
    def from_change(cls, data: dict) -> CloudPayment:
        def field(name: str, kind: type, optional: bool = False) -> Any:
            value = data.get(name)
            if value is None and optional:
                return None
            if not isinstance(value, kind) or isinstance(value, bool) or value in ("", 0):
                raise SyncError(f"payment_confirmed change: {name} = {value!r:.80}: expected a {kind.__name__}")
            return value

        amount = field("amount_paise", int)
        if amount <= 0:
            raise SyncError(f"payment_confirmed change: amount_paise = {amount}: expected more than 0")
        bill = data.get("bill_id")
        return cls(
            key=field("idempotency_key", str),
            amount_paise=amount,
            paid_ms=field("paid_ms", int),
            method=field("method", str),
            payment_id=field("payment_id", str),
            source=data.get("source") or "cloud",
            order_id=field("order_id", str, optional=True),
            bill_ref=None if bill is None else str(bill),
        )

    @property
    def rupees(self) -> Decimal:
        return Decimal(self.amount_paise).scaleb(-2)


def _local_bill(conn: sqlite3.Connection, ref: str | None) -> int | None:
    """The cloud's bill id as a local bill: our bill number, or the cycle's start date; else none."""
    if ref is None:
        return None
    row = None
    if ref.isdigit():
        row = conn.execute("SELECT id FROM bills WHERE id = ?", (int(ref),)).fetchone()
    if row is None:
        row = conn.execute("SELECT id FROM bills WHERE cycle_start = ?", (ref,)).fetchone()
    return row[0] if row else None


def _payment(conn: sqlite3.Connection, key: str | None) -> dict | None:
    if key is None:
        return None
    cur = conn.execute("SELECT payment_key, state, amount_paise FROM payments WHERE payment_key = ?", (key,))
    row = cur.fetchone()
    return dict(zip(("payment_key", "state", "amount_paise"), row, strict=False)) if row else None


def apply_payment_confirmed(ledger: Ledger, conn: sqlite3.Connection, data: dict) -> str:
    """Apply one payment_confirmed change; returns what was done (for logs and tests)."""
    pay = CloudPayment.from_change(data)
    for key in (pay.key, pay.order_id):
        local = _payment(conn, key)
        if local is None or local["amount_paise"] != pay.amount_paise or local["state"] == "cancelled":
            continue
        if local["state"] == "confirmed":
            return "already confirmed"
        ledger.confirm_payment(local["payment_key"], now_ms=pay.paid_ms, by="cloud", reference=pay.payment_id)
        return "confirmed"
    key = pay.key if _payment(conn, pay.key) is None else f"cloud-{pay.key}"
    if _payment(conn, key) is not None:
        return "already recorded"
    ledger.record_payment(
        pay.rupees,
        payment_key=key,
        now_ms=pay.paid_ms,
        bill_id=_local_bill(conn, pay.bill_ref),
        method=pay.method if pay.method in METHODS else "other",
        confirmed=True,
        note=f"confirmed in the cloud: {pay.source} {pay.payment_id}",
        by="cloud",
    )
    return "recorded"
