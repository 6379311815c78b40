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


class MeteredNodeError(BillingError):
    """[billing] metered_nodes lists node ids that have never reported: the house cannot be counted.

    Billing refuses rather than bill the other listed nodes: a typo would otherwise under-bill in
    silence. `unknown` and `known` carry the ids, `problem` names this problem for dedup.
    """

    def __init__(self, unknown: tuple[str, ...], known: tuple[str, ...]):
        self.unknown, self.known = tuple(unknown), tuple(known)
        listed = ", ".join(repr(n) for n in self.unknown)
        which = "that id has" if len(self.unknown) == 1 else "those ids have"
        have = f"known nodes: {', '.join(repr(n) for n in self.known)}" if self.known else "no node has reported yet"
        super().__init__(f"[billing] metered_nodes lists {listed}, but no node with {which} reported; {have}")

    @property
    def problem(self) -> str:
        return "metered_nodes:" + ",".join(sorted(self.unknown))


class LedgerError(BillingError):
    """A ledger request that cannot be carried out; nothing was recorded."""


class BilledPeriodError(LedgerError):
    """A bill's period (from, to) that cannot be a real bill's: the message says why."""


class PaymentError(LedgerError):
    """A payment amount or currency that cannot be accepted; nothing was recorded."""
