"""Alerts shared by every part of powergw, and the email outbox that delivers them.

Use `AlertStore(store, listeners=...)`; `alert_listeners(config)` builds the listeners the
config asks for (email today; cloud sync adds its outbox writer to LISTENER_FACTORIES).
"""

from __future__ import annotations

import importlib
from typing import Any

from .alert_store import AlertError, AlertListener, AlertStore
from .kinds import ACTIONS, KINDS, SEVERITIES, STATES, AlertKind
from .schema import alerts_migrations

# "module:function" taking (config, calendar) and returning a listener or None. One line per part
# that reacts to alerts in the same transaction (cloud sync's outbox writer goes here).
LISTENER_FACTORIES: tuple[str, ...] = (
    "gateway.alerts.email:listener_from_config",
    "cloud_sync.listeners:alert_listener",
)


def alert_listeners(config: Any, calendar: Any = None) -> list[AlertListener]:
    """The listeners the config asks for, in LISTENER_FACTORIES order."""
    out = []
    for dotted in LISTENER_FACTORIES:
        module, _, attr = dotted.partition(":")
        listener = getattr(importlib.import_module(module), attr)(config, calendar)
        if listener is not None:
            out.append(listener)
    return out


def alert_store(store: Any, config: Any) -> AlertStore:
    """An AlertStore with the configured listeners: what jobs and commands use."""
    return AlertStore(store, alert_listeners(config, getattr(store, "calendar", None)))

__all__ = [
    "ACTIONS",
    "KINDS",
    "SEVERITIES",
    "STATES",
    "AlertError",
    "AlertKind",
    "AlertListener",
    "AlertStore",
    "alert_listeners",
    "alert_store",
    "alerts_migrations",
]
