"""`powergw doctor`: one line per check, ok / warning / problem, and what to do about it.

The checks are a table (CHECKS): each takes the `Situation` (doctor_situation) and returns findings.
The checks of the machine (clock, disk, serial ports, Bluetooth, the daemon) are here; those of the
data (database, nodes, billing, sync, alerts, model, backups) are in doctor_data_checks.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .doctor_data_checks import (
    check_alerts,
    check_backups,
    check_billing_setup,
    check_database,
    check_model,
    check_nodes,
    check_sync,
)
from .doctor_situation import OK, PROBLEM, RANK, WARNING, Finding, Situation, ago, human_size
from .health import read_live

DISK_PROBLEM_FREE = (0.05, 200 * 2**20)  # fraction, bytes: below either is a problem
DISK_WARNING_FREE = (0.15, 1024 * 2**20)


# ---- the checks of the machine ---------------------------------------------------------------


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
    text = f"{human_size(usage.free)} free of {human_size(usage.total)} ({frac:.0%}) on {folder}"
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
            f"live values are {ago(age)} old",
            "the daemon has stopped writing them: `systemctl status powergw`, `journalctl -u powergw -n 50`",
        )
    else:
        yield Finding("daemon", OK, f"live values {ago(max(0, age))} old, {len(live.get('nodes', {}))} node(s)")


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
