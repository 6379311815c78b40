"""The supply part's record: voltage quality per day and the power-cut log, with their alerts."""

from __future__ import annotations

from ..parts import JobSpec, Part

SUPPLY = Part(
    name="supply",
    sections={"supply": "gateway.supply.settings:SupplySection"},
    # After the core's: the tracker reads `readings`, the quality `usage_minute`.
    migrations=("gateway.supply.tables:supply_migrations",),
    jobs=(
        JobSpec("supply_cuts", "gateway.supply.jobs:track_cuts", seconds=60, first_delay_s=45),
        JobSpec("supply_quality", "gateway.supply.jobs:roll_quality", seconds=600, first_delay_s=200),
    ),
    commands=("gateway.supply.commands",),
)
