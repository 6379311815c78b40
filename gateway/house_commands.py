"""`powergw meters`: the house's meters, which are the mains, and dated changes of that."""

from __future__ import annotations

import argparse
import datetime as dt

from . import PowerGwError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "meters",
        help="list the house's meters and set which are the mains",
        description="Each ESP32 is one meter, whether it reports over USB serial, BLE or both. The house is the sum "
        "of its mains meters (one, or three on a three-phase supply); the others are sub-circuits inside them. "
        "Without arguments: the meters and the metering history. With --mains: from --since on, the house is "
        "those meters, and its energy is recomputed from that day.",
    )
    p.add_argument("--db", help="the gateway's database (default: the config's [gateway] db)")
    p.add_argument("-c", "--config", help="config file (TOML)")
    p.add_argument("--mains", nargs="+", metavar="NODE", help="node ids of the mains meters (either transport's id)")
    p.add_argument("--every", action="store_true", help="from --since on, every meter is the house (no sub-circuits)")
    p.add_argument("--since", help="local day the change applies from, YYYY-MM-DD (default: the start of the data)")
    p.set_defaults(func=cmd_meters)


def cmd_meters(args: argparse.Namespace) -> int:
    import time

    from .app import existing_database, open_store
    from .config import load_config
    from .store import UnknownNodesError

    config = load_config(args.config)
    store = open_store(existing_database(args.db, config), config.gateway.timezone)
    try:
        if args.mains or args.every:
            if args.mains and args.every:
                raise PowerGwError("give --mains NODE... or --every, not both")
            since_ms = 0
            if args.since:
                try:
                    since_ms = store.calendar.day_start_ms(dt.date.fromisoformat(args.since))
                except ValueError:
                    raise PowerGwError(f"--since {args.since!r}: expected a date like 2026-04-01") from None
            try:
                store.set_mains(args.mains or [], since_ms, int(time.time() * 1000))
            except UnknownNodesError as err:
                raise PowerGwError(f"--mains: {err}") from None
        print(describe(store))
    finally:
        store.close()
    return 0


def describe(store) -> str:
    """The meters (their node ids, mains or sub-circuit now) and the metering changes, as text."""
    from .house import current_mains, meters, resolve_nodes

    conn, cal = store.conn, store.calendar
    found, _ = resolve_nodes(conn, current_mains(conn))
    mains = set(found.values())
    lines = ["meter  role         node ids"]
    for key, meter in sorted(meters(conn).items()):
        role = "mains" if key in mains or not mains else "sub-circuit"
        lines.append(f"{key:<6} {role:<12} {', '.join(meter.node_ids)}")
    changes = conn.execute(
        "SELECT c.change_id, c.since_ms, c.source, group_concat(m.named_as, ', ') FROM metering_changes c "
        "LEFT JOIN metering_mains m USING (change_id) GROUP BY c.change_id ORDER BY c.since_ms, c.change_id"
    ).fetchall()
    if not changes:
        lines.append("metering: every meter is the house (no mains set)")
    for _, since_ms, source, named in changes:
        when = "from the start" if since_ms <= 0 else f"from {cal.day(since_ms)}"
        lines.append(f"metering {when} ({source}): {named or 'every meter'}")
    return "\n".join(lines)
