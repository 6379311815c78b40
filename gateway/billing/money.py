"""Money: parse user amounts into integer paise, format paise for people and for JSON."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from . import PaymentError

CURRENCY = "INR"


def parse_amount(value: Any, *, currency: str = CURRENCY, max_paise: int | None = None) -> int:
    """An amount in rupees (string, int or Decimal) -> paise. Refuses floats, <= 0, > 2 decimals,
    other currencies and amounts above `max_paise` with a PaymentError that says why."""
    if currency != CURRENCY:
        raise PaymentError(f"currency {currency!r}: only INR is accepted")
    if isinstance(value, bool) or isinstance(value, float):
        raise PaymentError(f"amount {value!r}: give the amount as text like '1250.50', not a binary float")
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text.startswith("₹"):
            text = text[1:].strip()
    elif isinstance(value, (int, Decimal)):
        text = str(value)
    else:
        raise PaymentError(f"amount {value!r}: expected rupees like '1250.50'")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise PaymentError(f"amount {value!r}: expected rupees like '1250.50'") from None
    if not amount.is_finite():
        raise PaymentError(f"amount {value!r}: expected a finite number of rupees")
    if amount <= 0:
        raise PaymentError(f"amount {value!r}: must be more than 0")
    if amount.as_tuple().exponent < -2:
        raise PaymentError(f"amount {value!r}: at most 2 decimal places (paise)")
    paise = int(amount * 100)
    if max_paise is not None and paise > max_paise:
        raise PaymentError(f"amount {value!r}: more than the limit of {format_inr(max_paise)} ([billing] max_payment_inr)")
    return paise


def to_paise(rupees: Decimal) -> int:
    """A Decimal already rounded to paise -> int paise (exact)."""
    paise = rupees * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{rupees} is not a whole number of paise")
    return int(paise)


def paise_str(paise: int) -> str:
    """Paise as a plain signed decimal string: 123450 -> '1234.50' (JSON, UPI links)."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), 100)
    return f"{sign}{whole}.{frac:02d}"


def format_inr(paise: int) -> str:
    """Paise for people, Indian digit grouping: 12345678 -> '₹1,23,456.78'."""
    sign = "-" if paise < 0 else ""
    whole, frac = divmod(abs(paise), 100)
    digits = str(whole)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"{sign}₹{digits}.{frac:02d}"
