"""Virtual nodes that speak wire protocol v1: a household load model (or a CSV) in, frames out.

A `VirtualNode` integrates power into a cumulative mWh counter exactly as the firmware does
(sub-mWh remainder carried), numbers every frame with `seq`, sends HELLO at boot and every
60 s, and can lose frames, flip bits and reboot (with or without a restored counter) on
purpose. Its bytes go through the real decoder like any port's. With `voltage_channel` it is a
node with a voltage module: it measures a mains voltage that wanders around nominal, counts
negative power (export) in a second counter and sends READING_BIDIR with its power factor.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import PowerGwError
from ..protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Hello, Log, Reading, encode_wire

PowerFn = Callable[[dt.datetime, int, float], np.ndarray]


class SimulationError(PowerGwError):
    """Bad simulator input (a CSV that cannot be replayed, an unknown preset)."""


@dataclass
class Faults:
    """Deliberate trouble: probabilities per frame, and reboots every N windows."""

    loss: float = 0.0
    bit_errors: float = 0.0
    reboot_every: int = 0
    restore_on_reboot: bool = True


@dataclass
class VirtualNode:
    node_id: str
    power: PowerFn
    name: str = "sim"
    vnom_dv: int = 2300
    window_ms: int = 1000
    seed: int = 0
    faults: Faults = field(default_factory=Faults)
    fw: tuple[int, int] = (1, 0)
    voltage_channel: bool = False
    pf_milli: int = 950  # the load's power factor, sent by a node with a voltage channel

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.boot_id = self._rng.randrange(1 << 16)
        self.seq = 0
        self.uptime_ms = 0
        self.energy_mwh = 0
        self.export_mwh = 0
        self._remainder = 0  # energy below 1 mWh (in 0.1 W·ms) carried to the next window
        self._export_remainder = 0
        self.flash_mwh = 0
        self.flash_export_mwh = 0
        self.windows = 0
        self.sent = 0
        self.dropped = 0
        self._restored_flag = False
        self._pending_hello = True

    def _next_seq(self) -> int:
        s = self.seq
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return s

    def hello(self) -> Hello:
        return Hello(self.node_id, self.boot_id, self._next_seq(), self.fw[0], self.fw[1], 30, 4000, 50, 660, self.name)

    def reboot(self) -> None:
        self.boot_id = (self.boot_id + 1 + self._rng.randrange(0xFFFE)) & 0xFFFF
        self.seq = 0
        self.uptime_ms = 0
        if self.faults.restore_on_reboot:
            self.energy_mwh, self.export_mwh = self.flash_mwh, self.flash_export_mwh
            self._restored_flag = True
        else:
            self.energy_mwh = self.export_mwh = 0
            self._restored_flag = False
        self._remainder = self._export_remainder = 0
        self._pending_hello = True

    def frames(self, start_utc: dt.datetime, windows: int) -> Iterator[tuple[dt.datetime, list]]:
        """For each window: its end time and the frames sent then (READING, maybe HELLO first)."""
        step = self.window_ms / 1000
        watts = self.power(start_utc, windows, step)
        for i in range(windows):
            end = start_utc + dt.timedelta(seconds=step * (i + 1))
            out: list = []
            if self.faults.reboot_every and self.windows and self.windows % self.faults.reboot_every == 0:
                self.reboot()
            if self._pending_hello or self.windows % max(1, int(60_000 / self.window_ms)) == 0:
                out.append(self.hello())
                self._pending_hello = False
            p = float(watts[i])
            self.uptime_ms = (self.uptime_ms + self.window_ms) & 0xFFFFFFFF
            out.append(self._reading(p))
            self.windows += 1
            if self.windows % 600 == 0:  # the firmware saves to NVS every 10 minutes
                self.flash_mwh, self.flash_export_mwh = self.energy_mwh, self.export_mwh
            yield end, out

    def _reading(self, p: float) -> Reading:
        """The window's READING (or READING_BIDIR) at `p` W, its energy added to the counters."""
        power_dw = int(round(p * 10))
        if power_dw > 0:
            # 0.1 W * ms / 36000 = mWh; the integer remainder carries to the next window.
            self._remainder += power_dw * self.window_ms
            whole, self._remainder = divmod(self._remainder, 36_000)
            self.energy_mwh += whole
        elif power_dw < 0 and self.voltage_channel:  # a current-only node cannot tell export from import
            self._export_remainder += -power_dw * self.window_ms
            whole, self._export_remainder = divmod(self._export_remainder, 36_000)
            self.export_mwh += whole
        restored = FLAG_RESTORED if self._restored_flag else 0
        head = (self.node_id, self.boot_id, self._next_seq(), self.uptime_ms, self.window_ms)
        if not self.voltage_channel:
            irms_ma = int(round(abs(p) / (self.vnom_dv / 10) * 1000))
            return Reading(*head, irms_ma, self.vnom_dv, power_dw, self.energy_mwh, FLAG_NOMINAL_VOLTAGE | restored)
        # the mains wanders a few volts around nominal over the hour, with a little noise
        vrms_dv = self.vnom_dv + round(60 * math.sin(self.windows * 2 * math.pi / 3600)) + self._rng.randint(-5, 5)
        irms_ma = int(round(abs(p) / (vrms_dv / 10) / (self.pf_milli / 1000) * 1000))
        return Reading(*head, irms_ma, vrms_dv, power_dw, self.energy_mwh, restored, self.export_mwh, self.pf_milli)

    def wire(self, frames: list) -> bytes:
        """Encode frames, applying loss and bit errors."""
        chunks = []
        for f in frames:
            if self.faults.loss and self._rng.random() < self.faults.loss:
                self.dropped += 1
                continue
            data = bytearray(encode_wire(f))
            if self.faults.bit_errors and self._rng.random() < self.faults.bit_errors:
                pos = self._rng.randrange(len(data) - 1)
                data[pos] ^= 1 << self._rng.randrange(8)
            self.sent += 1
            chunks.append(bytes(data))
        return b"".join(chunks)

    def log_frame(self, level: int, text: str) -> Log:
        return Log(self.node_id, self.boot_id, self._next_seq(), level, text)


def household_power(preset: str, seed: int, tz: str = "Asia/Kolkata") -> PowerFn:
    from ..simulation.household import PRESETS, Household

    if preset not in PRESETS:
        raise SimulationError(f"unknown household preset {preset!r}; expected one of {', '.join(sorted(PRESETS))}")
    house = Household(PRESETS[preset], seed=seed, tz=tz)
    return house.power_w


def csv_power(path: Path) -> tuple[PowerFn, dt.datetime, dt.datetime]:
    """Replay a CSV of `ts,power_w` (ISO 8601 or epoch seconds), holding each value until the next."""
    times, values = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"ts", "power_w"} <= set(reader.fieldnames):
                raise SimulationError(f"{path}: expected a header with columns ts,power_w; got {reader.fieldnames}")
            for lineno, row in enumerate(reader, start=2):
                try:
                    ts = _parse_ts(row["ts"])
                    watts = float(row["power_w"])
                except (ValueError, TypeError) as err:
                    raise SimulationError(f"{path}:{lineno}: bad row {row}: {err}") from None
                if times and ts <= times[-1]:
                    raise SimulationError(f"{path}:{lineno}: time {row['ts']} is not after the previous row")
                times.append(ts)
                values.append(watts)
    except OSError as err:
        raise SimulationError(f"cannot read {path}: {err}") from None
    if not times:
        raise SimulationError(f"{path}: no rows")
    t = np.array(times)
    v = np.array(values)

    def power(start_utc: dt.datetime, n: int, step_s: float) -> np.ndarray:
        at = start_utc.timestamp() + step_s * np.arange(n)
        idx = np.clip(np.searchsorted(t, at, side="right") - 1, 0, len(v) - 1)
        return v[idx]

    first = dt.datetime.fromtimestamp(times[0], dt.UTC)
    last = dt.datetime.fromtimestamp(times[-1], dt.UTC)
    return power, first, last


def _parse_ts(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return when.timestamp()


def node_id_for(index: int, seed: int) -> str:
    """Stable fake MAC addresses in Espressif's OUI range for simulated nodes."""
    rnd = random.Random(seed * 1000 + index)
    tail = [rnd.randrange(256) for _ in range(3)]
    return "24:6f:28:" + ":".join(f"{b:02x}" for b in tail)
