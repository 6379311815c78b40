"""The demo's house and its story, fixed at the first start and kept in the data directory.

`powergw demo` shows every feature with data of its own: history long enough for the theft
detector to be calibrated, someone tapping the line in its last nights, the last paper bill's units,
a meter reading at the start of the billing cycle, a budget already past half, and a UPI ID that
cannot belong to anyone.
The dates are chosen once (`Scenario.new`) and saved as demo.json beside the database, so a second
start reuses the history instead of making it again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

# An example UPI ID: "examplepsp" is no payment service provider's handle, so the QR the demo shows
# can never pay anyone (docs/dashboard.md).
DEMO_UPI_VPA = "powergw.demo@examplepsp"
DEMO_PAYEE = "Demo Electricity Board (example)"
TAP_W = 1150.0  # about what a neighbour's water heater or pump draws through a tapped line
TAP_HOURS = (1, 5)  # 01:00 to 05:00, when the house itself is quiet
TAP_NIGHTS = 4  # the tap runs in the history's last nights (and on, while the demo runs)
CYCLE_DAYS_AGO = 36  # the meter was read this many days before the first start: the cycle's start
BUDGET_SHARE = Decimal("0.52")  # the budget is set so that the cycle so far has used about this much
REGISTER_START_KWH = Decimal(7000)  # the meter's register when the history starts
SCENARIO_FILE = "demo.json"


@dataclass(frozen=True)
class Scenario:
    """When the demo's history starts, when the tap starts and when the meter was read (UTC ms)."""

    history_start_ms: int
    tap_since_ms: int
    meter_reading_date: str  # local YYYY-MM-DD: the billing cycle starts there
    meter_read_ms: int
    tz: str = "Asia/Kolkata"

    @classmethod
    def new(cls, now: dt.datetime, history_days: int, tz: str = "Asia/Kolkata") -> Scenario:
        """The story for a first start at `now` with `history_days` of history."""
        zone = ZoneInfo(tz)
        local_now = now.astimezone(zone)
        start = now - dt.timedelta(days=history_days)
        # The tap starts on the first TAP_NIGHTS-th last night: at TAP_HOURS[0] local, TAP_NIGHTS nights back.
        tap_day = local_now.date() - dt.timedelta(days=TAP_NIGHTS - (1 if local_now.hour >= TAP_HOURS[1] else 0))
        tap_since = dt.datetime.combine(tap_day, dt.time(TAP_HOURS[0]), zone)
        read_day = local_now.date() - dt.timedelta(days=min(CYCLE_DAYS_AGO, max(1, history_days - 1)))
        read_at = dt.datetime.combine(read_day, dt.time(10), zone)
        return cls(
            history_start_ms=int(start.timestamp() * 1000),
            tap_since_ms=int(tap_since.timestamp() * 1000),
            meter_reading_date=read_day.isoformat(),
            meter_read_ms=int(read_at.timestamp() * 1000),
            tz=tz,
        )

    @classmethod
    def load(cls, data_dir: Path) -> Scenario | None:
        """The saved story, or None when there is none (or it cannot be read: the demo makes a new one)."""
        try:
            return cls(**json.loads((data_dir / SCENARIO_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, data_dir: Path) -> None:
        (data_dir / SCENARIO_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")


def register_kwh(history_kwh: Decimal) -> Decimal:
    """The meter's register after the house used `history_kwh` since the history started."""
    return (REGISTER_START_KWH + history_kwh).quantize(Decimal("0.1"))


def budget_inr(cycle_bill_rupees: Decimal) -> int:
    """A budget in whole rupees (a multiple of 50) of which the cycle's bill so far is a little over half."""
    raw = (cycle_bill_rupees / BUDGET_SHARE / 50).to_integral_value(ROUND_FLOOR) * 50
    return max(100, int(raw))
