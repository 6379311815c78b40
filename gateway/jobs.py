"""The core's periodic jobs (run by the daemon's scheduler, one connection per run), and the body of an
isolated job's process."""

from __future__ import annotations

import logging

from .app import JobContext, open_store
from .config import Config
from .parts import load_object

log = logging.getLogger(__name__)


def apply_retention(ctx: JobContext) -> int:
    """Drop raw readings past the retention period (their energy stays in the rollups)."""
    dropped = ctx.store.apply_retention(ctx.now_ms(), ctx.config.gateway.retention_days)
    if dropped:
        log.info("retention: dropped %d raw readings older than %d days", dropped, ctx.config.gateway.retention_days)
    return dropped


def run_isolated_job(target: str, db_path: str, config: Config, now_ms: int, log_level: int) -> None:
    """The body of an isolated job's child process: the same context a job gets in the daemon,
    without extras; the daemon's clock reading at the start plus the time elapsed since."""
    import sys
    import time

    from .settings_store import effective_config

    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    fn = load_object(target)
    store = open_store(db_path, config.gateway.timezone)
    try:
        clock = lambda: now_ms + int((time.monotonic() - started) * 1000)  # noqa: E731
        fn(JobContext(store=store, config=effective_config(store, config), now_ms=clock, extras={}))
    finally:
        store.close()
