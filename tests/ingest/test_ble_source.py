"""BLE source: real BTHome v2 advertisement bytes (plain, AES-CCM encrypted, wrong key, truncated)
through bleak's own BLEDevice / AdvertisementData types into the real source callback, the real
Ingest and a temp-file SQLite store. The radio is the only fake; a hardware test scans for real."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import threading
import time
import tty
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from gateway.config import ConfigError, parse_config
from gateway.energy import MAX_MWH_PER_MS
from gateway.protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Reading, encode_wire
from gateway.sources import ble_source as ble
from gateway.sources.ble_source import BTHOME_UUID, AdvertError, BleSource, BleTracker, decode_advert, resume_from
from tests.support.ingest import T0, make_ingest

ROOT = Path(__file__).resolve().parents[2]
MAC = "A4:CF:12:34:56:7A"
NODE = MAC.lower()
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
# PROTOCOL.md's example: packet 7, 980.50 W, 4.350 A, 230.0 V, 123.456 kWh.
EXAMPLE = bytes.fromhex("40 00 07 0b 02 7f 01 43 fe 10 4a fc 08 4d 40 e2 01 00")


def objects(packet_id: int, power_cw: int, current_ma: int, voltage_dv: int, energy_wh: int) -> bytes:
    """The five BTHome objects in PROTOCOL.md's order."""
    return (
        bytes([0x00, packet_id, 0x0B])
        + power_cw.to_bytes(3, "little")
        + b"\x43"
        + current_ma.to_bytes(2, "little")
        + b"\x4a"
        + voltage_dv.to_bytes(2, "little")
        + b"\x4d"
        + energy_wh.to_bytes(4, "little")
    )


def plain(*values: int) -> bytes:
    return b"\x40" + objects(*values)


def encrypted(objs: bytes, counter: int, key: bytes = KEY, mac: str = MAC) -> bytes:
    """BTHome v2 encryption: nonce = MAC(6) + UUID16 LE + device-info byte + counter(4); 4-byte MIC."""
    info = 0x41
    nonce = bytes.fromhex(mac.replace(":", "")) + b"\xd2\xfc" + bytes([info]) + counter.to_bytes(4, "little")
    sealed = AESCCM(key, tag_length=4).encrypt(nonce, objs, None)
    return bytes([info]) + sealed[:-4] + counter.to_bytes(4, "little") + sealed[-4:]


def advert(service_data: bytes, mac: str = MAC, rssi: int = -60) -> tuple[BLEDevice, AdvertisementData]:
    """What bleak's BlueZ backend hands the detection callback for one BTHome advertisement."""
    device = BLEDevice(mac, None, {"path": f"/org/bluez/hci0/dev_{mac.replace(':', '_')}"})
    data = AdvertisementData(None, {}, {BTHOME_UUID: service_data}, [BTHOME_UUID], None, rssi, ())
    return device, data


def rejected(source: BleSource, node: str = NODE) -> dict[str, int]:
    return source.rejected().get(node, {})


# ---- decoding ----------------------------------------------------------------------------


def test_protocol_example_decodes_to_its_values():
    got = decode_advert(*advert(EXAMPLE), None)
    assert got == ble.Advert(
        packet_id=7, power_dw=9805, irms_ma=4350, vrms_dv=2300, energy_mwh=123_456_000, counter=None
    )
    assert plain(7, 98050, 4350, 2300, 123456) == EXAMPLE


def signed_objects(packet_id: int, power_cw: int, current_ma: int, voltage_dv: int, energy_wh: int) -> bytes:
    """A voltage-channel node's objects: signed power (0x5C, s32, 0.01 W) last, in object-id order."""
    return (
        bytes([0x00, packet_id, 0x43])
        + current_ma.to_bytes(2, "little")
        + b"\x4a"
        + voltage_dv.to_bytes(2, "little")
        + b"\x4d"
        + energy_wh.to_bytes(4, "little")
        + b"\x5c"
        + power_cw.to_bytes(4, "little", signed=True)
    )


def test_signed_power_decodes_to_export(caplog):
    got = decode_advert(*advert(b"\x40" + signed_objects(9, -151_234, 6580, 2391, 2_000)), None)
    assert got == ble.Advert(
        packet_id=9, power_dw=-15123, irms_ma=6580, vrms_dv=2391, energy_mwh=2_000_000, counter=None
    )
    sd = encrypted(signed_objects(10, 98_050, 4350, 2300, 2_001), counter=77)
    assert decode_advert(*advert(sd), KEY).power_dw == 9805
    assert "numerical order" not in caplog.text  # bthome-ble warns about objects out of id order


def test_exporting_ble_node_imports_nothing_and_never_feeds_voltage_quality(tmp_path):
    rig = Rig(tmp_path)
    for k in range(4):  # exporting 1.5 kW: the import counter stands still
        r = rig.hear(b"\x40" + signed_objects(k, -150_000, 6520, 2412, 7_000), after_ms=10_000 if k else 5000)
    assert r.power_dw == -15000 and r.flags & FLAG_NOMINAL_VOLTAGE
    assert rig.stored() == 0
    node = rig.node()
    assert node["last_power_dw"] == -15000 and node["export_total_mwh"] == 0 and node["last_pf_milli"] is None
    start = rig.ingest.store.usage(0, 2**42, "minute", NODE)
    assert start == []
    stats = rig.ingest.store.minute_stats([NODE], 0, 2**42)
    assert stats == []  # no energy, and BLE does not say whether its voltage was measured


def test_encrypted_advert_decodes_with_its_key_only():
    sd = encrypted(EXAMPLE[1:], counter=0x00112233)
    got = decode_advert(*advert(sd), KEY)
    assert (got.packet_id, got.power_dw, got.irms_ma, got.vrms_dv, got.energy_mwh) == (7, 9805, 4350, 2300, 123_456_000)
    assert got.counter == 0x00112233
    cases = {
        "wrong key": (sd, bytes(16), ble.REJECT_DECRYPT),
        "no key": (sd, None, ble.REJECT_NO_KEY),
        "other node's MAC in the nonce": (encrypted(EXAMPLE[1:], 1, mac="A4:CF:12:34:56:7B"), KEY, ble.REJECT_DECRYPT),
        "encrypted, cut short": (sd[:-3], KEY, ble.REJECT_DECRYPT),
        "one bit flipped": (sd[:5] + bytes([sd[5] ^ 1]) + sd[6:], KEY, ble.REJECT_DECRYPT),
        "plain from a node with a key": (EXAMPLE, KEY, ble.REJECT_UNENCRYPTED),
    }
    for name, (data, key, reason) in cases.items():
        with pytest.raises(AdvertError) as info:
            decode_advert(*advert(data), key)
        assert info.value.reason == reason, name
        assert info.value.address == NODE


@pytest.mark.parametrize("cut", [1, 2, 3, 9, 12, 15, 17])
def test_truncated_plain_advert_is_incomplete(cut):
    with pytest.raises(AdvertError) as info:
        decode_advert(*advert(EXAMPLE[:cut]), None)
    assert info.value.reason == ble.REJECT_INCOMPLETE
    assert info.value.raw == EXAMPLE[:cut]


def test_other_bthome_devices_are_not_meters():
    thermometer = bytes.fromhex("40 00 01 02 ca 09 03 bf 13")  # temperature and humidity
    with pytest.raises(AdvertError) as info:
        decode_advert(*advert(thermometer), None)
    assert info.value.reason == ble.REJECT_NOT_METER
    with pytest.raises(AdvertError) as info:
        decode_advert(*advert(bytes([0x20]) + EXAMPLE[1:]), None)  # version bits say 1
    assert info.value.reason == ble.REJECT_NOT_BTHOME


def test_section_validates_bind_keys():
    section = parse_config({"ble": {"enabled": True, "bindkeys": {MAC: KEY.hex()}}}).ble
    assert section.keys() == {NODE: KEY}
    with pytest.raises(ConfigError, match="not 32 hex digits"):
        parse_config({"ble": {"bindkeys": {MAC: "abcd"}}})
    with pytest.raises(ConfigError, match="not a BLE address"):
        parse_config({"ble": {"bindkeys": {"kitchen": KEY.hex()}}})


# ---- source + ingest + store -------------------------------------------------------------


class Rig:
    """The real source callback feeding the real Ingest (synchronously: the test is the ingest thread)."""

    def __init__(self, tmp_path: Path, name: str = "g.db", **kw):
        self.ingest, self.clock = make_ingest(tmp_path / name)
        kw.setdefault("resume", resume_from(self.ingest.states))
        self.source = BleSource(lambda fn: fn(self.ingest), self.ingest.clock.now_ms, **kw)

    def hear(self, sd: bytes, mac: str = MAC, after_ms: int = 5000) -> Reading | None:
        self.clock.advance(after_ms)
        return self.source.on_advertisement(*advert(sd, mac))

    def stored(self, node: str = NODE) -> int:
        self.ingest.flush()
        return self.ingest.store.total_energy_mwh(node)

    def node(self, node: str = NODE) -> dict:
        self.ingest.flush()
        return next(n for n in self.ingest.store.nodes() if n["node_id"] == node)


def test_plain_adverts_are_accounted_exactly_and_duplicates_dropped(tmp_path):
    rig = Rig(tmp_path)
    first = rig.hear(plain(0, 100000, 4348, 2300, 50_000))
    assert first.node_id == NODE and first.energy_mwh == 50_000_000 and first.power_dw == 10000
    assert rig.hear(plain(0, 100000, 4348, 2300, 50_000), after_ms=300) is None  # same bytes again
    rig.hear(plain(1, 100000, 4348, 2300, 50_001))
    # the same packet id heard through a different path (RSSI differs, bytes equal)
    assert rig.source.on_advertisement(*advert(plain(1, 100000, 4348, 2300, 50_001), rssi=-90)) is None
    r = rig.hear(plain(4, 100000, 4348, 2300, 50_004), after_ms=15_000)  # packets 2, 3 missed
    assert r.seq == 4 and r.uptime_ms == 20_300 and r.window_ms == 15_000
    assert rig.stored() == 4_000  # 50000 Wh -> 50004 Wh; the baseline counts nothing
    node = rig.node()
    assert node["transport"] == "ble"
    assert node["frames_lost"] == 2
    assert node["reboots"] == 0
    assert rejected(rig.source) == {ble.SKIP_DUPLICATE: 2}


def test_encrypted_adverts_wrong_key_and_garbage_never_stop_the_source(tmp_path, caplog):
    rig = Rig(tmp_path, bindkeys={MAC: KEY})
    caplog.set_level(logging.INFO, logger="gateway.sources.ble_source")
    good = [encrypted(objects(k, 230000, 10000, 2300, 1000 + k), counter=500 + k) for k in range(6)]
    rig.hear(good[0])
    rig.hear(good[1])
    for k in range(3):
        rig.hear(encrypted(objects(2, 230000, 10000, 2300, 9999), counter=700 + k, key=bytes(16)))  # a wrong key
    rig.hear(EXAMPLE)  # someone's plain advert under this address: a node with a key is never trusted plain
    rig.hear(good[2][:-5])  # truncated
    rig.hear(good[0])  # replayed later: its counter is behind
    rig.hear(b"")  # empty service data
    rig.hear(good[2])
    rig.hear(encrypted(objects(3, 230000, 10000, 2300, 1003), counter=502))  # new packet, reused counter
    rig.hear(good[3])
    assert rig.stored() == 3_000  # 1000 Wh -> 1003 Wh
    counts = rejected(rig.source)
    assert counts[ble.REJECT_DECRYPT] == 4 and counts[ble.REJECT_UNENCRYPTED] == 1
    assert counts[ble.REJECT_REPLAYED] == 2 and counts[ble.REJECT_NOT_BTHOME] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == ble.__name__]
    assert sum(ble.REJECT_DECRYPT in m for m in warnings) == 1  # logged once, counted every time
    assert sum(ble.REJECT_UNENCRYPTED in m for m in warnings) == 1
    assert all(NODE in m for m in warnings)


def test_restart_from_zero_counts_energy_since_boot(tmp_path):
    rig = Rig(tmp_path)
    rig.hear(plain(10, 50000, 2174, 2300, 2_000))
    rig.hear(plain(11, 50000, 2174, 2300, 2_007))
    r = rig.hear(plain(0, 50000, 2174, 2300, 3), after_ms=20_000)  # rebooted without a saved counter
    assert r.boot_id == 2 and r.seq == 0 and not r.flags & FLAG_RESTORED
    r = rig.hear(plain(1, 50000, 2174, 2300, 10))
    assert (r.boot_id, r.seq) == (2, 1)
    assert rig.stored() == 7_000 + 3_000 + 7_000
    assert rig.node()["reboots"] == 1


def test_restart_with_a_restored_counter_is_a_new_baseline(tmp_path):
    rig = Rig(tmp_path)
    rig.hear(plain(40, 300000, 13043, 2300, 20_000))
    rig.hear(plain(41, 300000, 13043, 2300, 20_004))
    # restored from flash a few Wh behind the last value heard: never counted as new energy
    r = rig.hear(plain(0, 300000, 13043, 2300, 19_990), after_ms=60_000)
    assert r.flags & FLAG_RESTORED and r.boot_id == 2
    rig.hear(plain(1, 300000, 13043, 2300, 19_994))
    assert rig.stored() == 4_000 + 4_000
    # a counter of 1 Wh heard 1 ms after 2 kWh cannot be "since boot": 100 kW can't deliver it
    tracker = BleTracker()
    tracker.accept(NODE, ble.Advert(1, 0, 0, 2300, 2_000_000, None), T0)
    r = tracker.accept(NODE, ble.Advert(2, 0, 0, 2300, 40_000, None), T0 + 1)
    assert r.flags & FLAG_RESTORED and 40_000 > 1001 * MAX_MWH_PER_MS


def test_many_nodes_interleaved(tmp_path):
    rig = Rig(tmp_path)
    macs = [f"A4:CF:12:00:00:{k:02X}" for k in range(12)]
    for step in range(20):
        for k, mac in enumerate(macs):
            rig.hear(plain(step, 1000 * k, 0, 2300, 1000 * k + step * (k + 1)), mac=mac, after_ms=400)
    for k, mac in enumerate(macs):
        assert rig.stored(mac.lower()) == 19 * (k + 1) * 1000
    assert rig.source.stats.readings == 240


def test_gone_nodes_are_logged_once_and_welcomed_back(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="gateway.sources.ble_source")
    rig = Rig(tmp_path, gone_minutes=2)
    rig.hear(plain(0, 0, 0, 2300, 5), mac="A4:CF:12:00:00:01")
    rig.hear(plain(0, 0, 0, 2300, 5), mac="A4:CF:12:00:00:02")
    rig.clock.advance(119_000)
    rig.hear(plain(1, 0, 0, 2300, 5), mac="A4:CF:12:00:00:02", after_ms=0)
    rig.clock.advance(2_000)
    rig.source.sweep()
    rig.clock.advance(60_000)
    rig.source.sweep()
    gone = [r.getMessage() for r in caplog.records if "gone" in r.getMessage()]
    assert gone == ["BLE node a4:cf:12:00:00:01 gone: no advertisement for 2 min"]
    rig.hear(plain(1, 0, 0, 2300, 6), mac="A4:CF:12:00:00:01")
    assert any("a4:cf:12:00:00:01 is back" in r.getMessage() for r in caplog.records)
    assert rig.stored("a4:cf:12:00:00:01") == 1000


def test_gateway_restart_is_not_a_node_restart(tmp_path):
    rig = Rig(tmp_path)
    rig.hear(plain(0, 20000, 870, 2300, 700))
    rig.hear(plain(1, 20000, 870, 2300, 701))
    assert rig.stored() == 1000
    rig.ingest.store.close()
    again = Rig(tmp_path)  # same database, a new process: the tracker resumes ingest's accounts
    again.clock.advance(600_000)
    r = again.hear(plain(9, 20000, 870, 2300, 705))
    assert r.boot_id == 1 and r.seq == 2
    assert again.stored() == 5000
    assert again.node()["reboots"] == 0


# ---- the thread, the scanner, a missing adapter ------------------------------------------------


class ReplayScanner:
    """Stands in for BleakScanner (no radio here): start() plays recorded adverts into the callback."""

    def __init__(self, callback, adverts, *, passive: bool):
        self.callback, self.adverts, self.passive = callback, adverts, passive
        self.stopped = False

    async def start(self) -> None:
        for sd in self.adverts:
            self.callback(*advert(sd))
            await asyncio.sleep(0)

    async def stop(self) -> None:
        self.stopped = True


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_passive_unsupported_falls_back_to_active_and_submits_on_the_ingest_thread(tmp_path):
    from gateway.config import Config
    from gateway.daemon import build_gateway

    adverts = [plain(k, 5000, 217, 2300, 100 + k) for k in range(5)]
    made = []

    def factory(callback, *, passive, adapter):
        if passive:
            raise BleakError("passive scanning mode requires bluez or_patterns / org.bluez.Error.NotSupported")
        made.append(ReplayScanner(callback, adverts, passive=passive))
        return made[-1]

    config = Config({}).replace("gateway", db=str(tmp_path / "g.db"), commit_interval_s=0.2)
    gw = build_gateway(config, serial_ports=[], runtime_dir=tmp_path / "run", jobs=())
    threads = []
    submit = gw.submit
    gw_submit = lambda fn: submit(lambda ingest: (threads.append(threading.current_thread().name), fn(ingest)))  # noqa: E731
    source = BleSource(gw_submit, gw.clock.now_ms, scanner_factory=factory, sweep_s=0.05)
    gw.sources.append(source)
    gw.start()
    try:
        wait_for(lambda: len(threads) == 5)
        assert source.stats.mode == "active"
    finally:
        gw.stop()
    assert set(threads) == {"ingest"} and made[0].stopped
    assert gw.ingest.store.total_energy_mwh(NODE) == 4000


def test_no_adapter_is_logged_and_serial_keeps_running(tmp_path, caplog):
    """The real BleakScanner on this machine (no Bluetooth, no D-Bus) and a scanner raising BleakError."""
    from gateway.config import parse_config
    from gateway.daemon import build_gateway
    from gateway.sources.serial_source import SerialSource

    caplog.set_level(logging.INFO)
    master, slave = os.openpty()
    tty.setraw(slave)
    config = parse_config(
        {
            "gateway": {"db": str(tmp_path / "g.db"), "commit_interval_s": 0.2},
            "ble": {"enabled": True, "adapter": "hci7"},
        }
    )
    gw = build_gateway(config, serial_ports=[os.ttyname(slave)], runtime_dir=tmp_path / "run", jobs=())
    real = next(s for s in gw.sources if isinstance(s, BleSource))

    def no_adapter(callback, *, passive, adapter):
        raise BleakError(f"adapter {adapter} not found")

    broken = BleSource(gw.submit, gw.clock.now_ms, adapter="hci9", scanner_factory=no_adapter)
    gw.sources.append(broken)
    serial = next(s for s in gw.sources if isinstance(s, SerialSource))
    gw.start()
    try:
        wait_for(lambda: serial.connected.is_set() and real.stats.scanner_failures and broken.stats.scanner_failures)
        node = "a4:cf:12:34:56:78"
        for seq in range(5):
            os.write(
                master, encode_wire(Reading(node, 3, seq, 1000 * (seq + 1), 1000, 4350, 2300, 10000, 1000 + 2 * seq, 0))
            )
        wait_for(lambda: gw.ingest.states.get(node) is not None and gw.ingest.states[node].frames_ok == 5)
    finally:
        gw.stop()
        os.close(master)
        os.close(slave)
    assert gw.ingest.store.total_energy_mwh(node) == 8
    errors = [
        r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "BLE: cannot scan" in r.getMessage()
    ]
    assert len(errors) == 2  # once per source, not once per retry
    assert any("hci7" in m for m in errors) and any("hci9" in m and "BleakError" in m for m in errors)
    assert "Serial nodes keep running" in errors[0]
    assert not real._thread.is_alive() and not broken._thread.is_alive()


# ---- the firmware's own adverts ----------------------------------------------------------------


@pytest.mark.parametrize("bindkey", [None, KEY.hex()])
def test_host_node_adverts_through_the_source(tmp_path, host_node, bindkey):
    """BTHome adverts written by the firmware's C core (powernode-host --ble-out), plain and encrypted."""
    out = tmp_path / "ble.jsonl"
    args = [
        str(ROOT / "firmware/host/powernode-host"),
        "--watts",
        "2300",
        "--windows",
        "200",
        "--ble-every",
        "5",
        "--ble-out",
        str(out),
        "--seed",
        "3",
        "--out",
        str(tmp_path / "frames.bin"),
    ]
    if bindkey:
        args += ["--bind-key", bindkey]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 40
    rig = Rig(tmp_path, bindkeys={lines[0]["mac"]: bytes.fromhex(bindkey)} if bindkey else {})
    readings = []
    for k, line in enumerate(lines):
        sd = bytes.fromhex(line["service_data"])
        readings.append(rig.hear(sd, mac=line["mac"]))
        if k % 7 == 0:
            assert rig.hear(sd, mac=line["mac"], after_ms=500) is None  # the same advert heard again
    node = lines[0]["mac"].lower()
    assert all(readings) and [r.seq for r in readings] == list(range(40))
    energies = [r.energy_mwh for r in readings]
    assert rig.stored(node) == energies[-1] - energies[0]
    # the advert carries whole Wh of the node's own counter
    counter = int(run.stderr.split("energy_mwh=")[1].split()[0])
    assert energies[-1] == counter // 1000 * 1000
    assert rig.node(node)["frames_lost"] == 0 and rig.source.stats.rejected[(node, ble.SKIP_DUPLICATE)] == 6


@pytest.mark.parametrize("bindkey", [None, KEY.hex()])
def test_voltage_node_adverts_signed_power_through_the_source(tmp_path, host_node, bindkey):
    """The firmware's voltage node advertises signed power (0x5C): exporting, its adverts read negative
    watts and an import counter that stands still; the gateway stores no energy and no voltage minutes."""
    out = tmp_path / "ble.jsonl"
    args = [str(ROOT / "firmware/host/powernode-host"), "--voltage-channel", "--watts", "-1500", "--windows", "50"]
    args += ["--ble-every", "5", "--ble-out", str(out), "--seed", "3", "--out", str(tmp_path / "frames.bin")]
    if bindkey:
        args += ["--bind-key", bindkey]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    if not bindkey:
        assert all("5c" in line["service_data"][-10:-8] for line in lines)  # signed power, last
    rig = Rig(tmp_path, bindkeys={lines[0]["mac"]: bytes.fromhex(bindkey)} if bindkey else {})
    readings = [rig.hear(bytes.fromhex(line["service_data"]), mac=line["mac"]) for line in lines]
    assert len(readings) == 10 and all(readings)
    assert all(-15_300 <= r.power_dw <= -14_700 for r in readings), [r.power_dw for r in readings]
    assert all(r.flags & FLAG_NOMINAL_VOLTAGE and 2250 <= r.vrms_dv <= 2350 for r in readings)
    node = lines[0]["mac"].lower()
    assert rig.stored(node) == 0 and rig.node(node)["export_total_mwh"] == 0  # BTHome carries no export
    assert rig.ingest.store.minute_stats([node], 0, 2**45) == []


@pytest.mark.hardware
def test_real_scan_hears_bthome_adverts(tmp_path):
    """Needs a Bluetooth adapter and a powered BTHome node nearby: pytest --hardware."""
    got = []
    source = BleSource(got.append, lambda: time.monotonic_ns() // 1_000_000)
    source.start()
    try:
        wait_for(lambda: source.running.is_set(), timeout=15)
        wait_for(lambda: source.stats.adverts > 0, timeout=30)
    finally:
        source.stop()
    assert source.stats.mode in ("passive", "active")
