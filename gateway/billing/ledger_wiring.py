"""Builds the Ledger from the config, with the listeners other parts plug in.

LISTENER_FACTORIES holds "module:function" entries taking (config) and returning a ledger
listener `(conn, row, event)` or None; cloud sync adds its outbox writer here, one line.
"""

from __future__ import annotations

import importlib
from typing import Any

from .ledger import Ledger, LedgerListener

LISTENER_FACTORIES: tuple[str, ...] = ("cloud_sync.listeners:ledger_listener",)


def ledger_listeners(config: Any) -> list[LedgerListener]:
    out = []
    for dotted in LISTENER_FACTORIES:
        module, _, attr = dotted.partition(":")
        listener = getattr(importlib.import_module(module), attr)(config)
        if listener is not None:
            out.append(listener)
    return out


def ledger_for(store: Any, config: Any) -> Ledger:
    """The ledger with the configured listeners and payment limit."""
    section = config["billing"]
    return Ledger(store, ledger_listeners(config), max_payment_paise=section.max_payment_inr * 100)
