"""Alert subcommands: `alerts list`, `alerts act`, and `email status|send|retry`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .kinds import ACTIONS, STATES


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", type=Path, help="TOML config file (default: built-in defaults)")
    p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list alerts, or ignore / stop ignoring / raise / resolve one")
    asub = p.add_subparsers(dest="alerts_command", metavar="ACTION")
    asub.required = True
    q = asub.add_parser("list", help="alerts, newest first")
    q.add_argument("--state", action="append", choices=STATES, help="repeatable; default all")
    q.add_argument("--kind", help="only this kind")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--format", choices=("table", "json"), default="table")
    _common(q)
    q.set_defaults(func=cmd_alerts_list)
    q = asub.add_parser("act", help="ignore, unignore (stop ignoring), raise or resolve an alert")
    q.add_argument("id", type=int)
    q.add_argument("action", choices=tuple(ACTIONS))
    q.add_argument("--by", required=True, help="who is acting")
    q.add_argument("--comment", default="")
    _common(q)
    q.set_defaults(func=cmd_alerts_act)

    p = sub.add_parser(
        "email",
        help="the alert email outbox: status, send now, retry failed",
        description="Exit code 0 when everything due was sent (or nothing was due); 1 when an email "
        "could not be sent now (server unreachable, refused) or email is not enabled; 2 on bad input.",
    )
    p.add_argument("action", choices=("status", "send", "retry"))
    _common(p)
    p.set_defaults(func=cmd_email)


def _open(args):
    from ..app import existing_database, open_store
    from ..config import load_config
    from ..settings_store import effective_config

    config = load_config(args.config)
    store = open_store(existing_database(args.db, config), config.gateway.timezone)
    return effective_config(store, config), store  # with the dashboard's Settings


def _now() -> int:
    return time.time_ns() // 1_000_000


def cmd_alerts_list(args: argparse.Namespace) -> int:
    from . import AlertStore

    config, store = _open(args)
    try:
        rows = AlertStore(store).list(state=args.state, kind=args.kind, limit=args.limit)
        cal = store.calendar
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no alerts")
    for a in rows:
        repeat = f" ×{a['repeat_count']}" if a["repeat_count"] > 1 else ""
        acted = f" by {a['acted_by']} {cal.isoformat(a['acted_ms'])}" if a["acted_by"] else ""
        print(
            f"#{a['id']} {cal.isoformat(a['created_ms'])} {a['severity']:<8} {a['kind']:<17} "
            f"{a['state']}{acted}{repeat}: {a['message']}"
        )
    return 0


def cmd_alerts_act(args: argparse.Namespace) -> int:
    from . import alert_store

    config, store = _open(args)
    try:
        a = alert_store(store, config).act(args.id, args.action, args.by, args.comment, now_ms=_now())
    finally:
        store.close()
    print(f"alert #{a['id']} is {a['state']} (by {a['acted_by']})")
    return 0


def cmd_email(args: argparse.Namespace) -> int:
    from .email import EmailOutbox, send_due

    config, store = _open(args)
    code = 0
    try:
        outbox = EmailOutbox(store)
        if args.action == "send":
            if not config.email.enabled:
                print("email is not enabled ([email] enabled = false)")
                return 1
            r = send_due(outbox, config.email, _now())
            print(f"sent {r.sent}, retry later {r.retried}, failed {r.failed}" + (f": {r.error}" if r.error else ""))
            code = 1 if r.retried or r.failed else 0  # a script or cron must see that mail did not go
        elif args.action == "retry":
            print(f"requeued {outbox.requeue_failed(_now())} failed emails")
        s = outbox.stats()
        cal = store.calendar
    finally:
        store.close()
    line = f"queued {s['queued']}, sent {s['sent']}, failed {s['failed']}"
    if s["next_attempt_ms"]:
        line += f"; next attempt {cal.isoformat(s['next_attempt_ms'])}"
    if s["last_error"]:
        line += f"; last error: {s['last_error']}"
    print(line)
    return code
