"""The household's account with the utility: bills of closed cycles, payments, a signed balance.

Balance convention: `balance_paise` > 0 is owed to the utility (arrears), < 0 is credit
(advance paid) carried to the next bill. Only confirmed payments count; a UPI payment is
`pending` until the user or the cloud confirms it.

Every write is one transaction, and listeners (cloud sync's outbox) are called with
`(conn, row, event)` inside it: event is "bill_closed", "payment_created", "payment_confirmed"
or "payment_cancelled". A listener that raises rolls the write back. Each payment carries an
idempotency key: the same key with the same amount returns the first record; the same key with
a different payment is refused. Bad input raises PaymentError/LedgerError and records nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ..db import as_store, transaction
from . import LedgerError
from .cycle import Cycle
from .money import format_inr, parse_amount, to_paise
from .tariff import Bill

billing_migrations = Migrations("powergw.billing")


@billing_migrations()
def m001_ledger(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE bills (
            id INTEGER PRIMARY KEY,
            cycle_start TEXT NOT NULL UNIQUE,
            cycle_end TEXT NOT NULL,
            tariff TEXT NOT NULL,
            units TEXT NOT NULL,
            amount_paise INTEGER NOT NULL CHECK (amount_paise >= 0),
            previous_balance_paise INTEGER NOT NULL,
            lines TEXT NOT NULL,
            source TEXT NOT NULL,
            closed_ms INTEGER NOT NULL,
            due_date TEXT NOT NULL
        )""",
        """CREATE TABLE payments (
            id INTEGER PRIMARY KEY,
            payment_key TEXT NOT NULL UNIQUE,
            amount_paise INTEGER NOT NULL CHECK (amount_paise > 0),
            currency TEXT NOT NULL CHECK (currency = 'INR'),
            bill_id INTEGER REFERENCES bills (id),
            method TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled')),
            note TEXT NOT NULL DEFAULT '',
            upi_link TEXT,
            reference TEXT,
            created_ms INTEGER NOT NULL,
            confirmed_ms INTEGER,
            confirmed_by TEXT
        )""",
        "CREATE INDEX payments_state ON payments (state, created_ms)",
        """CREATE TABLE meter_readings (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('register', 'billed_units')),
            ts_ms INTEGER NOT NULL,
            value_kwh TEXT NOT NULL,
            period_start_ms INTEGER,
            meter_kwh TEXT,
            sensor_kwh TEXT,
            gap_pct TEXT,
            flagged INTEGER NOT NULL DEFAULT 0,
            entered_ms INTEGER NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX meter_readings_ts ON meter_readings (kind, ts_ms)",
    ):
        db.execute(sql)


@billing_migrations()
def m002_meter_reading_audit(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE meter_reading_audit (
            id INTEGER PRIMARY KEY,
            reading_id INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('correct', 'delete')),
            old_value_kwh TEXT NOT NULL,
            new_value_kwh TEXT,
            by TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )"""
    )


LedgerListener = Callable[[sqlite3.Connection, dict, str], None]
METHODS = ("cash", "upi", "card", "netbanking", "cloud", "other")


def _rows(cur: sqlite3.Cursor) -> list[dict]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]


class Ledger:
    """Bills and payments in the gateway's store (a Store or a bare connection)."""

    def __init__(
        self, store: Any, listeners: Sequence[LedgerListener] = (), *, max_payment_paise: int | None = 10_000_000
    ):
        self.store = as_store(store)
        self.listeners = tuple(listeners)
        self.max_payment_paise = max_payment_paise

    # ---- bills -------------------------------------------------------------------------------

    def close_bill(
        self, cycle: Cycle, bill: Bill, *, source: str, now_ms: int, due_days: int = 20
    ) -> tuple[dict, bool]:
        """Record the bill of a closed cycle (once per cycle): (bill row, created)."""
        amount = to_paise(bill.total)
        if amount < 0:
            raise LedgerError(f"bill total {bill.total}: a bill cannot be negative")
        with transaction(self.store) as conn:
            existing = conn.execute("SELECT * FROM bills WHERE cycle_start = ?", (cycle.key,))
            rows = _rows(existing)
            if rows:
                row = rows[0]
                if row["amount_paise"] != amount or row["units"] != str(bill.units):
                    raise LedgerError(
                        f"cycle {cycle.start}–{cycle.end} is already billed as bill #{row['id']} "
                        f"({row['units']} units, {format_inr(row['amount_paise'])})"
                    )
                return row, False
            previous = self._balance(conn)
            due = cycle.end + dt.timedelta(days=due_days)
            cur = conn.execute(
                "INSERT INTO bills (cycle_start, cycle_end, tariff, units, amount_paise, "
                "previous_balance_paise, lines, source, closed_ms, due_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cycle.key,
                    cycle.end.isoformat(),
                    bill.tariff,
                    str(bill.units),
                    amount,
                    previous,
                    json.dumps(bill.as_json()["lines"]),
                    source,
                    now_ms,
                    due.isoformat(),
                ),
            )
            row = self._bill(conn, cur.lastrowid)
            self._notify(conn, row, "bill_closed")
        return row, True

    def get_bill(self, bill_id: int) -> dict:
        row = self._bill(self.store.conn, bill_id)
        if row is None:
            raise LedgerError(f"no bill #{bill_id}")
        return row

    def bills(self) -> list[dict]:
        rows = _rows(self.store.conn.execute("SELECT * FROM bills ORDER BY cycle_start"))
        for r in rows:
            r["lines"] = json.loads(r["lines"])
            r["amount_due_paise"] = max(0, r["amount_paise"] + r["previous_balance_paise"])
        return rows

    def _bill(self, conn: sqlite3.Connection, bill_id: int) -> dict | None:
        rows = _rows(conn.execute("SELECT * FROM bills WHERE id = ?", (bill_id,)))
        if not rows:
            return None
        row = rows[0]
        row["lines"] = json.loads(row["lines"])
        row["amount_due_paise"] = max(0, row["amount_paise"] + row["previous_balance_paise"])
        return row

    # ---- payments ------------------------------------------------------------------------------

    def record_payment(
        self,
        amount: Any,
        *,
        payment_key: str,
        now_ms: int,
        currency: str = "INR",
        bill_id: int | None = None,
        method: str = "cash",
        confirmed: bool = True,
        note: str = "",
        upi_link: str | None = None,
        by: str = "user",
    ) -> tuple[dict, bool]:
        """Record a payment once per `payment_key`: (payment row, created).

        `confirmed=False` leaves it pending (a UPI payment not yet seen to arrive).
        """
        paise = parse_amount(amount, currency=currency, max_paise=self.max_payment_paise)
        key = (payment_key or "").strip()
        if not key or len(key) > 100:
            raise LedgerError("a payment needs an idempotency key of 1 to 100 characters")
        if method not in METHODS:
            raise LedgerError(f"method {method!r}: expected one of {', '.join(METHODS)}")
        if bill_id is not None and (
            isinstance(bill_id, bool) or not isinstance(bill_id, int) or not 1 <= bill_id < 2**63
        ):
            raise LedgerError(f"bill {bill_id!r}: expected a bill id (a whole number from 1)")
        with transaction(self.store) as conn:
            rows = _rows(conn.execute("SELECT * FROM payments WHERE payment_key = ?", (key,)))
            if rows:
                row = rows[0]
                if row["amount_paise"] != paise or row["bill_id"] != bill_id:
                    raise LedgerError(
                        f"payment key {key!r} was already used for payment #{row['id']} of "
                        f"{format_inr(row['amount_paise'])}"
                        f"{' for bill #' + str(row['bill_id']) if row['bill_id'] else ''}"
                    )
                return row, False
            if bill_id is not None and self._bill(conn, bill_id) is None:
                raise LedgerError(f"no bill #{bill_id}")
            state = "confirmed" if confirmed else "pending"
            cur = conn.execute(
                "INSERT INTO payments (payment_key, amount_paise, currency, bill_id, method, state, note, "
                "upi_link, created_ms, confirmed_ms, confirmed_by) VALUES (?, ?, 'INR', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    paise,
                    bill_id,
                    method,
                    state,
                    note,
                    upi_link,
                    now_ms,
                    now_ms if confirmed else None,
                    by if confirmed else None,
                ),
            )
            row = _rows(conn.execute("SELECT * FROM payments WHERE id = ?", (cur.lastrowid,)))[0]
            self._notify(conn, row, "payment_created")
        return row, True

    def confirm_payment(
        self, payment_key: str, *, now_ms: int, by: str, reference: str | None = None, amount: Any = None
    ) -> tuple[dict, bool]:
        """Mark a pending payment confirmed: (row, changed). Confirming twice is a no-op, so the
        cloud can deliver the same confirmation again. `amount`, if given, must match."""
        with transaction(self.store) as conn:
            rows = _rows(conn.execute("SELECT * FROM payments WHERE payment_key = ?", (payment_key,)))
            if not rows:
                raise LedgerError(f"no payment with key {payment_key!r}")
            row = rows[0]
            if amount is not None:
                paise = parse_amount(amount)
                if paise != row["amount_paise"]:
                    raise LedgerError(
                        f"payment {payment_key!r} is for {format_inr(row['amount_paise'])}, not {format_inr(paise)}"
                    )
            if row["state"] == "confirmed":
                return row, False
            if row["state"] == "cancelled":
                raise LedgerError(f"payment {payment_key!r} was cancelled; record a new payment instead")
            conn.execute(
                "UPDATE payments SET state = 'confirmed', confirmed_ms = ?, confirmed_by = ?, "
                "reference = coalesce(?, reference) WHERE id = ?",
                (now_ms, by, reference, row["id"]),
            )
            row = _rows(conn.execute("SELECT * FROM payments WHERE id = ?", (row["id"],)))[0]
            self._notify(conn, row, "payment_confirmed")
        return row, True

    def cancel_payment(self, payment_key: str, *, now_ms: int, by: str) -> dict:
        """Cancel a pending payment (the UPI transfer never happened)."""
        with transaction(self.store) as conn:
            rows = _rows(conn.execute("SELECT * FROM payments WHERE payment_key = ?", (payment_key,)))
            if not rows:
                raise LedgerError(f"no payment with key {payment_key!r}")
            if rows[0]["state"] != "pending":
                raise LedgerError(
                    f"payment {payment_key!r} is {rows[0]['state']}; only a pending payment can be cancelled"
                )
            conn.execute(
                "UPDATE payments SET state = 'cancelled', confirmed_ms = ?, confirmed_by = ? WHERE id = ?",
                (now_ms, by, rows[0]["id"]),
            )
            row = _rows(conn.execute("SELECT * FROM payments WHERE id = ?", (rows[0]["id"],)))[0]
            self._notify(conn, row, "payment_cancelled")
        return row

    def payments(self, state: str | None = None) -> list[dict]:
        sql, params = "SELECT * FROM payments", ()
        if state:
            sql, params = sql + " WHERE state = ?", (state,)
        return _rows(self.store.conn.execute(sql + " ORDER BY created_ms, id", params))

    # ---- balance -------------------------------------------------------------------------------

    def _balance(self, conn: sqlite3.Connection) -> int:
        billed = conn.execute("SELECT coalesce(sum(amount_paise), 0) FROM bills").fetchone()[0]
        paid = conn.execute("SELECT coalesce(sum(amount_paise), 0) FROM payments WHERE state = 'confirmed'").fetchone()[
            0
        ]
        return billed - paid

    def balance(self) -> dict:
        """Signed balance (+ owed, − credit), with arrears, credit and pending payments apart."""
        conn = self.store.conn
        bal = self._balance(conn)
        pending = conn.execute(
            "SELECT coalesce(sum(amount_paise), 0), count(*) FROM payments WHERE state = 'pending'"
        ).fetchone()
        return {
            "balance_paise": bal,
            "arrears_paise": max(bal, 0),
            "credit_paise": max(-bal, 0),
            "pending_paise": pending[0],
            "pending_count": pending[1],
        }

    def statement(self) -> list[dict]:
        """Bills and confirmed payments in time order, each with the running balance after it."""
        conn = self.store.conn
        entries = [
            {
                "ts_ms": r["closed_ms"],
                "kind": "bill",
                "id": r["id"],
                "amount_paise": r["amount_paise"],
                "text": f"bill #{r['id']} {r['cycle_start']}–{r['cycle_end']}: {r['units']} units ({r['tariff']}), "
                f"due {r['due_date']}",
            }
            for r in _rows(conn.execute("SELECT * FROM bills"))
        ]
        entries += [
            {
                "ts_ms": r["confirmed_ms"],
                "kind": "payment",
                "id": r["id"],
                "amount_paise": -r["amount_paise"],
                "text": f"payment #{r['id']} ({r['method']}{', bill #' + str(r['bill_id']) if r['bill_id'] else ''})",
            }
            for r in _rows(conn.execute("SELECT * FROM payments WHERE state = 'confirmed'"))
        ]
        entries.sort(key=lambda e: (e["ts_ms"], e["kind"] != "bill", e["id"]))
        running = 0
        for e in entries:
            running += e["amount_paise"]
            e["balance_paise"] = running
        return entries

    def _notify(self, conn: sqlite3.Connection, row: dict, event: str) -> None:
        for listener in self.listeners:
            listener(conn, dict(row), event)
