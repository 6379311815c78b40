"""The ingest part's record: nodes in over serial and BLE, energy accounted, stored, rolled up."""

from __future__ import annotations

from .parts import JobSpec, Part

INGEST = Part(
    name="ingest",
    sections={
        "gateway": "gateway.config:GatewaySection",
        "serial": "gateway.config:SerialSection",
        "ble": "gateway.sources.ble_settings:BleSection",
    },
    migrations=("gateway.settings_store:settings_migrations",),
    jobs=(
        JobSpec("retention", "gateway.jobs:apply_retention", seconds=6 * 3600, first_delay_s=60),
        JobSpec("node_health", "gateway.node_health:check_nodes", seconds=60, first_delay_s=90),
    ),
    commands=("gateway.commands", "gateway.report_commands", "gateway.node_commands", "gateway.house_commands"),
)
