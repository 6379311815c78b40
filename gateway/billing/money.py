"""Money: parse user amounts into integer paise, format paise for people and for JSON."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import PaymentError

CURRENCY = "INR"


# ASCII digits only ([0-9], not \d, which also takes Arabic-Indic and other digits), grouped the
# Indian way (1,23,456), the Western way (123,456) or not at all; past 2 decimals only zeros.
_DIGITS = r"(?:[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3}|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,13})(?:\.[0-9]+)?"
_AMOUNT = re.compile(r"(-?)(" + _DIGITS + ")")
# The text parse_amount reads, as a JSON Schema pattern for the API documents (it says nothing of
# 0, decimals past 2 or a limit, which are refused with their own message). Spaces are the only
# padding taken: a pattern's \s means different characters to different regex engines.
AMOUNT_PATTERN = "^ *(?:₹ *)?" + _DIGITS + " *$"
MAX_PAISE = 10**15  # ₹10 lakh crore: past any household's bill, well inside SQLite's 64-bit integers
BUDGET_MAX_INR = 10_000_000  # as [billing] budget_inr's own maximum
AMOUNT_RULE = "rupees as digits with at most 2 decimals, commas optional (1500, 1,500.50 or 1,23,456.78)"


def parse_amount(
    value: Any,
    *,
    currency: str = CURRENCY,
    max_paise: int | None = None,
    allow_zero: bool = False,
    what: str = "amount",
    limit: str = "[billing] max_payment_inr",
) -> int:
    """An amount in rupees -> paise: the one parser of the CLI, the dashboard's API and the ledger.

    Takes text (ASCII digits, an optional ₹, Indian or Western comma grouping, at most 2
    decimals), a whole number or a Decimal. Refuses floats (a JSON 12.5 included), exponents,
    underscores, other digits, other currencies, 0 unless `allow_zero`, and more than
    `max_paise`, with a PaymentError naming `what`, the rule, and which `limit` applies.
    """
    if currency != CURRENCY:
        raise PaymentError(f"currency {currency!r}: only INR is accepted")
    floor = "0 or more" if allow_zero else "more than 0"
    if isinstance(value, bool):
        raise PaymentError(f"{what} {value!r}: expected {AMOUNT_RULE}")
    if isinstance(value, float):
        raise PaymentError(f'{what} {value!r}: give the amount as text like "1250.50", not a binary float')
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise PaymentError(f"{what} {value}: expected a finite number of rupees")
        amount = value
    elif isinstance(value, str):
        text = value.strip(" ")
        if text.startswith("₹"):
            text = text[1:].lstrip(" ")
        match = _AMOUNT.fullmatch(text)
        if not match:
            raise PaymentError(f"{what} {value[:40]!r}: expected {AMOUNT_RULE}")
        if match[1]:
            raise PaymentError(f"{what} {value!r}: must be {floor}")
        amount = Decimal(match[2].replace(",", ""))
    else:
        raise PaymentError(f"{what}: expected {AMOUNT_RULE}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise PaymentError(f"{what} {value!r}: must be {floor}")
    max_paise = MAX_PAISE if max_paise is None else min(max_paise, MAX_PAISE)
    if amount * 100 > max_paise:
        raise PaymentError(f"{what} {value!r}: more than the limit of {format_inr(max_paise)} ({limit})")
    if amount != amount.quantize(Decimal("0.01")):
        raise PaymentError(f"{what} {value!r}: at most 2 decimal places (paise)")
    return int(amount * 100)


def parse_budget(value: Any, *, what: str = "amount") -> int:
    """A budget in rupees -> paise, as parse_amount reads it: 0 (no budget) allowed, at most what
    [billing] budget_inr takes. PUT /api/v1/budget and the Settings page's budget both use it."""
    return parse_amount(
        value,
        allow_zero=True,
        max_paise=BUDGET_MAX_INR * 100,
        what=what,
        limit="the largest budget [billing] budget_inr takes",
    )


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
