"""BLE nodes: BTHome v2 advertisements (bleak scanner, bthome-ble parser) -> Readings for ingest.

Three layers, like the serial side: `decode_advert` turns one advertisement into values or raises
`AdvertError`; `BleTracker` (pure, no radio, no clock of its own) turns a node's stream of values
into the gateway's accounting model (boot_id, seq, uptime, duplicates, restarts); `BleSource` is
the adapter that runs a bleak scanner on its own thread and hands each Reading to the ingest
thread through `submit`. docs/ble.md has the rules and why.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import PowerGwError
from ..backoff import Backoff
from ..energy import MAX_MWH_PER_MS
from ..protocol import FLAG_NOMINAL_VOLTAGE, FLAG_RESTORED, Reading
from .ble_settings import BleSection

log = logging.getLogger(__name__)

BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
BTHOME_UUID16_LE = b"\xd2\xfc"
U32 = 2**32

# Why an advertisement gave no reading; counters and logs use exactly these names.
SKIP_DUPLICATE = "duplicate"  # the same reading seen again (same bytes or same packet id and energy)
REJECT_NO_KEY = "encrypted_no_key"  # encrypted, and no bind key is configured for the node
REJECT_DECRYPT = "decrypt_failed"  # wrong bind key, or an encrypted advert cut short or corrupted
REJECT_UNENCRYPTED = "unencrypted"  # a plain advert from a node that has a bind key: never trusted
REJECT_REPLAYED = "replayed"  # encryption counter not above the last accepted one
REJECT_INCOMPLETE = "incomplete"  # truncated or malformed: some of power/current/voltage/energy missing
REJECT_NOT_METER = "not_a_meter"  # a BTHome device with no power or energy (a thermometer nearby)
REJECT_NOT_BTHOME = "not_bthome"  # no BTHome v2 service data, or a BTHome version this parser refuses
REJECTS_LOGGED_AS_WARNING = (REJECT_NO_KEY, REJECT_DECRYPT, REJECT_UNENCRYPTED, REJECT_REPLAYED, REJECT_INCOMPLETE)


class AdvertError(PowerGwError):
    """An advertisement that yields no reading; carries the reason, the node and the bytes."""

    def __init__(self, reason: str, address: str, raw: bytes = b"", detail: str = ""):
        self.reason = reason
        self.address = address
        self.raw = bytes(raw)
        self.detail = detail
        text = f"{reason}: {detail}" if detail else reason
        super().__init__(f"BLE node {address}: {text}" + (f" ({self.raw.hex()})" if self.raw else ""))


# ---- one advertisement ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Advert:
    """The values of one BTHome meter advertisement, in the gateway's integer units."""

    packet_id: int
    power_dw: int
    irms_ma: int
    vrms_dv: int
    energy_mwh: int
    counter: int | None  # AES-CCM counter of an encrypted advert


# BTHome object key (as bthome-ble names it) -> (Advert field, factor to the gateway's unit).
OBJECTS: dict[str, tuple[str, int]] = {
    "power": ("power_dw", 10),  # W -> 0.1 W
    "current": ("irms_ma", 1000),  # A -> mA
    "voltage": ("vrms_dv", 10),  # V -> 0.1 V
    "energy": ("energy_mwh", 1_000_000),  # kWh -> mWh (the advert carries whole Wh)
}


def service_data(adv: Any) -> bytes | None:
    """The BTHome v2 service data of a bleak AdvertisementData, or None."""
    return adv.service_data.get(BTHOME_UUID)


def decode_advert(device: Any, adv: Any, bindkey: bytes | None, now_s: float = 0.0) -> Advert:
    """Decode one advertisement (bleak's BLEDevice + AdvertisementData) with bthome-ble.

    A fresh parser per advertisement: bthome-ble's parser keeps the last values and returns them
    again when a later advertisement fails, so its state must not outlive one call; duplicates,
    restarts and replays are `BleTracker`'s job. Raises AdvertError.
    """
    from bthome_ble import BTHomeBluetoothDeviceData
    from bthome_ble.parser import EncryptionScheme
    from habluetooth import BluetoothServiceInfoBleak

    address = device.address.lower()
    raw = service_data(adv)
    if not raw:
        raise AdvertError(REJECT_NOT_BTHOME, address, b"", "no BTHome v2 service data")
    info = BluetoothServiceInfoBleak.from_device_and_advertisement_data(device, adv, "powergw", now_s, False)
    parser = BTHomeBluetoothDeviceData(bindkey=bindkey)
    try:
        update = parser.update(info)
    except Exception as err:  # noqa: BLE001 - a third-party parser must not take the scanner down
        raise AdvertError(REJECT_INCOMPLETE, address, raw, f"bthome-ble could not parse it: {err!r}") from err
    encrypted = parser.encryption_scheme == EncryptionScheme.BTHOME_BINDKEY
    if parser.downgrade_detected:
        raise AdvertError(
            REJECT_UNENCRYPTED, address, raw, "plain advertisement from a node that has a bind key; ignored"
        )
    if encrypted and not bindkey:
        raise AdvertError(REJECT_NO_KEY, address, raw, "encrypted; add its key to [ble] bindkeys")
    if encrypted and parser.decryption_failed:
        raise AdvertError(
            REJECT_DECRYPT, address, raw, "wrong bind key, or the advertisement was cut short or corrupted"
        )
    values = {key.key: value.native_value for key, value in update.entity_values.items()}
    values.pop("signal_strength", None)  # added from the RSSI, not from the payload
    if parser.bthome_version.value != 2:
        raise AdvertError(REJECT_NOT_BTHOME, address, raw, "not BTHome version 2")
    measured = set(values) - {"packet_id"}
    if not measured:
        raise AdvertError(REJECT_INCOMPLETE, address, raw, "no measurement could be read")
    if "energy" not in values and "power" not in values:
        raise AdvertError(REJECT_NOT_METER, address, raw, f"no power or energy, only {', '.join(sorted(measured))}")
    missing = [k for k in ("packet_id", *OBJECTS) if k not in values]
    if missing:
        raise AdvertError(REJECT_INCOMPLETE, address, raw, f"missing {', '.join(missing)}")
    fields = {name: round(values[key] * factor) for key, (name, factor) in OBJECTS.items()}
    counter = int.from_bytes(raw[-8:-4], "little") if encrypted else None
    return Advert(packet_id=int(values["packet_id"]), counter=counter, **fields)


# ---- a node's stream of adverts -> Readings ------------------------------------------------------


@dataclass(slots=True)
class NodeTrack:
    """What the tracker knows of one BLE node."""

    boot_id: int
    seq: int
    boot_start_ms: int  # gateway time the synthetic boot began: uptime = now - this
    flags: int
    packet_id: int | None = None
    energy_mwh: int | None = None
    counter: int | None = None
    last_ms: int | None = None  # last accepted advert
    heard_ms: int = 0  # last advert of any kind
    gone: bool = False
    boots: int = 0


@dataclass(frozen=True, slots=True)
class Resume:
    """An account ingest already holds for a node, so a gateway restart is not a node restart."""

    boot_id: int
    seq: int
    energy_mwh: int
    uptime_ms: int
    ts_ms: int


class BleTracker:
    """Turns each node's adverts into Readings that gateway/energy.py accounts like serial ones.

    Pure: values and gateway times (ms) in, Readings out. Per node: a repeated packet id with the
    same energy is the same reading seen again; seq advances by the packet-id step, so missed
    adverts show up as lost frames; uptime is gateway time since the synthetic boot began; an
    energy value that goes down is a restart and starts a new boot_id (see `_restart`).
    """

    def __init__(self, resume: dict[str, Resume] | None = None):
        self.nodes: dict[str, NodeTrack] = {}
        self._resume = dict(resume or {})

    def heard(self, address: str, now_ms: int) -> bool:
        """Note any advert from a node; True if it had been gone."""
        node = self.nodes.get(address)
        if node is None:
            return False
        node.heard_ms = now_ms
        was_gone, node.gone = node.gone, False
        return was_gone

    def accept(self, address: str, adv: Advert, now_ms: int) -> Reading:
        """The Reading for a new advert; raises AdvertError for a duplicate or a replay."""
        node = self.nodes.get(address) or self._first(address, now_ms)
        if node.energy_mwh is not None:
            if adv.counter is not None and node.counter is not None and adv.counter <= node.counter:
                raise AdvertError(REJECT_REPLAYED, address, b"", f"counter {adv.counter} after {node.counter}")
            if adv.packet_id == node.packet_id and adv.energy_mwh == node.energy_mwh:
                raise AdvertError(SKIP_DUPLICATE, address, b"", f"packet {adv.packet_id} again")
            if adv.energy_mwh < node.energy_mwh:
                self._restart(node, adv, now_ms)
            else:
                step = (adv.packet_id - node.packet_id) % 256 if node.packet_id is not None else 1
                node.seq += step or 256
        window_ms = 0 if node.last_ms is None else min(now_ms - node.last_ms, 0xFFFF)
        node.packet_id = adv.packet_id
        node.energy_mwh = adv.energy_mwh
        node.counter = adv.counter if adv.counter is not None else node.counter
        node.last_ms = node.heard_ms = now_ms
        node.gone = False
        return Reading(
            node_id=address,
            boot_id=node.boot_id,
            seq=node.seq,
            uptime_ms=(now_ms - node.boot_start_ms) % U32,
            window_ms=max(window_ms, 0),
            irms_ma=adv.irms_ma,
            vrms_dv=adv.vrms_dv,
            power_dw=adv.power_dw,
            energy_mwh=adv.energy_mwh,
            flags=node.flags | FLAG_NOMINAL_VOLTAGE,  # BTHome cannot say the voltage was measured
        )

    def _first(self, address: str, now_ms: int) -> NodeTrack:
        prior = self._resume.pop(address, None)
        if prior is not None:
            # Continue ingest's own boot: the counter's rise while the gateway was down is a
            # plain delta, checked against the real time that passed.
            node = NodeTrack(prior.boot_id, prior.seq, prior.ts_ms - prior.uptime_ms, FLAG_RESTORED)
            node.energy_mwh, node.last_ms = prior.energy_mwh, prior.ts_ms
        else:
            # Nothing known: the counter continues from before, as far as the gateway can tell.
            node = NodeTrack(1, 0, now_ms, FLAG_RESTORED)
        node.heard_ms = now_ms
        self.nodes[address] = node
        return node

    def _restart(self, node: NodeTrack, adv: Advert, now_ms: int) -> None:
        """The energy went down: the node restarted. Was the counter reset to zero, or restored
        from flash a little behind the last value the gateway saw? BTHome does not say, so:

        - from zero ("fresh"): the value is at most half the last one and no more than 100 kW
          could deliver since the last advert the gateway heard (the node booted after it).
          energy.py then counts the value as the energy since the boot;
        - otherwise restored (flag bit 3): energy.py makes it a new baseline, no energy.

        A node that keeps its counter in flash lags by at most one save interval (docs/ble.md),
        far less than half its counter, so a restored counter is never counted as new energy.
        """
        since_ms = max(now_ms - (node.last_ms if node.last_ms is not None else now_ms), 0)
        fresh = 2 * adv.energy_mwh <= node.energy_mwh and adv.energy_mwh <= (since_ms + 1000) * MAX_MWH_PER_MS
        node.boot_id = (node.boot_id + 1) & 0xFFFF
        node.seq = 0
        node.boots += 1
        node.flags = 0 if fresh else FLAG_RESTORED
        # uptime of a fresh boot starts at the last advert heard before it: an upper bound on
        # the node's real uptime, so energy.py's step check accepts every counter it could have.
        node.boot_start_ms = now_ms - since_ms if fresh else now_ms
        log.info(
            "BLE node restarted (energy %d -> %d mWh): new boot_id %d, counter %s",
            node.energy_mwh,
            adv.energy_mwh,
            node.boot_id,
            "from zero" if fresh else "restored",
        )

    def sweep(self, now_ms: int, gone_ms: int) -> list[tuple[str, int]]:
        """Nodes newly silent for `gone_ms`: (address, ms since last heard)."""
        out = []
        for address, node in self.nodes.items():
            if not node.gone and now_ms - node.heard_ms >= gone_ms:
                node.gone = True
                out.append((address, now_ms - node.heard_ms))
        return out


def resume_from(states: dict[str, Any]) -> dict[str, Resume]:
    """Resume points from ingest's node states (read before any thread starts)."""
    out = {}
    for node_id, state in states.items():
        a = state.account
        if None not in (a.boot_id, a.seq, a.energy_mwh, a.uptime_ms, a.ts_ms):
            out[node_id] = Resume(a.boot_id, a.seq, a.energy_mwh, a.uptime_ms, a.ts_ms)
    return out


# ---- the adapter ---------------------------------------------------------------------------------

Submit = Callable[[Callable[[Any], None]], None]


def _default_scanner(callback, *, passive: bool, adapter: str):
    from bleak import BleakScanner

    bluez: dict = {"adapter": adapter} if adapter else {}
    if passive:
        from bleak.args.bluez import OrPattern
        from bleak.assigned_numbers import AdvertisementDataType

        # BlueZ's passive scanning needs an advertisement monitor pattern: service data 0xFCD2.
        bluez["or_patterns"] = [OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, BTHOME_UUID16_LE)]
        return BleakScanner(callback, None, "passive", bluez=bluez)
    return BleakScanner(callback, [BTHOME_UUID], "active", bluez=bluez)


@dataclass
class BleStats:
    adverts: int = 0
    readings: int = 0
    rejected: Counter = field(default_factory=Counter)  # (address, reason) -> count
    scanner_failures: int = 0
    mode: str | None = None  # "passive" or "active" once a scanner runs


class BleSource:
    """Scans on its own thread (an asyncio loop); Readings go to `submit` (the ingest thread).

    `scanner_factory(callback, passive=, adapter=)` builds a bleak scanner; tests pass one that
    raises, as a missing adapter does. A scanner that cannot start is logged once per outage and
    retried with backoff; nothing here can stop the serial sources.
    """

    name = "ble"

    def __init__(
        self,
        submit: Submit,
        now_ms: Callable[[], int],
        *,
        bindkeys: dict[str, bytes] | None = None,
        adapter: str = "",
        passive: bool = True,
        gone_minutes: float = 5,
        resume: dict[str, Resume] | None = None,
        backoff: Backoff = Backoff(initial_s=5, max_s=300),
        scanner_factory: Callable[..., Any] = _default_scanner,
        sweep_s: float = 30.0,
    ):
        self.submit = submit
        self.now_ms = now_ms
        self.bindkeys = {a.lower(): k for a, k in (bindkeys or {}).items()}
        self.adapter = adapter
        self.passive = passive
        self.gone_ms = int(gone_minutes * 60_000)
        self.tracker = BleTracker(resume)
        self.backoff = backoff
        self.scanner_factory = scanner_factory
        self.sweep_s = sweep_s
        self.stats = BleStats()
        self.running = threading.Event()
        self._last_raw: dict[str, bytes] = {}
        self._logged: set[tuple[str, str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(
        cls, section: BleSection, submit: Submit, now_ms: Callable[[], int], states: dict | None = None
    ) -> BleSource:
        return cls(
            submit,
            now_ms,
            bindkeys=section.keys(),
            adapter=section.adapter,
            passive=section.passive,
            gone_minutes=section.gone_minutes,
            resume=resume_from(states or {}),
            backoff=Backoff(initial_s=5, max_s=section.retry_max_s),
        )

    # ---- the callback (runs on the scanner's loop) -------------------------------------------

    def on_advertisement(self, device: Any, adv: Any) -> Reading | None:
        """bleak's detection callback: decode, track, submit. Never raises."""
        raw = service_data(adv)
        if raw is None:
            return None
        address = device.address.lower()
        now = self.now_ms()
        self.stats.adverts += 1
        if self.tracker.heard(address, now):
            log.info("BLE node %s is back", address)
        if self._last_raw.get(address) == raw:
            # A node repeats the same advertising data several times a second until it has a new
            # reading: the common duplicate, dropped before any decryption.
            self.stats.rejected[(address, SKIP_DUPLICATE)] += 1
            return None
        self._last_raw[address] = raw
        try:
            advert = decode_advert(device, adv, self.bindkeys.get(address), now / 1000)
            reading = self.tracker.accept(address, advert, now)
        except AdvertError as err:
            self._rejected(err)
            return None
        except Exception:  # noqa: BLE001 - one strange advert must not stop the scanner
            self._rejected(AdvertError(REJECT_INCOMPLETE, address, raw, "unexpected error"), exc_info=True)
            return None
        self.stats.readings += 1
        self.submit(lambda ingest, r=reading: ingest.on_reading(r, ingest.clock.now_ms(), "ble"))
        return reading

    def _rejected(self, err: AdvertError, exc_info: bool = False) -> None:
        self.stats.rejected[(err.address, err.reason)] += 1
        if err.reason == SKIP_DUPLICATE:
            return
        key = (err.address, err.reason)
        level = logging.WARNING if err.reason in REJECTS_LOGGED_AS_WARNING else logging.INFO
        if key in self._logged:
            log.debug("%s", err)
            return
        self._logged.add(key)
        log.log(level, "%s (logged once per node and reason; counted in BLE stats)", err, exc_info=exc_info)

    def sweep(self) -> None:
        for address, silent_ms in self.tracker.sweep(self.now_ms(), self.gone_ms):
            log.warning("BLE node %s gone: no advertisement for %.0f min", address, silent_ms / 60_000)

    def rejected(self) -> dict[str, dict[str, int]]:
        """Per-node rejection counts (duplicates included)."""
        out: dict[str, dict[str, int]] = {}
        for (address, reason), n in self.stats.rejected.items():
            out.setdefault(address, {})[reason] = n
        return out

    # ---- the thread ------------------------------------------------------------------------

    def start(self) -> None:
        # bthome-ble logs a warning for every undecryptable or downgraded advert, several a
        # second; this source counts them and logs each node and reason once instead.
        logging.getLogger("bthome_ble").setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._thread_main, name="ble", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop already finished
                pass
        if self._thread:
            self._thread.join(timeout)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # noqa: BLE001 - the BLE side failing must leave serial running
            log.exception("BLE source stopped by an unexpected error; serial nodes keep running")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        failures = 0
        while not self._stop.is_set():
            scanner = await self._start_scanner(failures)
            if scanner is None:
                failures += 1
                await self._wait(self.backoff.delay(failures))
                continue
            if failures:
                log.info("BLE scanning (%s) after %d failed attempts", self.stats.mode, failures)
            failures = 0
            self.running.set()
            try:
                while not self._stop.is_set():
                    await self._wait(self.sweep_s)
                    self.sweep()
            finally:
                self.running.clear()
                try:
                    await scanner.stop()
                except Exception as err:  # noqa: BLE001 - a vanished adapter may fail to stop
                    log.debug("BLE scanner stop failed: %s", err)

    async def _start_scanner(self, failures: int) -> Any | None:
        modes = (True, False) if self.passive else (False,)
        errors = []
        for passive in modes:
            try:
                scanner = self.scanner_factory(self.on_advertisement, passive=passive, adapter=self.adapter)
                await scanner.start()
            except Exception as err:  # noqa: BLE001 - BleakError, D-Bus errors, a missing socket: all "no scanning"
                errors.append(f"{'passive' if passive else 'active'}: {type(err).__name__}: {err}")
                continue
            self.stats.mode = "passive" if passive else "active"
            if not passive and self.passive:
                log.info("BLE passive scanning not supported here (%s); scanning actively", errors[-1])
            log.info("BLE scanning for BTHome v2 nodes (%s, adapter %s)", self.stats.mode, self.adapter or "default")
            return scanner
        self.stats.scanner_failures += 1
        if failures == 0:
            log.error(
                "BLE: cannot scan for BTHome nodes on adapter %s (no Bluetooth adapter, or bluetoothd/D-Bus not "
                "running?): %s. Serial nodes keep running; retrying with backoff.",
                self.adapter or "default",
                "; ".join(errors),
            )
        return None

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            pass
