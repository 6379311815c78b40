"""BillingJsonView: the dashboard's view of billing, JSON-ready, on a real store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.app import open_store
from gateway.billing import PaymentError
from gateway.billing.service import BillingJsonView
from gateway.config import parse_config
from tests.support.billing_usage import START, fill, ms


@pytest.fixture
def service(tmp_path):
    store = open_store(tmp_path / "gw.db")
    fill(store, START, 20, 375)
    cfg = parse_config(
        {
            "billing": {
                "meter_reading_date": START.isoformat(),
                "budget_inr": 150,
                "holiday_state": "",
                "upi_vpa": "tnpdcl@sbi",
                "upi_payee_name": "TNPDCL",
            }
        }
    )
    yield BillingJsonView(store, cfg, now_ms=lambda: ms(dt.date(2025, 7, 25)))
    store.close()


def test_summary(service):
    s = service.summary()
    assert s["bill_till_date"] == "188.00" and s["units_till_date"] == "180.00"
    assert s["cycle"]["day_index"] == 21 and s["cycle"]["last_day"] == "2025-09-04" and s["cycle"]["days"] == 62
    assert s["budget"] == "150.00" and s["projected_over_budget"] is True
    assert s["linear_projection"]["method"] == "straight_line" and s["projection"]["bill"] == s["projection"]["total"]
    assert s["slab"]["text"].startswith("20 units to 200") and s["breakdown"][1]["amount"] == "188.00"
    assert service.cycle() == (5, 2)


def test_budget_override(service):
    assert service.budget() == {"amount": "150.00", "period": "cycle", "source": "config"}
    assert service.set_budget(Decimal("2500.00"), by="asha") == {
        "amount": "2500.00",
        "period": "cycle",
        "source": "dashboard",
    }
    assert service.summary()["budget"] == "2500.00"
    assert service.set_budget(Decimal(0), by="asha")["amount"] is None
    assert service.summary()["budget"] is None
    with pytest.raises(PaymentError, match="at most 2 decimal"):
        service.set_budget(Decimal("1.001"), by="asha")


def test_pay_confirm_balance_upi(service):
    p, created = service.pay(Decimal("188.00"), key="dash-0001", method="upi", by="asha")
    assert (
        created and p["status"] == "pending" and p["upi_link"].startswith("upi://pay?pa=tnpdcl@sbi&pn=TNPDCL&am=188.00")
    )
    again, created = service.pay(Decimal("188.00"), key="dash-0001", method="upi", by="asha")
    assert not created and again["id"] == p["id"]
    assert service.balance() == {
        "balance": "0.00",
        "arrears": "0.00",
        "credit": "0.00",
        "pending": "188.00",
        "pending_count": 1,
    }
    assert service.confirm(p["id"], by="asha")["status"] == "confirmed"
    assert service.balance()["balance"] == "-188.00"
    cash, _ = service.pay("50", key="dash-0002", method="cash")
    assert cash["status"] == "confirmed" and [x["key"] for x in service.payments()] == ["dash-0002", "dash-0001"]
    u = service.upi(Decimal("705.50"))
    assert u["amount"] == "705.50" and u["qr_svg"].startswith("<svg") and "am=705.50" in u["link"]
