"""What a doctor check takes and gives: the Situation (config, paths, clock, the host probes) and Findings.

The host is reached only through `Host`, whose roots (/dev, /sys) and clock probe a test can point
elsewhere; everything else is the real database and files.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .health import Health

OK, WARNING, PROBLEM = "ok", "warning", "problem"
RANK = {OK: 0, WARNING: 1, PROBLEM: 2}


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
        pass  # no timedatectl (not systemd) or it hung: the kernel's answer above stands
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


def ago(ms: int) -> str:
    """A duration in milliseconds as seconds, minutes, hours or days, whichever reads best."""
    s = ms / 1000
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def human_size(n: int) -> str:
    """A byte count in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover
