"""What one ingest commit writes: raw readings, per-minute energy and coverage, events, node state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .energy import NodeAccount, split_by_time

READING_INSERT = (
    "INSERT INTO readings (node_key, ts_ms, start_ms, boot_id, seq, uptime_ms, power_dw, irms_ma, vrms_dv, "
    "energy_mwh, delta_mwh, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass
class NodeState:
    """A node as ingest keeps it in memory: key, accounting state, counters, latest values."""

    node_key: int
    account: NodeAccount
    frames_ok: int = 0
    frames_lost: int = 0
    reboots: int = 0
    energy_total_mwh: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_seen_ms: int | None = None
    last_power_dw: int | None = None
    last_irms_ma: int | None = None
    last_vrms_dv: int | None = None
    last_flags: int | None = None
    hello: dict | None = None
    unsupported_version: int | None = None
    dirty: bool = False


@dataclass
class Batch:
    """Everything one ingest commit writes, in one transaction."""

    readings: list[tuple] = field(default_factory=list)
    minutes: dict[tuple[int, int], int] = field(default_factory=dict)
    covered: dict[tuple[int, int], int] = field(default_factory=dict)  # ms of each (node, minute) accounted for
    events: list[tuple] = field(default_factory=list)
    raw_dropped: int = 0

    def __bool__(self) -> bool:
        return bool(self.readings or self.minutes or self.covered or self.events)

    def add_energy(self, node_key: int, start_ms: int, end_ms: int, energy_mwh: int, sign: int = 1) -> None:
        """An interval's energy per minute and the time it covers in each (`sign` -1 takes it back out)."""
        minutes, covered = self.minutes, self.covered
        for bucket, mwh in split_by_time(start_ms, end_ms, energy_mwh):
            key = (node_key, bucket)
            minutes[key] = minutes.get(key, 0) + sign * mwh
        for bucket, ms in split_coverage(start_ms, end_ms):
            key = (node_key, bucket)
            covered[key] = covered.get(key, 0) + sign * ms

    def cells(self) -> dict[tuple[int, int], tuple[int, int]]:
        """{(node key, minute): (mWh, covered ms)} of the batch."""
        return {k: (self.minutes.get(k, 0), self.covered.get(k, 0)) for k in self.minutes.keys() | self.covered.keys()}


def split_coverage(start_ms: int, end_ms: int, bucket_ms: int = 60_000) -> list[tuple[int, int]]:
    """(bucket start ms, ms of [start_ms, end_ms) inside it) for each UTC bucket the interval touches."""
    out, b = [], start_ms - start_ms % bucket_ms
    while b < end_ms:
        part = min(b + bucket_ms, end_ms) - max(b, start_ms)
        if part > 0:
            out.append((b, part))
        b += bucket_ms
    return out


NODE_UPDATE = (
    "UPDATE nodes SET acct_boot_id = ?, acct_seq = ?, acct_energy_mwh = ?, acct_uptime_ms = ?, acct_ts_ms = ?, "
    "acct_backwards_run = ?, frames_ok = ?, frames_lost = ?, reboots = ?, energy_total_mwh = ?, rejected = ?, "
    "last_seen_ms = ?, last_power_dw = ?, last_irms_ma = ?, last_vrms_dv = ?, last_flags = ?, unsupported_version = ?, "
    "name = coalesce(?, name), fw = coalesce(?, fw), sensor_amps = coalesce(?, sensor_amps), "
    "sample_rate_hz = coalesce(?, sample_rate_hz), mains_hz = coalesce(?, mains_hz), "
    "mv_per_a_x10 = coalesce(?, mv_per_a_x10) WHERE node_key = ?"
)


def node_row(s: NodeState) -> tuple:
    a = s.account
    h = s.hello or {}
    return (
        a.boot_id,
        a.seq,
        a.energy_mwh,
        a.uptime_ms,
        a.ts_ms,
        a.backwards_run,
        s.frames_ok,
        s.frames_lost,
        s.reboots,
        s.energy_total_mwh,
        json.dumps(s.rejected, sort_keys=True),
        s.last_seen_ms,
        s.last_power_dw,
        s.last_irms_ma,
        s.last_vrms_dv,
        s.last_flags,
        s.unsupported_version,
        h.get("name"),
        h.get("fw"),
        h.get("sensor_amps"),
        h.get("sample_rate_hz"),
        h.get("mains_hz"),
        h.get("mv_per_a_x10"),
        s.node_key,
    )
