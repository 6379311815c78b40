"""The daemon's billing jobs: budget and slab checks on the live estimate, and closing cycles.

Both assume: their own store connection in `ctx.store`, the config in `ctx.config`, a clock in
`ctx.now_ms`. Both are idempotent (alerts dedup once per threshold per cycle; a cycle is billed
once), so a late, coalesced or repeated run after the Pi was off is harmless: run them with
coalesce=True and any misfire grace.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal

from ..alerts import AlertStore, alert_store
from ..app import JobContext
from . import MeteredNodeError
from .cycle import cycle_containing, previous_cycle
from .cycle_flows import cycle_flows, flows_mwh
from .estimate import Estimate, bill_options, covered_days, cycle_estimate, kwh
from .ledger_wiring import ledger_for
from .money import format_inr, to_paise
from .net_metering import compute_split_net_bill
from .projection import FULL_COVERAGE
from .reconcile import billed_units_for
from .tariff import compute_split_bill
from .tariff_book import TariffBook

log = logging.getLogger(__name__)

BUDGET_THRESHOLDS_PCT = (50, 80, 100)


def budget_alerts(est: Estimate, slab_warning_units: int) -> list[tuple[str, str, str, dict]]:
    """(kind, dedup_key, message, data) of every alert the estimate calls for. Pure."""
    out = []
    cycle = est.cycle.key
    spent = to_paise(est.bill.total)
    best = est.best
    if est.budget_paise:
        pct = 100 * spent / est.budget_paise
        for threshold in BUDGET_THRESHOLDS_PCT:
            if pct >= threshold:
                out.append(
                    (
                        "budget_threshold",
                        f"budget:{cycle}:{threshold}",
                        f"{threshold}% of the budget used: {format_inr(spent)} of {format_inr(est.budget_paise)} "
                        f"({est.units} units) on day {int(est.elapsed_days) + 1} of {est.cycle.days}"
                        + (f" ({est.coverage_note})" if est.coverage_note else ""),
                        {"threshold_pct": threshold, "spent": est.bill.total, "budget_paise": est.budget_paise},
                    )
                )
        projected = to_paise(best.bill.total)
        if projected > est.budget_paise:
            out.append(
                (
                    "budget_projection",
                    f"budget_projection:{cycle}",
                    f"projected bill {format_inr(projected)} ({best.projection.units:.0f} units, "
                    f"{best.projection.method.replace('_', ' ')}) "
                    f"exceeds the budget of {format_inr(est.budget_paise)} by "
                    f"{format_inr(projected - est.budget_paise)}"
                    + (f" ({best.projection.confidence} confidence: {est.coverage_note})" if est.coverage_note else ""),
                    {
                        "projected": best.bill.total,
                        "budget_paise": est.budget_paise,
                        "units": round(best.projection.units, 1),
                    },
                )
            )
    pos = est.position
    if pos.step_boundary is not None:
        to_go = pos.step_boundary - est.units
        if to_go <= slab_warning_units or Decimal(str(best.projection.units)) > pos.step_boundary:
            out.append(
                (
                    "slab_ahead",
                    f"slab:{cycle}:{pos.step_boundary}",
                    (
                        f"{to_go} units to {pos.step_boundary}"
                        if to_go
                        else f"at {pos.step_boundary} units, the top of a slab"
                    )
                    + f"; crossing it adds {format_inr(to_paise(pos.step_cost))} at once; "
                    f"projected {best.projection.units:.0f} units this cycle",
                    {
                        "units": est.units,
                        "boundary": pos.step_boundary,
                        "projected_units": round(best.projection.units, 1),
                    },
                )
            )
    return out


METERED_NODES_KIND = "metered_node_unknown"


def report_metered_nodes(
    alerts: AlertStore, err: MeteredNodeError | None, now_ms: int, *, resolve: bool = True
) -> None:
    """One metered_node_unknown alert (and one log line) per distinct problem while it lasts.

    The job runs every 15 minutes; the alert's dedup key names the unknown ids, so a repeat only
    counts on the open alert and logs nothing. With `resolve`, open alerts for another problem (or
    for none: the config was fixed) are resolved, so a later typo is news again.
    """
    key = err.problem if err is not None else None
    if resolve:
        for old in alerts.list(state="open", kind=METERED_NODES_KIND, limit=1000):
            if old["dedup_key"] != key:
                alerts.act(old["id"], "resolve", "powergw", "billing counts the metered nodes again", now_ms=now_ms)
                log.info("billing: %s resolved", old["dedup_key"])
    if err is None:
        return
    _, created = alerts.raise_alert(
        METERED_NODES_KIND,
        None,
        f"{err}. No bill is computed until the id is corrected or the node reports.",
        now_ms=now_ms,
        dedup_key=key,
        data={"unknown": list(err.unknown), "known": list(err.known)},
    )
    if created:
        log.warning("billing: %s; no bill until it is fixed", err)


def check_budget(ctx: JobContext) -> Estimate | None:
    """Raise budget, projection and slab alerts for the current cycle (each once per cycle).

    A metered node that never reported stops the estimate: one metered_node_unknown alert says so.
    """
    section = ctx.config["billing"]
    book = TariffBook.load(section.tariff_dir)
    now = ctx.now_ms()
    if not ctx.store.node_keys():
        return None
    alerts = alert_store(ctx.store, ctx.config)
    try:
        est = cycle_estimate(ctx.store, section, book, now)
    except MeteredNodeError as err:
        report_metered_nodes(alerts, err, now)
        return None
    report_metered_nodes(alerts, None, now)
    for kind, key, message, data in budget_alerts(est, section.slab_warning_units):
        alerts.raise_alert(kind, None, message, now_ms=now, dedup_key=key, data=data)
    return est


def close_cycles(ctx: JobContext) -> list[dict]:
    """Bill the cycle that ended most recently, once: billed units if entered, else the sensors'."""
    section = ctx.config["billing"]
    book = TariffBook.load(section.tariff_dir)
    store, cal, now = ctx.store, ctx.store.calendar, ctx.now_ms()
    today = dt.date.fromisoformat(cal.day(now))
    months = book.in_force(section.tariff, today).cycle_months
    cycle = previous_cycle(section.anchor, months, cycle_containing(section.anchor, months, today))
    ledger = ledger_for(store, ctx.config)
    if store.conn.execute("SELECT 1 FROM bills WHERE cycle_start = ?", (cycle.key,)).fetchone():
        return []
    start_ms, end_ms = cal.day_start_ms(cycle.start), cal.day_start_ms(cycle.end)
    billed = billed_units_for(store, start_ms, end_ms)
    parts = book.parts_for_cycle(section.tariff, cycle.start, cycle.end)
    partial = ""
    flows = None
    if billed is None:
        try:
            mwh, exported, _ = flows_mwh(store, start_ms, end_ms, section)
        except MeteredNodeError as err:
            # Not billed from part of the house; closed on the first run after the config is fixed.
            report_metered_nodes(alert_store(store, ctx.config), err, now, resolve=False)
            return []
        if mwh == 0 and exported == 0:
            return []  # nothing measured (the gateway was not running): nothing to bill
        units, source = kwh(mwh).quantize(Decimal(1), rounding=ROUND_HALF_UP), "sensor"
        if any(t.export is not None or t.time_of_day for t, _ in parts):
            flows = cycle_flows(store, section, parts[0][0], cycle, end_ms)
        covered, days = covered_days(store, start_ms, end_ms), (end_ms - start_ms) / 86_400_000
        if covered < FULL_COVERAGE * days:
            partial = (
                f"; the sensors covered only {covered:.1f} of its {days:.0f} days, so these units are what they "
                "measured, not the whole cycle: enter the meter's billed units (`powergw meter --billed-units N`) "
                "to bill it from the meter"
            )
    else:
        units, source = billed, "meter"
    if flows is None:
        bill = compute_split_bill(parts, units, bill_options(section))
    else:  # net metered: the slabs bill net units, the bank and export settle as the tariff says
        bill = compute_split_net_bill(parts, flows, bill_options(section))
        units = bill.units
    row, created = ledger.close_bill(cycle, bill, source=source, now_ms=now, due_days=section.due_days)
    if created:
        bal = ledger.balance()["balance_paise"]
        alert_store(store, ctx.config).raise_alert(
            "bill_closed",
            None,
            f"bill #{row['id']} for {cycle.start} to {cycle.end - dt.timedelta(days=1)}: {units} units ({source}), "
            f"{format_inr(row['amount_paise'])}; due {row['due_date']}; balance {format_inr(bal)}{partial}",
            now_ms=now,
            dedup_key=f"bill_closed:{cycle.key}",
            data={"bill_id": row["id"]},
        )
        log.info("billing: closed cycle %s as bill #%d", cycle.key, row["id"])
    return [row] if created else []
