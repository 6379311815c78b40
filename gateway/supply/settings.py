"""The [supply] config section: the voltage band, how a power cut is told from a quiet node, the
household's alerts, and the hours after a cut the theft check leaves to a battery inverter."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import setting
from .cuts import Rule
from .quality import Band


@dataclass(frozen=True)
class SupplySection:
    """[supply]: voltage quality and the power-cut log."""

    band_low_v: float = setting(
        216.2, min=100, max=300, doc="lowest acceptable mains voltage (India's LT supply: 230 V - 6 %)"
    )
    band_high_v: float = setting(
        243.8, min=100, max=300, doc="highest acceptable mains voltage (India's LT supply: 230 V + 6 %)"
    )
    cut_after_s: int = setting(
        30,
        min=3,
        max=3600,
        doc="every reporting node silent this long is a silence; a cut if they come back restarted "
        "(nodes send a reading a second over serial, one every 5 s over BLE)",
    )
    together_s: int = setting(
        120,
        min=10,
        max=3600,
        doc="nodes whose last readings fall within this of each other went silent together; the others "
        "have this long after the first to come back",
    )
    alerts: bool = setting(False, doc="raise power_cut and voltage_out_of_band alerts (the household's choice)")
    cut_alert_minutes: int = setting(30, min=1, max=10080, doc="alert on a cut longer than this")
    voltage_alert_minutes: int = setting(
        15, min=1, max=1440, doc="alert when the voltage stays outside the band this many minutes in a row"
    )
    recharge_factor: float = setting(
        2.0,
        min=0,
        max=10,
        doc="a battery inverter recharges for this many times the cut's length after it; the theft "
        "check does not count those hours as evidence (0: it does)",
    )
    recharge_max_hours: float = setting(8.0, min=0, max=48, doc="at most this many hours of recharge after a cut")

    def validate(self) -> None:
        if self.band_low_v >= self.band_high_v:
            raise ValueError(
                f"band_low_v = {self.band_low_v:g} is not below band_high_v = {self.band_high_v:g}: "
                "expected a range such as 216.2 to 243.8"
            )

    @property
    def band(self) -> Band:
        return Band(round(self.band_low_v * 10), round(self.band_high_v * 10))

    def rule(self, commit_interval_s: float = 0.0) -> Rule:
        """The cut rule, waiting `commit_interval_s` more for readings ingest holds before committing them."""
        return Rule(self.cut_after_s * 1000, self.together_s * 1000, int(commit_interval_s * 1000))

    def recharge_ms(self, cut_ms: int) -> int:
        """How long after a cut of `cut_ms` the house's load may include a battery's recharge."""
        return int(min(self.recharge_factor * cut_ms, self.recharge_max_hours * 3_600_000))
