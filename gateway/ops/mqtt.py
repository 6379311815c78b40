"""Home Assistant over MQTT: discovery configs, states and availability, published with paho-mqtt.

The pure half turns a `Snapshot` (what the gateway knows now) into messages; `MqttLink` is the
paho adapter; `run_publisher` loops. It runs as its own process (`powergw mqtt`, unit
powergw-mqtt.service), reading the database read-only and the daemon's live.json, so a broker
that hangs or a network that drops never touches ingest.

Entities, one device per node plus one for the household (Home Assistant MQTT discovery):

- per node: power (W, measurement) and energy (kWh, total_increasing, for the Energy dashboard);
- household: bill till date and projected bill (INR), when billing is installed.

Availability is two topics, both must say "online": the publisher's own (a retained last will
turns it "offline" the moment the process dies) and each node's (offline after
[gateway] node_offline_minutes without a frame).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from gateway import __version__

from . import OpsError

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True)
class NodeSnapshot:
    node_id: str
    name: str | None
    power_w: float | None
    energy_mwh: int
    online: bool


@dataclass(frozen=True)
class BillFigures:
    """The current billing cycle so far and as projected to its end, in integer paise."""

    till_date_paise: int
    projected_paise: int
    cycle_start: str = ""  # local date, for the attributes
    cycle_end: str = ""


@dataclass(frozen=True)
class Snapshot:
    gateway_id: str
    nodes: list[NodeSnapshot]
    bill: BillFigures | None = None


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool = True
    qos: int = 1


@dataclass(frozen=True)
class Topics:
    """Every topic the publisher uses, derived from the [mqtt] prefixes and the gateway id."""

    gateway_id: str
    topic_prefix: str = "powergw"
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.topic_prefix}/{self.gateway_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    def node_state(self, node: str) -> str:
        return f"{self.base}/node/{slug(node)}/state"

    def node_availability(self, node: str) -> str:
        return f"{self.base}/node/{slug(node)}/availability"

    @property
    def bill_state(self) -> str:
        return f"{self.base}/bill/state"

    def config(self, object_id: str) -> str:
        return f"{self.discovery_prefix}/sensor/{object_id}/config"

    @property
    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"


def slug(text: str) -> str:
    """A topic- and entity-id-safe form of a node id or host name: a4:cf:12 -> a4_cf_12."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"


# One row per entity kind: (key, name, unit, device_class, state_class, value template, icon).
NODE_SENSORS = (
    ("power", "Power", "W", "power", "measurement", "{{ value_json.power_w }}", None),
    ("energy", "Energy", "kWh", "energy", "total_increasing", "{{ value_json.energy_kwh }}", None),
)
BILL_SENSORS = (
    ("bill_till_date", "Bill till date", "INR", "monetary", "total", "{{ value_json.till_date_inr }}", "mdi:cash"),
    ("bill_projected", "Projected bill", "INR", "monetary", None, "{{ value_json.projected_inr }}", "mdi:cash-clock"),
)


def _entity(
    topics: Topics, object_id: str, row: tuple, state_topic: str, device: dict, availability: list[dict]
) -> Message:
    key, name, unit, device_class, state_class, template, icon = row
    config = {
        "name": name,
        "unique_id": object_id,
        "object_id": object_id,
        "state_topic": state_topic,
        "value_template": template,
        "unit_of_measurement": unit,
        "device_class": device_class,
        "availability": availability,
        "availability_mode": "all",
        "device": device,
    }
    if state_class:
        config["state_class"] = state_class
    if icon:
        config["icon"] = icon
    if key in ("energy", "bill_till_date", "bill_projected"):
        config["suggested_display_precision"] = 3 if key == "energy" else 0
    return Message(topics.config(object_id), json.dumps(config, sort_keys=True))


def discovery_messages(topics: Topics, snapshot: Snapshot) -> list[Message]:
    """Retained Home Assistant discovery configs for every entity the snapshot can fill."""
    gw = slug(snapshot.gateway_id)
    household = {
        "identifiers": [f"powergw_{gw}"],
        "name": f"powergw {snapshot.gateway_id}",
        "manufacturer": "powergw",
        "model": "home energy gateway",
        "sw_version": __version__,
    }
    gateway_available = {"topic": topics.status}
    out = []
    for node in snapshot.nodes:
        n = slug(node.node_id)
        device = {
            "identifiers": [f"powergw_{gw}_{n}"],
            "name": node.name or f"powergw node {node.node_id}",
            "manufacturer": "powergw",
            "model": "ESP32 energy node",
            "via_device": f"powergw_{gw}",
        }
        availability = [gateway_available, {"topic": topics.node_availability(node.node_id)}]
        for row in NODE_SENSORS:
            out.append(
                _entity(
                    topics, f"powergw_{gw}_{n}_{row[0]}", row, topics.node_state(node.node_id), device, availability
                )
            )
    if snapshot.bill is not None:
        for row in BILL_SENSORS:
            out.append(
                _entity(topics, f"powergw_{gw}_{row[0]}", row, topics.bill_state, household, [gateway_available])
            )
    return out


def _inr(paise: int) -> float:
    # HA wants a number; two decimals of exact paise survive the float round trip.
    return float(Decimal(paise).scaleb(-2))


def state_messages(topics: Topics, snapshot: Snapshot, *, retain: bool = True) -> list[Message]:
    out = []
    for node in snapshot.nodes:
        state = {
            "power_w": None if node.power_w is None else round(node.power_w, 1),
            "energy_kwh": float(Decimal(node.energy_mwh).scaleb(-6)),
        }
        out.append(Message(topics.node_state(node.node_id), json.dumps(state, sort_keys=True), retain))
        out.append(Message(topics.node_availability(node.node_id), ONLINE if node.online else OFFLINE, True))
    if snapshot.bill is not None:
        b = snapshot.bill
        state = {
            "till_date_inr": _inr(b.till_date_paise),
            "projected_inr": _inr(b.projected_paise),
            "cycle_start": b.cycle_start,
            "cycle_end": b.cycle_end,
        }
        out.append(Message(topics.bill_state, json.dumps(state, sort_keys=True), retain))
    return out


# ---- reading the gateway --------------------------------------------------------------------


BillFn = Callable[[object, int], "BillFigures | None"]


def take_snapshot(
    store, gateway_id: str, live: dict | None, now_ms: int, offline_ms: int, bill_fn: BillFn | None = None
) -> Snapshot:
    """What to publish now: live power from live.json (else the last committed), energy from the store."""
    live_nodes = (live or {}).get("nodes", {})
    nodes = []
    for n in store.nodes():
        lv = live_nodes.get(n["node_id"])
        power = lv.get("power_w") if lv else (None if n["last_power_dw"] is None else n["last_power_dw"] / 10)
        seen = max((lv or {}).get("ts_ms") or 0, n["last_seen_ms"] or 0)
        nodes.append(
            NodeSnapshot(
                n["node_id"],
                n["name"],
                power,
                store.total_energy_mwh(n["node_id"]),
                bool(seen) and now_ms - seen <= offline_ms,
            )
        )
    bill = None
    if bill_fn is not None:
        try:
            bill = bill_fn(store, now_ms)
        except Exception:  # noqa: BLE001 - a billing bug must not stop power and energy
            log.exception("mqtt: cannot compute the bill; publishing without it")
    return Snapshot(gateway_id, nodes, bill)


def billing_bill_fn(config, every_ms: int = 60_000) -> BillFn:
    """Till-date and projected bill from gateway.billing's estimate, recomputed at most once a minute."""
    from gateway.billing.estimate import cycle_estimate
    from gateway.billing.money import to_paise
    from gateway.billing.tariff_book import TariffBook

    section = config["billing"]
    book = TariffBook.load(section.tariff_dir)
    last: list = [None, None]  # (computed at ms, figures): this closure's cache, not module state

    def bill(store, now_ms: int) -> BillFigures:
        if last[0] is None or now_ms - last[0] >= every_ms or now_ms < last[0]:
            est = cycle_estimate(store, section, book, now_ms)
            last_day = est.cycle.end - dt.timedelta(days=1)
            last[:] = [
                now_ms,
                BillFigures(
                    to_paise(est.bill.total),
                    to_paise(est.best.bill.total),
                    est.cycle.start.isoformat(),
                    last_day.isoformat(),
                ),
            ]
        return last[1]

    return bill


def default_gateway_id() -> str:
    return slug(socket.gethostname())


# ---- the paho adapter -----------------------------------------------------------------------


class MqttLink:
    """A paho-mqtt client with the publisher's last will; connect() waits for the CONNACK."""

    def __init__(
        self, section, topics: Topics, password: str | None = None, on_ha_online: Callable[[], None] | None = None
    ):
        try:
            import paho.mqtt.client as paho
        except ImportError as err:
            raise OpsError("paho-mqtt is not installed: pip install 'powergw[mqtt]' (deploy/install.sh does)") from err
        self.section = section
        self.topics = topics
        self.connected = threading.Event()
        self._on_ha_online = on_ha_online
        self._error: str | None = None
        client_id = section.client_id or f"powergw-{topics.gateway_id}"
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        if section.username:
            self.client.username_pw_set(section.username, password)
        if section.tls:
            self.client.tls_set()
        self.client.will_set(topics.status, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(1, 60)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def _connected(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._error = str(reason)
            log.warning("mqtt: broker refused the connection: %s", reason)
            return
        client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        client.subscribe(self.topics.ha_status, qos=1)
        self.connected.set()
        log.info("mqtt: connected to %s:%d", self.section.host, self.section.port)

    def _disconnected(self, client, userdata, flags, reason, properties) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("mqtt: disconnected (%s); paho reconnects", reason)

    def _message(self, client, userdata, msg) -> None:
        # Home Assistant restarted: it asks for states again by announcing itself online.
        if msg.topic == self.topics.ha_status and msg.payload == b"online" and self._on_ha_online:
            self._on_ha_online()

    def connect(self, timeout_s: float = 10.0) -> None:
        try:
            self.client.connect(self.section.host, self.section.port, keepalive=60)
        except (OSError, ValueError) as err:
            raise OpsError(f"cannot reach the MQTT broker at {self.section.host}:{self.section.port}: {err}") from err
        self.client.loop_start()
        if not self.connected.wait(timeout_s):
            self.client.loop_stop()
            raise OpsError(
                f"MQTT broker {self.section.host}:{self.section.port} did not accept us: {self._error or 'no answer'}"
            )

    def publish(self, messages: list[Message], timeout_s: float = 10.0) -> None:
        infos = [self.client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in messages]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(max(0.01, deadline - time.monotonic()))

    def close(self) -> None:
        """Say offline ourselves (a clean stop sends no last will), then disconnect."""
        if self.connected.is_set():
            self.client.publish(self.topics.status, OFFLINE, qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


def read_password(section) -> str | None:
    if not section.username:
        return None
    try:
        return Path(section.password_file).read_text().strip()
    except OSError as err:
        raise OpsError(f"[mqtt] password_file {section.password_file}: {err}") from err


def run_publisher(
    link: MqttLink,
    snapshot_fn: Callable[[], Snapshot],
    interval_s: float,
    stop: threading.Event,
    *,
    retain: bool = True,
    once: bool = False,
) -> int:
    """Publish discovery when the entity set changes, states every `interval_s`; returns rounds."""
    announced: set[str] = set()
    republish = threading.Event()
    link._on_ha_online = republish.set
    rounds = 0
    while True:
        snap = snapshot_fn()
        discovery = discovery_messages(link.topics, snap)
        topics_now = {m.topic for m in discovery}
        if topics_now != announced or republish.is_set():
            link.publish(discovery)
            for gone in announced - topics_now:
                link.publish([Message(gone, "")])  # an empty retained config removes the entity
            announced = topics_now
            republish.clear()
        link.publish(state_messages(link.topics, snap, retain=retain))
        rounds += 1
        if once or stop.wait(interval_s):
            return rounds
