"""Alert email: a persistent outbox in SQLite and an SMTP sender that drains it with backoff.

An alert's email is queued in the same transaction as the alert (a listener), so it exists if
and only if the alert does. The email job sends due rows over SMTP outside any transaction;
a down server only moves `next_attempt_ms` later (delayed, never lost, never blocking ingest,
which has its own connection). A row leaves `queued` only when the server accepted it (`sent`)
or refused it for good (`failed`, 5xx on the message; `powergw email retry` requeues those).
Delivery is at least once: a connection dropped after the server accepted the message can
send it again; the Message-ID is stable per row so mail clients can tell.
"""

from __future__ import annotations

import json
import smtplib
import sqlite3
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from .. import PowerGwError
from ..db import as_store, transaction
from .alert_store import AlertListener
from .kinds import KINDS
from .settings import EmailSection


class EmailError(PowerGwError):
    """An email could not be sent; `temporary` says whether a retry can help."""

    def __init__(self, reason: str, *, temporary: bool):
        super().__init__(reason)
        self.temporary = temporary


# ---- pure parts ----------------------------------------------------------------------------------


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next attempt after `attempts` failures: base, 2·base, 4·base, ... capped."""
    if attempts < 1:
        return 0.0
    return min(max_s, base_s * 2 ** min(attempts - 1, 30))


def compose(alert: dict, prefix: str, when: str) -> tuple[str, str]:
    """(subject, body) of the email for an alert."""
    kind = KINDS.get(alert["kind"])
    title = kind.title if kind else alert["kind"]
    subject = f"{prefix} {alert['severity'].upper()}: {title}".strip()
    lines = [alert["message"], ""]
    if kind and kind.advice:
        lines += [kind.advice, ""]
    lines += [f"Kind: {alert['kind']}", f"Severity: {alert['severity']}", f"When: {when}"]
    if alert.get("node_id"):
        lines.append(f"Node: {alert['node_id']}")
    for key, value in sorted((alert.get("data") or {}).items()):
        if not isinstance(value, (list, dict)):  # lists (a theft alert's window starts) are on the dashboard
            lines.append(f"{key}: {value}")
    lines += [
        "",
        f"Alert #{alert['id']}: see it, ignore, raise or resolve it on the gateway's dashboard or with",
        f"  powergw alerts act {alert['id']} ignore|raise|resolve --by NAME",
    ]
    return subject, "\n".join(lines) + "\n"


# ---- the outbox ----------------------------------------------------------------------------------


def enqueue(
    conn: sqlite3.Connection, to: list[str], subject: str, body: str, *, now_ms: int, alert_id: int | None = None
) -> int:
    """Queue one email on `conn` (inside the caller's transaction, if any)."""
    if not to:
        raise EmailError("an email needs at least one recipient", temporary=False)
    cur = conn.execute(
        "INSERT INTO email_outbox (alert_id, to_addrs, subject, body, created_ms, next_attempt_ms) VALUES "
        "(?, ?, ?, ?, ?, ?)",
        (alert_id, json.dumps(list(to)), subject, body, now_ms, now_ms),
    )
    return cur.lastrowid


class EmailOutbox:
    """The email_outbox table: claim due rows, record outcomes."""

    def __init__(self, store: Any):
        self.store = as_store(store)

    def claim_due(self, now_ms: int, limit: int, lease_ms: int = 120_000) -> list[dict]:
        """Due queued rows, leased to this sender for `lease_ms` so a second sender skips them."""
        with transaction(self.store) as conn:
            cur = conn.execute(
                "SELECT id, alert_id, to_addrs, subject, body, created_ms, attempts FROM email_outbox "
                "WHERE state = 'queued' AND next_attempt_ms <= ? AND lease_until_ms <= ? "
                "ORDER BY next_attempt_ms, id LIMIT ?",
                (now_ms, now_ms, limit),
            )
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]
            conn.executemany(
                "UPDATE email_outbox SET lease_until_ms = ? WHERE id = ?", [(now_ms + lease_ms, r["id"]) for r in rows]
            )
        for r in rows:
            r["to_addrs"] = json.loads(r["to_addrs"])
        return rows

    def mark_sent(self, row_id: int, now_ms: int) -> None:
        with transaction(self.store) as conn:
            conn.execute(
                "UPDATE email_outbox SET state = 'sent', sent_ms = ?, attempts = attempts + 1, lease_until_ms = 0, "
                "last_error = NULL WHERE id = ?",
                (now_ms, row_id),
            )

    def mark_retry(self, row_id: int, now_ms: int, error: str, section: EmailSection) -> int:
        """Count a failed attempt and schedule the next one; returns the delay in ms."""
        with transaction(self.store) as conn:
            attempts = conn.execute("SELECT attempts FROM email_outbox WHERE id = ?", (row_id,)).fetchone()[0] + 1
            delay_ms = int(backoff_s(attempts, section.retry_base_s, section.retry_max_s) * 1000)
            conn.execute(
                "UPDATE email_outbox SET attempts = ?, next_attempt_ms = ?, lease_until_ms = 0, "
                "last_error = ? WHERE id = ?",
                (attempts, now_ms + delay_ms, error[:500], row_id),
            )
        return delay_ms

    def mark_failed(self, row_id: int, error: str) -> None:
        with transaction(self.store) as conn:
            conn.execute(
                "UPDATE email_outbox SET state = 'failed', attempts = attempts + 1, lease_until_ms = 0, "
                "last_error = ? WHERE id = ?",
                (error[:500], row_id),
            )

    def release(self, row_ids: list[int]) -> None:
        """Give back leased rows that were not tried in this run."""
        if row_ids:
            with transaction(self.store) as conn:
                conn.executemany("UPDATE email_outbox SET lease_until_ms = 0 WHERE id = ?", [(i,) for i in row_ids])

    def requeue_failed(self, now_ms: int) -> int:
        with transaction(self.store) as conn:
            return conn.execute(
                "UPDATE email_outbox SET state = 'queued', next_attempt_ms = ?, attempts = 0 WHERE state = 'failed'",
                (now_ms,),
            ).rowcount

    def stats(self) -> dict:
        conn = self.store.conn
        out = dict.fromkeys(("queued", "sent", "failed"), 0)
        out.update(conn.execute("SELECT state, count(*) FROM email_outbox GROUP BY state").fetchall())
        row = conn.execute(
            "SELECT min(created_ms), min(next_attempt_ms), max(attempts) FROM email_outbox WHERE state = 'queued'"
        ).fetchone()
        out["oldest_queued_ms"], out["next_attempt_ms"], out["max_attempts"] = row
        last = conn.execute(
            "SELECT last_error FROM email_outbox WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        out["last_error"] = last[0] if last else None
        return out

    def rows(self, state: str | None = None, limit: int = 50) -> list[dict]:
        sql = (
            "SELECT id, alert_id, to_addrs, subject, state, created_ms, attempts, next_attempt_ms, last_error, "
            "sent_ms FROM email_outbox"
        )
        params: tuple = ()
        if state:
            sql += " WHERE state = ?"
            params = (state,)
        cur = self.store.conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]


# ---- the alert listener ---------------------------------------------------------------------------


def email_listener(section: EmailSection, calendar: Any = None) -> AlertListener:
    """Queue an email when an alert of a kind that emails is created."""

    def listener(conn: sqlite3.Connection, alert: dict, event: str) -> None:
        kind = KINDS.get(alert["kind"])
        if event != "created" or kind is None or not kind.emails:
            return
        when = calendar.isoformat(alert["created_ms"]) if calendar else str(alert["created_ms"])
        subject, body = compose(alert, section.subject_prefix, when)
        enqueue(conn, section.to, subject, body, now_ms=alert["created_ms"], alert_id=alert["id"])

    return listener


def listener_from_config(config: Any, calendar: Any = None) -> AlertListener | None:
    section: EmailSection = config["email"]
    return email_listener(section, calendar) if section.enabled else None


# ---- SMTP (the adapter) -------------------------------------------------------------------------------


def build_message(section: EmailSection, row: dict) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = section.from_addr
    msg["To"] = ", ".join(row["to_addrs"])
    msg["Subject"] = row["subject"]
    msg["Date"] = formatdate(row["created_ms"] / 1000, localtime=False)
    msg["Message-ID"] = f"<powergw-email-{row['id']}-{row['created_ms']}@{section.from_addr.rpartition('@')[2]}>"
    msg.set_content(row["body"])
    return msg


class SmtpTransport:
    """One SMTP session per run of the sender; smtplib errors become EmailError."""

    def __init__(self, section: EmailSection):
        self.section = section
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        s = self.section
        try:
            context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
            if s.security == "tls":
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
                if s.security == "starttls":
                    self.smtp.starttls(context=context)
            if s.username:
                self.smtp.login(s.username, s.secret())
        except (smtplib.SMTPException, OSError, ssl.SSLError) as err:
            self._close()
            raise EmailError(f"cannot reach SMTP server {s.host}:{s.port}: {err}", temporary=True) from err
        return self

    def send(self, msg: EmailMessage) -> None:
        assert self.smtp is not None
        try:
            refused = self.smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            raise EmailError(f"recipients refused: {err.recipients}", temporary=any(c < 500 for c in codes)) from err
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as err:
            raise EmailError(
                f"message refused: {err.smtp_code} {err.smtp_error!r}", temporary=err.smtp_code < 500
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise EmailError(f"SMTP session lost: {err}", temporary=True) from err
        if refused:
            # Accepted for some recipients: resending would duplicate for the others.
            raise EmailError(f"some recipients refused: {refused}", temporary=False)

    def _close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def __exit__(self, *exc: object) -> None:
        self._close()


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    error: str | None = None


def send_due(outbox: EmailOutbox, section: EmailSection, now_ms: int, transport: Any = None) -> SendReport:
    """Send the due emails; a server that cannot be reached delays them all (backoff), loses none."""
    report = SendReport()
    rows = outbox.claim_due(now_ms, section.batch)
    if not rows:
        return report
    pending = [r["id"] for r in rows]
    try:
        with transport or SmtpTransport(section) as smtp:
            for row in rows:
                pending.remove(row["id"])
                try:
                    smtp.send(build_message(section, row))
                except EmailError as err:
                    report.error = str(err)
                    if not err.temporary:
                        outbox.mark_failed(row["id"], str(err))
                        report.failed += 1
                        continue
                    outbox.mark_retry(row["id"], now_ms, str(err), section)
                    report.retried += 1
                    break  # the session is suspect: the rest wait for the next run
                outbox.mark_sent(row["id"], now_ms)
                report.sent += 1
    except EmailError as err:
        # Could not connect: every row of this run failed one delivery attempt and backs off.
        report.error = str(err)
        for row_id in list(pending):
            pending.remove(row_id)
            outbox.mark_retry(row_id, now_ms, str(err), section)
            report.retried += 1
    finally:
        outbox.release(pending)
    return report
