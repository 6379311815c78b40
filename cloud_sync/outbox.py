"""The durable outbox: events written in the same SQLite transaction as the change they report.

Tables (migration set "powergw.outbox"):

- `outbox`: events waiting for the cloud's acknowledgement; a row is deleted only after the
  server answered 2xx naming its key (new or duplicate).
- `outbox_dead`: events the cloud refused for good (a 4xx), kept for a person to look at.
- `sync_state`: small key/value facts of the sync (token, URL, cursor, last success and error).
- `sync_inbox`: every change pulled from the cloud, by its sequence number, with what became of it
  (applied, pending until a handler exists, rejected): a change is never silently dropped.
- `outbox_queued`: the key of every bill, payment and feedback event ever queued, kept after the
  event is delivered, so a backfill (cloud_sync.backfill) queues only what never was.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from gateway.store import transaction

from . import OutboxError

migrations = Migrations("powergw.outbox")


@migrations()
def m001_outbox(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL,
            last_error TEXT
        );
        CREATE TABLE outbox_dead (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            attempts INTEGER NOT NULL,
            status INTEGER,
            reason TEXT NOT NULL,
            dead_ms INTEGER NOT NULL
        );
        CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE sync_inbox (
            seq INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            received_ms INTEGER NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        """
    )


# The kinds cloud_sync.backfill rebuilds from the household's own tables: their keys are kept in
# `outbox_queued` for good (a few a month), so the history is queued once however often it runs.
REMEMBERED_KINDS = ("bill_closed", "payment_created", "feedback")


@migrations()
def m002_outbox_queued(db: sqlite_utils.Database) -> None:
    db.executescript(
        f"""
        CREATE TABLE outbox_queued (key TEXT PRIMARY KEY, kind TEXT NOT NULL, queued_ms INTEGER NOT NULL);
        INSERT OR IGNORE INTO outbox_queued (key, kind, queued_ms)
            SELECT key, kind, created_ms FROM outbox WHERE kind IN {REMEMBERED_KINDS!r}
            UNION SELECT key, kind, created_ms FROM outbox_dead WHERE kind IN {REMEMBERED_KINDS!r};
        """
    )


# The event kinds the cloud accepts, with what each reports. The reference cloud keeps its own copy
# (powergw_cloud.contract); tests/test_cloud_contract.py holds the two to one another.
EVENT_KINDS: dict[str, str] = {
    "bill_closed": "a billing cycle closed: bill id, period, energy, amount in paise",
    "payment_created": "a payment recorded on the gateway (cash, UPI reference)",
    "feedback": "the household's answer to an alert (theft / not theft / ignore)",
    "daily_summary": "energy per node for one local day",
    "alert": "an alert raised on the gateway",
    "node_health": "a node's frame counters, reboots and last seen time",
}


@dataclass(frozen=True)
class OutboxEvent:
    """One queued event as the sync client sends it."""

    key: str
    kind: str
    payload: dict
    created_ms: int
    attempts: int
    next_attempt_ms: int

    def wire(self) -> dict:
        return {"key": self.key, "kind": self.kind, "created_ms": self.created_ms, "payload": self.payload}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_key(key: str) -> str:
    try:
        return str(uuid.UUID(str(key)))
    except ValueError:
        raise OutboxError(f"idempotency key {key!r}: expected a UUID such as {uuid.uuid4()}") from None


class Outbox:
    """The outbox on one connection of the gateway's database (autocommit: isolation_level=None)."""

    def __init__(self, conn: sqlite3.Connection):
        if conn.isolation_level is not None:
            raise OutboxError(
                "the outbox needs an autocommit connection (isolation_level=None), as gateway.store.connect gives"
            )
        self.conn = conn

    @staticmethod
    def enqueue(
        conn: sqlite3.Connection,
        kind: str,
        payload: dict[str, Any],
        key: str | None = None,
        *,
        now_ms: int | None = None,
    ) -> str:
        """Queue an event on `conn` inside the caller's open transaction; returns its idempotency key.

        It neither begins nor commits: call it between your BEGIN and COMMIT, so the change and
        the event reporting it are written together or not at all. Give `key` when the change
        has a natural one (a payment's idempotency key), so enqueueing twice queues it once.
        """
        if kind not in EVENT_KINDS:
            raise OutboxError(f"event kind {kind!r}: expected one of {', '.join(EVENT_KINDS)}")
        if not isinstance(payload, dict):
            raise OutboxError(f"{kind} payload: expected a dict, got {type(payload).__name__}")
        key = _check_key(key) if key is not None else str(uuid.uuid4())
        try:
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise OutboxError(f"{kind} payload is not JSON (money goes as integer paise): {err}") from err
        created = _now_ms() if now_ms is None else now_ms
        conn.execute(
            "INSERT INTO outbox (key, kind, payload, created_ms, next_attempt_ms) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            (key, kind, body, created, created),
        )
        if kind in REMEMBERED_KINDS:
            conn.execute(
                "INSERT INTO outbox_queued (key, kind, queued_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, kind, created),
            )
        return key

    def due(self, now_ms: int, limit: int) -> list[OutboxEvent]:
        """Up to `limit` events whose next attempt is due, oldest first."""
        rows = self.conn.execute(
            "SELECT key, kind, payload, created_ms, attempts, next_attempt_ms FROM outbox "
            "WHERE next_attempt_ms <= ? ORDER BY id LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [OutboxEvent(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]

    def acknowledge(self, keys: Sequence[str]) -> int:
        """Delete events the server acknowledged (as new or as duplicates)."""
        with transaction(self.conn):
            cur = self.conn.executemany("DELETE FROM outbox WHERE key = ?", [(k,) for k in keys])
        return cur.rowcount

    def defer(self, delays_ms: dict[str, int], now_ms: int, error: str) -> None:
        """Count an attempt for each key and schedule its next one `delay` ms from now."""
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE key = ?",
                [(now_ms + d, error[:500], k) for k, d in delays_ms.items()],
            )

    def release_deferred(self, now_ms: int) -> int:
        """Make every waiting event due now with its attempts back at 0: the cloud answered again,
        so the failures they counted are over."""
        with transaction(self.conn):
            return self.conn.execute(
                "UPDATE outbox SET next_attempt_ms = min(next_attempt_ms, ?), attempts = 0 "
                "WHERE next_attempt_ms > ? OR attempts > 0",
                (now_ms, now_ms),
            ).rowcount

    def dead_letter(self, events: Sequence[OutboxEvent], status: int | None, reason: str, now_ms: int) -> None:
        """Move events the cloud refused for good to `outbox_dead`, in one transaction."""
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO outbox_dead (key, kind, payload, created_ms, attempts, status, reason, dead_ms) "
                "SELECT key, kind, payload, created_ms, attempts + 1, ?, ?, ? FROM outbox WHERE key = ? "
                "ON CONFLICT (key) DO NOTHING",
                [(status, reason[:500], now_ms, e.key) for e in events],
            )
            self.conn.executemany("DELETE FROM outbox WHERE key = ?", [(e.key,) for e in events])

    @staticmethod
    def was_queued(conn: sqlite3.Connection, key: str) -> bool:
        """True if an event with this key is waiting, or was ever queued (for the REMEMBERED_KINDS)."""
        return (
            conn.execute(
                "SELECT 1 FROM outbox_queued WHERE key = ? UNION ALL SELECT 1 FROM outbox WHERE key = ?", (key, key)
            ).fetchone()
            is not None
        )

    def depth(self) -> int:
        return self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def dead_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM outbox_dead").fetchone()[0]

    def oldest_created_ms(self) -> int | None:
        return self.conn.execute("SELECT min(created_ms) FROM outbox").fetchone()[0]

    def next_due_ms(self) -> int | None:
        return self.conn.execute("SELECT min(next_attempt_ms) FROM outbox").fetchone()[0]

    def dead_letters(self) -> list[dict]:
        cur = self.conn.execute("SELECT * FROM outbox_dead ORDER BY dead_ms")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=False)) for r in cur.fetchall()]


class SyncState:
    """Key/value facts of the sync in `sync_state`: token, url, cursor, last success, last error."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str | int) -> None:
        """Upsert one fact; runs in the caller's transaction if there is one, else commits alone."""
        self.conn.execute(
            "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    def cursor(self) -> int:
        return int(self.get("cursor", "0") or 0)
