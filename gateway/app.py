"""The composition root: the one place that builds concrete objects and wires them together.

Other parts of powergw plug in through three tables, so adding a part is one line each:

- MIGRATION_SETS: "module:attribute" of a sqlite_utils `Migrations` set a part owns.
- JOBS: periodic jobs, run by APScheduler in the daemon (`JobSpec`).
- (config sections live in gateway.config.SECTIONS.)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config import Config
from .store import Store, StoreError

MIGRATION_SETS: tuple[str, ...] = (
    "cloud_sync.outbox:migrations",
    "gateway.alerts.schema:alerts_migrations",
    "edge_model.feedback_store:theft_migrations",  # after alerts: its cursor reads alert_actions
    "gateway.billing.ledger:billing_migrations",
    "gateway.settings_store:settings_migrations",
)


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: `target` is "module:function" taking (context: JobContext).

    An `isolated` job runs in a child process of its own (`run_isolated_job`), so what it loads
    (numpy, onnxruntime and a 3 MB forest: about 90 MB) goes back to the system when it ends
    instead of staying in the daemon for good. It gets no `extras` (the gateway object stays in
    the daemon) and its clock is the daemon's, read when the run starts.
    """

    name: str
    target: str
    seconds: int
    first_delay_s: int = 5
    isolated: bool = False
    timeout_s: int = 3600  # an isolated run still going after this is stopped


JOBS: tuple[JobSpec, ...] = (
    JobSpec("retention", "gateway.jobs:apply_retention", seconds=6 * 3600, first_delay_s=60),
    JobSpec("node_health", "gateway.node_health:check_nodes", seconds=60, first_delay_s=90),
    JobSpec("cloud_sync", "cloud_sync.jobs:sync_round", seconds=60, first_delay_s=20),
    JobSpec("cloud_reports", "cloud_sync.jobs:queue_reports", seconds=300, first_delay_s=40),
    JobSpec("email", "gateway.alerts.jobs:send_email", seconds=60, first_delay_s=30),
    JobSpec("billing_check", "gateway.billing.jobs:check_budget", seconds=900, first_delay_s=90),
    JobSpec("billing_close", "gateway.billing.jobs:close_cycles", seconds=3600, first_delay_s=150),
    JobSpec("theft_score", "edge_model.store_job:score_job", seconds=3600, first_delay_s=120, isolated=True, timeout_s=900),
    JobSpec("theft_retrain", "edge_model.store_job:retrain_job", seconds=7 * 86400, first_delay_s=6 * 3600, isolated=True,
            timeout_s=4 * 3600),
    JobSpec("backup", "gateway.ops.backup:backup_job", seconds=1800, first_delay_s=300),
)


def load_object(dotted: str) -> Any:
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def migration_sets() -> list:
    return [load_object(name) for name in MIGRATION_SETS]


def open_store(path: Path | str, timezone: str = "Asia/Kolkata", *, readonly: bool = False) -> Store:
    """The gateway's store with every part's tables migrated: use this, not Store() directly."""
    return Store(path, migrations=() if readonly else migration_sets(), timezone=timezone, readonly=readonly)


class MissingDatabaseError(StoreError):
    """A command that reads or records into the gateway's database was pointed at a file that does not exist."""


def existing_database(db_arg: Path | str | None, config: Config) -> Path:
    """The database a command works on (--db, else the config's [gateway] db), which must exist.

    Only `run`, `demo` and `migrate` (the installer's first-time setup) create a database: a
    payment, meter reading or registration written into a new file made by a typo would be lost
    to the household, and its empty ledger would print a plausible ₹0.00.
    """
    path = Path(db_arg) if db_arg is not None else Path(config.gateway.db)
    if path.is_file():
        return path
    if db_arg is not None:
        origin = "given by --db"
    elif config.source != "<defaults>":
        origin = f"[gateway] db in {config.source}"
    else:
        origin = "the default [gateway] db; no --config given"
    what = ", a directory" if path.is_dir() else ""
    raise MissingDatabaseError(
        f"no database at {path} ({origin}{what}); point at the gateway's database with --db FILE, or --config FILE "
        "whose [gateway] db names it (`powergw run`, `demo` and `migrate` create a database; nothing else does)"
    )


@dataclass
class JobContext:
    """What a periodic job receives: its own store connection, the config and a clock."""

    store: Store
    config: Config
    now_ms: Callable[[], int]
    extras: dict[str, Any]


def run_isolated_job(target: str, db_path: str, config: Config, now_ms: int, log_level: int) -> None:
    """The body of an isolated job's child process: the same context a job gets in the daemon,
    without extras; the daemon's clock reading at the start plus the time elapsed since."""
    import logging
    import sys
    import time

    from .settings_store import effective_config

    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    fn = load_object(target)
    store = open_store(db_path, config.gateway.timezone)
    try:
        clock = lambda: now_ms + int((time.monotonic() - started) * 1000)  # noqa: E731
        fn(JobContext(store=store, config=effective_config(store, config), now_ms=clock, extras={}))
    finally:
        store.close()
