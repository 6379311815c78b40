"""The theft part's record: hourly scoring of the house's usage, feedback and weekly retraining."""

from __future__ import annotations

from gateway.parts import JobSpec, Part

THEFT = Part(
    name="theft",
    # After the alerts' migrations: its feedback cursor reads alert_actions.
    migrations=("edge_model.feedback_store:theft_migrations",),
    jobs=(
        JobSpec(
            "theft_score",
            "edge_model.store_job:score_job",
            seconds=3600,
            first_delay_s=120,
            isolated=True,
            timeout_s=900,
        ),
        JobSpec(
            "theft_retrain",
            "edge_model.store_job:retrain_job",
            seconds=7 * 86400,
            first_delay_s=6 * 3600,
            isolated=True,
            timeout_s=4 * 3600,
        ),
    ),
    commands=("edge_model.commands",),
    model="edge_model.registry:model_in_use",
)
