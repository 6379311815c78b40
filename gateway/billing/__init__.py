"""Bills, budgets and payments: slab tariffs as data, billing cycles, projections, a ledger.

Pure core: `tariff` (tariff files -> bills), `cycle`, `projection`, `money`, `upi` (link).
Adapters: `estimate` (store -> till-date and projected bill), `ledger` (SQLite), `commands`, `jobs`.
"""

from __future__ import annotations

from .. import PowerGwError


class BillingError(PowerGwError):
    """Root of billing errors."""


class TariffError(BillingError):
    """A tariff file or tariff request that cannot be used; the message names the field."""


class LedgerError(BillingError):
    """A ledger request that cannot be carried out; nothing was recorded."""


class PaymentError(LedgerError):
    """A payment amount or currency that cannot be accepted; nothing was recorded."""


def __getattr__(name: str):
    # BillingService is imported on first use, so `import gateway.billing` stays light.
    if name == "BillingService":
        from .service import BillingService

        return BillingService
    raise AttributeError(name)
