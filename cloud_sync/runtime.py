"""Builds a Syncer for one gateway database from the config: used by the CLI and the daemon job.

This is cloud_sync's corner of the composition: the parts it plugs into (the ledger's
confirm_payment, the alert store, the theft-model loader) are looked up here and nowhere else,
so when one of them lands only this file changes.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from typing import Any

import requests

from .client import SyncClient
from .outbox import Outbox, SyncState
from .settings import CloudSection
from .sync import AlertFn, ChangeHandler, StateAlerts, SyncPolicy, Syncer

log = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def policy_from(section: CloudSection) -> SyncPolicy:
    return SyncPolicy(batch_size=section.batch_size, backoff_base_s=section.backoff_base_s, backoff_max_s=section.backoff_max_s)


def alert_fn(conn: sqlite3.Connection) -> AlertFn:
    """The alert sink. Until gateway.alerts exposes an AlertStore, alerts are logged and kept in
    sync_state (shown by `powergw sync status`)."""
    return StateAlerts(SyncState(conn))


def change_handlers(conn: sqlite3.Connection) -> dict[str, ChangeHandler]:
    """Handlers for pulled changes. Types without one are kept in sync_inbox as pending and
    applied by `Syncer.replay_pending` once a handler exists (the ledger's confirm_payment for
    payment_confirmed, the tariff store for tariff_updated, the model loader for model_published)."""
    return {}


def build_syncer(
    conn: sqlite3.Connection,
    section: CloudSection,
    *,
    session: requests.Session | None = None,
    handlers: dict[str, ChangeHandler] | None = None,
    alert: AlertFn | None = None,
    clock_ms: Any = now_ms,
    rand: Any = random.random,
) -> Syncer:
    """A Syncer on `conn` (the gateway's database, outbox tables migrated) for the registered cloud."""
    outbox = Outbox(conn)
    state = SyncState(conn)
    url = state.get("url") or section.url
    client = SyncClient(
        session or requests.Session(),
        url,
        state.get("token"),
        connect_timeout_s=section.connect_timeout_s,
        read_timeout_s=section.read_timeout_s,
        ca_bundle=section.ca_bundle,
        clock_s=lambda: clock_ms() / 1000,
    )
    return Syncer(
        outbox,
        client,
        clock_ms=clock_ms,
        rand=rand,
        alert=alert or alert_fn(conn),
        handlers=change_handlers(conn) if handlers is None else handlers,
        models_dir=section.models_dir,
        policy=policy_from(section),
    )


def is_registered(conn: sqlite3.Connection) -> bool:
    state = SyncState(conn)
    return bool(state.get("token") and state.get("url"))
