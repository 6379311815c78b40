"""The daemon's periodic cloud sync job (JOBS in gateway.app)."""

from __future__ import annotations

import logging

import requests

from gateway.app import JobContext

from .runtime import build_syncer, is_registered

log = logging.getLogger(__name__)


def sync_round(ctx: JobContext) -> int:
    """One sync round on the job's own connection; ingest never waits for the network."""
    section = ctx.config["cloud"]
    conn = ctx.store.conn
    if not section.enabled or not is_registered(conn):
        return 0
    with requests.Session() as session:
        result = build_syncer(conn, section, session=session, clock_ms=ctx.now_ms).run_once()
    if result.acknowledged or result.pulled:
        log.info("cloud sync: %d events acknowledged, %d changes pulled", result.acknowledged, result.pulled)
    return result.acknowledged
