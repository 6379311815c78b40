"""One ESP32 read out over USB serial (its base MAC) and over BLE (that + 2) into a real Ingest, on a
household day of 10 July 2025 in a cycle from 5 July."""

from __future__ import annotations

import datetime as dt

from gateway.config import parse_config
from gateway.protocol import Reading
from tests.support.ingest import make_ingest

NODE = "a4:cf:12:34:56:78"  # the serial node id: the ESP32's base MAC
TWIN = "a4:cf:12:34:56:7a"  # the BLE address the same ESP32 advertises from
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.date(2025, 7, 10)  # day 6 of the cycle from the meter-reading date, 5 July
STEP_MS = 10_000  # a reading every 10 s over serial; BLE every third step (firmware: every 5 windows)


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = DAY) -> int:
    return int(dt.datetime.combine(day, dt.time(hour, minute, second), IST).timestamp() * 1000)


def config(**billing):
    return parse_config({"billing": {"meter_reading_date": "2025-07-05", "holiday_state": ""} | billing})


def watts(ts_ms: int) -> int:
    """A household day: 250 W always on, a geyser morning, lunch cooking, an evening."""
    hour = dt.datetime.fromtimestamp(ts_ms / 1000, IST).hour + dt.datetime.fromtimestamp(ts_ms / 1000, IST).minute / 60
    return 250 + 2000 * (7 <= hour < 8) + 1200 * (13 <= hour < 14.5) + 600 * (19 <= hour < 22)


class Esp32:
    """One node's true cumulative counter (integer mWh), read out over serial and over BLE the way
    the firmware sends them (BLE in whole Wh: BTHome's 0.001 kWh), into the real Ingest."""

    def __init__(self, db, start_ms: int):
        self.ingest, _ = make_ingest(db, wall_ms=start_ms)
        self.start_ms = self.t = start_ms
        self.wms = 0  # W·ms since boot; the counter is wms // 3600 mWh
        self.seq = {"serial": 0, "ble": 0}

    @property
    def counter_mwh(self) -> int:
        return self.wms // 3600

    def run(self, until_ms: int, serial=lambda t: True, ble=lambda t: True) -> None:
        while self.t <= until_ms:
            if serial(self.t):
                self._send(NODE, "serial", self.counter_mwh)
            if ble(self.t) and (self.t - self.start_ms) // STEP_MS % 3 == 0:
                self._send(TWIN, "ble", self.counter_mwh // 1000 * 1000)
            self.wms += watts(self.t) * STEP_MS
            self.t += STEP_MS

    def _send(self, node_id: str, transport: str, energy_mwh: int) -> None:
        seq = self.seq[transport] = self.seq[transport] + 1
        r = Reading(node_id, 1, seq, self.t - self.start_ms + 5000, 1000, 1000, 2300, watts(self.t) * 10, energy_mwh, 0)
        assert self.ingest.on_reading(r, self.t, transport) is not None

    def counter_at(self, ts_ms: int) -> int:
        """The counter the node showed at ts_ms (replayed: the profile is deterministic)."""
        wms, t = 0, self.start_ms
        while t < ts_ms:
            wms += watts(t) * STEP_MS
            t += STEP_MS
        return wms // 3600
