"""Read-only reports from the gateway's database: nodes (per-node health) and usage (energy by period)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

from . import PowerGwError


def register(sub: argparse._SubParsersAction) -> None:
    """Add nodes and usage, one function each, in `powergw --help` order."""
    _add_nodes(sub)
    _add_usage(sub)


def _add_nodes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nodes",
        help="per-node health counters",
        description="Per-node health: the store's, with the running daemon's newer values from its live.json.",
    )
    _db_args(p)
    p.add_argument(
        "--runtime-dir",
        type=Path,
        help="the daemon's runtime directory holding live.json "
        "(default /run/powergw, else powergw-run in the temp directory, as `powergw run` uses)",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_nodes)


def _add_usage(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("usage", help="energy by minute, hour or day")
    _db_args(p)
    p.add_argument("--from", dest="date_from", required=True, help="first local date, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", required=True, help="last local date, YYYY-MM-DD (inclusive)")
    p.add_argument("--resolution", choices=("minute", "hour", "day"), default="day")
    p.add_argument("--node", help="one node id (default: all)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--timezone", help="IANA time zone of the local dates (default: [gateway] timezone, Asia/Kolkata)")
    p.set_defaults(func=cmd_usage)


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", "-c", type=Path, help="TOML config file: its [gateway] db and timezone (default: built-in defaults)"
    )
    p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")


# ---- nodes and usage ------------------------------------------------------------------------


def _open_readonly(args: argparse.Namespace):
    """The database of --db, else of the config's [gateway] db, read-only, in --timezone, else the
    config's [gateway] timezone (days of `usage` are the household's local days, as on its bills)."""
    from .app import existing_database
    from .config import load_config
    from .store import Store

    config = load_config(args.config)
    db = existing_database(args.db, config)
    timezone = getattr(args, "timezone", None) or config.gateway.timezone
    return Store(db, timezone=timezone, readonly=True)


def cmd_nodes(args: argparse.Namespace) -> int:
    from .daemon import default_runtime_dir
    from .ingest import with_live_health
    from .node_identity import same_node_map
    from .ops.health import read_live

    store = _open_readonly(args)
    # The store has a node's counters from each rollup (every 5 minutes); the daemon's live.json
    # has them within a second.
    rows = with_live_health(store.nodes(), read_live(args.runtime_dir or default_runtime_dir()))
    # One ESP32 on USB and on BLE is two rows; each names the other (the household counts it once).
    same = same_node_map((n["node_id"], n["transport"]) for n in rows)
    transport = {n["node_id"]: n["transport"] for n in rows}
    for n in rows:
        n["same_node_as"] = same.get(n["node_id"])
    now = int(time.time() * 1000)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    headers = ("node", "name", "last seen", "power", "ok", "lost", "rejected", "reboots", "fw", "note")
    table = []
    for n in rows:
        ago = "never" if not n["last_seen_ms"] else f"{(now - n['last_seen_ms']) / 1000:.0f} s ago"
        power = "" if n["last_power_dw"] is None else f"{n['last_power_dw'] / 10:.1f} W"
        rejected = ", ".join(f"{k} {v}" for k, v in sorted(n["rejected"].items())) or "0"
        notes = [f"speaks protocol v{n['unsupported_version']}"] if n["unsupported_version"] else []
        if n["same_node_as"]:
            notes.append(f"same node as {n['same_node_as']} ({transport[n['same_node_as']] or 'unknown transport'})")
        note = "; ".join(notes)
        table.append(
            (
                n["node_id"],
                n["name"] or "",
                ago,
                power,
                n["frames_ok"],
                n["frames_lost"],
                rejected,
                n["reboots"],
                n["fw"] or "",
                note,
            )
        )
    print(_table(headers, table))
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    store = _open_readonly(args)
    cal = store.calendar
    try:
        first = dt.date.fromisoformat(args.date_from)
        last = dt.date.fromisoformat(args.date_to)
    except ValueError as err:
        raise PowerGwError(f"dates must be YYYY-MM-DD: {err}") from None
    if last < first:
        raise PowerGwError(f"--to {last} is before --from {first}")
    start_ms, end_ms = cal.day_start_ms(first), cal.day_start_ms(last + dt.timedelta(days=1))
    rows = store.usage(start_ms, end_ms, args.resolution, args.node)
    out = [
        {
            "node_id": r["node_id"],
            "start": cal.isoformat(r["start_ms"]),
            "end": cal.isoformat(r["end_ms"]),
            "energy_wh": r["energy_mwh"] / 1000,
        }
        for r in rows
    ]
    if args.format == "json":
        print(json.dumps(out, indent=2))
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["node_id", "start", "end", "energy_wh"])
        w.writeheader()
        w.writerows(out)
        sys.stdout.write(buf.getvalue())
    else:
        rows_wh = sum(r["energy_wh"] for r in out)
        print(
            _table(
                ("node", "start", "end", "energy (Wh)"),
                [(r["node_id"], r["start"], r["end"], f"{r['energy_wh']:.3f}") for r in out],
            )
        )
        print(_usage_total(args, store, start_ms, end_ms, rows_wh))
    return 0


def _usage_total(args: argparse.Namespace, store, start_ms: int, end_ms: int, rows_wh: float) -> str:
    """The table's total line. For one node, its rows; for the house, the house rollup (gateway/house.py),
    which is not the rows' sum when a node reports twice or a sub-circuit sits inside the mains."""
    from .config import load_config
    from .store import UnknownNodesError

    if args.node is not None:
        return f"total {rows_wh / 1000:.3f} kWh"
    try:
        store.apply_config_mains(load_config(args.config)["billing"].metered_nodes, 0)
    except UnknownNodesError as err:
        return f"total of the rows {rows_wh / 1000:.3f} kWh (not the house: [billing] metered_nodes: {err})"
    house_wh = sum(store.house_usage(start_ms, end_ms, "day").values()) / 1000
    if abs(house_wh - rows_wh) < 0.0005:
        return f"total {house_wh / 1000:.3f} kWh"
    return (
        f"total {house_wh / 1000:.3f} kWh for the house, as the bill counts it "
        f"(the rows add up to {rows_wh / 1000:.3f} kWh)"
    )


def _table(headers, rows) -> str:
    cols = [list(map(str, col)) for col in zip(headers, *rows, strict=False)] if rows else [[h] for h in headers]
    widths = [max(len(c) for c in col) for col in cols]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))
    return "\n".join(lines)
