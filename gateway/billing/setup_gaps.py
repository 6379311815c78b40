"""[billing] keys left at defaults that make the bill and the theft check count the wrong thing. Pure.

`powergw doctor` and the dashboard's overview both show these, from this one rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..node_identity import ble_twins
from .settings import BillingSection

DEFAULT_READING_DATE = next(f.default for f in dataclasses.fields(BillingSection) if f.name == "meter_reading_date")


@dataclass(frozen=True)
class SetupGap:
    """One key to set: which, what is wrong while it is unset, and what to set it to (for `powergw doctor`);
    `sentence` and `fix` say the same in a household's words as {key, params, formats} for the dashboard,
    which words them in the reader's language and links to its setup form."""

    key: str
    message: str
    action: str
    sentence: dict = field(default_factory=dict)
    fix: dict = field(default_factory=dict)


def _words(key: str, params: dict | None = None, formats: dict | None = None) -> dict:
    return {"key": key, "params": params or {}, "formats": formats or {}}


def billing_setup_gaps(
    section: BillingSection, nodes: Iterable[tuple[str, str | None, str | None]], mains: Sequence[str] = ()
) -> list[SetupGap]:
    """The gaps in `section` for a house whose reporting nodes are `nodes` ((node_id, transport, name)) and
    whose metering names `mains` (gateway/house.py; empty: every meter is the house)."""
    gaps = []
    if section.meter_reading_date == DEFAULT_READING_DATE:
        gaps.append(
            SetupGap(
                "billing.meter_reading_date",
                f"[billing] meter_reading_date is still the default ({DEFAULT_READING_DATE}), "
                "not a day the utility read this meter: cycles, till-date bills and projections start on the wrong day",
                'set it to the reading date on the last paper bill: [billing] meter_reading_date = "YYYY-MM-DD" in the '
                "config, or on the dashboard's Settings page",
                _words(
                    "setup_gap_reading_date",
                    {"date": DEFAULT_READING_DATE},
                    {"date": ["iso", DEFAULT_READING_DATE]},
                ),
                _words("setup_gap_reading_date_fix"),
            )
        )
    nodes = list(nodes)
    twins = ble_twins((node_id, transport) for node_id, transport, _ in nodes)  # serial + BLE: one ESP32, one circuit
    circuits = sorted((node_id, name) for node_id, _, name in nodes if node_id not in twins)
    if not section.metered_nodes and not mains and len(circuits) > 1:
        listed = ", ".join(f"{node_id} ({name})" if name else node_id for node_id, name in circuits)
        gaps.append(
            SetupGap(
                "billing.metered_nodes",
                f"[billing] metered_nodes is empty, so the house is all {len(circuits)} nodes added up: {listed}; "
                "a sub-circuit node inside the mains is counted twice, in the bill and in the theft check",
                'list the node(s) on the mains: [billing] metered_nodes = ["<mains node id>"] in the config, then '
                "`systemctl restart powergw` (or `powergw meters --mains <id>`); if no node sits inside another, list "
                "them all to say so",
                _words(
                    "setup_gap_mains",
                    {"n": len(circuits), "names": ", ".join(name or node_id for node_id, name in circuits)},
                ),
                _words("setup_gap_mains_fix"),
            )
        )
    return gaps
