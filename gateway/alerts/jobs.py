"""The daemon's alert jobs: drain the email outbox.

Assumes: its own store connection in `ctx.store` (never the ingest connection), the config in
`ctx.config`, a clock in `ctx.now_ms`. Safe to run late, twice, or concurrently with
`powergw email send` (rows are leased); a missed run only delays mail.
"""

from __future__ import annotations

import logging

from ..app import JobContext
from .alert_store import AlertStore
from .email import EmailOutbox, SendReport, send_due

log = logging.getLogger(__name__)

FAILING_AFTER_MS = 6 * 3600 * 1000  # raise email_failing once mail has waited this long


def send_email(ctx: JobContext) -> SendReport:
    """Send due alert emails; raise an `email_failing` alert if mail has been stuck for hours."""
    section = ctx.config["email"]
    outbox = EmailOutbox(ctx.store)
    now = ctx.now_ms()
    if not section.enabled:
        return SendReport()
    report = send_due(outbox, section, now)
    if report.sent or report.retried or report.failed:
        log.info(
            "email: sent %d, retry later %d, failed %d%s",
            report.sent,
            report.retried,
            report.failed,
            f" ({report.error})" if report.error else "",
        )
    stats = outbox.stats()
    oldest = stats["oldest_queued_ms"]
    if oldest is not None and now - oldest > FAILING_AFTER_MS and stats["max_attempts"]:
        hours = (now - oldest) / 3_600_000
        AlertStore(ctx.store).raise_alert(
            "email_failing",
            None,
            f"{stats['queued']} alert emails waiting for {hours:.1f} h; last error: {stats['last_error']}",
            now_ms=now,
            dedup_key="email_failing",
            data={"queued": stats["queued"], "hours": round(hours, 1)},
        )
    return report
