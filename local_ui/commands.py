"""`powergw ui`: serve the LAN dashboard on its own, beside a running `powergw run --no-ui`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("ui", help="serve the LAN dashboard (reads the gateway's database; ingest keeps running)")
    p.add_argument("--config", "-c", type=Path, help="TOML config file (default: built-in defaults)")
    p.add_argument("--db", type=Path, help="gateway database (default: [gateway] db from the config)")
    p.add_argument("--host", help="address to listen on (default: [ui] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: [ui] port, 8080)")
    p.add_argument("--threads", type=int, default=12, help="worker threads (default 12; each open live view holds one)")
    p.add_argument(
        "--live",
        type=Path,
        help="the ingest daemon's live.json (default: its runtime directory, /run/powergw/live.json)",
    )
    p.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    from gateway.config import load_config

    from . import create_app, serve

    config = load_config(args.config)
    if args.port is not None and not 1 <= args.port <= 65535:
        print(f"powergw ui: --port {args.port}: expected 1 to 65535")
        return 2
    if not 6 <= args.threads <= 64:
        print(f"powergw ui: --threads {args.threads}: expected 6 to 64")
        return 2
    from gateway.app import existing_database

    db = existing_database(args.db, config)  # the dashboard records settings and payments: never into a new file
    if args.live is None:
        from gateway.daemon import default_runtime_dir

        args.live = default_runtime_dir() / "live.json"
    live = args.live
    app = create_app(db, live_path=live, config=config)
    try:
        serve(app, args.host or config.ui.host, args.port or config.ui.port, threads=args.threads)
    except OSError as err:
        print(f"powergw ui: cannot listen on {args.host or config.ui.host}:{args.port or config.ui.port}: {err}")
        return 2
    return 0
