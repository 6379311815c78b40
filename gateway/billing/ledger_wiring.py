"""Builds the Ledger from the config, with the listeners the parts plug in.

A part declares "module:function" factories in its record (`ledger_listeners`): each takes the
config and returns a ledger listener `(conn, row, event)` or None.
"""

from __future__ import annotations

from typing import Any

from ..app import LEDGER_LISTENERS
from ..parts import load_object
from .ledger import Ledger, LedgerListener


def ledger_listeners(config: Any) -> list[LedgerListener]:
    """The listeners the config asks for, in the order of the parts."""
    listeners = (load_object(dotted)(config) for dotted in LEDGER_LISTENERS)
    return [listener for listener in listeners if listener is not None]


def ledger_for(store: Any, config: Any) -> Ledger:
    """The ledger with the configured listeners and payment limit."""
    section = config["billing"]
    return Ledger(store, ledger_listeners(config), max_payment_paise=section.max_payment_inr * 100)
