"""The declaration each part of powergw exports: what it plugs into the gateway, as "module:attr" strings.

A record names things without importing them, so reading every part's record costs nothing: the
daemon, the CLI and `powergw --help` load a part's code only when they use it. The composition
root (`gateway.app.PARTS`) holds one record per part and derives every table from them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


def load_object(dotted: str) -> Any:
    """The object a "module:attr" string names, its module imported."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: `target` is "module:function" taking (context: JobContext).

    An `isolated` job runs in a child process of its own (`gateway.jobs.run_isolated_job`), so what it
    loads (numpy, onnxruntime and a 3 MB forest: about 90 MB) goes back to the system when it ends
    instead of staying in the daemon for good. It gets no `extras` (the gateway object stays in
    the daemon) and its clock is the daemon's, read when the run starts.
    """

    name: str
    target: str
    seconds: int
    first_delay_s: int = 5
    isolated: bool = False
    timeout_s: int = 3600  # an isolated run still going after this is stopped


@dataclass(frozen=True)
class Part:
    """One part of powergw and everything it plugs in.

    - sections: config section name -> "module:Class" of its frozen dataclass (gateway.config).
    - migrations: "module:attr" of the sqlite_utils `Migrations` sets it owns, applied in order.
    - jobs: periodic jobs the daemon schedules.
    - commands: modules with `register(subparsers)` adding `powergw` subcommands.
    - alert_listeners: "module:function" taking (config, calendar), returning an alert listener or None.
    - ledger_listeners: "module:function" taking (config), returning a ledger listener or None.
    - dashboard: "module:function" taking (gateway, host, port), serving the dashboard from the daemon
      and returning a handle with `stop()`.
    - model: "module:function" taking (registry_root), returning the theft model in use as a dict
      (version, source, trained_at) for doctor and /metrics; ValueError when it cannot be read.
    """

    name: str
    sections: dict[str, str] = field(default_factory=dict)
    migrations: tuple[str, ...] = ()
    jobs: tuple[JobSpec, ...] = ()
    commands: tuple[str, ...] = ()
    alert_listeners: tuple[str, ...] = ()
    ledger_listeners: tuple[str, ...] = ()
    dashboard: str | None = None
    model: str | None = None
