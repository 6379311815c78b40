"""`powergw supply`: the power cuts and the mains voltage's quality, day by day."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from .. import PowerGwError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "supply",
        help="power cuts and voltage quality by day",
        description="The power-cut log (every node silent together, back restarted) and, for nodes with a "
        "voltage module, the minutes outside the [supply] band, the longest run of them, and the worst sag "
        "and surge of each day, for the house (its mains meters) and each node.",
    )
    p.add_argument("-c", "--config", type=Path, help="TOML config file (its [gateway] db and [supply] band)")
    p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")
    p.add_argument("--from", dest="date_from", help="first local date, YYYY-MM-DD (default: 6 days before --to)")
    p.add_argument("--to", dest="date_to", help="last local date, YYYY-MM-DD (default: today)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_supply)


def _date(flag: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PowerGwError(f"{flag} {value!r}: expected a date like 2026-04-01") from None


def cmd_supply(args: argparse.Namespace) -> int:
    from ..app import existing_database, open_store
    from ..config import load_config
    from .report import as_text, report

    config = load_config(args.config)
    store = open_store(existing_database(args.db, config), config.gateway.timezone, readonly=True)
    try:
        now = int(time.time() * 1000)
        last = _date("--to", args.date_to) if args.date_to else dt.date.fromisoformat(store.calendar.day(now))
        first = _date("--from", args.date_from) if args.date_from else last - dt.timedelta(days=6)
        r = report(store, config.supply, first, last, now, config.gateway.commit_interval_s)
    finally:
        store.close()
    print(json.dumps(r, indent=2) if args.format == "json" else as_text(r, store.calendar))
    return 0
