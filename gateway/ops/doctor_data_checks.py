"""doctor's checks of the data: the database, its nodes, billing setup, cloud sync, alerts, model, backups."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from . import OpsError
from .backup import list_backups
from .doctor_situation import OK, PROBLEM, WARNING, Finding, Situation, ago, human_size
from .health import connect_readonly, model_registry_root, read_health, read_model

WAL_WARNING_BYTES = 64 * 2**20
LOSS_WARNING = 0.05
BACKUP_WARNING_DAYS = 2
SYNC_WARNING_MS = 3600_000
SYNC_PROBLEM_MS = 86_400_000
OUTBOX_WARNING_DEPTH = 5000


def check_database(s: Situation) -> Iterable[Finding]:
    if not s.db_path.exists():
        yield Finding(
            "database",
            PROBLEM,
            f"no database at {s.db_path}",
            "start the daemon once (`systemctl start powergw`) or restore a backup (`powergw restore`)",
        )
        return
    try:
        s.conn = connect_readonly(s.db_path)
        pragma = "integrity_check" if s.full_integrity else "quick_check"
        result = "; ".join(r[0] for r in s.conn.execute(f"PRAGMA {pragma}").fetchmany(5))
        s.health = read_health(s.db_path, s.conn)
    except (OpsError, sqlite3.Error) as err:
        yield Finding(
            "database",
            PROBLEM,
            f"cannot read {s.db_path}: {err}",
            "restore the newest good backup: `powergw restore --latest`",
        )
        return
    h = s.health
    size = f"{human_size(h.db_bytes)} + {human_size(h.wal_bytes)} WAL"
    if result != "ok":
        yield Finding(
            "database",
            PROBLEM,
            f"{pragma} failed: {result}",
            "stop powergw, keep a copy of the file, and `powergw restore --latest`",
        )
    elif h.wal_bytes > WAL_WARNING_BYTES:
        yield Finding(
            "database",
            WARNING,
            f"{pragma} ok, {size}: the WAL is not being checkpointed",
            "a long-running reader holds it open; restart the dashboard (`systemctl restart powergw-ui`)",
        )
    else:
        yield Finding("database", OK, f"{pragma} ok, {size}")


def check_nodes(s: Situation) -> Iterable[Finding]:
    if s.health is None:
        return
    if not s.health.nodes:
        yield Finding(
            "nodes",
            WARNING,
            "no node has ever sent a frame",
            "check the node is powered and on a configured port: `powergw monitor PORT`",
        )
        return
    offline_ms = s.config.gateway.node_offline_minutes * 60_000
    for n in s.health.nodes:
        label = f"node {n.name or n.node_id}"
        if n.last_seen_ms is None:
            yield Finding(label, WARNING, "never sent a reading")
            continue
        age = s.now_ms - n.last_seen_ms
        total = n.frames_ok + n.frames_lost
        loss = n.frames_lost / total if total else 0.0
        rejected = sum(n.rejected.values())
        text = (
            f"last frame {ago(max(0, age))} ago; {n.frames_ok} ok, {n.frames_lost} lost ({loss:.1%}), "
            f"{rejected} rejected"
        )
        if age > 24 * 3600_000:
            yield Finding(
                label, PROBLEM, text, "the node has been silent for over a day: check its power and cable, or remove it"
            )
        elif age > offline_ms:
            yield Finding(
                label,
                WARNING,
                text,
                "offline: check its power, its USB cable or (BLE) its distance from the gateway; "
                "`powergw monitor` shows what arrives",
            )
        elif loss > LOSS_WARNING or rejected > n.frames_ok * LOSS_WARNING:
            yield Finding(
                label,
                WARNING,
                text,
                "many frames lost or rejected: a loose cable, a long USB lead, or electrical noise",
            )
        else:
            yield Finding(label, OK, text)


def check_sync(s: Situation) -> Iterable[Finding]:
    if s.health is None:
        return
    sync = s.health.sync
    if sync is None:
        yield Finding(
            "cloud sync",
            WARNING,
            "outbox tables missing",
            "run `powergw migrate` (or restart the daemon) to create them",
        )
        return
    if not sync.registered:
        yield Finding(
            "cloud sync",
            OK,
            f"not set up (optional); {sync.outbox_depth} event(s) queued locally",
            "" if sync.outbox_depth < OUTBOX_WARNING_DEPTH else "`powergw cloud register` to send them",
        )
        return
    last = sync.last_success_ms
    since = "never" if last is None else f"{ago(max(0, s.now_ms - last))} ago"
    text = f"outbox {sync.outbox_depth} event(s), last successful sync {since}"
    if sync.last_error and (last is None or (sync.last_error_ms or 0) > last):
        text += f"; last error: {sync.last_error[:120]}"
    stale = last is None or s.now_ms - last > SYNC_PROBLEM_MS
    if stale and sync.outbox_depth:
        yield Finding(
            "cloud sync",
            PROBLEM,
            text,
            "`powergw sync status` and `powergw sync` show why; check the network and the cloud URL",
        )
    elif (
        last is not None and s.now_ms - last > SYNC_WARNING_MS and sync.outbox_depth
    ) or sync.outbox_depth > OUTBOX_WARNING_DEPTH:
        yield Finding(
            "cloud sync", WARNING, text, "events are waiting; they are kept until the cloud acknowledges them"
        )
    else:
        yield Finding("cloud sync", OK, text)
    if sync.dead_letters:
        yield Finding(
            "cloud sync",
            WARNING,
            f"{sync.dead_letters} event(s) refused by the cloud for good",
            "`powergw sync status` lists them; they need a person, not a retry",
        )


def check_alerts(s: Situation) -> Iterable[Finding]:
    if s.health is None or s.health.open_alerts is None:
        return
    counts = s.health.open_alerts
    total = sum(counts.values())
    if not total:
        yield Finding("alerts", OK, "no open alerts")
    else:
        parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        yield Finding(
            "alerts",
            WARNING,
            f"{total} open alert(s): {parts}",
            "look at them on the dashboard and resolve or ignore each",
        )


def check_model(s: Situation) -> Iterable[Finding]:
    root = model_registry_root(s.db_path)
    try:
        info = read_model(root)
    except OpsError as err:
        yield Finding("theft model", PROBLEM, str(err), "`powergw model rollback` to the previous version")
        return
    trained = f", trained {info.trained_at[:10]}" if info.trained_at else ""
    yield Finding("theft model", OK, f"version {info.version} ({info.source}{trained})")


def check_backups(s: Situation) -> Iterable[Finding]:
    section = s.config["backup"]
    backups = list_backups(section.dir)
    if not section.enabled:
        yield Finding(
            "backup",
            WARNING,
            "nightly backups are off",
            "set [backup] enabled = true, or copy the database elsewhere yourself",
        )
        return
    if not backups:
        yield Finding(
            "backup",
            WARNING,
            f"no backup in {section.dir} yet",
            "`powergw backup` takes one now (the daemon takes one nightly)",
        )
        return
    newest = backups[0]
    age = s.now_ms - int(newest.taken_utc.timestamp() * 1000)
    text = f"{len(backups)} backup(s), newest {ago(max(0, age))} old ({human_size(newest.size_bytes)}) in {section.dir}"
    if age > BACKUP_WARNING_DAYS * 86_400_000:
        yield Finding(
            "backup",
            WARNING,
            text,
            "backups have stopped: `journalctl -u powergw | grep backup`; `powergw backup` to take one",
        )
    else:
        yield Finding("backup", OK, text)


def _billing_section(s: Situation):
    """[billing] as billing runs with it (the config file with the dashboard's overrides, Settings page), and
    the mains the house's metering names now."""
    from gateway.house import current_mains
    from gateway.settings_store import effective_config
    from gateway.store import Store

    store = Store(s.db_path, timezone=s.config.gateway.timezone, readonly=True)
    try:
        return effective_config(store, s.config)["billing"], current_mains(store.conn)
    finally:
        store.close()


def check_billing_setup(s: Situation) -> Iterable[Finding]:
    """The [billing] keys whose defaults give a confident wrong bill (gateway.billing.setup_gaps)."""
    if s.health is None:
        return
    from gateway.billing.setup_gaps import billing_setup_gaps

    section, mains = _billing_section(s)
    gaps = billing_setup_gaps(
        section, [(n.node_id, n.transport, n.name) for n in s.health.nodes if n.last_seen_ms is not None], mains
    )
    for gap in gaps:
        yield Finding("billing", WARNING, gap.message, gap.action)
    if not gaps:
        house = ", ".join(section.metered_nodes or mains) or "every node"
        yield Finding("billing", OK, f"meter read on {section.meter_reading_date}; the house is {house}")
