"""Exact energy accounting: READING frames in, energy intervals out (docs/PROTOCOL.md rules).

A READING_BIDIR carries a second counter, exported energy, under the same rules as the imported
one: both baseline, continue, restore and reset together, and a reading that sends one backwards is
refused whole. A node that sends no export counter (READING) exports nothing.

Pure code. Each node's `NodeAccount` holds the last counter the gateway accounted; the caller
persists it in the same transaction as the intervals it produced, so after a crash the next
frame's delta covers whatever was lost and the stored energy still equals the counter's rise.
All energy is in integer mWh, so sums are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import PowerGwError
from .protocol import Reading

MAX_POWER_W = 100_000
# Energy 100 kW delivers in one millisecond, in mWh: 100e6 mW * 1 ms / 3.6e6 ms/h.
MAX_MWH_PER_MS = MAX_POWER_W * 1000 / 3_600_000
MAX_COUNTER_MWH = 2**63 - 1  # SQLite INTEGER; 9.2e12 kWh is far beyond any real counter
U32 = 2**32

KIND_DELTA = "delta"  # consecutive readings of one boot
KIND_RESTORED = "restored"  # new boot, counter restored from flash: delta covers the gap
KIND_FRESH_BOOT = "fresh_boot"  # new boot, counter from zero: energy since boot only
KIND_BASELINE = "baseline"  # first reading, or restored counter behind ours: no energy

# Reasons a reading is refused by accounting (the frame itself was valid).
REJECT_DUPLICATE = "duplicate_seq"
REJECT_BACKWARDS = "counter_backwards"
REJECT_POWER = "power_out_of_range"
REJECT_STEP = "energy_step_impossible"
REJECT_COUNTER = "counter_out_of_range"

# After this many consecutive backwards readings in one boot the node's counter is taken as
# re-based (a node bug or a manual reset): it becomes a new baseline instead of being refused
# forever.
REBASE_AFTER = 3


class AccountingError(PowerGwError):
    """A decoded reading that accounting refuses; names the node and the reason."""

    def __init__(self, reason: str, node_id: str, detail: str):
        self.reason = reason
        self.node_id = node_id
        self.detail = detail
        super().__init__(f"node {node_id}: {reason}: {detail}")


@dataclass(slots=True)
class NodeAccount:
    """What the gateway last accounted for one node; persisted with every batch."""

    node_id: str
    boot_id: int | None = None
    seq: int | None = None
    energy_mwh: int | None = None
    uptime_ms: int | None = None
    ts_ms: int | None = None
    backwards_run: int = 0
    export_mwh: int | None = None


@dataclass(frozen=True, slots=True)
class Interval:
    """Energy attributed to [start_ms, end_ms]; `gap_ms` is time before it with unknown energy."""

    node_id: str
    start_ms: int
    end_ms: int
    energy_mwh: int
    kind: str
    lost_frames: int = 0
    reboot: bool = False
    gap_ms: int = 0
    export_mwh: int = 0


def seq_step(account: NodeAccount, boot_id: int, seq: int) -> int:
    """Frames lost before `seq` within the same boot (0 for the next frame); -1 for a repeat."""
    if account.boot_id != boot_id or account.seq is None:
        return 0
    if seq <= account.seq:
        return -1
    return seq - account.seq - 1


def note_frame(account: NodeAccount, boot_id: int, seq: int) -> int:
    """Record a non-READING frame's seq (seq counts frames of every type); returns frames lost."""
    lost = seq_step(account, boot_id, seq)
    if account.boot_id == boot_id and lost >= 0:
        account.seq = seq
    return max(lost, 0)


def export_step(account: NodeAccount, r: Reading) -> int:
    """The rise of the export counter since the account's; 0 where either side has none (a READING, or
    the first READING_BIDIR after READINGs, which is the export counter's baseline)."""
    if r.export_mwh is None or account.export_mwh is None:
        return 0
    return r.export_mwh - account.export_mwh


def account_reading(account: NodeAccount, r: Reading, ts_ms: int) -> Interval:
    """Account one reading received at gateway time `ts_ms`; mutate `account`, return the interval.

    Raises AccountingError (leaving `account` untouched) for a duplicate, a counter going
    backwards, or a physically impossible value.
    """
    if r.energy_mwh > MAX_COUNTER_MWH or (r.export_mwh is not None and r.export_mwh > MAX_COUNTER_MWH):
        counter = max(r.energy_mwh, r.export_mwh or 0)
        raise AccountingError(REJECT_COUNTER, r.node_id, f"energy counter {counter} mWh is beyond 2^63")
    if abs(r.power_dw) > MAX_POWER_W * 10:
        raise AccountingError(REJECT_POWER, r.node_id, f"{r.power_dw / 10:.1f} W is more than {MAX_POWER_W} W")

    if account.energy_mwh is None:
        _advance(account, r, ts_ms)
        return Interval(r.node_id, ts_ms, ts_ms, 0, KIND_BASELINE)

    if r.boot_id == account.boot_id:
        lost = seq_step(account, r.boot_id, r.seq)
        if lost < 0:
            raise AccountingError(REJECT_DUPLICATE, r.node_id, f"seq {r.seq} after {account.seq} in boot {r.boot_id}")
        delta, export = r.energy_mwh - account.energy_mwh, export_step(account, r)
        if delta < 0 or export < 0:
            account.backwards_run += 1
            if account.backwards_run >= REBASE_AFTER:
                _advance(account, r, ts_ms)
                return Interval(r.node_id, ts_ms, ts_ms, 0, KIND_BASELINE, lost_frames=lost)
            which = "export counter" if delta >= 0 else "counter"
            now, before = (r.export_mwh, account.export_mwh) if delta >= 0 else (r.energy_mwh, account.energy_mwh)
            raise AccountingError(
                REJECT_BACKWARDS, r.node_id, f"{which} {now} mWh below {before} mWh in boot {r.boot_id}"
            )
        elapsed_ms = (r.uptime_ms - account.uptime_ms) % U32
        _check_step(r, delta + export, elapsed_ms)
        start = min(account.ts_ms, ts_ms)
        _advance(account, r, ts_ms)
        return Interval(r.node_id, start, ts_ms, delta, KIND_DELTA, lost_frames=lost, export_mwh=export)

    # A new boot_id: the node restarted.
    if r.restored:
        delta, export = r.energy_mwh - account.energy_mwh, export_step(account, r)
        if delta < 0 or export < 0:
            _advance(account, r, ts_ms)
            return Interval(r.node_id, ts_ms, ts_ms, 0, KIND_BASELINE, reboot=True)
        _check_step(r, delta + export, max(ts_ms - account.ts_ms, r.uptime_ms))
        start = min(account.ts_ms, ts_ms)
        _advance(account, r, ts_ms)
        return Interval(r.node_id, start, ts_ms, delta, KIND_RESTORED, reboot=True, export_mwh=export)

    export = r.export_mwh or 0  # the counters restarted at zero at this boot
    _check_step(r, r.energy_mwh + export, r.uptime_ms)
    boot_ms = max(ts_ms - r.uptime_ms, account.ts_ms)
    start = min(boot_ms, ts_ms)
    gap = max(start - account.ts_ms, 0)
    _advance(account, r, ts_ms)
    return Interval(r.node_id, start, ts_ms, r.energy_mwh, KIND_FRESH_BOOT, reboot=True, gap_ms=gap, export_mwh=export)


def _check_step(r: Reading, delta_mwh: int, elapsed_ms: int) -> None:
    # One second of slack covers a window that ends just after the uptime stamp it carries.
    limit = (elapsed_ms + 1000) * MAX_MWH_PER_MS
    if delta_mwh > limit:
        raise AccountingError(
            REJECT_STEP,
            r.node_id,
            f"{delta_mwh} mWh in {elapsed_ms} ms is more than {MAX_POWER_W // 1000} kW could deliver",
        )


def _advance(account: NodeAccount, r: Reading, ts_ms: int) -> None:
    account.boot_id = r.boot_id
    account.seq = r.seq
    account.energy_mwh = r.energy_mwh
    account.uptime_ms = r.uptime_ms
    account.ts_ms = ts_ms
    account.backwards_run = 0
    account.export_mwh = r.export_mwh


def split_by_time(start_ms: int, end_ms: int, energy_mwh: int, bucket_ms: int = 60_000) -> list[tuple[int, int]]:
    """Split an interval's energy over fixed UTC buckets in proportion to time, exactly.

    Returns (bucket_start_ms, energy_mwh) pairs whose energies sum to `energy_mwh`. Minute
    buckets are enough for every rollup: local midnights and hours of every real time zone
    fall on minute boundaries.
    """
    if energy_mwh == 0:
        return []
    first = start_ms - start_ms % bucket_ms
    if end_ms <= start_ms or end_ms - first <= bucket_ms:
        return [(first, energy_mwh)]
    span = end_ms - start_ms
    out = []
    done = 0
    b = first
    while b < end_ms:
        edge = min(b + bucket_ms, end_ms)
        cum = energy_mwh * (edge - start_ms) // span
        if cum != done:
            out.append((b, cum - done))
        done = cum
        b += bucket_ms
    return out
