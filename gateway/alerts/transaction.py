"""One write transaction on the store's connection that callers and listeners can share.

The store's connection is in autocommit mode (`isolation_level=None`), so a transaction is an
explicit `BEGIN IMMEDIATE ... COMMIT`. `transaction(store)` opens one, or joins the one the
caller already holds, so an alert raised inside a ledger write (or an outbox row written by a
listener) commits or rolls back together with it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..store import Store, StoreError


class ConnectionStore:
    """The part of a Store that alerts and the ledger use, around a bare connection.

    For callers that hold only a `sqlite3.Connection` in autocommit mode (cloud sync's jobs);
    the tables must already be migrated (`gateway.app.open_store` does it).
    """

    def __init__(self, conn: sqlite3.Connection, timezone: str = "Asia/Kolkata"):
        from ..localtime import LocalCalendar

        self.conn = conn
        self.lock = threading.RLock()
        self.calendar = LocalCalendar(timezone)
        self.path = Path(conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:")


def as_store(store_or_conn: Store | ConnectionStore | sqlite3.Connection) -> Store | ConnectionStore:
    """Accept a Store or a bare connection."""
    if isinstance(store_or_conn, sqlite3.Connection):
        return ConnectionStore(store_or_conn)
    return store_or_conn


@contextmanager
def transaction(store: Store | ConnectionStore) -> Iterator[sqlite3.Connection]:
    """Yield the connection inside a write transaction; roll back on any exception."""
    with store.lock:
        conn = store.conn
        if conn.in_transaction:
            # Joined: the outermost caller commits or rolls back.
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise StoreError(f"cannot start a write transaction on {store.path}: {err}") from err
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"cannot commit to {store.path}: {err}") from err
