"""Alerts shared by every part of powergw, and the email outbox that delivers them.

Use `AlertStore(store, listeners=...)`; `alert_listeners(config)` builds the listeners the
config asks for, from the factories the parts declare (`alert_listeners` in their records).
"""

from __future__ import annotations

from typing import Any

from .alert_store import AlertError, AlertListener, AlertStore
from .kinds import ACTIONS, KINDS, SEVERITIES, STATES, AlertKind
from .schema import alerts_migrations


def alert_listeners(config: Any, calendar: Any = None) -> list[AlertListener]:
    """The listeners the config asks for, in the order of the parts (gateway.app.ALERT_LISTENERS)."""
    # Imported here: the composition root reads this package's record, so it loads this package first.
    from ..app import ALERT_LISTENERS
    from ..parts import load_object

    listeners = (load_object(dotted)(config, calendar) for dotted in ALERT_LISTENERS)
    return [listener for listener in listeners if listener is not None]


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
