"""The alerts part's record: the shared alerts table and the email outbox that delivers them."""

from __future__ import annotations

from ..parts import JobSpec, Part

ALERTS = Part(
    name="alerts",
    sections={"email": "gateway.alerts.settings:EmailSection"},
    migrations=("gateway.alerts.schema:alerts_migrations",),
    jobs=(JobSpec("email", "gateway.alerts.jobs:send_email", seconds=60, first_delay_s=30),),
    commands=("gateway.alerts.commands",),
    alert_listeners=("gateway.alerts.email:listener_from_config",),
)
