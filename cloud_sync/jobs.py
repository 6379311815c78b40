"""The daemon's periodic cloud jobs (JOBS in gateway.app): the sync round and the periodic reports."""

from __future__ import annotations

import logging

from gateway.app import JobContext

log = logging.getLogger(__name__)

# requests and the sync client are imported only once cloud sync is enabled: the daemon runs these
# jobs whatever the config says, and a gateway that never syncs need not hold them (about 9 MB).


def sync_round(ctx: JobContext) -> int:
    """One sync round on the job's own connection; ingest never waits for the network."""
    section = ctx.config["cloud"]
    if not section.enabled:
        return 0
    import requests

    from .runtime import build_syncer, is_registered, plain_http_refusal, refuse_sync

    conn = ctx.store.conn
    if not is_registered(conn):
        return 0
    refusal = plain_http_refusal(conn, section)
    if refusal:
        refuse_sync(conn, refusal, ctx.now_ms(), ctx.config)
        return 0
    with requests.Session() as session:
        result = build_syncer(conn, section, session=session, clock_ms=ctx.now_ms, config=ctx.config).run_once()
    if result.acknowledged or result.pulled:
        log.info("cloud sync: %d events acknowledged, %d changes pulled", result.acknowledged, result.pulled)
    return result.acknowledged


def queue_reports(ctx: JobContext) -> int:
    """Queue the daily summaries of closed days and this hour's node health, once registered."""
    section = ctx.config["cloud"]
    if not section.enabled:
        return 0
    from .reports import queue_daily_summaries, queue_node_health
    from .runtime import is_registered

    if not is_registered(ctx.store.conn):
        return 0
    now = ctx.now_ms()
    return queue_daily_summaries(ctx.store, now, ctx.config["billing"]) + queue_node_health(ctx.store, now)
