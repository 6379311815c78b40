"""Builds a Syncer for one gateway database from the config: used by the CLI and the daemon job.

This is cloud_sync's corner of the composition: the parts it plugs into (the ledger for
payment_confirmed, the alert store, the theft-model registry for model_published; later the
tariff book) are looked up here and nowhere else, so when one of them lands only this file changes.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import requests

from gateway.alerts import alert_store
from gateway.billing.ledger import Ledger
from gateway.billing.ledger_wiring import ledger_listeners
from gateway.config import Config
from gateway.db import ConnectionStore

from .client import SyncClient, plain_http_to_another_machine
from .model_updates import ModelInstaller
from .outbox import Outbox, SyncState
from .payments import apply_payment_confirmed
from .settings import CloudSection
from .sync import AlertFn, ChangeHandler, Syncer, SyncPolicy

log = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def policy_from(section: CloudSection) -> SyncPolicy:
    return SyncPolicy(
        batch_size=section.batch_size, backoff_base_s=section.backoff_base_s, backoff_max_s=section.backoff_max_s
    )


def alert_fn(conn: sqlite3.Connection, config: Config | None = None) -> AlertFn:
    """The gateway's AlertStore.raise_alert on `conn`, with the listeners the config asks for
    (email, the cloud outbox). Every kind sync raises (sync_failing, cloud_reregister,
    sync_dead_letter, model_rejected) is a row of gateway.alerts.kinds."""
    config = config or Config({})
    alerts = alert_store(ConnectionStore(conn, config.gateway.timezone), config)

    def raise_alert(kind: str, severity: str, message: str, *, now_ms: int, dedup_key: str) -> Any:
        return alerts.raise_alert(kind, severity, message, now_ms=now_ms, dedup_key=dedup_key)

    return raise_alert


def change_handlers(conn: sqlite3.Connection, config: Config | None = None) -> dict[str, ChangeHandler]:
    """Handlers for pulled changes: payment_confirmed goes to the ledger on the same connection,
    inside the cursor's transaction. Types without one (tariff_updated: no consumer on the gateway
    yet) are kept in sync_inbox as pending and applied by `Syncer.replay_pending` once a handler
    exists. model_published is not a handler: see `model_installer`."""
    config = config or Config({})
    # No payment limit here: the money was already taken in the cloud, and refusing it would
    # only stop the change feed.
    ledger = Ledger(ConnectionStore(conn, config.gateway.timezone), ledger_listeners(config), max_payment_paise=None)
    return {"payment_confirmed": lambda c, data: apply_payment_confirmed(ledger, c, data)}


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file of the connection's main database; None for an in-memory one."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def registry_root(conn: sqlite3.Connection) -> Path | None:
    """The theft-model registry the theft job scores with: `models` beside the gateway database
    (edge_model.store_job.registry_root), the one place models live."""
    db = database_file(conn)
    return db.parent / "models" if db is not None else None


def model_installer(conn: sqlite3.Connection, section: CloudSection) -> ModelInstaller | None:
    """Cloud theft models into the registry beside the database; None without a database file (model
    changes then wait in the inbox as pending). A config whose `[cloud] models_dir` names another
    directory is told so when a model is installed."""
    root = registry_root(conn)
    if root is None:
        return None
    from edge_model import FEATURES_VERSION  # the package alone: neither numpy nor onnxruntime
    from edge_model.registry import ModelRegistry

    legacy_dir = section.models_dir if section.models_dir != CloudSection().models_dir else None
    return ModelInstaller(ModelRegistry(root), FEATURES_VERSION, legacy_dir=legacy_dir, db=database_file(conn))


def build_syncer(
    conn: sqlite3.Connection,
    section: CloudSection,
    *,
    session: requests.Session | None = None,
    handlers: dict[str, ChangeHandler] | None = None,
    models: ModelInstaller | None = None,
    alert: AlertFn | None = None,
    clock_ms: Any = now_ms,
    rand: Any = random.random,
    config: Config | None = None,
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
        alert=alert or alert_fn(conn, config),
        handlers=change_handlers(conn, config) if handlers is None else handlers,
        models=model_installer(conn, section) if models is None else models,
        policy=policy_from(section),
    )


def _cloud_url(conn: sqlite3.Connection, section: CloudSection) -> str:
    return SyncState(conn).get("url") or section.url


def plain_http_refusal(conn: sqlite3.Connection, section: CloudSection) -> str | None:
    """Why this gateway must not send its token to the cloud it syncs with, or None.

    A plain http:// URL to another machine carries the token in clear. It is used only once the
    operator has accepted it with --insecure (`cloud register` or `sync`), which sync_state keeps
    as `insecure_url` for that URL alone; loopback and https:// need nothing.
    """
    url = _cloud_url(conn, section)
    if not plain_http_to_another_machine(url) or SyncState(conn).get("insecure_url") == url:
        return None
    return (
        f"{url} is plain HTTP to another machine: the gateway's token would cross the network in clear. "
        "Register with an https:// URL, or accept it once with `powergw sync --insecure`."
    )


def accept_plain_http(conn: sqlite3.Connection, section: CloudSection) -> str:
    """Record the operator's --insecure for the URL this gateway syncs with; returns that URL."""
    url = _cloud_url(conn, section)
    SyncState(conn).set("insecure_url", url)
    return url


def refuse_sync(conn: sqlite3.Connection, reason: str, now_ms: int, config: Config | None = None) -> None:
    """The daemon's round refused by `plain_http_refusal`: `sync status` shows the reason, and one
    alert says it (a repeat only counts); logged when the reason is new, not every minute."""
    state = SyncState(conn)
    if state.get("last_error") != reason:
        log.warning("cloud sync: %s", reason)
    state.set("last_error", reason)
    state.set("last_error_ms", now_ms)
    alert_fn(conn, config)(
        "sync_failing", "warning", f"cloud sync refused: {reason}", now_ms=now_ms, dedup_key="cloud_sync:plain_http"
    )


def is_registered(conn: sqlite3.Connection) -> bool:
    state = SyncState(conn)
    return bool(state.get("token") and state.get("url"))
