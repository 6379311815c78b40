"""`powergw doctor`: one line per check, ok / warning / problem, and what to do about it.

The checks are a table (CHECKS): each takes the `Situation` (config, paths, clock, the host
probes) and returns findings. The host is reached only through `Host`, whose roots (/dev, /sys)
and clock probe a test can point elsewhere; everything else is the real database and files.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import OpsError
from .backup import list_backups
from .health import Health, connect_readonly, model_registry_root, read_health, read_live, read_model

OK, WARNING, PROBLEM = "ok", "warning", "problem"
RANK = {OK: 0, WARNING: 1, PROBLEM: 2}

DISK_PROBLEM_FREE = (0.05, 200 * 2**20)  # fraction, bytes: below either is a problem
DISK_WARNING_FREE = (0.15, 1024 * 2**20)
WAL_WARNING_BYTES = 64 * 2**20
LOSS_WARNING = 0.05
BACKUP_WARNING_DAYS = 2
SYNC_WARNING_MS = 3600_000
SYNC_PROBLEM_MS = 86_400_000
OUTBOX_WARNING_DEPTH = 5000


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    message: str
    action: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():8} {self.check:18} {self.message}"
        return text + (f"\n{'':27}→ {self.action}" if self.action else "")


def clock_synchronised() -> tuple[bool | None, str]:
    """Kernel NTP state via adjtimex (what timedatectl reports), with timedatectl as a second opinion."""
    from gateway.clock import SystemClock

    if SystemClock().synced():
        return True, "kernel reports the clock synchronised (adjtimex)"
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
            return out.stdout.strip() == "yes", f"timedatectl NTPSynchronized={out.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return False, "kernel reports the clock unsynchronised (adjtimex)"


@dataclass
class Host:
    """The machine as doctor sees it; tests point the roots at a temporary directory."""

    dev: Path = Path("/dev")
    sys: Path = Path("/sys")
    clock: Callable[[], tuple[bool | None, str]] = clock_synchronised

    def usb_serial_devices(self) -> dict[str, str]:
        """Stable names of serial devices: /dev/powergw/* from our udev rules, else /dev/serial/by-id/*."""
        found: dict[str, str] = {}
        for folder in (self.dev / "powergw", self.dev / "serial" / "by-id"):
            if folder.is_dir():
                for p in sorted(folder.iterdir()):
                    found[str(p)] = p.name
        return found

    def bluetooth_adapters(self) -> list[str]:
        folder = self.sys / "class" / "bluetooth"
        return sorted(p.name for p in folder.iterdir() if p.name.startswith("hci")) if folder.is_dir() else []


@dataclass
class Situation:
    config: object
    db_path: Path
    runtime_dir: Path
    now_ms: int
    host: Host = field(default_factory=Host)
    full_integrity: bool = True
    health: Health | None = None
    conn: sqlite3.Connection | None = None


def _ago(ms: int) -> str:
    s = ms / 1000
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


# ---- the checks -----------------------------------------------------------------------------


def check_clock(s: Situation) -> Iterable[Finding]:
    synced, detail = s.host.clock()
    if synced:
        yield Finding("clock", OK, f"synchronised; {detail}")
    else:
        yield Finding(
            "clock",
            PROBLEM,
            f"not synchronised; {detail}",
            "a Pi has no real-time clock: check the network and `timedatectl timesync-status`; "
            "readings are re-anchored when it syncs, but days and bills need the right date",
        )


def check_disk(s: Situation) -> Iterable[Finding]:
    folder = s.db_path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    frac = usage.free / usage.total if usage.total else 0
    text = f"{_bytes(usage.free)} free of {_bytes(usage.total)} ({frac:.0%}) on {folder}"
    if frac < DISK_PROBLEM_FREE[0] or usage.free < DISK_PROBLEM_FREE[1]:
        yield Finding(
            "disk",
            PROBLEM,
            text,
            "free space now: old backups (`powergw backup --list`), apt caches (`apt-get clean`), "
            "or lower [gateway] retention_days; a full disk stops ingest",
        )
    elif frac < DISK_WARNING_FREE[0] or usage.free < DISK_WARNING_FREE[1]:
        yield Finding(
            "disk",
            WARNING,
            text,
            "plan for more space: move [backup] dir to a USB stick, lower [gateway] retention_days",
        )
    else:
        yield Finding("disk", OK, text)


def check_serial(s: Situation) -> Iterable[Finding]:
    configured = list(s.config.serial.ports)
    present = s.host.usb_serial_devices()
    for port in configured:
        if Path(port).exists():
            yield Finding("serial", OK, f"{port} present")
        else:
            yield Finding(
                "serial",
                PROBLEM,
                f"{port} is configured but missing",
                "check the USB cable and `ls -l /dev/powergw/ /dev/serial/by-id/`; "
                "a node's bridge may have another name now",
            )
    unused = [p for p in present if p not in configured]
    if not configured and not present:
        yield Finding(
            "serial",
            WARNING,
            "no serial ports configured and no USB serial bridge plugged in",
            "plug in a node's USB cable, then add its /dev/powergw/... name to [serial] ports "
            "(BLE-only homes can ignore this)",
        )
    elif not configured:
        yield Finding(
            "serial",
            WARNING,
            f"USB serial devices present but none configured: {', '.join(unused)}",
            "add them to [serial] ports in /etc/powergw/config.toml and `systemctl restart powergw`",
        )


def check_ble(s: Situation) -> Iterable[Finding]:
    adapters = s.host.bluetooth_adapters()
    ble_nodes = [n.node_id for n in (s.health.nodes if s.health else []) if (n.transport or "").startswith("ble")]
    if adapters:
        yield Finding("bluetooth", OK, f"adapter {', '.join(adapters)} present")
    elif ble_nodes:
        yield Finding(
            "bluetooth",
            PROBLEM,
            f"no Bluetooth adapter, but {len(ble_nodes)} BLE node(s) are known",
            "`rfkill unblock bluetooth`, `systemctl status bluetooth`, or plug in a USB Bluetooth adapter",
        )
    else:
        yield Finding("bluetooth", OK, "no adapter (needed only for BLE nodes; none are known)")


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
    size = f"{_bytes(h.db_bytes)} + {_bytes(h.wal_bytes)} WAL"
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
            f"last frame {_ago(max(0, age))} ago; {n.frames_ok} ok, {n.frames_lost} lost ({loss:.1%}), "
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


def check_daemon(s: Situation) -> Iterable[Finding]:
    live = read_live(s.runtime_dir)
    if live is None:
        yield Finding(
            "daemon",
            WARNING,
            f"no live values in {s.runtime_dir}/live.json",
            "is the daemon running? `systemctl status powergw`, `journalctl -u powergw -n 50`",
        )
        return
    age = s.now_ms - int(live.get("ts_ms", 0))
    if age > 60_000:
        yield Finding(
            "daemon",
            WARNING,
            f"live values are {_ago(age)} old",
            "the daemon has stopped writing them: `systemctl status powergw`, `journalctl -u powergw -n 50`",
        )
    else:
        yield Finding("daemon", OK, f"live values {_ago(max(0, age))} old, {len(live.get('nodes', {}))} node(s)")


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
    since = "never" if last is None else f"{_ago(max(0, s.now_ms - last))} ago"
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
    text = f"{len(backups)} backup(s), newest {_ago(max(0, age))} old ({_bytes(newest.size_bytes)}) in {section.dir}"
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


CHECKS: tuple[Callable[[Situation], Iterable[Finding]], ...] = (
    check_clock,
    check_disk,
    check_database,  # before the checks that read what it loads
    check_serial,
    check_ble,
    check_daemon,
    check_nodes,
    check_billing_setup,
    check_sync,
    check_alerts,
    check_model,
    check_backups,
)


def run_checks(s: Situation, checks=CHECKS) -> list[Finding]:
    findings: list[Finding] = []
    try:
        for check in checks:
            try:
                findings.extend(check(s))
            except Exception as err:  # noqa: BLE001 - one broken probe must not hide the others
                findings.append(
                    Finding(
                        check.__name__.removeprefix("check_"),
                        PROBLEM,
                        f"the check itself failed: {err!r}",
                        "report this as a bug with `powergw doctor -v` output",
                    )
                )
    finally:
        if s.conn is not None:
            s.conn.close()
    return findings


def exit_code(findings: list[Finding], strict: bool = False) -> int:
    """0 without problems, 1 with a problem (or, with `strict`, a warning)."""
    worst = max((RANK[f.status] for f in findings), default=0)
    return 1 if worst >= (RANK[WARNING] if strict else RANK[PROBLEM]) else 0


def as_dicts(findings: list[Finding]) -> list[dict]:
    return [dataclasses.asdict(f) for f in findings]
