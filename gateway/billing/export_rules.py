"""What a tariff says about export and time of day, and a net-metered cycle's units: pure data.

The arithmetic is `net_metering`; the file format is docs/tariffs.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
SETTLEMENTS = ("net_units", "feed_in", "banking")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class ExportRule:
    """How a tariff settles the units a house exports (the `[export]` table).

    net_units: the slabs bill import − export; a cycle's surplus is paid at `rate` (0: it lapses).
    feed_in: the slabs bill import; every exported unit is credited at `rate` (net billing).
    banking: the slabs bill import − export − banked units; a surplus is banked for later cycles
    and what is left when the settlement year ends (it starts on day 1 of `period_start_month`)
    is paid at `rate`.
    """

    settlement: str
    rate: Decimal = ZERO
    period_start_month: int = 4
    label: str = "Export"


@dataclass(frozen=True)
class TodWindow:
    """A time-of-day window: local hours [start_hour, end_hour) (wrapping past midnight when
    end <= start), `percent` on the energy charge of the units drawn in it (< 0: a rebate)."""

    label: str
    start_hour: int
    end_hour: int
    percent: Decimal

    def hours(self) -> frozenset[int]:
        span = (self.end_hour - self.start_hour) % 24 or 24
        return frozenset((self.start_hour + i) % 24 for i in range(span))


@dataclass(frozen=True)
class NetUnits:
    """A net-metered cycle's units: drawn, exported, their difference, the units the slabs billed,
    and the bank (units carried in, used, carried out, paid out) and credit carried (₹)."""

    import_units: Decimal
    export_units: Decimal
    billed_units: Decimal
    banked_in: Decimal = ZERO
    banked_used: Decimal = ZERO
    banked_out: Decimal = ZERO
    paid_out_units: Decimal = ZERO
    credit_carried: Decimal = ZERO

    @property
    def net_units(self) -> Decimal:
        return self.import_units - self.export_units

    def as_json(self) -> dict:
        out = {
            "import_units": _plain(self.import_units),
            "export_units": _plain(self.export_units),
            "net_units": _plain(self.net_units),
            "billed_units": _plain(self.billed_units),
            "banked_in": _plain(self.banked_in),
            "banked_used": _plain(self.banked_used),
            "banked_out": _plain(self.banked_out),
            "paid_out_units": _plain(self.paid_out_units),
        }
        return out | {"credit_carried": f"{self.credit_carried:.2f}"}
