"""A node with a voltage channel on one end of a real pseudo-terminal cable, for `powergw calibrate`.

It stands in for the firmware's host node until that one measures voltage: it sends READING_BIDIR
every window from a true load (volts, watts, power factor) seen through a voltage gain error and a
phase error, and answers the voltage-channel CONFIG keys of the shared contract (`vcal_dv`,
`pcal=now`) with LOG + HELLO, refusing them as the firmware must.
"""

from __future__ import annotations

import math
import os
import select
import threading
from dataclasses import dataclass

from gateway.protocol import Config, FrameDecoder, Hello, Log, Reading, encode_wire

NODE = "a4:cf:12:34:56:78"


@dataclass
class Load:
    volts: float = 231.4
    watts: float = 1000.0
    pf: float = 1.0  # a heater


class VoltageNode(threading.Thread):
    """Windows every `window_s` on `path` (the node's end of a Cable); `applied` lists the CONFIG lines it took."""

    def __init__(self, path: str, load: Load, *, v_gain: float = 1.04, phase_deg: float = 4.0, window_s=0.1):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self.load, self.v_gain, self.phase_deg, self.window_s = load, v_gain, phase_deg, window_s
        self.boot, self.seq, self.energy_mwh = 0x5A5A, 0, 0
        self.applied: list[str] = []
        self.last: Reading | None = None
        self.stop = threading.Event()

    def reading(self) -> Reading:
        load = self.load
        volts = load.volts * self.v_gain
        phi = math.acos(max(-1.0, min(1.0, load.pf))) + math.radians(self.phase_deg)
        apparent = abs(load.watts) / load.pf if load.pf else 0.0
        amps = apparent / load.volts
        watts = volts * amps * math.cos(phi) * math.copysign(1, load.watts)
        pf = abs(math.cos(phi))
        self.seq += 1
        return Reading(
            NODE, self.boot, self.seq, self.seq * 100, 100, round(amps * 1000), round(volts * 10),
            round(watts * 10), self.energy_mwh, 0, 0, round(pf * 1000),
        )  # fmt: skip

    def send(self, frame) -> None:
        os.write(self.fd, encode_wire(frame))

    def answer(self, line: str) -> None:
        key, _, value = line.partition("=")
        last, level = self.last, 1
        if key == "vcal_dv":
            if last is None or last.vrms_dv < 500:
                text, level = f"rejected {line}: the voltage channel reads below 50 V", 2
            else:
                self.v_gain *= int(value) / last.vrms_dv
                text = f"applied {line}: voltage scale set"
        elif key == "pcal" and value == "now":
            if last is None or abs(last.power_dw) < 200:
                text, level = f"rejected {line}: below 20 W, switch a resistive load on", 2
            else:
                self.phase_deg = 0.0
                text = f"applied {line}: phase correction set"
        else:
            text, level = f"rejected {line}: unknown key", 2
        if level == 1:
            self.applied.append(line)
        self.seq += 1
        self.send(Log(NODE, self.boot, self.seq, level, text))
        self.seq += 1
        self.send(Hello(NODE, self.boot, self.seq, 1, 3, 30, 4000, 50, 660, "stand-in"))

    def run(self) -> None:
        decoder = FrameDecoder()
        while not self.stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], self.window_s)
            if ready:
                for frame in decoder.feed(os.read(self.fd, 4096)):
                    if isinstance(frame, Config) and frame.node_id == NODE:
                        self.answer(frame.line)
                continue
            self.last = self.reading()
            self.send(self.last)

    def close(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        self.join(2)
        os.close(self.fd)
