"""The billing part's record: tariffs, cycles, bills, budgets and the payment ledger."""

from __future__ import annotations

from ..parts import JobSpec, Part

BILLING = Part(
    name="billing",
    sections={"billing": "gateway.billing.settings:BillingSection"},
    migrations=("gateway.billing.ledger:billing_migrations",),
    jobs=(
        JobSpec("billing_check", "gateway.billing.jobs:check_budget", seconds=900, first_delay_s=90),
        JobSpec("billing_close", "gateway.billing.jobs:close_cycles", seconds=3600, first_delay_s=150),
        JobSpec("billing_due", "gateway.billing.reminders:remind_due", seconds=3600, first_delay_s=180),
    ),
    commands=("gateway.billing.commands",),
)
