"""The reference cloud's storage: one small layer over SQLite (default) or PostgreSQL (psycopg).

SQL is written once with `?` placeholders and translated for psycopg; the DDL differs only in
the auto-increment key and the blob type. Each thread of the WSGI server keeps its own
connection. Idempotency is the database's job: events are UNIQUE per (household, key), webhook
event ids and provider payment ids are primary/unique keys, and an insert that conflicts is
reported as a duplicate, never as an error.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import CloudError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS households (
    id {pk}, name TEXT NOT NULL, created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS registration_codes (
    code_hash TEXT PRIMARY KEY, household_id BIGINT NOT NULL, expires_ms BIGINT NOT NULL, used_ms BIGINT
);
CREATE TABLE IF NOT EXISTS gateways (
    id {pk}, household_id BIGINT NOT NULL, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL, revoked_ms BIGINT
);
CREATE TABLE IF NOT EXISTS events (
    id {pk}, household_id BIGINT NOT NULL, gateway_id BIGINT NOT NULL, key TEXT NOT NULL,
    kind TEXT NOT NULL, created_ms BIGINT NOT NULL, received_ms BIGINT NOT NULL, payload TEXT NOT NULL,
    UNIQUE (household_id, key)
);
CREATE INDEX IF NOT EXISTS events_household_kind ON events (household_id, kind, id);
CREATE TABLE IF NOT EXISTS changes (
    seq {pk}, household_id BIGINT, type TEXT NOT NULL, data TEXT NOT NULL, created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_orders (
    id TEXT PRIMARY KEY, household_id BIGINT NOT NULL, bill_id TEXT NOT NULL, amount_paise BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id {pk}, household_id BIGINT NOT NULL, provider_payment_id TEXT NOT NULL UNIQUE, order_id TEXT,
    bill_id TEXT, amount_paise BIGINT NOT NULL, method TEXT NOT NULL, paid_ms BIGINT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_events (event_id TEXT PRIMARY KEY, received_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size_bytes BIGINT NOT NULL, data {blob} NOT NULL,
    created_ms BIGINT NOT NULL
);
"""

_DIALECT = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB"},
    "postgresql": {"pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "blob": "BYTEA"},
}

# A namespace for the gateway-side idempotency key of a payment confirmed in the cloud: the same
# provider payment always maps to the same key, so the gateway's ledger can refuse a second copy.
PAYMENT_KEY_NAMESPACE = uuid.UUID("6f1d3c52-7a1e-4d0b-9a43-5f0e2c1b8d17")

REGISTRATION_CODE_TTL_MS = 24 * 3600 * 1000


class CloudStoreError(CloudError):
    """The cloud database cannot be opened or the URL is not one we know."""


def token_hash(token: str) -> str:
    """SHA-256 of a token or code, hex: what the database keeps instead of the secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Caller:
    """The gateway a bearer token belongs to."""

    gateway_id: int
    household_id: int


class _Tx:
    """One transaction: execute with `?` placeholders, whichever database is underneath."""

    def __init__(self, conn: Any, dialect: str):
        self.conn = conn
        self.pg = dialect == "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.pg:
            sql = sql.replace("?", "%s")
        return self.conn.execute(sql, tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()


class CloudStore:
    """The cloud API's data: households, gateways, events, changes, payments, models."""

    def __init__(self, url: str | Path):
        url = str(url)
        if url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.url = url
        else:
            self.dialect = "sqlite"
            self.url = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
            if "://" in self.url:
                raise CloudStoreError(f"database URL {url!r}: expected a file path, sqlite:///PATH or postgresql://...")
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        with self.tx() as tx:
            for statement in _SCHEMA.format(**_DIALECT[self.dialect]).split(";"):
                if statement.strip():
                    tx.execute(statement)

    # ---- connections ----------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            if self.dialect == "postgresql":
                import psycopg

                conn = psycopg.connect(self.url, autocommit=True)
            else:
                Path(self.url).parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.url, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout = 10000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except Exception as err:  # psycopg.Error, sqlite3.Error, OSError
            raise CloudStoreError(f"cannot open cloud database {self._safe_url()}: {err}") from err
        with self._lock:
            self._all.append(conn)
        return conn

    def _safe_url(self) -> str:
        return self.url.split("@")[-1] if self.dialect == "postgresql" else self.url

    @contextmanager
    def tx(self) -> Iterator[_Tx]:
        """A write transaction on this thread's connection (SQLite: BEGIN IMMEDIATE, so writers queue)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        try:
            if self.dialect == "postgresql":
                with conn.transaction():
                    yield _Tx(conn, self.dialect)
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _Tx(conn, self.dialect)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except Exception:
            if self.dialect == "postgresql" and conn.broken:
                self._local.conn = None
            raise

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # closing is best effort at shutdown
                    pass
            self._all.clear()
        self._local = threading.local()

    def _lock_changes(self, tx: _Tx) -> None:
        # PostgreSQL hands out identity values before commit, so two concurrent writers could
        # commit seq 8 before seq 7 and a reader would skip 7 for good. Serialising writers of
        # `changes` makes commit order equal seq order; changes are rare, so this costs nothing.
        if self.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(7707)")

    def _insert_id(self, tx: _Tx, sql: str, params: Sequence[Any], id_col: str = "id") -> int:
        return tx.one(sql + f" RETURNING {id_col}", params)[0]

    # ---- households, registration, tokens -------------------------------------------------

    def add_household(self, name: str, now: int | None = None) -> tuple[int, str]:
        """A new household and its first registration code (shown once, stored hashed)."""
        now = now_ms() if now is None else now
        with self.tx() as tx:
            hid = self._insert_id(tx, "INSERT INTO households (name, created_ms) VALUES (?, ?)", (name, now))
        return hid, self.new_registration_code(hid, now)

    def household_exists(self, household_id: int) -> bool:
        with self.tx() as tx:
            return tx.one("SELECT 1 FROM households WHERE id = ?", (household_id,)) is not None

    def new_registration_code(self, household_id: int, now: int | None = None) -> str:
        """A single-use code, valid for a day, for one gateway to join the household."""
        now = now_ms() if now is None else now
        code = secrets.token_hex(6).upper()  # 48 bits: typed by a person, so it expires and works once
        with self.tx() as tx:
            tx.execute(
                "INSERT INTO registration_codes (code_hash, household_id, expires_ms) VALUES (?, ?, ?)",
                (token_hash(code), household_id, now + REGISTRATION_CODE_TTL_MS),
            )
        return code

    def register_gateway(self, code: str, name: str, now: int | None = None) -> tuple[Caller, str] | None:
        """Spend a registration code for a new gateway token; None if the code is unknown, used or expired."""
        now = now_ms() if now is None else now
        token = "pgw_" + secrets.token_urlsafe(32)
        with self.tx() as tx:
            row = tx.one(
                "UPDATE registration_codes SET used_ms = ? WHERE code_hash = ? AND used_ms IS NULL AND expires_ms > ? "
                "RETURNING household_id",
                (now, token_hash(code.strip().upper()), now),
            )
            if row is None:
                return None
            gid = self._insert_id(
                tx,
                "INSERT INTO gateways (household_id, name, token_hash, created_ms) VALUES (?, ?, ?, ?)",
                (row[0], name, token_hash(token), now),
            )
        return Caller(gid, row[0]), token

    def caller(self, token: str) -> Caller | None:
        with self.tx() as tx:
            row = tx.one(
                "SELECT id, household_id FROM gateways WHERE token_hash = ? AND revoked_ms IS NULL",
                (token_hash(token),),
            )
        return Caller(row[0], row[1]) if row else None

    def revoke_gateway(self, gateway_id: int, now: int | None = None) -> None:
        with self.tx() as tx:
            tx.execute(
                "UPDATE gateways SET revoked_ms = ? WHERE id = ?", (now_ms() if now is None else now, gateway_id)
            )

    # ---- events ---------------------------------------------------------------------------

    def add_events(
        self, caller: Caller, events: Sequence[tuple[str, str, int, str]], now: int | None = None
    ) -> tuple[list[str], list[str]]:
        """Store (key, kind, created_ms, payload_json) rows once each; returns (new keys, duplicate keys)."""
        now = now_ms() if now is None else now
        new, dup = [], []
        with self.tx() as tx:
            for key, kind, created, payload in events:
                cur = tx.execute(
                    "INSERT INTO events (household_id, gateway_id, key, kind, created_ms, received_ms, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (household_id, key) DO NOTHING",
                    (caller.household_id, caller.gateway_id, key, kind, created, now, payload),
                )
                (new if cur.rowcount == 1 else dup).append(key)
        return new, dup

    def events(self, household_id: int, kind: str | None = None, limit: int = 500, after_id: int = 0) -> list[dict]:
        sql = "SELECT id, key, kind, created_ms, received_ms, payload FROM events WHERE household_id = ? AND id > ?"
        params: list[Any] = [household_id, after_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self.tx() as tx:
            rows = tx.all(sql, params)
        return [
            {
                "id": r[0],
                "key": r[1],
                "kind": r[2],
                "created_ms": r[3],
                "received_ms": r[4],
                "payload": json.loads(r[5]),
            }
            for r in rows
        ]

    def event_counts(self) -> tuple[int, int]:
        """(rows, distinct keys) over all households: equal unless idempotency is broken."""
        with self.tx() as tx:
            return tx.one("SELECT count(*), count(DISTINCT household_id || ':' || key) FROM events")

    # ---- changes (pulled by gateways) ------------------------------------------------------

    def add_change(self, tx: _Tx, household_id: int | None, type_: str, data: dict, now: int) -> int:
        """Record a change for one household (None: for every household) inside `tx`."""
        self._lock_changes(tx)
        return self._insert_id(
            tx,
            "INSERT INTO changes (household_id, type, data, created_ms) VALUES (?, ?, ?, ?)",
            (household_id, type_, json.dumps(data, sort_keys=True), now),
            "seq",
        )

    def changes(self, household_id: int, cursor: int, limit: int) -> list[dict]:
        with self.tx() as tx:
            rows = tx.all(
                "SELECT seq, type, data, created_ms FROM changes WHERE seq > ? AND (household_id = ? "
                "OR household_id IS NULL) ORDER BY seq LIMIT ?",
                (cursor, household_id, limit),
            )
        return [{"seq": r[0], "type": r[1], "data": json.loads(r[2]), "created_ms": r[3]} for r in rows]

    def publish_tariff(self, household_id: int | None, tariff: dict, now: int | None = None) -> int:
        now = now_ms() if now is None else now
        with self.tx() as tx:
            return self.add_change(tx, household_id, "tariff_updated", {"tariff": tariff}, now)

    def publish_model(self, version: str, data: bytes, metadata: dict, now: int | None = None) -> dict:
        """Store a theft-model version and announce it to every household with its SHA-256 and its
        metadata (the registry's metadata.json: features version, threshold, check-set figures)."""
        now = now_ms() if now is None else now
        digest = hashlib.sha256(data).hexdigest()
        info = {
            "version": version,
            "sha256": digest,
            "size_bytes": len(data),
            "path": f"/v1/models/{version}",
            "metadata": metadata,
        }
        with self.tx() as tx:
            tx.execute(
                "INSERT INTO models (version, sha256, size_bytes, data, created_ms) VALUES (?, ?, ?, ?, ?)",
                (version, digest, len(data), data, now),
            )
            self.add_change(tx, None, "model_published", info, now)
        return info

    def model(self, version: str) -> tuple[str, bytes] | None:
        with self.tx() as tx:
            row = tx.one("SELECT sha256, data FROM models WHERE version = ?", (version,))
        return (row[0], bytes(row[1])) if row else None

    # ---- payments ------------------------------------------------------------------------

    def add_payment_order(self, household_id: int, bill_id: str, amount_paise: int, now: int | None = None) -> str:
        order_id = "order_" + secrets.token_hex(8)
        with self.tx() as tx:
            tx.execute(
                "INSERT INTO payment_orders (id, household_id, bill_id, amount_paise, created_ms) VALUES "
                "(?, ?, ?, ?, ?)",
                (order_id, household_id, bill_id, amount_paise, now_ms() if now is None else now),
            )
        return order_id

    def payment_order(self, order_id: str) -> dict | None:
        with self.tx() as tx:
            row = tx.one("SELECT household_id, bill_id, amount_paise FROM payment_orders WHERE id = ?", (order_id,))
        return {"household_id": row[0], "bill_id": row[1], "amount_paise": row[2]} if row else None

    def confirm_payment(
        self,
        tx: _Tx,
        *,
        household_id: int,
        provider_payment_id: str,
        order_id: str | None,
        bill_id: str | None,
        amount_paise: int,
        method: str,
        paid_ms: int,
        source: str,
        now: int,
    ) -> bool:
        """Record a payment confirmed in the cloud and queue it for the gateway; False if already known."""
        cur = tx.execute(
            "INSERT INTO payments (household_id, provider_payment_id, order_id, bill_id, amount_paise, method, "
            "paid_ms, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider_payment_id) DO NOTHING",
            (household_id, provider_payment_id, order_id, bill_id, amount_paise, method, paid_ms, source),
        )
        if cur.rowcount != 1:
            return False
        data = {
            "payment_id": provider_payment_id,
            "idempotency_key": str(uuid.uuid5(PAYMENT_KEY_NAMESPACE, provider_payment_id)),
            "order_id": order_id,
            "bill_id": bill_id,
            "amount_paise": amount_paise,
            "method": method,
            "paid_ms": paid_ms,
            "source": source,
        }
        self.add_change(tx, household_id, "payment_confirmed", data, now)
        return True

    def record_counter_payment(
        self, household_id: int, bill_id: str | None, amount_paise: int, reference: str, now: int | None = None
    ) -> bool:
        now = now_ms() if now is None else now
        with self.tx() as tx:
            return self.confirm_payment(
                tx,
                household_id=household_id,
                provider_payment_id=f"counter_{reference}",
                order_id=None,
                bill_id=bill_id,
                amount_paise=amount_paise,
                method="cash",
                paid_ms=now,
                source="counter",
                now=now,
            )

    def seen_webhook(self, tx: _Tx, event_id: str, now: int) -> bool:
        """Remember a provider webhook event id; True if it was seen before (a replay)."""
        cur = tx.execute(
            "INSERT INTO webhook_events (event_id, received_ms) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
            (event_id, now),
        )
        return cur.rowcount != 1

    def cloud_payments(self, household_id: int, limit: int = 500, after_id: int = 0) -> list[dict]:
        """The household's payments confirmed in the cloud after row `after_id`, oldest first; `id` pages them."""
        with self.tx() as tx:
            rows = tx.all(
                "SELECT id, provider_payment_id, order_id, bill_id, amount_paise, method, paid_ms, "
                "source FROM payments WHERE household_id = ? AND id > ? ORDER BY id LIMIT ?",
                (household_id, after_id, limit),
            )
        cols = ("id", "payment_id", "order_id", "bill_id", "amount_paise", "method", "paid_ms", "source")
        return [dict(zip(cols, r, strict=False)) for r in rows]
