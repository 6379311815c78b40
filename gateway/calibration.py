"""Calibrating one node over its serial port: CONFIG frames out, the node's LOG, HELLO and readings back.

Current sensitivity against a known load (`--known-watts`), zero current, nominal voltage, and for a
node with a voltage channel (READING_BIDIR) the voltage scale against a known mains voltage
(`vcal_dv`) and the phase correction against a resistive load (`pcal=now`). Each correction is
checked on the readings that follow it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from . import PowerGwError

MV_PER_A_RANGE = (100, 5000)  # what a node accepts for mv_per_a_x10 (docs/firmware.md)
VNOM_DV_RANGE = (900, 2700)


def sensitivity_correction(mv_per_a_x10: int, reported_w: float, known_w: float) -> int:
    """The sensitivity that makes the node read `known_w`: current is the sensor's voltage divided
    by its sensitivity, so reported power scales as 1/sensitivity."""
    if known_w <= 0:
        raise PowerGwError(f"--known-watts {known_w:g}: expected a load above 0 W")
    if reported_w < 0.05 * known_w:
        raise PowerGwError(
            f"the node reads {reported_w:.1f} W under a known {known_w:g} W load: is the load switched on, "
            "and on the circuit through this node's sensor?"
        )
    new = round(mv_per_a_x10 * reported_w / known_w)
    lo, hi = MV_PER_A_RANGE
    if not lo <= new <= hi:
        raise PowerGwError(
            f"the correction gives mv_per_a_x10={new}, outside what a node accepts ({lo}..{hi}); "
            f"check --known-watts {known_w:g} and the sensor variant"
        )
    return new


@dataclass
class Answer:
    line: str
    level: int
    text: str
    hello: object  # the HELLO that followed


class NodeLink:
    """A node on a serial port, as the calibration sees it: frames in, CONFIG out."""

    def __init__(self, port, node_id: str, timeout_s: float, now: Callable[[], float] = time.monotonic):
        from . import protocol as p

        self.p = p
        self.port = port
        self.node_id = node_id
        self.timeout_s = timeout_s
        self.now = now
        self.decoder = p.FrameDecoder()
        self.pending: list = []
        self.others: set[str] = set()
        self.seq = 0
        self.hello = None

    def frames(self, deadline: float):
        """Frames from our node until `deadline`; raises a timeout PowerGwError after it."""
        while True:
            while self.pending:
                item = self.pending.pop(0)
                if isinstance(item, self.p.FrameError):
                    continue
                if item.node_id != self.node_id:
                    self.others.add(item.node_id)
                    continue
                if isinstance(item, self.p.Hello):
                    self.hello = item
                yield item
            if self.now() >= deadline:
                return
            data = self.port.read(max(1, min(self.port.in_waiting, 4096)))
            if data:
                self.pending.extend(self.decoder.feed(data))

    def _timeout(self, what: str) -> PowerGwError:
        seen = f"; frames seen from other nodes: {', '.join(sorted(self.others))}" if self.others else ""
        return PowerGwError(f"{self.port.port}: no {what} from node {self.node_id} within {self.timeout_s:g} s{seen}")

    def readings(self, n: int) -> list:
        deadline = self.now() + self.timeout_s + n * 2
        out = []
        for f in self.frames(deadline):
            if isinstance(f, self.p.Reading):
                out.append(f)
                if len(out) == n:
                    return out
        raise self._timeout(f"{n} readings (got {len(out)})")

    def send(self, line: str) -> Answer:
        """Send one CONFIG line; wait for the LOG that answers it and the HELLO after it."""
        self.port.write(self.p.encode_wire(self.p.Config(self.node_id, 0, self.seq, line)))
        self.port.flush()
        self.seq += 1
        last_log = None
        for f in self.frames(self.now() + self.timeout_s):
            if isinstance(f, self.p.Log):
                last_log = f
            elif isinstance(f, self.p.Hello) and last_log is not None:
                return Answer(line, last_log.level, last_log.text, f)
        raise self._timeout(f"answer (LOG and HELLO) to CONFIG '{line}'")


def _refused(answer: Answer) -> bool:
    return answer.level >= 2 or answer.text.startswith("rejected")


VCAL_DV_RANGE = (900, 2700)  # a known mains voltage the gateway accepts, 0.1 V
MIN_VOLTS_TO_SCALE = 50.0  # the node refuses vcal_dv below this (PROTOCOL: voltage channel keys)
MIN_WATTS_FOR_PCAL = 20.0  # and pcal=now below this
MAX_VOLTS_ERROR_PCT = 1.0  # a voltage scale that leaves the readings further off than this failed
MIN_PF_AFTER_PCAL = 0.990  # a resistive load reads at least this after the phase correction


def known_volts_dv(volts: float) -> int:
    """`--known-volts` in 0.1 V, or PowerGwError saying what is accepted."""
    dv = round(volts * 10) if math.isfinite(volts) else 0
    if not VCAL_DV_RANGE[0] <= dv <= VCAL_DV_RANGE[1]:
        raise PowerGwError(f"--known-volts {volts:g}: expected a mains voltage of 90 to 270 V")
    return dv


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


class Calibration:
    """One calibration run on an open port: the link to the node, its first reading, what was applied."""

    def __init__(self, link: NodeLink, windows: int, out: TextIO):
        self.link, self.windows, self.out = link, windows, out
        self.node_id = link.node_id
        self.result: dict = {"node": link.node_id}
        self.first = link.readings(1)[0]
        r = self.first
        volts = "measured" if r.voltage_measured else "nominal, not measured"
        self.say(
            f"node {self.node_id} is reading {r.power_dw / 10:.1f} W, {r.irms_ma / 1000:.3f} A at "
            f"{r.vrms_dv / 10:.1f} V ({volts})"
            + ("" if r.pf_milli is None else f", power factor {r.pf_milli / 1000:.3f}")
        )

    def say(self, text: str) -> None:
        print(f"powergw calibrate: {text}", file=self.out, flush=True)

    def apply(self, line: str) -> Answer:
        answer = self.link.send(line)
        if _refused(answer):
            raise PowerGwError(f"node {self.node_id} refused '{line}': {answer.text}")
        self.say(f"node says: {answer.text}")
        return answer

    def around(self, line: str) -> tuple[list, Answer, list]:
        """Readings before `line`, its answer, and readings after the window it landed in."""
        before = self.link.readings(self.windows)
        answer = self.apply(line)
        self.link.readings(1)  # the window the change landed in
        return before, answer, self.link.readings(self.windows)

    def vnom(self, volts: float) -> None:
        dv = round(volts * 10)
        if not VNOM_DV_RANGE[0] <= dv <= VNOM_DV_RANGE[1]:
            raise PowerGwError(f"--vnom {volts:g}: expected 90 to 270 V")
        self.apply(f"vnom_dv={dv}")
        self.result["vnom_dv"] = dv

    def zero(self) -> None:
        self.result["zero"] = self.apply("zero=now").text

    def known_volts(self, volts: float) -> None:
        """Scale the voltage channel so that the node reads `volts` (`vcal_dv`), then check the readings."""
        dv = known_volts_dv(volts)
        if not self.first.voltage_measured:
            raise PowerGwError(
                f"node {self.node_id} does not measure voltage (it assumes {self.first.vrms_dv / 10:.1f} V, "
                "flag bit 2): set the voltage it assumes with --vnom, or fit a voltage module (docs/firmware.md)"
            )
        before = self.link.readings(self.windows)
        reported = _mean(r.vrms_dv for r in before) / 10
        if reported < MIN_VOLTS_TO_SCALE:
            raise PowerGwError(
                f"node {self.node_id} reads {reported:.1f} V on its voltage channel: is the voltage module "
                "connected to the mains?"
            )
        self.say(f"averaged {reported:.1f} V over {len(before)} readings against a known {volts:g} V")
        self.apply(f"vcal_dv={dv}")
        self.link.readings(1)
        after = _mean(r.vrms_dv for r in self.link.readings(self.windows)) / 10
        error = (after - volts) / volts * 100
        self.say(f"now reading {after:.1f} V (known {volts:g} V, {error:+.2f} %)")
        self.result.update(vcal_dv=dv, volts_before=reported, volts_after=after, volts_error_pct_after=error)
        if abs(error) > MAX_VOLTS_ERROR_PCT:
            raise PowerGwError(
                f"node {self.node_id} applied vcal_dv={dv} but reads {after:.1f} V against a known {volts:g} V "
                f"({error:+.2f} %): is the mains voltage steady, and was {volts:g} V measured at this socket?"
            )

    def resistive_load(self) -> None:
        """Set the phase correction so that a resistive load reads power factor 1 (`pcal=now`), then check."""
        if self.first.pf_milli is None:
            raise PowerGwError(
                f"node {self.node_id} sends no power factor (READING, not READING_BIDIR): without a voltage "
                "channel there is no phase to correct"
            )
        watts = abs(_mean(r.power_dw for r in self.link.readings(self.windows)) / 10)
        if watts < MIN_WATTS_FOR_PCAL:
            raise PowerGwError(
                f"node {self.node_id} reads {watts:.1f} W: switch on a resistive load of at least "
                f"{MIN_WATTS_FOR_PCAL:g} W (a kettle, a heater, an incandescent lamp) on this circuit first"
            )
        before, _, after = self.around("pcal=now")
        pf_before = _mean(r.pf_milli for r in before) / 1000
        pf_after = _mean(r.pf_milli for r in after) / 1000
        self.say(f"power factor of the resistive load {pf_before:.3f} -> {pf_after:.3f}")
        self.result.update(pf_before=pf_before, pf_after=pf_after)
        if pf_after < MIN_PF_AFTER_PCAL:
            raise PowerGwError(
                f"node {self.node_id} applied pcal=now but a resistive load still reads power factor "
                f"{pf_after:.3f}: is the load purely resistive (no fan, motor or electronics) and steady?"
            )

    def known_watts(self, watts: float) -> None:
        """Correct the current sensitivity so that the node reads `watts` under a known load, then check."""
        link, timeout_s = self.link, self.link.timeout_s
        if link.hello is None:
            # HELLO carries the sensitivity and comes only every 60 s; restating the nominal
            # voltage the node already uses (READING carries it) makes the node send one now.
            if not self.first.voltage_measured:
                self.apply(f"vnom_dv={self.first.vrms_dv}")
            else:
                for _ in link.frames(link.now() + max(timeout_s, 65)):
                    if link.hello is not None:
                        break
        if link.hello is None:
            raise link._timeout("HELLO (it carries the sensor sensitivity)")
        old = link.hello.mv_per_a_x10
        before = link.readings(self.windows)
        reported_w = _mean(r.power_dw for r in before) / 10
        new = sensitivity_correction(old, reported_w, watts)
        self.say(
            f"averaged {reported_w:.1f} W over {len(before)} readings against a known {watts:g} W: "
            f"sensitivity {old / 10:.1f} -> {new / 10:.1f} mV/A"
        )
        answer = self.apply(f"mv_per_a_x10={new}")
        if answer.hello.mv_per_a_x10 != new:
            raise PowerGwError(
                f"node {self.node_id} answered '{answer.text}' but its HELLO says mv_per_a_x10="
                f"{answer.hello.mv_per_a_x10}, not {new}"
            )
        link.readings(1)  # the window the change landed in
        now_w = _mean(r.power_dw for r in link.readings(self.windows)) / 10
        error = (now_w - watts) / watts * 100
        self.say(
            f"now reading {now_w:.1f} W (known {watts:g} W, {error:+.2f} %); "
            f"correction {(new - old) / old * 100:+.2f} % (mv_per_a_x10 {old} -> {new})"
        )
        self.result.update(
            mv_per_a_x10_before=old,
            mv_per_a_x10=new,
            reported_w_before=reported_w,
            reported_w_after=now_w,
            error_pct_after=error,
        )


def calibrate(
    port,
    node_id: str,
    *,
    known_watts: float | None = None,
    zero: bool = False,
    vnom: float | None = None,
    known_volts: float | None = None,
    resistive_load: bool = False,
    windows: int = 5,
    timeout_s: float = 15.0,
    out: TextIO = sys.stdout,
    now: Callable[[], float] = time.monotonic,
) -> dict:
    """Run the calibration on an open port, in the order that keeps each step valid (nominal voltage, zero,
    voltage scale, phase, then current under the known load); returns what was applied. PowerGwError on
    any failure."""
    run = Calibration(NodeLink(port, node_id, timeout_s, now), windows, out)
    if vnom is not None:
        run.vnom(vnom)
    if zero:
        run.zero()
    if known_volts is not None:
        run.known_volts(known_volts)
    if resistive_load:
        run.resistive_load()
    if known_watts is not None:
        run.known_watts(known_watts)
    return run.result
