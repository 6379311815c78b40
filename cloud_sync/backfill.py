"""Queue the household's history the outbox never held: bills, payments and alert answers made
before this gateway synced with a cloud (run by `cloud register` and `powergw sync backfill`).

Each change is rebuilt as the listener would have queued it (cloud_sync.listeners), with the same
kind, key and time, so a change queued both ways is one event on the server; a key already in the
outbox or in `outbox_queued` is skipped, so a second backfill queues nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator

from .events import ALERT_EVENTS, LEDGER_EVENTS, EventSpec
from .listeners import event_ms
from .outbox import Outbox

ANSWERS = ("ignore", "unignore", "raise")  # the alert actions the listener sends as feedback


def payment_changes(row: dict) -> list[tuple[dict, str]]:
    """The ledger events one payment row went through, each with the row as it was then.

    A payment recorded confirmed (cash, or one the cloud reported) was created confirmed, in one
    write: its `confirmed_ms` is its `created_ms`. Any other was created pending, then confirmed or
    cancelled.
    """
    if row["state"] == "confirmed" and row["confirmed_ms"] == row["created_ms"]:
        return [(row, "payment_created")]
    pending = dict(row, state="pending", confirmed_ms=None, confirmed_by=None, reference=None)
    later = {"confirmed": "payment_confirmed", "cancelled": "payment_cancelled"}.get(row["state"])
    return [(pending, "payment_created")] + ([(row, later)] if later else [])


def history(
    bills: Iterable[dict], payments: Iterable[dict], answers: Iterable[dict]
) -> Iterator[tuple[EventSpec, dict, str]]:
    """Every (spec, row, event) the listeners would have queued for these bills, payments and answers."""
    for bill in bills:
        yield LEDGER_EVENTS["bill_closed"], bill, "bill_closed"
    for payment in payments:
        for row, event in payment_changes(payment):
            yield LEDGER_EVENTS[event], row, event
    for alert in answers:
        yield ALERT_EVENTS[alert["action"]], alert, alert["action"]


def _answers(conn: sqlite3.Connection) -> list[dict]:
    """Each Ignore, Stop ignoring and Raise from alert_actions, as the alert row stood right after it."""
    cur = conn.execute(
        "SELECT a.id, a.kind, a.node_id, a.data, a.created_ms, x.action, x.to_state, x.by, x.comment, x.ts_ms "
        f"FROM alert_actions x JOIN alerts a ON a.id = x.alert_id WHERE x.action IN ({', '.join('?' * len(ANSWERS))}) "
        "ORDER BY x.id",
        ANSWERS,
    )
    return [
        {
            "id": r[0],
            "kind": r[1],
            "node_id": r[2],
            "data": json.loads(r[3] or "{}"),
            "created_ms": r[4],
            "action": r[5],
            "state": r[6],
            "acted_by": r[7],
            "action_comment": r[8],
            "acted_ms": r[9],
        }
        for r in cur.fetchall()
    ]


def backfill(conn: sqlite3.Connection) -> int:
    """Queue, in the caller's transaction, every bill, payment and alert answer never queued; returns how many."""
    from gateway.billing.ledger import Ledger

    ledger = Ledger(conn)
    queued = 0
    for spec, row, event in history(ledger.bills(), ledger.payments(), _answers(conn)):
        key = spec.key(row, event)
        if Outbox.was_queued(conn, key):
            continue
        Outbox.enqueue(conn, spec.kind, spec.payload(row, event), key=key, now_ms=event_ms(row))
        queued += 1
    return queued
