"""Operations subcommands: backup, restore, doctor, metrics, mqtt, export, migrate, config."""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from . import OpsError

DEFAULT_CONFIG = Path("/etc/powergw/config.toml")
DEFAULT_RUNTIME = Path("/run/powergw")


def _common(p: argparse.ArgumentParser, *, runtime: bool = False) -> None:
    p.add_argument(
        "--config",
        "-c",
        type=Path,
        help=f"TOML config file (default: {DEFAULT_CONFIG} if it exists, else built-in defaults)",
    )
    p.add_argument("--db", type=Path, help="SQLite database file (overrides [gateway] db)")
    if runtime:
        p.add_argument(
            "--runtime-dir",
            type=Path,
            default=DEFAULT_RUNTIME,
            help=f"the daemon's runtime directory holding live.json (default {DEFAULT_RUNTIME})",
        )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the operations subcommands, one function each, in `powergw --help` order."""
    _add_backup(sub)
    _add_restore(sub)
    _add_doctor(sub)
    _add_metrics(sub)
    _add_mqtt(sub)
    _add_export(sub)
    _add_migrate(sub)
    _add_config(sub)


def _add_backup(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backup",
        help="back up the database now (compact, or --full), or list backups",
        description="Take a consistent copy of the database while the daemon runs; keep the newest [backup] keep. "
        "A compact backup ([backup] kind, the default) keeps every table but only the raw readings of the "
        "last [backup] raw_hours and those not yet rolled up; --full copies every page.",
    )
    _common(p)
    p.add_argument("--dir", type=Path, help="backup directory (overrides [backup] dir)")
    p.add_argument("--keep", type=int, help="backups to keep (overrides [backup] keep)")
    p.add_argument(
        "--full", action="store_true", help="copy the whole database, all raw readings included (SQLite online backup)"
    )
    p.add_argument("--force", action="store_true", help="back up even if nothing changed since the newest backup")
    p.add_argument("--list", action="store_true", help="list backups instead of taking one")
    p.set_defaults(func=cmd_backup)


def _add_restore(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="replace the database by a backup (stop the daemon first)",
        description="Check a backup, keep the current database beside it, and put the backup in its place.",
    )
    _common(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("backup", nargs="?", type=Path, help="backup file to restore")
    src.add_argument("--latest", action="store_true", help="restore the newest backup in [backup] dir")
    p.add_argument("--dir", type=Path, help="backup directory for --latest (overrides [backup] dir)")
    p.set_defaults(func=cmd_restore)


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check clock, disk, ports, database, nodes, sync, model and backups",
        description="One line per check: ok, warning or problem, and what to do. Exit code 1 if any problem.",
    )
    _common(p, runtime=True)
    p.add_argument("--quick", action="store_true", help="PRAGMA quick_check instead of the full integrity_check")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_doctor)


def _add_metrics(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics",
        help="Prometheus metrics: print them, or serve /metrics",
        description="Prometheus text format computed from the database at each scrape. Without options "
        "print the page once; --serve serves http://<host>:<port>/metrics from [metrics] in the config "
        "(what powergw-metrics.service runs); --host and --port override it.",
    )
    _common(p, runtime=True)
    p.add_argument("--serve", action="store_true", help="serve on [metrics] host and port until stopped")
    p.add_argument("--port", type=int, help="serve on this port (implies --serve; overrides [metrics] port)")
    p.add_argument("--host", help="serve on this IP address (implies --serve; overrides [metrics] host)")
    p.set_defaults(func=cmd_metrics)


def _add_mqtt(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mqtt",
        help="publish to Home Assistant over MQTT (discovery, power, energy, bill)",
        description="Publish per-node power and energy and the household bill with Home Assistant discovery.",
    )
    _common(p, runtime=True)
    p.add_argument("--once", action="store_true", help="publish one round and exit")
    p.set_defaults(func=cmd_mqtt)


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="CSV of readings, daily usage, bills or payments",
        description="Write a CSV export; times are local ISO 8601, energy exact Wh, money exact INR.",
    )
    _common(p)
    p.add_argument("kind", choices=("readings", "daily", "bills", "payments"))
    p.add_argument("--from", dest="date_from", help="first local date, YYYY-MM-DD (default: 30 days ago)")
    p.add_argument("--to", dest="date_to", help="last local date, YYYY-MM-DD, inclusive (default: today)")
    p.add_argument("--node", help="one node id (readings and daily)")
    p.add_argument("--out", "-o", default="-", help="output file, '-' for stdout (default)")
    p.set_defaults(func=cmd_export)


def _add_migrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("migrate", help="apply database migrations (the installer runs this on upgrade)")
    _common(p)
    p.set_defaults(func=cmd_migrate)


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="print the example config, or check a config file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    c = csub.add_parser("example", help="print a config file with every key documented and commented out")
    c.set_defaults(func=cmd_config_example)
    c = csub.add_parser("check", help="validate a config file; list keys it leaves at their defaults")
    c.add_argument("file", type=Path, nargs="?", default=DEFAULT_CONFIG)
    c.set_defaults(func=cmd_config_check)


# ---- shared ----------------------------------------------------------------------------------


def _config(args: argparse.Namespace):
    from gateway.config import load_config

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    config = load_config(path)
    if getattr(args, "db", None):
        config = config.replace("gateway", db=str(args.db))
    return config


def _now_ms() -> int:
    return int(time.time() * 1000)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


# ---- backup / restore ------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    from gateway.app import existing_database

    from .backup import list_backups, take_backup

    config = _config(args)
    section = config["backup"]
    dest = args.dir or section.dir
    if args.list:
        backups = list_backups(dest)
        for b in backups:
            print(
                f"{b.path}  {b.taken_utc.astimezone().isoformat(timespec='seconds')}  {b.kind:7}  {_size(b.size_bytes)}"
            )
        if not backups:
            print(f"no backups in {dest}")
        return 0
    keep = args.keep if args.keep is not None else section.keep
    if keep < 1:
        raise OpsError(f"--keep {keep}: expected at least 1")
    kind = "full" if args.full else section.kind
    result = take_backup(
        existing_database(args.db, config), dest, keep=keep, force=args.force, kind=kind, raw_hours=section.raw_hours
    )
    if result.path is None:
        print(f"backup skipped: database {result.skipped} (use --force to copy anyway)")
        return 0
    detail = (
        f", {result.readings_left_out} raw readings older than {section.raw_hours} h left to the rollups"
        if kind == "compact"
        else ""
    )
    print(f"backup {result.path} ({kind}, {_size(result.size_bytes)} in {result.seconds:.2f} s{detail})")
    for old in result.removed:
        print(f"removed old backup {old}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from gateway.app import open_store

    from .backup import list_backups, restore_backup

    config = _config(args)
    if args.latest:
        backups = list_backups(args.dir or config["backup"].dir)
        if not backups:
            raise OpsError(f"no backups in {args.dir or config['backup'].dir}")
        backup = backups[0].path
    else:
        backup = args.backup
    db = Path(config.gateway.db)
    kept = restore_backup(backup, db)
    store = open_store(db, config.gateway.timezone)  # a backup from an older release gets today's schema
    store.close()
    print(f"restored {backup} to {db}")
    if kept:
        print(f"the database it replaced is kept as {kept}")
    print("start the services again: sudo systemctl start powergw powergw-ui")
    return 0


# ---- doctor / metrics ------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from gateway.config import ConfigError

    from .doctor import as_dicts, exit_code, run_checks
    from .doctor_situation import PROBLEM, Finding, Situation

    try:
        config = _config(args)
    except ConfigError as err:
        findings = [Finding("config", PROBLEM, str(err), "fix the file: `powergw config check`, then restart powergw")]
    else:
        situation = Situation(
            config=config,
            db_path=Path(config.gateway.db),
            runtime_dir=args.runtime_dir,
            now_ms=_now_ms(),
            full_integrity=not args.quick,
        )
        findings = run_checks(situation)
    if args.format == "json":
        print(json.dumps(as_dicts(findings), indent=2))
    else:
        for f in findings:
            print(f.line())
        counts = {s: sum(f.status == s for f in findings) for s in ("ok", "warning", "problem")}
        print(f"\n{counts['ok']} ok, {counts['warning']} warning(s), {counts['problem']} problem(s)")
    return exit_code(findings, strict=args.strict)


def cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics import check_listen_address, render, serve

    config = _config(args)
    db = Path(config.gateway.db)
    if not (args.serve or args.port is not None or args.host is not None):
        sys.stdout.write(render(db, args.runtime_dir).decode())
        return 0
    section = config["metrics"]
    if args.port is None and args.host is None and not section.enabled:
        print("powergw metrics: [metrics] enabled = false in the config; not serving", file=sys.stderr)
        return 0
    try:
        host = check_listen_address(args.host, "--host") if args.host is not None else section.host
    except ValueError as err:
        raise OpsError(str(err)) from None
    if args.port is not None and not 1 <= args.port <= 65535:
        raise OpsError(f"--port = {args.port}: expected a whole number from 1 to 65535")
    port = args.port if args.port is not None else section.port
    print(f"powergw metrics: http://{f'[{host}]' if ':' in host else host}:{port}/metrics", flush=True)
    try:
        serve(db, host, port, args.runtime_dir)
    except OpsError as err:
        given = " and ".join(f"--{k}" for k in ("host", "port") if getattr(args, k) is not None)
        origin = given or f"[metrics] host and port ({config.source})"
        busy = isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.EADDRINUSE
        raise OpsError(f"{err}; change {origin}" + (", or stop what is using that port" if busy else "")) from None
    return 0


# ---- mqtt ------------------------------------------------------------------------------------


def cmd_mqtt(args: argparse.Namespace) -> int:
    from gateway.store import Store

    from .health import read_live
    from .mqtt import MqttLink, Topics, billing_bill_fn, default_gateway_id, read_password, run_publisher, take_snapshot

    config = _config(args)
    section = config["mqtt"]
    if not section.enabled and not args.once:
        print("powergw mqtt: [mqtt] enabled = false in the config; nothing to do", file=sys.stderr)
        return 0
    from gateway.app import existing_database

    db = existing_database(args.db, config)
    store = Store(db, timezone=config.gateway.timezone, readonly=True)
    topics = Topics(default_gateway_id(), section.topic_prefix, section.discovery_prefix)
    offline_ms = config.gateway.node_offline_minutes * 60_000
    bill_fn = billing_bill_fn(config)

    def snapshot():
        return take_snapshot(store, topics.gateway_id, read_live(args.runtime_dir), _now_ms(), offline_ms, bill_fn)

    link = MqttLink(section, topics, read_password(section))
    link.connect()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        rounds = run_publisher(link, snapshot, section.interval_s, stop, retain=section.retain, once=args.once)
    except KeyboardInterrupt:
        rounds = 0
    finally:
        link.close()
        store.close()
    if args.once:
        print(f"published to {section.host}:{section.port} under {topics.base} ({rounds} round)")
    return 0


# ---- export ----------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from gateway.localtime import LocalCalendar

    from .export import ExportRange, write_csv
    from .health import connect_readonly

    config = _config(args)
    cal = LocalCalendar(config.gateway.timezone)
    try:
        last = dt.date.fromisoformat(args.date_to) if args.date_to else dt.date.fromisoformat(cal.today(_now_ms()))
        first = dt.date.fromisoformat(args.date_from) if args.date_from else last - dt.timedelta(days=30)
    except ValueError as err:
        raise OpsError(f"dates must be YYYY-MM-DD: {err}") from None
    if last < first:
        raise OpsError(f"--to {last} is before --from {first}")
    rng = ExportRange(cal.day_start_ms(first), cal.day_start_ms(last + dt.timedelta(days=1)), cal, args.node)
    from gateway.app import existing_database

    conn = connect_readonly(existing_database(args.db, config))
    try:
        if args.out == "-":
            try:
                write_csv(args.kind, conn, rng, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:  # `powergw export ... | head` closed the pipe: not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        else:
            out = Path(args.out)
            tmp = out.with_name(f".{out.name}.partial")
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                rows = write_csv(args.kind, conn, rng, fh)
            os.replace(tmp, out)
            print(f"{rows} {args.kind} rows written to {out}", file=sys.stderr)
    finally:
        conn.close()
    return 0


# ---- migrate / config ------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from gateway.app import open_store

    config = _config(args)
    db = Path(config.gateway.db)
    before = _applied(db)
    store = open_store(db, config.gateway.timezone)
    store.close()
    after = _applied(db)
    new = sorted(after - before)
    print(f"{db}: {len(after)} migrations applied" + (f", new: {', '.join(new)}" if new else ", none new"))
    return 0


def _applied(db: Path) -> set[str]:
    import sqlite3

    if not db.exists():
        return set()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {f"{r[0]}:{r[1]}" for r in conn.execute("SELECT migration_set, name FROM _sqlite_migrations")}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def cmd_config_example(args: argparse.Namespace) -> int:
    from .config_example import render_example

    sys.stdout.write(render_example())
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    import tomllib

    from gateway.config import load_config

    from .config_example import missing_keys

    load_config(args.file)  # raises ConfigError naming the key, the value and what is accepted
    data = tomllib.loads(args.file.read_text(encoding="utf-8"))
    print(f"{args.file}: ok")
    defaults = missing_keys(data)
    if defaults:
        print(
            f"{len(defaults)} key(s) not set in the file use their defaults (`powergw config example` documents them)"
        )
    return 0
