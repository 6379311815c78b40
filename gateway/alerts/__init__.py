"""Alerts shared by every part of powergw, and the email outbox that delivers them.

Use `AlertStore(store, listeners=...)`; `alert_listeners(config)` builds the listeners the
config asks for (email today; cloud sync adds its outbox writer to LISTENER_FACTORIES).
"""

from __future__ import annotations

from .alert_store import AlertError, AlertListener, AlertStore, alerts_migrations
from .kinds import ACTIONS, KINDS, SEVERITIES, STATES, AlertKind

__all__ = [
    "ACTIONS",
    "KINDS",
    "SEVERITIES",
    "STATES",
    "AlertError",
    "AlertKind",
    "AlertListener",
    "AlertStore",
    "alerts_migrations",
]
