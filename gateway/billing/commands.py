"""Billing subcommands: bill, tariffs, meter, pay, balance; their options here, what they do in command_handlers."""

from __future__ import annotations

import argparse
from pathlib import Path

from .command_handlers import cmd_balance, cmd_bill, cmd_meter, cmd_pay, cmd_tariffs


def _common(p: argparse.ArgumentParser, *, db: bool = True) -> None:
    p.add_argument("--config", "-c", type=Path, help="TOML config file (default: built-in defaults)")
    if db:
        p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")
    p.add_argument("--at", help="pretend it is this local date/time (YYYY-MM-DD[THH:MM]); default now")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the billing subcommands, one function each, in `powergw --help` order."""
    _add_bill(sub)
    _add_tariffs(sub)
    _add_meter(sub)
    _add_pay(sub)
    _add_balance(sub)


def _add_bill(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bill",
        help="the bill for N units, or the current cycle till date and projected",
        description="Bill breakdown by slab. Without --units: this cycle's units and bill till date, "
        "projections at cycle end, slab position and budget, from the gateway's data.",
    )
    p.add_argument("--units", help="units (kWh) drawn from the grid in the cycle, e.g. 463")
    p.add_argument("--export", help="with --units: units exported in the cycle (a net-metered tariff), e.g. 260")
    p.add_argument("--banked", help="with --units: units banked from earlier cycles of the settlement year")
    p.add_argument(
        "--year-end", action="store_true", help="with --units: the cycle closes the settlement year (bank paid out)"
    )
    p.add_argument("--tariff", help="tariff name or .toml path (default: [billing] tariff)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _common(p)
    p.set_defaults(func=cmd_bill)


def _add_tariffs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tariffs", help="list the tariffs, or check a tariff file")
    p.add_argument(
        "--check", type=Path, metavar="FILE", help="validate a tariff file and bill a few unit counts with it"
    )
    _common(p, db=False)
    p.set_defaults(func=cmd_tariffs)


def _add_meter(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "meter",
        help="enter the utility meter's reading (or a real bill's units) and compare with the sensors",
        description="Record a meter reading or a real bill's units and compare them with what the sensors "
        "measured over the same period. Exit code 0 when they agree (or there is nothing to compare yet); "
        "1 when the gap is above [billing] meter_mismatch_pct (a meter_mismatch alert is raised too); "
        "2 on bad input (nothing is recorded).",
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--reading", help="meter register reading in kWh, e.g. 12345.6")
    g.add_argument("--billed-units", help="units on the utility's bill for --from..--to")
    g.add_argument(
        "--list", action="store_true", help="list the readings entered (with their ids) and the corrections made"
    )
    g.add_argument(
        "--delete", type=int, metavar="ID", help="delete a reading entered by mistake (kept in the audit list)"
    )
    p.add_argument(
        "--correct", type=int, metavar="ID", help="with --reading or --billed-units: correct that reading's kWh"
    )
    p.add_argument("--by", default="user", help="who corrects or deletes (for the audit list)")
    p.add_argument("--from", dest="date_from", help="first day of the billed period (YYYY-MM-DD)")
    p.add_argument(
        "--to", dest="date_to", help="day the period ended, exclusive: the next meter-reading day (YYYY-MM-DD)"
    )
    p.add_argument("--note", default="", help="a note kept with the entry")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _common(p)
    p.set_defaults(func=cmd_meter)


def _add_pay(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pay",
        help="record a payment (or make a UPI link and QR code for one)",
        description="Record a payment. With --upi the payment is pending until confirmed "
        "(`powergw pay --confirm KEY`, or by the cloud).",
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--amount", help="rupees, at most 2 decimals, e.g. 1805.00")
    g.add_argument("--confirm", metavar="KEY", help="confirm the pending payment with this key")
    g.add_argument("--cancel", metavar="KEY", help="cancel the pending payment with this key")
    p.add_argument("--bill", type=int, help="the bill id it pays (see `powergw balance`)")
    p.add_argument("--currency", default="INR", help="only INR is accepted")
    p.add_argument("--key", help="idempotency key (default: a new random key; reuse it to retry safely)")
    p.add_argument(
        "--method", default=None, help="cash, upi, card, netbanking, other (default cash, or upi with --upi)"
    )
    p.add_argument("--upi", action="store_true", help="make a upi://pay link and QR code; the payment stays pending")
    p.add_argument("--qr", type=Path, help="also save the QR code to this .png or .svg file")
    p.add_argument("--reference", help="UPI/UTR reference when confirming")
    p.add_argument("--by", default="user", help="who records or confirms it")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _common(p)
    p.set_defaults(func=cmd_pay)


def _add_balance(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("balance", help="what is owed or in credit, pending payments, and the statement")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _common(p)
    p.set_defaults(func=cmd_balance)
