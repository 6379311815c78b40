"""CLI: `powergw cloud register` and `powergw sync [--once] | sync status | sync backfill`.

The reference cloud API is its own distribution (cloud_sync/server/, console script `powergw-cloud`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
import time
from pathlib import Path

from . import SyncError


def register(sub: argparse._SubParsersAction) -> None:
    cloud = sub.add_parser(
        "cloud",
        help="register this gateway with a cloud API",
        description="Register this gateway with a cloud API. The reference cloud API is installed and run on its "
        "own host: `pip install ./cloud_sync/server`, then `powergw-cloud serve` and `powergw-cloud add-household` "
        "(docs/cloud-sync.md).",
    )
    cloud_sub = cloud.add_subparsers(dest="cloud_command", metavar="ACTION")
    cloud_sub.required = True

    p = cloud_sub.add_parser("register", help="register this gateway with a cloud API using a one-time code")
    _gateway_db_args(p)
    p.add_argument("--url", required=True, help="base URL of the cloud API (https://...)")
    p.add_argument("--code", required=True, help="registration code the cloud issued for this household")
    p.add_argument(
        "--name", default=socket.gethostname(), help="name of this gateway in the cloud (default: host name)"
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a plain http:// URL to another machine (the gateway's token then crosses the network in clear)",
    )
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("sync", help="send queued events to the cloud and pull its changes; `sync status` to inspect")
    p.add_argument(
        "action",
        nargs="?",
        choices=("status", "backfill"),
        help="status: queue depth, oldest event, last success and error; backfill: queue the bills, payments "
        "and alert answers never queued (registration does it too)",
    )
    _gateway_db_args(p)
    p.add_argument("--once", action="store_true", help="one round (drain what is due, pull once), then exit")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="accept the registered plain http:// URL to another machine (the token then crosses the network "
        "in clear, from here and from the daemon)",
    )
    p.set_defaults(func=cmd_sync)


def _gateway_db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", type=Path, help="TOML config file (default: built-in defaults)")
    p.add_argument("--db", type=Path, help="gateway SQLite database (overrides [gateway] db)")


def _open(args: argparse.Namespace):
    from gateway.app import existing_database, open_store
    from gateway.config import load_config

    config = load_config(args.config)
    return config, open_store(existing_database(args.db, config), config.gateway.timezone)


def cmd_register(args: argparse.Namespace) -> int:
    import requests

    from .client import SyncClient, plain_http_to_another_machine

    plain = plain_http_to_another_machine(args.url)
    if plain and not args.insecure:
        print(
            f"powergw cloud register: {args.url} is plain HTTP: the gateway's token would cross the network in clear. "
            "Use https://, or pass --insecure if you accept that (loopback needs neither).",
            file=sys.stderr,
        )
        return 2
    if plain:
        print(
            f"powergw cloud register: warning: {args.url} is plain HTTP; the token crosses the network in clear",
            file=sys.stderr,
        )

    from gateway.store import transaction

    from .backfill import backfill
    from .outbox import SyncState

    config, store = _open(args)
    section = config["cloud"]
    try:
        client = SyncClient(
            requests.Session(),
            args.url,
            connect_timeout_s=section.connect_timeout_s,
            read_timeout_s=section.read_timeout_s,
            ca_bundle=section.ca_bundle,
        )
        answer = client.register(args.code, args.name)
        state = SyncState(store.conn)
        with transaction(store.conn):
            if state.get("url") != client.base_url or state.get("household_id") != str(answer.get("household_id")):
                state.set("cursor", 0)  # another cloud or household: its change feed starts afresh
            state.set("url", client.base_url)
            state.set("token", answer["token"])
            state.set("gateway_id", answer.get("gateway_id", ""))
            state.set("household_id", answer.get("household_id", ""))
            state.set(
                "insecure_url", client.base_url if plain else ""
            )  # what --insecure accepted, for every later sync
            earlier = backfill(store.conn)  # what the household did before registering goes too
    finally:
        store.close()
    print(
        f"registered as gateway {answer.get('gateway_id')} of household {answer.get('household_id')} at "
        f"{client.base_url}"
    )
    if earlier:
        print(f"queued {earlier} earlier events (bills, payments, alert answers) for the next sync")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from .runtime import accept_plain_http, build_syncer, is_registered, plain_http_refusal

    config, store = _open(args)
    section = config["cloud"]
    try:
        if args.action == "backfill":
            return _backfill(store)
        syncer = build_syncer(store.conn, section, config=config)
        if args.action == "status":
            return _print_status(syncer.status(), args.json)
        if not is_registered(store.conn):
            raise SyncError("this gateway is not registered: run `powergw cloud register --url URL --code CODE` first")
        refusal = plain_http_refusal(store.conn, section)
        if refusal and not args.insecure:
            print(f"powergw sync: {refusal}", file=sys.stderr)
            return 2
        if refusal:
            print(
                f"powergw sync: warning: {accept_plain_http(store.conn, section)} is plain HTTP; the token crosses the "
                "network in clear, from now on from the daemon too",
                file=sys.stderr,
            )
        while True:
            result = _round(syncer, section.batch_size, progress=not args.no_progress)
            print(
                f"sync: {result.acknowledged} acknowledged ({result.duplicates} already there), "
                f"{result.deferred} deferred, "
                f"{result.dead} dead-lettered, {result.pulled} changes pulled; {syncer.outbox.depth()} queued",
                file=sys.stderr,
            )
            if args.once:
                return 1 if result.errors else 0
            time.sleep(max(0.5, syncer.next_round_in_s(section.interval_s)))
    finally:
        store.close()


def _backfill(store) -> int:
    from gateway.store import transaction

    from .backfill import backfill
    from .runtime import is_registered

    if not is_registered(store.conn):
        raise SyncError(
            "this gateway is not registered, so there is nothing to backfill: "
            "`powergw cloud register --url URL --code CODE` queues the history itself"
        )
    with transaction(store.conn):
        queued = backfill(store.conn)
    print(f"sync backfill: {queued} events queued (bills, payments, alert answers never queued before)")
    return 0


def _round(syncer, batch_size: int, progress: bool):
    depth = syncer.outbox.depth()
    if not progress or depth <= batch_size or not sys.stderr.isatty() and os.environ.get("POWERGW_PROGRESS") != "1":
        return syncer.run_once()
    from tqdm import tqdm

    with tqdm(total=depth, unit="ev", desc="sync", file=sys.stderr) as bar:
        return syncer.run_once(progress=bar.update)


def _print_status(status: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(status, indent=2))
        return 0

    def when(ms):
        if ms is None:
            return "never"
        return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).astimezone().isoformat(timespec="seconds")

    print(
        f"cloud:          {status['url'] or 'not registered'} (gateway {status['gateway_id']}, "
        f"household {status['household_id']})"
    )
    print(f"queue depth:    {status['queue_depth']}")
    print(f"oldest event:   {when(status['oldest_event_ms']) if status['queue_depth'] else '-'}")
    print(f"next attempt:   {when(status['next_attempt_ms']) if status['queue_depth'] else '-'}")
    print(f"dead letters:   {status['dead_letters']}")
    print(f"last success:   {when(status['last_success_ms'])}")
    print(f"last pull:      {when(status['last_pull_ms'])} (cursor {status['cursor']})")
    print(
        f"last error:     {status['last_error'] or '-'}"
        + (f" at {when(status['last_error_ms'])}" if status["last_error"] else "")
    )
    print(f"theft models:   {status['model_registry'] or '-'}")
    last = status["last_model"]
    print(f"last model:     {last['version']} ({last['status']}): {last['detail']}" if last else "last model:     -")
    return 0
