"""SQLite connections as every powergw process opens them, and write transactions that nest."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from . import PowerGwError
from .localtime import LocalCalendar


class HasConnection(Protocol):
    """What a write transaction needs of a store: its connection, its lock and its path (for messages)."""

    conn: sqlite3.Connection
    lock: threading.RLock
    path: Path


class StoreError(PowerGwError):
    """The database cannot be opened or written (read-only, full disk, corrupt)."""


PAGE_SIZE = 1024


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every powergw process uses."""
    path = str(path)
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            new = not Path(path).exists() or Path(path).stat().st_size == 0
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            if new:
                # Small pages: a commit of a few raw readings rewrites 1 KiB, not 4 KiB. With
                # appends this small, that cuts SD-card writes per commit by about three
                # (docs/ingest.md has the figures); must be set before the first table exists.
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA busy_timeout = 5000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a power cut can lose the last commits, never corrupt. Energy
            # is not lost with them: the node's cumulative counter covers the gap.
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn
    except (sqlite3.Error, OSError) as err:
        raise StoreError(f"cannot open database {path}: {err}") from err


class ConnectionStore:
    """The part of a Store that alerts, the ledger and cloud sync use, around a bare connection.

    For callers that hold only a `sqlite3.Connection` in autocommit mode; the tables must already
    be migrated (`gateway.app.open_store` does it).
    """

    def __init__(self, conn: sqlite3.Connection, timezone: str = "Asia/Kolkata"):
        self.conn = conn
        self.lock = threading.RLock()
        self.calendar = LocalCalendar(timezone)
        self.path = Path(conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:")


def as_store(store_or_conn: HasConnection | sqlite3.Connection) -> HasConnection:
    """Accept a Store or a bare connection."""
    if isinstance(store_or_conn, sqlite3.Connection):
        return ConnectionStore(store_or_conn)
    return store_or_conn


@contextmanager
def transaction(store: HasConnection | sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Yield the connection inside a write transaction (BEGIN IMMEDIATE … COMMIT); roll back on
    any exception. Joins a transaction the caller already holds, so an alert raised inside a
    ledger write, or an outbox row written by a listener, commits or rolls back with it."""
    store = as_store(store)
    with store.lock:
        conn = store.conn
        if conn.in_transaction:
            yield conn  # joined: the outermost caller commits or rolls back
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
