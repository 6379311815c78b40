"""What the billing subcommands do: bill, tariffs, meter, pay, balance (their options are in commands.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import time

from ..settings_store import effective_config

# ---- helpers -------------------------------------------------------------------------------------


def _config(args):
    from ..config import load_config

    return load_config(args.config)


def _open(args, config):
    from ..app import existing_database, open_store

    return open_store(existing_database(args.db, config), config.gateway.timezone)


def _now_ms(args, calendar) -> int:
    if not args.at:
        return time.time_ns() // 1_000_000
    from . import BillingError

    try:
        when = dt.datetime.fromisoformat(args.at)
    except ValueError:
        raise BillingError(f"--at {args.at!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=calendar.tz)
    return int(when.timestamp() * 1000)


def _table(rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append(
            "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))
            ).rstrip()
        )
    return "\n".join(out)


def _bill_table(bill) -> str:
    rows = [["line", "units", "rate", "amount"]]
    for line in bill.lines:
        rows.append(
            [
                line.label,
                "" if line.units is None else format(line.units.normalize(), "f"),
                f"₹{line.rate:.2f}"
                if line.rate is not None
                else (f"{line.percent.normalize():f}%" if line.percent is not None else ""),
                f"{line.amount:.2f}",
            ]
        )
    rows.append(["total", format(bill.units.normalize(), "f"), "", f"{bill.total:.2f}"])
    text = _table(rows, right={1, 3})
    for note in bill.notes:
        text += f"\n({note})"
    return text


# ---- handlers ------------------------------------------------------------------------------------


def _bill_for_units(args: argparse.Namespace, tariff, units, options):
    """(bill, slab position) of `--units` drawn, with `--export`, `--banked` and `--year-end` when
    given or when the tariff settles export or has time-of-day rates."""
    from .net_metering import Flows, compute_net_bill, position_bill
    from .tariff import compute_bill, cycle_units, slab_position

    if args.export is None and args.banked is None and not args.year_end and tariff.export is None:
        if not tariff.time_of_day:
            bill = compute_bill(tariff, units, options)
            return bill, slab_position(lambda u: compute_bill(tariff, u, options), tariff.boundaries(), bill.units)
    exported = cycle_units(args.export) if args.export is not None else 0
    banked = cycle_units(args.banked) if args.banked is not None else 0
    flows = Flows.of(units, exported, banked_in=banked, settles=args.year_end)
    bill = compute_net_bill(tariff, flows, options)
    return bill, slab_position(position_bill([(tariff, 1)], flows, options), tariff.boundaries(), bill.units)


def cmd_bill(args: argparse.Namespace) -> int:
    from . import BillingError
    from .estimate import bill_options, cycle_estimate
    from .tariff import cycle_units
    from .tariff_book import TariffBook

    config = _config(args)
    units = cycle_units(args.units) if args.units is not None else None
    if units is None and (args.export is not None or args.banked is not None or args.year_end):
        raise BillingError("--export, --banked and --year-end go with --units (the units drawn in the cycle)")
    section = config.billing
    book = TariffBook.load(section.tariff_dir)
    name = args.tariff or section.tariff
    if args.units is not None:
        from ..localtime import LocalCalendar

        day = dt.date.fromisoformat(
            LocalCalendar(config.gateway.timezone).day(_now_ms(args, LocalCalendar(config.gateway.timezone)))
        )
        tariff = book.in_force(name, day)
        options = bill_options(section)
        bill, position = _bill_for_units(args, tariff, units, options)
        if args.format == "json":
            out = bill.as_json() | {
                "tariff_effective_from": tariff.effective_from.isoformat(),
                "slab_position": position.message(),
            }
            print(json.dumps(out, indent=2, ensure_ascii=False))
        else:
            print(f"{tariff.title} (from {tariff.effective_from}; {tariff.source})")
            print(_bill_table(bill))
            if bill.net is not None:
                n = bill.net.as_json()
                print(
                    f"drawn {n['import_units']}, exported {n['export_units']}, net {n['net_units']} units; "
                    f"banked in {n['banked_in']}, used {n['banked_used']}, carried {n['banked_out']}"
                )
            print(position.message())
        return 0
    store = _open(args, config)
    try:
        section = effective_config(store, config).billing  # with the dashboard's Settings
        book = TariffBook.load(section.tariff_dir)
        est = cycle_estimate(store, section, book, _now_ms(args, store.calendar), tariff=args.tariff)
    finally:
        store.close()
    if args.format == "json":
        out = est.as_json()
        out["total"] = out["till_date"]["total"]
        out["lines"] = out["till_date"]["lines"]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print("\n".join(est.lines()))
        print()
        print(_bill_table(est.bill))
    return 0


def cmd_tariffs(args: argparse.Namespace) -> int:
    from .tariff import compute_bill
    from .tariff_book import TariffBook
    from .tariff_file import load_tariff_file

    config = _config(args)
    if args.check:
        t = load_tariff_file(args.check)
        print(f"{args.check}: OK: {t.name} ({t.title}), from {t.effective_from}, {t.cycle_months}-monthly cycle")
        needs_load = any(f.basis == "per_kw" for f in t.fixed)
        from .estimate import bill_options

        for units in (0, 50, 100, 200, 300, 500, 800, 1200):
            print(f"  {units:>5} units: ₹{compute_bill(t, units, bill_options(config.billing)).total:>10.2f}")
        if needs_load:
            print(f"  (fixed charge for sanctioned_load_kw = {config.billing.sanctioned_load_kw})")
        return 0
    book = TariffBook.load(config.billing.tariff_dir)
    rows = [["name", "from", "cycle", "title", "file"]]
    for name in book.names():
        for t in book.versions[name]:
            rows.append(
                [
                    t.name + (" (default)" if t.name == config.billing.tariff else ""),
                    str(t.effective_from),
                    f"{t.cycle_months} month",
                    t.title,
                    t.path,
                ]
            )
    print(_table(rows))
    return 0


def cmd_meter(args: argparse.Namespace) -> int:
    from ..alerts import alert_store
    from . import LedgerError
    from .reconcile import record_billed_units, record_meter_reading

    config = _config(args)
    store = _open(args, config)
    config = effective_config(store, config)  # with the dashboard's Settings
    try:
        now = _now_ms(args, store.calendar)
        alerts = alert_store(store, config)
        if args.list or args.delete is not None or args.correct is not None:
            return _meter_admin(args, store, config, alerts, now)
        if args.reading is not None:
            row, comparison = record_meter_reading(
                store, config.billing, alerts, args.reading, at_ms=now, now_ms=now, note=args.note
            )
            period = "since the previous reading"
        else:
            if not args.date_from or not args.date_to:
                raise LedgerError("--billed-units needs --from and --to (the bill's period)")
            from .cycle import billed_period

            first, end_day = billed_period(args.date_from, args.date_to, dt.date.fromisoformat(store.calendar.day(now)))
            start, end = store.calendar.day_start_ms(first), store.calendar.day_start_ms(end_day)
            row, comparison = record_billed_units(
                store, config.billing, alerts, args.billed_units, start_ms=start, end_ms=end, now_ms=now, note=args.note
            )
            period = f"from {args.date_from} to {args.date_to}"
    finally:
        store.close()
    if args.format == "json":
        out = {"id": row["id"], "value_kwh": row["value_kwh"]}
        if comparison:
            out |= {
                "meter_kwh": str(comparison.meter_kwh),
                "sensor_kwh": str(comparison.sensor_kwh),
                "gap_pct": str(comparison.gap_pct),
                "flagged": comparison.flagged,
            }
        print(json.dumps(out, indent=2))
    elif comparison is None:
        print(f"meter reading {row['value_kwh']} kWh saved; the next reading will be compared with the sensors")
    else:
        print(comparison.message(period))
    return 1 if comparison is not None and comparison.flagged else 0


def _meter_admin(args, store, config, alerts, now: int) -> int:
    """`meter --list`, `--delete ID`, `--correct ID --reading|--billed-units VALUE`."""
    from . import LedgerError
    from .reconcile import audit_lines, correct_reading, delete_reading

    cal = store.calendar
    if args.list:
        rows = store.conn.execute(
            "SELECT id, kind, ts_ms, value_kwh, period_start_ms, gap_pct, flagged, note FROM meter_readings "
            "ORDER BY ts_ms, id"
        ).fetchall()
        audit = audit_lines(store)
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "readings": [
                            dict(
                                zip(
                                    (
                                        "id",
                                        "kind",
                                        "ts_ms",
                                        "value_kwh",
                                        "period_start_ms",
                                        "gap_pct",
                                        "flagged",
                                        "note",
                                    ),
                                    r,
                                    strict=False,
                                )
                            )
                            for r in rows
                        ],
                        "audit": audit,
                    },
                    indent=2,
                )
            )
            return 0
        table = [["id", "kind", "date", "kWh", "gap %", "note"]]
        table += [[str(r[0]), r[1], cal.day(r[2]), r[3], r[5] or "", r[7]] for r in rows]
        print(_table(table) if rows else "no meter readings entered")
        for a in audit:
            print(
                f"{cal.isoformat(a['ts_ms'])} #{a['reading_id']} {a['action']} by {a['by']}: {a['old_value_kwh']} -> "
                f"{a['new_value_kwh'] or 'deleted'}{' (' + a['note'] + ')' if a['note'] else ''}"
            )
        return 0
    if args.delete is not None:
        out = delete_reading(store, config.billing, alerts, args.delete, by=args.by, now_ms=now, note=args.note)
        print(f"meter reading #{out['id']} ({out['value_kwh']} kWh) deleted; the audit list keeps it")
        return 0
    value = args.reading if args.reading is not None else args.billed_units
    if value is None:
        raise LedgerError("--correct ID needs the right value as --reading or --billed-units")
    out = correct_reading(store, config.billing, alerts, args.correct, value, by=args.by, now_ms=now, note=args.note)
    print(
        f"meter reading #{out['id']} corrected from {out['previous_value_kwh']} to {out['value_kwh']} kWh; "
        "the audit list keeps the old value"
    )
    return 0


def cmd_pay(args: argparse.Namespace) -> int:
    from ..localtime import LocalCalendar
    from .ledger_wiring import ledger_for
    from .money import format_inr, paise_str

    config = _config(args)
    store = _open(args, config)
    config = effective_config(store, config)  # with the dashboard's Settings
    try:
        now = _now_ms(args, LocalCalendar(config.gateway.timezone))
        ledger = ledger_for(store, config)
        if args.confirm or args.cancel:
            if args.confirm:
                row, changed = ledger.confirm_payment(args.confirm, now_ms=now, by=args.by, reference=args.reference)
                verb = "confirmed" if changed else "was already confirmed"
            else:
                row, verb = ledger.cancel_payment(args.cancel, now_ms=now, by=args.by), "cancelled"
            print(f"payment #{row['id']} {format_inr(row['amount_paise'])} ({row['payment_key']}) {verb}")
            return 0
        key = args.key or f"cli-{secrets.token_hex(8)}"
        link = None
        if args.upi:
            from .money import parse_amount
            from .upi import upi_link

            paise = parse_amount(args.amount, currency=args.currency, max_paise=config.billing.max_payment_inr * 100)
            note = f"Electricity bill #{args.bill}" if args.bill else "Electricity bill"
            link = upi_link(config.billing.upi_vpa, config.billing.upi_payee_name, paise, note, key)
        row, created = ledger.record_payment(
            args.amount,
            payment_key=key,
            now_ms=now,
            currency=args.currency,
            bill_id=args.bill,
            method=args.method or ("upi" if args.upi else "cash"),
            confirmed=not args.upi,
            upi_link=link,
            by=args.by,
        )
        balance = ledger.balance()
    finally:
        store.close()
    if args.format == "json":
        print(
            json.dumps(
                {
                    "payment": {k: row[k] for k in ("id", "payment_key", "state", "bill_id", "method", "upi_link")}
                    | {"amount": paise_str(row["amount_paise"])},
                    "created": created,
                    "balance": paise_str(balance["balance_paise"]),
                },
                indent=2,
            )
        )
        return 0
    state = "recorded" if created else "already recorded (same key)"
    print(
        f"payment #{row['id']} of {format_inr(row['amount_paise'])} {state}: {row['state']}; key {row['payment_key']}"
    )
    if row["upi_link"]:
        from .upi import terminal_qr, write_qr

        print(row["upi_link"])
        print(terminal_qr(row["upi_link"]))
        if args.qr:
            print(f"QR code saved to {write_qr(row['upi_link'], args.qr)}")
        print(f"once paid: powergw pay --confirm {row['payment_key']} [--reference UTR]")
    print(_balance_line(balance))
    return 0


def _balance_line(b: dict) -> str:
    from .money import format_inr

    if b["balance_paise"] > 0:
        text = f"balance: {format_inr(b['arrears_paise'])} due"
    elif b["balance_paise"] < 0:
        text = f"balance: {format_inr(b['credit_paise'])} in credit"
    else:
        text = "balance: nothing due"
    if b["pending_count"]:
        text += f"; {b['pending_count']} pending payment(s) of {format_inr(b['pending_paise'])} not yet confirmed"
    return text


def cmd_balance(args: argparse.Namespace) -> int:
    from .ledger_wiring import ledger_for
    from .money import format_inr, paise_str

    config = _config(args)
    store = _open(args, config)
    config = effective_config(store, config)  # with the dashboard's Settings
    try:
        ledger = ledger_for(store, config)
        balance, statement, bills, pending = (
            ledger.balance(),
            ledger.statement(),
            ledger.bills(),
            ledger.payments("pending"),
        )
        cal = store.calendar
    finally:
        store.close()
    if args.format == "json":
        print(
            json.dumps(
                {
                    "balance": paise_str(balance["balance_paise"]),
                    "arrears": paise_str(balance["arrears_paise"]),
                    "credit": paise_str(balance["credit_paise"]),
                    "pending": paise_str(balance["pending_paise"]),
                    "statement": [
                        {
                            "date": cal.day(e["ts_ms"]),
                            "text": e["text"],
                            "amount": paise_str(e["amount_paise"]),
                            "balance": paise_str(e["balance_paise"]),
                        }
                        for e in statement
                    ],
                    "bills": [
                        {
                            "id": b["id"],
                            "cycle_start": b["cycle_start"],
                            "cycle_end": b["cycle_end"],
                            "units": b["units"],
                            "amount": paise_str(b["amount_paise"]),
                            "due": paise_str(b["amount_due_paise"]),
                            "due_date": b["due_date"],
                        }
                        for b in bills
                    ],
                    "pending_payments": [
                        {"key": p["payment_key"], "amount": paise_str(p["amount_paise"]), "upi_link": p["upi_link"]}
                        for p in pending
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(_balance_line(balance))
    if statement:
        rows = [["date", "entry", "amount", "balance"]]
        rows += [
            [cal.day(e["ts_ms"]), e["text"], format_inr(e["amount_paise"]), format_inr(e["balance_paise"])]
            for e in statement
        ]
        print()
        print(_table(rows, right={2, 3}))
    for p in pending:
        print(f"pending: {format_inr(p['amount_paise'])} key {p['payment_key']} ({p['method']})")
    return 0
