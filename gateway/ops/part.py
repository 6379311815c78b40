"""The ops part's record: backups, doctor, metrics, MQTT, exports and the example config."""

from __future__ import annotations

from ..parts import JobSpec, Part

OPS = Part(
    name="ops",
    sections={
        "backup": "gateway.ops.settings:BackupSection",
        "mqtt": "gateway.ops.settings:MqttSection",
        "metrics": "gateway.ops.metrics:MetricsSection",
    },
    jobs=(JobSpec("backup", "gateway.ops.backup:backup_job", seconds=1800, first_delay_s=300),),
    commands=("gateway.ops.commands",),
)
