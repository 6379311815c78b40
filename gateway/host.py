"""Facts about the machine the gateway runs on, read from /proc."""

from __future__ import annotations


def available_memory_mb() -> float | None:
    """MemAvailable from /proc/meminfo in MB (what can still be allocated without swapping), or
    None where there is no such file. Heavy jobs check it before they start on a small Pi."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
