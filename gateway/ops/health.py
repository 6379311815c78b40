"""Health facts read from the gateway's database and data directory, for doctor and /metrics.

Read-only: a separate connection in `mode=ro`, so neither a scrape nor `powergw doctor` ever
writes to the SD card or waits behind ingest. Tables owned by other parts (the cloud outbox,
alerts) are read if they exist; a database without them shows None, never a made-up zero.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from gateway.app import declared

from . import OpsError


@dataclass(frozen=True)
class NodeHealth:
    node_id: str
    name: str | None
    transport: str | None
    frames_ok: int
    frames_lost: int
    reboots: int
    rejected: dict[str, int]
    last_seen_ms: int | None
    energy_total_mwh: int


@dataclass(frozen=True)
class SyncHealth:
    registered: bool
    outbox_depth: int
    dead_letters: int
    failed_attempts: int  # attempts already spent on events still waiting: each one a failed send
    oldest_event_ms: int | None
    last_success_ms: int | None
    last_error: str | None
    last_error_ms: int | None


@dataclass
class Health:
    db_path: Path
    db_bytes: int
    wal_bytes: int
    nodes: list[NodeHealth] = field(default_factory=list)
    sync: SyncHealth | None = None
    open_alerts: dict[str, int] | None = None  # by severity; None if the alerts table is absent


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    if not Path(db_path).exists():
        raise OpsError(f"no database at {db_path}")
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 2000")
        return conn
    except sqlite3.Error as err:
        raise OpsError(f"cannot open {db_path}: {err}") from err


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_nodes(conn: sqlite3.Connection) -> list[NodeHealth]:
    rows = conn.execute(
        "SELECT node_id, name, transport, frames_ok, frames_lost, reboots, rejected, last_seen_ms, energy_total_mwh "
        "FROM nodes ORDER BY node_id"
    ).fetchall()
    return [NodeHealth(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}"), r[7], r[8]) for r in rows]


def read_sync(conn: sqlite3.Connection, tables: set[str]) -> SyncHealth | None:
    if not {"outbox", "outbox_dead", "sync_state"} <= tables:
        return None
    state = dict(conn.execute("SELECT key, value FROM sync_state").fetchall())
    depth, attempts, oldest = conn.execute(
        "SELECT count(*), coalesce(sum(attempts), 0), min(created_ms) FROM outbox"
    ).fetchone()
    dead = conn.execute("SELECT count(*) FROM outbox_dead").fetchone()[0]

    def as_int(key: str) -> int | None:
        return int(state[key]) if state.get(key) else None

    return SyncHealth(
        registered=bool(state.get("url") and state.get("token")),
        outbox_depth=depth,
        dead_letters=dead,
        failed_attempts=attempts,
        oldest_event_ms=oldest,
        last_success_ms=as_int("last_success_ms"),
        last_error=state.get("last_error"),
        last_error_ms=as_int("last_error_ms"),
    )


def read_open_alerts(conn: sqlite3.Connection, tables: set[str]) -> dict[str, int] | None:
    if "alerts" not in tables:
        return None
    return dict(conn.execute("SELECT severity, count(*) FROM alerts WHERE state = 'open' GROUP BY severity").fetchall())


def read_health(db_path: Path, conn: sqlite3.Connection | None = None) -> Health:
    """Everything doctor and /metrics report from the database, in one read transaction."""
    db_path = Path(db_path)
    own = conn is None
    conn = conn or connect_readonly(db_path)
    try:
        conn.execute("BEGIN")
        try:
            tables = _tables(conn)
            if "nodes" not in tables:
                raise OpsError(f"{db_path} is not a powergw database (no nodes table)")
            return Health(
                db_path=db_path,
                db_bytes=_size(db_path),
                wal_bytes=_size(Path(f"{db_path}-wal")),
                nodes=read_nodes(conn),
                sync=read_sync(conn, tables),
                open_alerts=read_open_alerts(conn, tables),
            )
        finally:
            conn.execute("COMMIT")
    except sqlite3.Error as err:
        raise OpsError(f"cannot read {db_path}: {err}") from err
    finally:
        if own:
            conn.close()


def model_registry_root(db_path: Path) -> Path:
    """Where the theft model's versions live: $POWERGW_DATA_DIR/models, else beside the database."""
    data_dir = os.environ.get("POWERGW_DATA_DIR")
    return Path(data_dir) / "models" if data_dir else Path(db_path).parent / "models"


@dataclass(frozen=True)
class ModelInfo:
    version: str
    source: str  # "registry" or "shipped"
    trained_at: str | None


def read_model(registry_root: Path) -> ModelInfo:
    """The theft model the scorer would load now, as the theft part's record reports it (`model`)."""
    try:
        info = declared("model")(registry_root)
    except ValueError as err:
        raise OpsError(str(err)) from err
    return ModelInfo(info["version"], info["source"], info["trained_at"])


def read_live(runtime_dir: Path) -> dict | None:
    """The daemon's live.json (latest power per node, written once a second), or None."""
    try:
        return json.loads((Path(runtime_dir) / "live.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
