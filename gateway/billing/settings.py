"""The [billing] config section: tariff, cycle, budget, reconciliation and payment settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..config import setting
from .upi import VPA_RE


@dataclass(frozen=True)
class BillingSection:
    """[billing]: how bills are computed and paid."""

    tariff: str = setting(
        "tn-domestic",
        doc="tariff name (tn-domestic, delhi-domestic, kerala-domestic, or one in tariff_dir) or a .toml path",
    )
    tariff_dir: Path | None = setting(
        None, doc="folder of your own tariff files (*.toml), loaded next to the shipped ones"
    )
    meter_reading_date: str = setting(
        "2024-01-01", doc="a date the utility read the meter (YYYY-MM-DD); cycles start there"
    )
    sanctioned_load_kw: float = setting(2.0, min=0.1, max=500, doc="sanctioned load in kW, for fixed charges per kW")
    subsidy_opt_in: bool = setting(
        True, doc="claim subsidies the tariff marks opt-in (e.g. Delhi's zero bill up to 200 units)"
    )
    metered_nodes: list[str] = setting(
        default_factory=list, doc="node ids on the mains (whole house); empty = every node"
    )
    budget_inr: int = setting(0, min=0, max=10_000_000, doc="budget in whole rupees; 0 = no budget")
    budget_period: str = setting(
        "cycle", choices=("cycle", "month"), doc="the budget is per billing cycle or per month"
    )
    slab_warning_units: int = setting(
        30,
        min=0,
        max=10_000,
        doc="alert when the bill would jump within this many units (or the projection crosses it)",
    )
    meter_mismatch_pct: float = setting(
        5.0, min=0.1, max=100, doc="flag a gap between meter and sensors above this percentage"
    )
    holiday_state: str = setting(
        "TN",
        doc="state code for public holidays (holidays.India subdivision), in the projection and the theft model's "
        "features; empty = none",
    )
    projection_lookback_days: int = setting(
        28, min=7, max=365, doc="days of recent history the projection's profile learns from"
    )
    due_days: int = setting(20, min=0, max=90, doc="a bill is due this many days after the cycle closes")
    due_reminder_days: int = setting(
        3, min=0, max=30, doc="remind this many days before a bill's due date while it is unpaid (0: on the day)"
    )
    max_payment_inr: int = setting(
        100_000, min=1, max=10_000_000, doc="refuse a single payment above this (a typo guard)"
    )
    upi_vpa: str = setting("", doc="the utility's UPI address for payment links, e.g. tnpdcl@sbi")
    upi_payee_name: str = setting("", doc="the payee name shown in the UPI app")

    def validate(self) -> None:
        try:
            dt.date.fromisoformat(self.meter_reading_date)
        except ValueError:
            raise ValueError(
                f"meter_reading_date = {self.meter_reading_date!r}: expected a date like 2024-07-05"
            ) from None
        if self.upi_vpa and not VPA_RE.match(self.upi_vpa):
            raise ValueError(f"upi_vpa = {self.upi_vpa!r}: expected a UPI ID like name@handle, e.g. tnpdcl@sbi")
        self._check_tariff()

    def _check_tariff(self) -> None:
        """The tariff must be one the gateway can bill with, so a typo stops start-up and `config
        check` instead of failing every budget check later, where nobody reads it."""
        from . import TariffError
        from .tariff_book import TariffBook

        try:
            book = TariffBook.load(self.tariff_dir)
        except TariffError as err:
            raise ValueError(f"tariff_dir = {str(self.tariff_dir)!r}: {err}") from None
        try:
            book.resolve(self.tariff)
        except TariffError as err:
            raise ValueError(f"tariff = {self.tariff!r}: {err}") from None

    @property
    def anchor(self) -> dt.date:
        return dt.date.fromisoformat(self.meter_reading_date)
