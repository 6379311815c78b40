"""The sync part's record: the outbox of events, the sync round and the periodic reports to the cloud."""

from __future__ import annotations

from gateway.parts import JobSpec, Part

SYNC = Part(
    name="sync",
    sections={"cloud": "cloud_sync.settings:CloudSection"},
    migrations=("cloud_sync.outbox:migrations",),
    jobs=(
        JobSpec("cloud_sync", "cloud_sync.jobs:sync_round", seconds=60, first_delay_s=20),
        JobSpec("cloud_reports", "cloud_sync.jobs:queue_reports", seconds=300, first_delay_s=40),
    ),
    commands=("cloud_sync.commands",),
    alert_listeners=("cloud_sync.listeners:alert_listener",),
    ledger_listeners=("cloud_sync.listeners:ledger_listener",),
)
