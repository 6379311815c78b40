"""Time for ingest: monotonic for intervals, wall clock for dates, and jumps between them.

A Raspberry Pi has no real-time clock. After boot its wall clock can be hours wrong until NTP
syncs, then it jumps. `AnchoredClock` stamps readings as anchor + monotonic time, and `check()`
reports a jump (the wall clock moved relative to the monotonic one by more than a threshold),
saying whether the time before it was trusted (kernel NTP state synchronised) or not. Ingest
uses that to move the readings it stamped with an untrusted clock to where they belong.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def wall_ms(self) -> int: ...

    def mono_ms(self) -> int: ...

    def synced(self) -> bool: ...


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux); only `modes` (0 = read) and the return matter.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


_TIME_ERROR = 5


class SystemClock:
    """The real clocks; `synced()` asks the kernel whether NTP has synchronised the clock."""

    def __init__(self) -> None:
        self._adjtimex = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            self._adjtimex = libc.adjtimex
        except (OSError, AttributeError):
            self._adjtimex = None

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def mono_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def synced(self) -> bool:
        if self._adjtimex is None:
            return False
        tx = _Timex()
        state = self._adjtimex(ctypes.byref(tx))
        return state >= 0 and state != _TIME_ERROR


@dataclass(frozen=True)
class Jump:
    """The wall clock moved by `delta_ms` relative to the monotonic clock."""

    delta_ms: int
    at_ms: int  # new-clock time of detection
    was_trusted: bool


class AnchoredClock:
    """Gateway time: the wall clock at the anchor plus monotonic time since then."""

    def __init__(self, clock: Clock, jump_threshold_ms: int = 2000):
        self.clock = clock
        self.threshold = jump_threshold_ms
        self._offset = clock.wall_ms() - clock.mono_ms()
        self.trusted = clock.synced()

    def now_ms(self) -> int:
        return self.clock.mono_ms() + self._offset

    def check(self) -> Jump | None:
        """Re-anchor if the wall clock jumped; return the jump, or None."""
        offset = self.clock.wall_ms() - self.clock.mono_ms()
        delta = offset - self._offset
        trusted = self.clock.synced()
        if abs(delta) <= self.threshold:
            if trusted and not self.trusted:
                self.trusted = True
            return None
        jump = Jump(delta, self.clock.mono_ms() + offset, self.trusted)
        self._offset = offset
        self.trusted = trusted
        return jump


class ManualClock:
    """A clock for tests and simulations: both clocks move only when told."""

    def __init__(self, wall_ms: int, *, synced: bool = True):
        self._mono = 1_000_000
        self._offset = wall_ms - self._mono
        self._synced = synced

    def wall_ms(self) -> int:
        return self._mono + self._offset

    def mono_ms(self) -> int:
        return self._mono

    def synced(self) -> bool:
        return self._synced

    def advance(self, ms: int) -> None:
        self._mono += ms

    def step_wall(self, delta_ms: int, *, synced: bool = True) -> None:
        """The wall clock jumps (an NTP step), the monotonic clock does not."""
        self._offset += delta_ms
        self._synced = synced
