"""The tables of alerts and alert email (migration set "powergw.alerts").

- `alerts`: one row per alert; at most one open row per dedup key (a partial unique index).
- `alert_actions`: who ignored, raised or resolved an alert, when, and why.
- `email_outbox`: alert emails waiting for the SMTP server, with attempts and the next try.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

alerts_migrations = Migrations("powergw.alerts")


@alerts_migrations()
def m001_alerts(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            node_id TEXT,
            dedup_key TEXT,
            data TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'open',
            created_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            repeat_count INTEGER NOT NULL DEFAULT 1,
            acted_by TEXT,
            acted_ms INTEGER,
            action_comment TEXT
        )""",
        # At most one open alert per dedup key: the database itself refuses a storm.
        "CREATE UNIQUE INDEX alerts_open_dedup ON alerts (dedup_key) WHERE state = 'open' AND dedup_key IS NOT NULL",
        "CREATE INDEX alerts_dedup ON alerts (dedup_key)",
        "CREATE INDEX alerts_state_created ON alerts (state, created_ms)",
        """CREATE TABLE alert_actions (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts (id),
            action TEXT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            by TEXT NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            ts_ms INTEGER NOT NULL
        )""",
        "CREATE INDEX alert_actions_alert ON alert_actions (alert_id)",
    ):
        db.execute(sql)


@alerts_migrations()
def m002_email_outbox(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE email_outbox (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER,
            to_addrs TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued',
            created_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL,
            lease_until_ms INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_ms INTEGER
        )"""
    )
    db.execute("CREATE INDEX email_outbox_due ON email_outbox (state, next_attempt_ms)")
