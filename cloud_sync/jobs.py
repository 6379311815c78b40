"""The daemon's periodic cloud jobs (JOBS in gateway.app): the sync round and the periodic reports."""

from __future__ import annotations

import logging

import requests

from gateway.app import JobContext

from .reports import queue_daily_summaries, queue_node_health
from .runtime import build_syncer, is_registered

log = logging.getLogger(__name__)


def sync_round(ctx: JobContext) -> int:
    """One sync round on the job's own connection; ingest never waits for the network."""
    section = ctx.config["cloud"]
    conn = ctx.store.conn
    if not section.enabled or not is_registered(conn):
        return 0
    with requests.Session() as session:
        result = build_syncer(conn, section, session=session, clock_ms=ctx.now_ms, config=ctx.config).run_once()
    if result.acknowledged or result.pulled:
        log.info("cloud sync: %d events acknowledged, %d changes pulled", result.acknowledged, result.pulled)
    return result.acknowledged


def queue_reports(ctx: JobContext) -> int:
    """Queue the daily summaries of closed days and this hour's node health, once registered."""
    section = ctx.config["cloud"]
    if not section.enabled or not is_registered(ctx.store.conn):
        return 0
    now = ctx.now_ms()
    return queue_daily_summaries(ctx.store, now) + queue_node_health(ctx.store, now)
