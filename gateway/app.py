"""The composition root: the parts of powergw, and the one place that builds the store they share.

Each part declares what it plugs in with one record (`gateway.parts.Part`: config sections,
migrations, jobs, CLI commands, listeners); PARTS holds them, and every table below is derived
from it. Adding a part is one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud_sync.part import SYNC
from edge_model.part import THEFT
from local_ui.part import UI

from .alerts.part import ALERTS
from .billing.part import BILLING
from .ingest_part import INGEST
from .ops.part import OPS
from .parts import JobSpec, Part, load_object
from .store import Store, StoreError
from .supply.part import SUPPLY

# In this order: sections, migrations (theft's after the alerts'), jobs, commands and listeners.
PARTS: tuple[Part, ...] = (INGEST, UI, SYNC, OPS, BILLING, ALERTS, THEFT, SUPPLY)

SECTIONS: dict[str, str] = {name: cls for part in PARTS for name, cls in part.sections.items()}
JOBS: tuple[JobSpec, ...] = tuple(job for part in PARTS for job in part.jobs)
COMMAND_MODULES: tuple[str, ...] = tuple(module for part in PARTS for module in part.commands)
ALERT_LISTENERS: tuple[str, ...] = tuple(f for part in PARTS for f in part.alert_listeners)
LEDGER_LISTENERS: tuple[str, ...] = tuple(f for part in PARTS for f in part.ledger_listeners)


def migration_sets() -> list:
    """Every part's sqlite_utils Migrations sets, in PARTS order."""
    return [load_object(name) for part in PARTS for name in part.migrations]


def declared(field: str) -> Any:
    """The object named by the one part that declares `field` (dashboard, model)."""
    (dotted,) = [getattr(part, field) for part in PARTS if getattr(part, field)]
    return load_object(dotted)


def open_store(path: Path | str, timezone: str = "Asia/Kolkata", *, readonly: bool = False) -> Store:
    """The gateway's store with every part's tables migrated: use this, not Store() directly."""
    return Store(path, migrations=() if readonly else migration_sets(), timezone=timezone, readonly=readonly)


class MissingDatabaseError(StoreError):
    """A command that reads or records into the gateway's database was pointed at a file that does not exist."""


def existing_database(db_arg: Path | str | None, config: Any) -> Path:
    """The database a command works on (--db, else `config`'s [gateway] db), which must exist.

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
    config: Any  # a gateway.config.Config, which reads its sections from PARTS here
    now_ms: Callable[[], int]
    extras: dict[str, Any]
