"""The core's periodic jobs (run by the daemon's scheduler, one connection per run)."""

from __future__ import annotations

import logging

from .app import JobContext

log = logging.getLogger(__name__)


def apply_retention(ctx: JobContext) -> int:
    """Drop raw readings past the retention period (their energy stays in the rollups)."""
    dropped = ctx.store.apply_retention(ctx.now_ms(), ctx.config.gateway.retention_days)
    if dropped:
        log.info("retention: dropped %d raw readings older than %d days", dropped, ctx.config.gateway.retention_days)
    return dropped
