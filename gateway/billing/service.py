"""Billing for the dashboard's JSON API: one object per request, JSON-ready dicts, money as strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import LedgerError
from .estimate import BUDGET_META_KEY, budget_setting_paise, cycle_estimate
from .ledger_wiring import ledger_for
from .money import paise_str, parse_amount, parse_budget, to_paise
from .tariff_book import TariffBook


def _payment(row: dict) -> dict:
    return {
        "id": row["id"],
        "key": row["payment_key"],
        "amount": paise_str(row["amount_paise"]),
        "currency": row["currency"],
        "bill_id": row["bill_id"],
        "method": row["method"],
        "status": row["state"],
        "state": row["state"],
        "reference": row["reference"],
        "upi_link": row["upi_link"],
        "created_ms": row["created_ms"],
        "confirmed_ms": row["confirmed_ms"],
        "confirmed_by": row["confirmed_by"],
    }


class BillingJsonView:
    """Bill till date, projection, slab position, bills, budget, payments and balance, as JSON-ready dicts."""

    def __init__(self, store: Any, config: Any, *, now_ms: Callable[[], int]):
        self.store = store
        self.config = config
        self.section = config["billing"]
        self.now_ms = now_ms
        self.ledger = ledger_for(store, config)

    def cycle(self) -> tuple[int, int]:
        """(day of month the meter is read, months per cycle)."""
        book = TariffBook.load(self.section.tariff_dir)
        today = dt.date.fromisoformat(self.store.calendar.day(self.now_ms()))
        return self.section.anchor.day, book.in_force(self.section.tariff, today).cycle_months

    def summary(self) -> dict:
        est = cycle_estimate(self.store, self.section, TariffBook.load(self.section.tariff_dir), self.now_ms())
        j = est.as_json()

        def proj(p) -> dict:
            d = p.as_json()
            return d | {"bill": d["total"]}

        best = est.best
        pos = est.position
        return {
            "tariff": est.tariff,
            "cycle": j["cycle"]
            | {"day_index": int(est.elapsed_days) + 1, "last_day": (est.cycle.end - dt.timedelta(days=1)).isoformat()},
            "units_till_date": str(est.units),
            "import_units": str(est.import_units),
            "export_units": str(est.export_units),
            "net_units": str(est.import_units - est.export_units),
            "net_metering": None if est.net is None else est.net.as_json(),
            "notes": j.get("notes", []),
            "bill_till_date": f"{est.bill.total:.2f}",
            "breakdown": j["till_date"]["lines"],
            "projection": proj(best),
            "linear_projection": proj(est.projections[0]),
            "projections": [proj(p) for p in est.projections],
            "budget": paise_str(est.budget_paise) if est.budget_paise else None,
            "projected_over_budget": bool(est.budget_paise and to_paise(best.bill.total) > est.budget_paise),
            "slab": {
                "text": pos.message(),
                "boundary": None if pos.boundary is None else str(pos.boundary),
                "units_to_boundary": None if pos.units_to_boundary is None else str(pos.units_to_boundary),
                "crossing_cost": None if pos.crossing_cost is None else f"{pos.crossing_cost:.2f}",
                "step_boundary": None if pos.step_boundary is None else str(pos.step_boundary),
                "step_cost": None if pos.step_cost is None else f"{pos.step_cost:.2f}",
            },
        }

    def bills(self) -> list[dict]:
        return [
            {
                "id": b["id"],
                "cycle_start": b["cycle_start"],
                "cycle_end": b["cycle_end"],
                "units": b["units"],
                "tariff": b["tariff"],
                "source": b["source"],
                "amount": paise_str(b["amount_paise"]),
                "previous_balance": paise_str(b["previous_balance_paise"]),
                "amount_due": paise_str(b["amount_due_paise"]),
                "due_date": b["due_date"],
                "lines": b["lines"],
            }
            for b in self.ledger.bills()
        ]

    def budget(self) -> dict:
        paise = budget_setting_paise(self.store, self.section)
        source = "dashboard" if self.store.get_meta(BUDGET_META_KEY) is not None else "config"
        return {"amount": paise_str(paise) if paise else None, "period": self.section.budget_period, "source": source}

    def set_budget(self, amount: Any, *, by: str) -> dict:
        """Set the budget (0 removes it); kept in the store, it overrides [billing] budget_inr."""
        paise = parse_budget(amount)
        self.store.set_meta(BUDGET_META_KEY, str(paise))
        self.store.set_meta(BUDGET_META_KEY + ".by", f"{by} {self.now_ms()}")
        return self.budget()

    def payments(self, limit: int = 100) -> list[dict]:
        return [_payment(r) for r in reversed(self.ledger.payments()[-limit:])]

    def pay(
        self,
        amount: Any,
        *,
        key: str,
        bill_id: int | None = None,
        method: str = "upi",
        reference: str | None = None,
        by: str = "user",
    ) -> tuple[dict, bool]:
        """Record a payment; UPI payments stay pending until confirmed."""
        link = None
        if method == "upi" and self.section.upi_vpa:
            link = self.upi(amount, ref=key)["link"]
        row, created = self.ledger.record_payment(
            amount if not isinstance(amount, Decimal) else str(amount),
            payment_key=key,
            now_ms=self.now_ms(),
            bill_id=bill_id,
            method=method,
            confirmed=method != "upi",
            upi_link=link,
            by=by,
            note=f"reference {reference}" if reference else "",
        )
        return _payment(row), created

    def confirm(self, payment_id: int, *, by: str, reference: str | None = None) -> dict:
        rows = [r for r in self.ledger.payments() if r["id"] == payment_id]
        if not rows:
            raise LedgerError(f"no payment #{payment_id}")
        row, _ = self.ledger.confirm_payment(rows[0]["payment_key"], now_ms=self.now_ms(), by=by, reference=reference)
        return _payment(row)

    def balance(self) -> dict:
        b = self.ledger.balance()
        return {
            "balance": paise_str(b["balance_paise"]),
            "arrears": paise_str(b["arrears_paise"]),
            "credit": paise_str(b["credit_paise"]),
            "pending": paise_str(b["pending_paise"]),
            "pending_count": b["pending_count"],
        }

    def payment_amount(self, amount: Any) -> int:
        """`amount` in paise, refused as a payment of it would be (at most [billing] max_payment_inr)."""
        return parse_amount(amount, max_paise=self.section.max_payment_inr * 100)

    def upi(self, amount: Any, ref: str | None = None) -> dict:
        """The upi://pay link and its QR code (SVG text) for paying `amount` to the utility."""
        import io

        import segno

        from .upi import upi_link

        paise = self.payment_amount(amount)
        link = upi_link(self.section.upi_vpa, self.section.upi_payee_name, paise, "Electricity bill", ref)
        out = io.BytesIO()
        segno.make(link, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
        return {
            "link": link,
            "qr_svg": out.getvalue().decode("utf-8"),
            "vpa": self.section.upi_vpa,
            "payee": self.section.upi_payee_name,
            "amount": paise_str(paise),
        }
