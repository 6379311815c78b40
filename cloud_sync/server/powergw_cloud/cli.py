"""`powergw-cloud serve|add-household`: run the reference cloud API, or add a household to its database."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from . import CloudError, __version__

PROG = "powergw-cloud"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="The reference cloud API that powergw gateways sync with.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "serve",
        help="serve the reference cloud API",
        description="Serve the reference cloud API with waitress. Secrets come from the environment: "
        "POWERGW_CLOUD_ADMIN_TOKEN (operator endpoints) and POWERGW_RAZORPAY_WEBHOOK_SECRET (payment webhook).",
    )
    p.add_argument(
        "--db",
        default="powergw-cloud.db",
        help="SQLite file or postgresql://user@host:port/db (default powergw-cloud.db)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="TCP port (default 8700)")
    p.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    p.add_argument("--payee-vpa", default="powergw@upi", help="UPI address payments are made to")
    p.add_argument("--payee-name", default="powergw", help="payee name shown by UPI apps")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body accepted (default 1 MiB)")
    p.add_argument(
        "--upload-listen",
        default="127.0.0.1:8701",
        metavar="HOST:PORT",
        help="the operator's model-upload listener, the only one taking bodies up to 32 MiB "
        "(default 127.0.0.1:8701, loopback only; 'off' for none)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("add-household", help="create a household in a cloud database and print a registration code")
    p.add_argument("--db", default="powergw-cloud.db", help="SQLite file or postgresql:// URL")
    p.add_argument("name", help="household name")
    p.set_defaults(func=cmd_add_household)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, log at INFO (DEBUG with -v), run the command; a CloudError is one line and exit code 2."""
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CloudError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .context import ServerSettings
    from .serving import parse_listen, serve
    from .store import CloudStore

    try:
        upload = parse_listen(args.upload_listen)
    except ValueError as err:
        print(f"{PROG} serve: --upload-listen {err}", file=sys.stderr)
        return 2
    settings = ServerSettings(
        admin_token=os.environ.get("POWERGW_CLOUD_ADMIN_TOKEN", ""),
        webhook_secret=os.environ.get("POWERGW_RAZORPAY_WEBHOOK_SECRET", ""),
        payee_vpa=args.payee_vpa,
        payee_name=args.payee_name,
        max_body_bytes=args.max_body_bytes,
    )
    store = CloudStore(args.db)
    uploads = f"; model uploads on http://{upload[0]}:{upload[1]}" if upload else ""
    print(
        f"powergw cloud API on http://{args.host}:{args.port} ({store.dialect}){uploads}", file=sys.stderr, flush=True
    )
    try:
        serve(create_app(store, settings), args.host, args.port, threads=args.threads, settings=settings, upload=upload)
    except OSError as err:
        print(f"{PROG} serve: cannot listen: {err}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def cmd_add_household(args: argparse.Namespace) -> int:
    from .store import CloudStore

    store = CloudStore(args.db)
    try:
        household_id, code = store.add_household(args.name)
    finally:
        store.close()
    print(f"household {household_id}: registration code {code} (valid 24 h, single use)")
    return 0
