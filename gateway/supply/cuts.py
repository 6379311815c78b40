"""Power cuts found in the nodes' readings: pure, readings and a tracker's state in, cuts out.

A cut is a silence of every node that was reporting, after which the nodes come back having
restarted. The rule, step by step (docs/supply.md has the reasons):

1. A *silence* is a gap longer than `silent_ms` between one reading and the next from any node (the
   readings in the order ingest stamped them). It starts at the last reading before the gap.
2. The nodes that were *reporting* are those whose last reading is within `together_ms` of that
   start: a node that had gone quiet long before is neither needed nor waited for.
3. The silence is judged once every reporting node has come back or `together_ms` has passed
   since the first came back. Each node that came back either *restarted* during the silence (a new
   boot_id, or an uptime shorter than its silence: it lost power) or ran through it.
4. It is a cut when at least one reporting node came back restarted and none that reports its own
   uptime ran through the silence: such a node had power, so the gateway or the radio link was down,
   not the supply. A BLE node's boot_id and uptime are the gateway's guess (a restart shows only
   when its counter goes back), so it can show a cut but never veto one (`Tracker.guessed`). A node
   that restarts alone never makes a silence: the others keep reporting.
5. A restart caused by the gateway itself is no cut: when the gateway's process started during the
   silence (a `Run`) while its host did not boot in it, and every node booted after that start,
   opening the serial ports reset the boards.
6. The cut starts at the silence's start (the last sign of power) and ends when the first node
   booted (its reading's time less its uptime; with only BLE nodes restarted, the first reading
   back), never before the start nor after the first return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Seen:
    """One reading as the tracker needs it: which node, when, and which boot for how long."""

    node_key: int
    ts_ms: int
    boot_id: int
    uptime_ms: int


@dataclass(frozen=True)
class Run:
    """One start of the gateway: when its process started and when its host last booted."""

    started_ms: int
    host_boot_ms: int


@dataclass(frozen=True)
class Cut:
    """A power cut: from the last reading before it to the first boot after it."""

    start_ms: int
    end_ms: int
    nodes: int  # reporting nodes that came back restarted
    missing: int  # reporting nodes that had not come back when it was judged

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class Back:
    """A reporting node's first reading after a silence."""

    ts_ms: int
    restarted: bool
    boot_ms: int


@dataclass
class Silence:
    """A silence of every node, waiting for the reporting nodes to come back."""

    start_ms: int
    first_back_ms: int
    reporting: dict[int, Seen]  # node -> its last reading before the silence
    back: dict[int, Back] = field(default_factory=dict)


@dataclass
class Tracker:
    """Each node's last reading, the latest time of any, and the silence being judged (if any);
    `guessed` are the nodes whose boot_id and uptime the gateway infers (BLE), set by the caller."""

    last: dict[int, Seen] = field(default_factory=dict)
    latest_ms: int | None = None
    silence: Silence | None = None
    guessed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Rule:
    """How long a silence must last, how close together nodes fall silent and come back, and how late
    readings may be committed (a judgement on `now` waits that much longer)."""

    silent_ms: int
    together_ms: int
    lag_ms: int = 0


def feed(tracker: Tracker, readings: Iterable[Seen], rule: Rule, runs: Sequence[Run] = ()) -> list[Cut]:
    """Take readings in the order ingest stamped them; return the cuts judged on the way."""
    cuts: list[Cut] = []
    for r in readings:
        s = tracker.silence
        if s is not None and r.ts_ms > s.first_back_ms + rule.together_ms:
            cuts.extend(_judged(tracker, runs))
            s = None
        if s is None and tracker.latest_ms is not None and r.ts_ms - tracker.latest_ms > rule.silent_ms:
            start = tracker.latest_ms
            reporting = {k: m for k, m in tracker.last.items() if start - m.ts_ms <= rule.together_ms}
            s = tracker.silence = Silence(start, r.ts_ms, reporting)
        if s is not None and r.node_key in s.reporting and r.node_key not in s.back:
            before = s.reporting[r.node_key]
            restarted = r.boot_id != before.boot_id or r.uptime_ms < r.ts_ms - before.ts_ms
            s.back[r.node_key] = Back(r.ts_ms, restarted, r.ts_ms - r.uptime_ms)
            if len(s.back) == len(s.reporting):
                cuts.extend(_judged(tracker, runs))
        prev = tracker.last.get(r.node_key)
        if prev is None or r.ts_ms >= prev.ts_ms:
            tracker.last[r.node_key] = r
        tracker.latest_ms = r.ts_ms if tracker.latest_ms is None else max(tracker.latest_ms, r.ts_ms)
    return cuts


def settle(tracker: Tracker, now_ms: int, rule: Rule, runs: Sequence[Run] = ()) -> list[Cut]:
    """Judge a silence whose nodes had `together_ms` to come back by `now_ms`."""
    s = tracker.silence
    if s is not None and now_ms > s.first_back_ms + rule.together_ms + rule.lag_ms:
        return _judged(tracker, runs)
    return []


def silent_since(tracker: Tracker, now_ms: int, rule: Rule) -> int | None:
    """The start of a silence still going on at `now_ms` (every node quiet for `silent_ms`), or None."""
    quiet_ms = None if tracker.latest_ms is None else now_ms - tracker.latest_ms
    if quiet_ms is None or tracker.silence is not None or quiet_ms <= rule.silent_ms + rule.lag_ms:
        return None
    return tracker.latest_ms


def _judged(tracker: Tracker, runs: Sequence[Run]) -> list[Cut]:
    s, tracker.silence = tracker.silence, None
    if s is None:
        return []
    restarted = {k: b for k, b in s.back.items() if b.restarted}
    known = [b for k, b in restarted.items() if k not in tracker.guessed]
    ran_through = any(not b.restarted for k, b in s.back.items() if k not in tracker.guessed)
    if not restarted or ran_through:
        return []
    first_back = min(b.ts_ms for b in s.back.values())
    first_boot = min(b.boot_ms for b in known) if known else min(b.ts_ms for b in restarted.values())
    if _gateway_reset(s, first_boot, first_back, runs):
        return []
    end = min(max(first_boot, s.start_ms), first_back)
    return [Cut(s.start_ms, end, len(restarted), len(s.reporting) - len(s.back))]


def _gateway_reset(s: Silence, first_boot: int, first_back: int, runs: Sequence[Run]) -> bool:
    """Whether the gateway restarted in the silence, its host did not boot, and every node booted after it."""
    for run in runs:
        if s.start_ms < run.started_ms <= first_back and not s.start_ms < run.host_boot_ms <= first_back:
            if first_boot >= run.started_ms:
                return True
    return False
