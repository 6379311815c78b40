"""Payments ledger: bills, partial/full payments, signed balance, arrears and credit, idempotency,
bad input refused with nothing recorded, listeners in the same transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.app import open_store
from gateway.billing import LedgerError, PaymentError
from gateway.billing.cycle import Cycle
from gateway.billing.ledger import Ledger
from gateway.billing.money import AMOUNT_PATTERN, format_inr, parse_amount
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook

T0 = 1_720_000_000_000
C1 = Cycle(dt.date(2025, 5, 5), dt.date(2025, 7, 5))
C2 = Cycle(dt.date(2025, 7, 5), dt.date(2025, 9, 5))


@pytest.fixture(scope="module")
def tn():
    return TariffBook.load().in_force("tn-domestic", dt.date(2025, 7, 1))


def test_bills_payments_arrears_and_credit(store, tn):
    ledger = Ledger(store, max_payment_paise=100_000_00)
    b1, created = ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)  # ₹1490.00
    assert (
        created
        and b1["amount_paise"] == 149000
        and b1["due_date"] == "2025-07-25"
        and b1["previous_balance_paise"] == 0
    )
    ledger.record_payment("1000", payment_key="p1", now_ms=T0 + 1, bill_id=b1["id"])  # partial
    assert ledger.balance() == {
        "balance_paise": 49000,
        "arrears_paise": 49000,
        "credit_paise": 0,
        "pending_paise": 0,
        "pending_count": 0,
    }
    b2, _ = ledger.close_bill(C2, compute_bill(tn, 300), source="meter", now_ms=T0 + 2)  # ₹705.00 + ₹490 arrears
    assert b2["previous_balance_paise"] == 49000 and b2["amount_due_paise"] == 119500
    ledger.record_payment("1500.50", payment_key="p2", now_ms=T0 + 3, bill_id=b2["id"])  # overpay → credit
    assert ledger.balance()["balance_paise"] == -30550 and ledger.balance()["credit_paise"] == 30550
    statement = ledger.statement()
    assert [(e["kind"], e["amount_paise"], e["balance_paise"]) for e in statement] == [
        ("bill", 149000, 149000),
        ("payment", -100000, 49000),
        ("bill", 70500, 119500),
        ("payment", -150050, -30550),
    ]
    # The credit is carried into the next bill.
    b3, _ = ledger.close_bill(
        Cycle(dt.date(2025, 9, 5), dt.date(2025, 11, 5)), compute_bill(tn, 150), source="sensor", now_ms=T0 + 4
    )
    assert b3["previous_balance_paise"] == -30550 and b3["amount_due_paise"] == 0  # ₹117.50 covered by credit


def test_close_bill_is_once_per_cycle(store, tn):
    ledger = Ledger(store)
    b, created = ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0)
    again, created_again = ledger.close_bill(C1, compute_bill(tn, 450), source="sensor", now_ms=T0 + 5)
    assert created and not created_again and again["id"] == b["id"]
    with pytest.raises(LedgerError, match=r"already billed as bill #1 \(450 units, ₹1,490.00\)"):
        ledger.close_bill(C1, compute_bill(tn, 451), source="meter", now_ms=T0 + 6)
    assert len(ledger.bills()) == 1


def test_idempotency_key(store):
    ledger = Ledger(store)
    first, created = ledger.record_payment("500", payment_key="dbl-click", now_ms=T0)
    second, created2 = ledger.record_payment("500.00", payment_key="dbl-click", now_ms=T0 + 10)
    assert created and not created2 and first["id"] == second["id"]
    with pytest.raises(LedgerError, match=r"payment key 'dbl-click' was already used for payment #1 of ₹500.00"):
        ledger.record_payment("600", payment_key="dbl-click", now_ms=T0 + 20)
    assert len(ledger.payments()) == 1 and ledger.balance()["balance_paise"] == -50000


@pytest.mark.parametrize(
    "amount,currency,message",
    [
        ("0", "INR", "must be more than 0"),
        ("-5", "INR", "must be more than 0"),
        ("10.005", "INR", "at most 2 decimal places"),
        ("1e-3", "INR", "expected rupees as digits"),
        ("100001", "INR", r"more than the limit of ₹1,00,000.00"),
        ("100", "USD", "only INR"),
        ("abc", "INR", "expected rupees"),
        ("NaN", "INR", "expected rupees as digits"),
        ("Infinity", "INR", "expected rupees as digits"),
        (10.5, "INR", "not a binary float"),
        (True, "INR", "expected rupees"),
        (None, "INR", "expected rupees"),
        ("", "INR", "expected rupees"),
    ],
)
def test_bad_payments_record_nothing(store, amount, currency, message):
    ledger = Ledger(store, max_payment_paise=100_000_00)
    with pytest.raises(PaymentError, match=message):
        ledger.record_payment(amount, payment_key="k", now_ms=T0, currency=currency)
    assert ledger.payments() == [] and ledger.balance()["balance_paise"] == 0
    assert not store.conn.in_transaction


def test_other_bad_requests_record_nothing(store):
    ledger = Ledger(store)
    with pytest.raises(LedgerError, match="no bill #7"):
        ledger.record_payment("100", payment_key="k", now_ms=T0, bill_id=7)
    with pytest.raises(LedgerError, match="idempotency key"):
        ledger.record_payment("100", payment_key=" ", now_ms=T0)
    with pytest.raises(LedgerError, match="method 'gold'"):
        ledger.record_payment("100", payment_key="k", now_ms=T0, method="gold")
    assert ledger.payments() == []
    # The database refuses what the API would never write, as a last line.
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(
            "INSERT INTO payments (payment_key, amount_paise, currency, method, state, created_ms) "
            "VALUES ('x', 100, 'USD', 'cash', 'confirmed', 0)"
        )


def test_amounts_are_exact():
    assert parse_amount("1,23,456.78") == 12345678
    assert parse_amount("₹ 0.01") == 1
    assert parse_amount(Decimal("99.9")) == 9990
    assert parse_amount(250) == 25000
    assert parse_amount("1,500") == parse_amount("1500") == parse_amount("1,500.00") == 150000
    assert parse_amount("12,34,567.8") == parse_amount("1,234,567.80") == 123456780


@pytest.mark.parametrize(
    "value, words",
    [
        ("1_000", "expected rupees as digits"),
        ("١٠٠", "expected rupees as digits"),
        ("１２", "expected rupees as digits"),
        ("1E+2", "expected rupees as digits"),
        ("1e3", "expected rupees as digits"),
        ("Infinity", "expected rupees as digits"),
        (12.5, "not a binary float"),
        ("12,345,67", "expected rupees as digits"),
        ("1,5000", "expected rupees as digits"),
        ("", "expected rupees as digits"),
        ("-5", "must be more than 0"),
        ("0", "must be more than 0"),
        ("1.005", "at most 2 decimal places"),
        (Decimal("NaN"), "finite"),
        (10**30, "more than the limit"),
        (True, "expected rupees as digits"),
        (None, "expected rupees as digits"),
        ("\t100", "expected rupees as digits"),
        ("100\n", "expected rupees as digits"),
    ],
)
def test_parse_amount_refuses_with_the_rule(value, words):
    from gateway.billing import PaymentError

    with pytest.raises(PaymentError, match=words):
        parse_amount(value)


AMOUNT_SCHEMA = jsonschema_rs.validator_for({"type": "string", "pattern": AMOUNT_PATTERN})


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.text(alphabet="0123456789,. ₹-\t\ne_١", max_size=24), st.from_regex(AMOUNT_PATTERN, fullmatch=True))
)
def test_the_documents_amount_pattern_is_what_parse_amount_reads(text):
    """The API documents' pattern (money.AMOUNT_PATTERN, read by the JSON Schema validator schemathesis
    uses) matches exactly the text parse_amount reads, leaving 0, decimals past 2 and limits to its
    own messages: a fuzzer's schema-breaking amount is always refused, and every amount it takes is
    one the document allows."""
    from gateway.billing import PaymentError

    try:
        parse_amount(text, allow_zero=True, max_paise=10**30)
        read = True
    except PaymentError as err:
        read = "expected rupees as digits" not in str(err) and "must be" not in str(err)
    assert AMOUNT_SCHEMA.is_valid(text) == read, text


def test_parse_amount_names_the_limit_that_applies():
    from gateway.billing import PaymentError

    with pytest.raises(PaymentError, match=r"more than the limit of ₹500.00 \(the budget\)"):
        parse_amount("501", max_paise=50_000, limit="the budget")
    assert parse_amount("0", allow_zero=True) == 0
    assert format_inr(12345678) == "₹1,23,456.78" and format_inr(-30550) == "-₹305.50" and format_inr(5) == "₹0.05"


def test_pending_upi_payment_confirmed_once(store):
    ledger = Ledger(store)
    row, _ = ledger.record_payment("705", payment_key="upi-1", now_ms=T0, method="upi", confirmed=False)
    assert (
        row["state"] == "pending"
        and ledger.balance()["pending_paise"] == 70500
        and ledger.balance()["balance_paise"] == 0
    )
    row, changed = ledger.confirm_payment("upi-1", now_ms=T0 + 5, by="cloud", reference="UTR123")
    assert changed and row["state"] == "confirmed" and row["reference"] == "UTR123" and row["confirmed_by"] == "cloud"
    row, changed = ledger.confirm_payment("upi-1", now_ms=T0 + 9, by="cloud", reference="UTR123")  # redelivered
    assert not changed and row["confirmed_ms"] == T0 + 5
    assert ledger.balance()["balance_paise"] == -70500
    with pytest.raises(LedgerError, match="is for ₹705.00, not ₹700.00"):
        ledger.confirm_payment("upi-1", now_ms=T0, by="cloud", amount="700")
    with pytest.raises(LedgerError, match="no payment with key 'nope'"):
        ledger.confirm_payment("nope", now_ms=T0, by="cloud")
    ledger.record_payment("100", payment_key="upi-2", now_ms=T0, method="upi", confirmed=False)
    ledger.cancel_payment("upi-2", now_ms=T0 + 1, by="asha")
    with pytest.raises(LedgerError, match="was cancelled"):
        ledger.confirm_payment("upi-2", now_ms=T0 + 2, by="cloud")
    with pytest.raises(LedgerError, match="only a pending payment"):
        ledger.cancel_payment("upi-1", now_ms=T0 + 2, by="asha")


def test_listeners_share_the_transaction(store, tn):
    events = []

    def outbox(conn, row, event):
        assert conn.in_transaction
        events.append((event, row["id"]))
        if row.get("payment_key") == "boom":
            raise RuntimeError("outbox full")

    ledger = Ledger(store, listeners=[outbox])
    ledger.close_bill(C1, compute_bill(tn, 200), source="sensor", now_ms=T0)
    ledger.record_payment("235", payment_key="upi-9", now_ms=T0, method="upi", confirmed=False)
    ledger.confirm_payment("upi-9", now_ms=T0 + 1, by="user")
    ledger.confirm_payment("upi-9", now_ms=T0 + 2, by="user")  # no change, no event
    assert events == [("bill_closed", 1), ("payment_created", 1), ("payment_confirmed", 1)]
    with pytest.raises(RuntimeError):
        ledger.record_payment("1", payment_key="boom", now_ms=T0)
    assert [p["payment_key"] for p in ledger.payments()] == ["upi-9"]


def test_works_on_a_bare_connection(tmp_path):
    open_store(tmp_path / "gw.db").close()
    conn = sqlite3.connect(tmp_path / "gw.db", isolation_level=None)
    ledger = Ledger(conn)
    ledger.record_payment("10", payment_key="c1", now_ms=T0, method="cloud", confirmed=False)
    assert ledger.confirm_payment("c1", now_ms=T0, by="cloud")[1]
