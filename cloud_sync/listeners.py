"""Outbox writers for the ledger and the alerts, called inside the transaction of the change.

Declared in the sync part's record (cloud_sync.part: ledger_listeners, alert_listeners). A factory
gives None when `[cloud] enabled = false`; otherwise the listener queues only once this gateway
syncs with a cloud (`[cloud] url` set, or registered with `powergw cloud register`), so an install
that never talks to a cloud writes nothing extra.
Events queued before registration wait in the outbox and go with the first round after it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from .events import ALERT_EVENTS, LEDGER_EVENTS, EventSpec
from .outbox import Outbox
from .settings import CloudSection

Listener = Callable[[sqlite3.Connection, dict, str], None]


def cloud_configured(conn: sqlite3.Connection, section: CloudSection) -> bool:
    """True if this gateway syncs (or will once registered): a [cloud] url or a stored registration."""
    if section.url:
        return True
    try:
        row = conn.execute("SELECT 1 FROM sync_state WHERE key = 'token' AND value != ''").fetchone()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return False  # a database without the outbox tables holds no registration
        raise
    return row is not None


def outbox_listener(section: CloudSection, table: dict[str, EventSpec]) -> Listener:
    """A listener that queues the events `table` names, on the caller's connection and transaction."""

    def listener(conn: sqlite3.Connection, row: dict, event: str) -> None:
        spec = table.get(event)
        if spec is None or not cloud_configured(conn, section):
            return
        Outbox.enqueue(conn, spec.kind, spec.payload(row, event), key=spec.key(row, event), now_ms=event_ms(row))

    return listener


def event_ms(row: dict) -> int | None:
    # The change's own time (a backdated payment keeps its date), never later than now: an event
    # stamped in the future would not be due until then.
    now = time.time_ns() // 1_000_000
    for field in ("acted_ms", "confirmed_ms", "closed_ms", "last_seen_ms", "created_ms"):
        if isinstance(row.get(field), int):
            return min(row[field], now)
    return None


def ledger_listener(config: Any) -> Listener | None:
    """For the ledger (gateway.billing.ledger_wiring): bill_closed and payment_created
    (with confirmations and cancellations)."""
    section: CloudSection = config["cloud"]
    return outbox_listener(section, LEDGER_EVENTS) if section.enabled else None


def alert_listener(config: Any, calendar: Any = None) -> Listener | None:
    """For gateway.alerts: an `alert` event when one is created, `feedback` when it is ignored, un-ignored or raised."""
    section: CloudSection = config["cloud"]
    return outbox_listener(section, ALERT_EVENTS) if section.enabled else None
